"""Bad input is refused before the sandbox warms up: one line, a non-zero exit, in seconds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import autograder.grading.driver
from autograder.cli import build_parser, main

REPO = Path(__file__).resolve().parents[2]


class NoSandbox:
    """Fails the test if any command got as far as starting the sandbox."""

    def __init__(self, *args, **kwargs):
        raise AssertionError("the sandbox was started for input that should have been refused")


@pytest.fixture
def course(tmp_path, tiny_solutions, monkeypatch):
    monkeypatch.setattr(autograder.grading.driver, "Sandbox", NoSandbox)
    (tmp_path / "good.ipynb").write_text("{}")
    (tmp_path / "essay.py").write_text("print('hi')\n")
    (tmp_path / "names.csv").write_text("name,section\nal,1\n")
    (tmp_path / "folder").mkdir()
    (tmp_path / "a-file").write_text("x")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    yield tmp_path, tiny_solutions
    locked.chmod(0o700)


def grade(tmp: Path, solutions: Path, *args: str, files: tuple[str, ...] = ("good.ipynb",)) -> list[str]:
    return ["grade", *[str(tmp / f) for f in files], "--out", str(tmp / "out"), "--solutions", str(solutions),
            *args]


CASES = {
    "missing file": (lambda t, s: grade(t, s, files=("absent.ipynb",)), "does not exist"),
    "glob matched nothing": (lambda t, s: grade(t, s, files=("sub/*.ipynb",)), "matched no file"),
    "a folder": (lambda t, s: grade(t, s, files=("folder",)), "is a folder"),
    "not a notebook": (lambda t, s: grade(t, s, files=("essay.py",)), "ending in .ipynb"),
    "--out is a file": (lambda t, s: grade(t, s)[:3] + [str(t / "a-file")] + grade(t, s)[4:], "is a file"),
    "--out read-only": (lambda t, s: grade(t, s)[:3] + [str(t / "locked" / "out")] + grade(t, s)[4:],
                        "read-only"),
    "--jobs 0": (lambda t, s: grade(t, s, "--jobs", "0"), "--jobs: expected a whole number of 1 or more"),
    "--jobs two": (lambda t, s: grade(t, s, "--jobs", "two"), "--jobs: expected a whole number"),
    "--timeout -1": (lambda t, s: grade(t, s, "--timeout", "-1"), "--timeout: expected a number above 0"),
    "--timeout nan": (lambda t, s: grade(t, s, "--timeout", "nan"), "--timeout: expected a number above 0"),
    "--memory-mb 0": (lambda t, s: grade(t, s, "--memory-mb", "0"), "--memory-mb: expected"),
    "--step-floor -1": (lambda t, s: grade(t, s, "--step-floor", "-1"), "--step-floor: expected a number of 0"),
    "unknown --assignment": (lambda t, s: grade(t, s, "--assignment", "Z9"), "no reference notebook for Z9"),
    "missing --solutions": (lambda t, s: grade(t, t / "nowhere"), "--solutions"),
    "missing --roster": (lambda t, s: grade(t, s, "--roster", str(t / "roster.csv")), "--roster"),
    "roster without a file column": (lambda t, s: grade(t, s, "--roster", str(t / "names.csv")), "needs a column"),
    "missing --root": (lambda t, s: grade(t, s, "--root", str(t / "nowhere")), "--root"),
    "gradescope unknown id": (lambda t, s: ["gradescope", "Z9", "--solutions", str(s), "--out",
                                            str(t / "z.zip")], "no reference notebook for Z9"),
    "gradescope --out not a zip": (lambda t, s: ["gradescope", "T1", "--solutions", str(s), "--out",
                                                 str(t / "z.tar")], "ending in .zip"),
    "gradescope --out in a missing folder": (lambda t, s: ["gradescope", "T1", "--solutions", str(s), "--out",
                                                           str(t / "no" / "z.zip")], "does not exist"),
    "gradescope --timeout 0": (lambda t, s: ["gradescope", "T1", "--solutions", str(s), "--timeout", "0"],
                               "--timeout: expected"),
    "assign unknown id": (lambda t, s: ["assign", "Z9", "--solutions", str(s), "--notebooks", str(t / "nb")],
                          "no reference notebook for Z9"),
    "release without notebooks": (lambda t, s: ["release", str(t / "bundle"), "--notebooks", str(t / "folder")],
                                  "has no *.ipynb files"),
    "export without a gradebook": (lambda t, s: ["export", str(t / "folder")], "gradebook.csv"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_and_a_non_zero_exit(course, capsys, monkeypatch, name):
    tmp, solutions = course
    argv, expected = CASES[name]
    if name == "--out read-only" and os.geteuid() == 0:  # root may write anywhere: play a user who may not
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: real(p, mode) and Path(p).name != "locked")
    start = time.perf_counter()
    try:
        code = main([str(a) for a in argv(tmp, solutions)])
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code
    seconds = time.perf_counter() - start
    err = capsys.readouterr().err.strip()
    assert code not in (0, None)
    assert len(err.splitlines()) == 1, err
    assert expected in err, err
    assert err.startswith("autograder"), err
    assert seconds < 5
    assert not (tmp / "out").exists() and not (tmp / "bundle").exists()


def test_the_installed_command_refuses_a_glob_in_seconds(tmp_path):
    start = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(tmp_path / "*.ipynb"), "--out",
                          str(tmp_path / "out")], capture_output=True, text=True, timeout=60, cwd=REPO)
    seconds = time.perf_counter() - start
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.strip().endswith("matched no file: expected notebooks (.ipynb) to grade"), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert seconds < 5, seconds


def test_a_quoted_glob_is_expanded(tmp_path):
    from autograder.preflight import notebook_files

    for name in ("b.ipynb", "a.ipynb"):
        (tmp_path / name).write_text("{}")
    assert notebook_files([str(tmp_path / "*.ipynb")]) == [tmp_path / "a.ipynb", tmp_path / "b.ipynb"]


def test_every_option_says_its_default():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")  # noqa: SLF001 - argparse has no public walk
    for name, command in sub.choices.items():
        for action in command._actions:  # noqa: SLF001
            if not action.option_strings or action.dest == "help":
                continue
            assert action.help, f"{name} {action.option_strings[0]} has no help"
            if not action.required:
                assert "default" in action.help, f"{name} {action.option_strings[0]}: no default in its help"
        for action in command._actions:  # noqa: SLF001
            if not action.option_strings:
                assert action.help, f"{name} {action.dest} has no help"
