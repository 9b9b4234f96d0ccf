"""A full disk costs only the time it takes to clear: reports wait for space, and a row says when they could not."""

from __future__ import annotations

import errno
import json

import pytest

from autograder.reports import safe_files, writer
from autograder.reports.results import CaseResult, ExerciseResult, SubmissionResult
from autograder.reports.writer import ReportWriter


def _result(name: str, points: float) -> SubmissionResult:
    return SubmissionResult(name, "A2", [ExerciseResult("rnn_step", [CaseResult("c", False, points, 2.0, points == 2.0)])])


def _full_for(n: int, real):
    """`write_atomic` that fails with ENOSPC `n` times, then writes."""
    calls = {"n": 0}

    def write(root, relative, data):
        calls["n"] += 1
        if calls["n"] <= n:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(root, relative, data)

    return write


def test_a_report_waits_for_space_and_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(safe_files, "write_atomic", _full_for(3, safe_files.write_atomic))
    monkeypatch.setattr(safe_files.time, "sleep", lambda s: None)
    with ReportWriter(tmp_path) as reports:
        folder = reports.add(_result("alice", 1.0))
    assert json.loads((folder / "results.json").read_text())["score"] == 1.0
    assert "alice" in (tmp_path / "gradebook.csv").read_text()


def test_a_disk_that_stays_full_is_said_in_the_row_not_raised(tmp_path, monkeypatch):
    real = safe_files.write_atomic
    monkeypatch.setattr(safe_files.time, "sleep", lambda s: None)
    reports = ReportWriter(tmp_path)

    def full_for_reports(root, relative, data):
        if str(relative).endswith((".json", ".md")) and "run" not in str(relative):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(root, relative, data)

    monkeypatch.setattr(safe_files, "write_atomic", full_for_reports)
    reports.add(_result("bob", 2.0))
    reports.finish()
    row = (tmp_path / "gradebook.csv").read_text()
    assert "bob" in row and "could not be written" in row


def test_other_errors_are_not_retried(tmp_path, monkeypatch):
    slept = []
    monkeypatch.setattr(safe_files.time, "sleep", slept.append)

    def refused(root, relative, data):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(safe_files, "write_atomic", refused)
    with pytest.raises(PermissionError):
        safe_files.write_patiently(tmp_path, "x.txt", "data")
    assert slept == []
    assert writer.write_patiently is safe_files.write_patiently
