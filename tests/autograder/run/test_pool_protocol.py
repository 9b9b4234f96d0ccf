"""The master acts on nothing a template's pipe says unless it fits the protocol and carries the job's token."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.run import Limits, Sandbox
from autograder.run.pool import _Template

HERE = Path(__file__).resolve().parent
JOB = {"cells": [{"exercise": "f", "code": "def f():\n    return 1"}], "calls": [{"exercise": "f", "function": "f"}]}


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setattr(_Template, "MODULE", "fake_template")

    def start(mode: str) -> Sandbox:
        monkeypatch.setenv("FAKE_TEMPLATE", "honest")  # the grader's own environment never reaches a template
        return Sandbox(Limits(timeout_s=5), preload=(), extra_sys_path=[str(HERE)], env={"FAKE_TEMPLATE": mode})

    return start


def test_an_honest_template_is_believed(fake):
    with fake("honest") as box:
        r = box.run(JOB)
        assert r.status == "ok" and r.calls[0].value == {"value": 1}


@pytest.mark.parametrize("mode, why", [
    ("wrong_secret", "without this job's token"),
    ("extra", "more data came after the result"),
    ("mismatch", "does not match the job"),
    ("garbage", "broke the protocol"),
    ("deep", "broke the protocol"),
    ("kind", "broke the protocol"),
])
def test_a_lying_template_costs_the_job_and_is_replaced(fake, mode, why):
    with fake(mode) as box:
        first_pid = box._templates[0].proc.pid
        r = box.run(JOB)
        assert r.status == "protocol" and why in r.message, r
        assert r.calls == [None]  # nothing from the lie is kept
        assert box._templates[0].proc.pid != first_pid  # killed by the pid the master started, and replaced
