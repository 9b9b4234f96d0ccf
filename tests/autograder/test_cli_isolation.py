"""`autograder grade` says what protects the class, and `--require-isolation` refuses without it."""

from __future__ import annotations

import json

import pytest

import autograder.grading.driver
from autograder.cli import main
from autograder.run.guard import Isolation


class FakeSandbox:
    """Stands in for the pool: reports a given isolation, runs nothing."""

    isolation_report = Isolation()

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __enter__(self) -> "FakeSandbox":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def isolation(self) -> Isolation:
        return self.isolation_report

    def run_many(self, jobs, progress=None, on_result=None, labels=None):
        assert jobs == [], "no job may run"
        return []


@pytest.mark.parametrize("missing", [("landlock (kernel 5.10 has none)",), ("seccomp (not Linux)",)])
def test_require_isolation_refuses_to_grade_without_the_full_boundary(monkeypatch, tiny_solutions, tmp_path,
                                                                      capsys, missing):
    weak = Isolation("" if "landlock" in missing[0] else "landlock ABI 7", "" if "seccomp" in missing[0] else "seccomp",
                     None, (), 2048, missing)
    monkeypatch.setattr(FakeSandbox, "isolation_report", weak)
    monkeypatch.setattr(autograder.grading.driver, "Sandbox", FakeSandbox)
    (tmp_path / "none.ipynb").write_text("{}")
    code = main(["grade", str(tmp_path / "none.ipynb"), "--out", str(tmp_path / "out"),
                 "--solutions", str(tiny_solutions), "--require-isolation"])
    out = capsys.readouterr()
    assert code == 3 and "refusing" in out.err
    assert out.out.startswith("isolation: ") and "MISSING: " + missing[0] in out.out
    assert not (tmp_path / "out").exists()  # nothing graded, nothing written


def test_without_the_flag_the_missing_layers_are_printed_and_recorded(monkeypatch, tiny_solutions, tmp_path, capsys):
    weak = Isolation("", "seccomp x86_64", None, (), 2048, ("landlock (kernel 5.10 has none)",))
    monkeypatch.setattr(FakeSandbox, "isolation_report", weak)
    monkeypatch.setattr(autograder.grading.driver, "Sandbox", FakeSandbox)
    (tmp_path / "essay.ipynb").write_text("not a notebook")
    code = main(["grade", str(tmp_path / "essay.ipynb"), "--out", str(tmp_path / "out"),
                 "--solutions", str(tiny_solutions)])
    assert code == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "NO landlock" in first and "MISSING: landlock" in first
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["isolation"]["missing"] == ["landlock (kernel 5.10 has none)"] and run["isolation_line"] == first
