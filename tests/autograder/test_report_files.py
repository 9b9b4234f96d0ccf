"""Report files: written as grading goes, atomically, and never through a planted symlink."""

import csv
import json
import os
import random
import threading
import time
from pathlib import Path

import pytest

from autograder.reports.writer import HIDDEN_VISIBILITY, ReportWriter, gradescope_results, write_reports
from autograder.reports.results import CaseResult, ExerciseResult, SubmissionResult
from autograder.reports.safe_files import UnsafePathError, write_atomic


def result(name: str, points: float = 1.0, exercises: tuple[str, ...] = ("add_one", "scaled_sum")) -> SubmissionResult:
    return SubmissionResult(
        submission=name,
        assignment="T1",
        exercises=[
            ExerciseResult(
                ex,
                cases=[
                    CaseResult("small", hidden=False, points=points, max_points=1.0, passed=points == 1.0,
                               message="" if points == 1.0 else "returned 4; expected 3"),
                    CaseResult("secret", hidden=True, points=0.0, max_points=2.0, passed=False,
                               message="wrong value"),
                ],
            )
            for ex in exercises
        ],
        wall_s=0.5,
    )


def gradebook_rows(out: Path) -> list[dict]:
    with (out / "gradebook.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_planted_symlink_file_is_replaced_not_written_through(tmp_path):
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    victim.write_text("precious")
    (out / "alice").mkdir(parents=True)
    (out / "alice" / "results.json").symlink_to(victim)
    (out / "gradebook.csv").symlink_to(victim)
    write_reports([result("alice")], out)
    assert victim.read_text() == "precious"
    written = out / "alice" / "results.json"
    assert not written.is_symlink() and json.loads(written.read_text())["score"] == 2.0
    assert not (out / "gradebook.csv").is_symlink()
    assert [r["submission"] for r in gradebook_rows(out)] == ["alice"]
    assert not [p for p in (out / "alice").iterdir() if p.name.endswith(".tmp")]


def test_planted_symlink_directory_is_refused(tmp_path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    out.mkdir()
    (out / "alice").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="'alice'.*symlink"):
        write_atomic(out, "alice/results.json", "{}")
    writer = ReportWriter(out)
    folder = writer.add(result("alice"))  # never raises: the files go to a fresh folder
    assert folder == out / "alice-2" and (folder / "feedback.md").is_file()
    assert list(outside.iterdir()) == []
    # the grade is not lost: the row says where the files went, and the next student is written
    writer.add(result("bob"))
    rows = gradebook_rows(out)
    assert [r["submission"] for r in rows] == ["alice", "bob"]
    assert "alice-2/" in rows[0]["problem"] and "symlink" in rows[0]["problem"]
    assert (out / "bob" / "feedback.md").is_file()


def test_gradebook_cells_never_run_as_formulas(tmp_path):
    writer = ReportWriter(tmp_path / "out")
    writer.add(result("=HYPERLINK(\"http://x\")"))
    assert gradebook_rows(tmp_path / "out")[0]["submission"].startswith("'=")


def test_symlink_deeper_in_the_path_is_refused(tmp_path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    (out / "a").mkdir(parents=True)
    outside.mkdir()
    (out / "a" / "b").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="a/b"):
        write_atomic(out, "a/b/c/file.txt", b"x")
    assert list(outside.iterdir()) == []
    (out / "a" / "file").write_text("not a directory")
    with pytest.raises(UnsafePathError, match="not a directory"):
        write_atomic(out, "a/file/x.txt", b"x")


def test_root_may_be_a_symlink_and_is_created(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    assert write_atomic(tmp_path / "link", "x/y.txt", "hi") == tmp_path / "link" / "x" / "y.txt"
    assert (real / "x" / "y.txt").read_text() == "hi"
    write_atomic(tmp_path / "new" / "deeper", "z.bin", b"\x00\x01")
    assert (tmp_path / "new" / "deeper" / "z.bin").read_bytes() == b"\x00\x01"
    assert (real / "x" / "y.txt").stat().st_mode & 0o777 == 0o644 & ~current_umask()


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("relative", ["../escape.txt", "a/../../escape.txt", "/etc/passwd", "", "."])
def test_escaping_or_empty_paths_are_rejected(tmp_path, relative):
    with pytest.raises(ValueError):
        write_atomic(tmp_path / "out", relative, "x")
    assert not (tmp_path / "escape.txt").exists()


def test_gradebook_grows_row_by_row(tmp_path):
    out = tmp_path / "out"
    writer = ReportWriter(out)
    names = ["ann", "ben", "cat"]
    for i, name in enumerate(names):
        folder = writer.add(result(name))
        assert folder == out / name and (folder / "results.json").is_file() and (folder / "feedback.md").is_file()
        assert [r["submission"] for r in gradebook_rows(out)] == names[: i + 1]
    assert writer.finish() == writer.gradebook == out / "gradebook.csv"
    assert len(gradebook_rows(out)) == 3


def test_gradebook_columns_and_missing_exercises(tmp_path):
    out = tmp_path / "out"
    write_reports([result("ann", exercises=("a", "b")), result("ben", exercises=("c", "a"))], out)
    with (out / "gradebook.csv").open(newline="") as handle:
        header = next(csv.reader(handle))
    assert header == ["submission", "assignment", "a", "b", "c", "total", "max", "problem"]
    ann, ben = gradebook_rows(out)
    assert ann["c"] == "" and ben["b"] == "" and ben["c"] == "1" and ben["max"] == "6"


def test_empty_run_writes_header_only_gradebook(tmp_path):
    out = tmp_path / "out"
    gradebook = ReportWriter(out).finish()
    assert gradebook.read_text().splitlines() == ["submission,assignment,total,max,problem"]
    assert json.loads((out / "run.json").read_text()) == {}


def test_run_json_is_written_at_once(tmp_path):
    info = {"isolation": "namespaces", "versions": {"keras": "3.5.0"}, "started": "2024-09-01T10:00:00"}
    out = tmp_path / "out"
    ReportWriter(out, info)
    assert json.loads((out / "run.json").read_text()) == info


def test_same_name_gets_distinct_folders(tmp_path):
    out = tmp_path / "out"
    writer = ReportWriter(out)
    folders = [writer.add(result(name, points=p)) for name, p in [("A2", 1.0), ("A2", 0.0), ("a2", 1.0), ("A2-2", 1.0)]]
    assert [f.name for f in folders] == ["A2", "A2-2", "a2-3", "A2-2-2"]
    assert json.loads((out / "A2-2" / "results.json").read_text())["score"] == 0.0
    assert len(gradebook_rows(out)) == 4


def test_reserved_names_do_not_clash_with_report_files(tmp_path):
    out = tmp_path / "out"
    writer = ReportWriter(out, {"x": 1})
    folder = writer.add(result("gradebook.csv"))
    assert folder.name == "gradebook.csv-2" and (out / "gradebook.csv").is_file()
    assert writer.add(result("run.json")).name == "run.json-2"
    assert json.loads((out / "run.json").read_text()) == {"x": 1}


def test_concurrent_adds_keep_every_row(tmp_path, monkeypatch):
    import autograder.reports.safe_files as files_module

    written_rows: list[int] = []  # rows in each gradebook, in the order they landed

    def slow_write(root, relative, data):  # widen the windows in which unguarded threads would interleave
        time.sleep(random.uniform(0, 0.003))
        path = write_atomic(root, relative, data)
        if str(relative) == "gradebook.csv":
            written_rows.append(data.count("\n") - 1)
        return path

    monkeypatch.setattr(files_module, "write_atomic", slow_write)  # every report goes through it
    out = tmp_path / "out"
    writer = ReportWriter(out)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []
    folders: list[Path] = []
    names = [f"s{i:02d}" if i % 2 else "same" for i in range(50)]

    def work(worker: int) -> None:
        barrier.wait()
        try:
            for i in range(worker, 50, 8):
                folders.append(writer.add(result(names[i])))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # no finish(): the last add alone must have left every row
    rows = gradebook_rows(out)
    assert len(rows) == 50 and sorted(r["submission"] for r in rows) == sorted(names)
    assert written_rows == list(range(1, 51))  # each rewrite had exactly one row more than the last
    assert len(set(folders)) == 50 and all((f / "results.json").is_file() for f in folders)
    assert not [p for p in out.rglob("*.tmp")]


def test_gradescope_hidden_visibility_and_markdown():
    data = gradescope_results(result("ann", points=0.0))
    assert data["output_format"] == "md"
    assert all(t["output_format"] == "md" for t in data["tests"])
    by_name = {t["name"]: t for t in data["tests"]}
    assert by_name["add_one: small"]["visibility"] == "visible"
    assert by_name["add_one: hidden case 1"]["visibility"] == HIDDEN_VISIBILITY == "after_published"
    assert "returned 4; expected 3" in by_name["add_one: small"]["output"]
    assert "secret" not in json.dumps(data)


def test_case_output_is_a_code_block_that_backticks_cannot_break():
    r = result("ann", points=0.0)
    r.exercises[0].cases[0].message = "Traceback: ```oops``` __init__ failed"
    output = gradescope_results(r)["tests"][0]["output"]
    fence = output.splitlines()[0]
    assert set(fence) == {"`"} and len(fence) > 3 and output.splitlines()[-1] == fence
    assert "__init__ failed" in output


@pytest.mark.skipif(os.name != "posix", reason="directory-relative calls are POSIX")
def test_posix_uses_directory_relative_writes():
    from autograder.reports.safe_files import supported

    assert supported()


def test_hidden_cases_show_pass_or_fail_only_unless_the_instructor_opts_in():
    r = result("ann", points=0.0)
    hidden = next(c for c in r.exercises[0].cases if c.hidden)
    hidden.message = "expected shape (4, 24, 7); hint: multiply after summing"
    tests = {t["name"]: t for t in gradescope_results(r)["tests"]}
    assert tests["add_one: hidden case 1"]["output"] == "" and tests["add_one: hidden case 1"]["status"] == "failed"
    assert "(4, 24, 7)" not in json.dumps(gradescope_results(r))
    shown = {t["name"]: t for t in gradescope_results(r, hidden_details=True)["tests"]}
    assert "multiply after summing" in shown["add_one: hidden case 1"]["output"]
