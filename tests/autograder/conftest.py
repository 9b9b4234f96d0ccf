"""Fixtures for the grader's tests: a tiny assignment and one warm sandbox."""

import os
from pathlib import Path

import nbformat
import pytest

from tiny_assignment import ADD_ONE, CASES, SCALED_SUM, SETUP, notebook

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def tiny_solutions(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("solutions")
    nb = notebook(SETUP, CASES, "MD:Add one to every element.", ADD_ONE, "check('add_one')", SCALED_SUM)
    nbformat.write(nb, folder / "T1.ipynb")
    return folder


@pytest.fixture(scope="session")
def sandbox():
    """Tight limits, so that misbehaving submissions are stopped quickly."""
    from autograder.run import Limits, Sandbox

    with Sandbox(Limits(timeout_s=8, memory_mb=400, cpu_s=20), workers=2) as box:
        yield box


@pytest.fixture(scope="session")
def roomy_sandbox():
    """The grader's default limits, for the real assignments."""
    from autograder.run import Limits, Sandbox

    with Sandbox(Limits(timeout_s=120, memory_mb=2048, cpu_s=240), workers=2) as box:
        yield box
