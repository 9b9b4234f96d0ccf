"""Writing results: Gradescope `results.json`, `feedback.md`, `gradebook.csv`, a terminal table."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from pathlib import Path
from typing import Any

from autograder.reports.results import SubmissionResult
from autograder.reports.safe_files import write_atomic, write_patiently
from autograder.reports.student_text import (encodable, markdown_block, markdown_inline, printable, spreadsheet_cell,
                                     spreadsheet_unquoted)

OUTPUT_TAIL = 2000
OUTPUT_FORMAT = "md"
"""Gradescope `output_format` of the whole result and of each test."""
PUBLIC_VISIBILITY = "visible"
HIDDEN_VISIBILITY = "after_published"
"""Gradescope visibility of a hidden case: shown to the student once grades are published."""
RUN_FILE = "run.json"
HISTORY_FILE = "runs.jsonl"
"""Every run into the folder, one JSON line each, oldest first (`run.json` is the latest)."""
GRADEBOOK_FILE = "gradebook.csv"


def points_text(value: float) -> str:
    """Points as people read them: at most two decimals, no trailing zeros (1.67, 4, 0.5)."""
    return f"{round(float(value), 2):g}"


def safe_name(name: str) -> str:
    """A folder name made of `name`: letters, digits, `_`, `.` and `-` only."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "submission"


def code_block(text: str) -> str:
    """`text` (the student's, in part) as a fenced Markdown code block no line of it can close."""
    return markdown_block(text)


def quoted_problem(text: str) -> str:
    """A submission's problem as a Markdown quote: every line escaped, so no part of it renders as Markdown."""
    return "\n".join(f"> {markdown_inline(line)}" for line in printable(text).splitlines() if line.strip())


VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def gradescope_results(result: SubmissionResult, hidden_visibility: str = HIDDEN_VISIBILITY,
                       stdout_visibility: str | None = None, hidden_details: bool = False) -> dict:
    """Gradescope's autograder `results.json` for one submission.

    Output is Markdown (`output_format: "md"`); each case's message is a code
    block so tracebacks and values render as written. Hidden cases are named
    by number only and become visible once grades are published
    (`HIDDEN_VISIBILITY`), or as `hidden_visibility` says; they show passed
    or failed only (no message: no shapes, no hints) unless `hidden_details`.

    Args:
        result: the graded submission.
        hidden_visibility: Gradescope visibility of hidden cases (one of `VISIBILITIES`).
        stdout_visibility: Gradescope visibility of the autograder's printed output (None: Gradescope's default).
        hidden_details: also show a failed hidden case's message (the instructor's opt-in).
    """
    if hidden_visibility not in VISIBILITIES or (stdout_visibility is not None and stdout_visibility not in VISIBILITIES):
        raise ValueError(f"visibility must be one of {VISIBILITIES}; got {hidden_visibility!r}, {stdout_visibility!r}")
    tests = []
    for ex in result.exercises:
        hidden_n = 0
        for case in ex.cases:
            if case.hidden:
                hidden_n += 1
                name = f"{ex.name}: hidden case {hidden_n}"
            else:
                name = f"{ex.name}: {case.name}"
            tests.append(
                {
                    "name": name,
                    "score": case.points,
                    "max_score": case.max_points,
                    "status": "passed" if case.passed else "failed",
                    "output": code_block(case.message) if case.message and (hidden_details or not case.hidden)
                    else "",
                    "output_format": OUTPUT_FORMAT,
                    "visibility": hidden_visibility if case.hidden else PUBLIC_VISIBILITY,
                }
            )
    output = quoted_problem(result.problem) if result.problem else ""
    data = {
        "score": result.points,
        "execution_time": round(result.wall_s, 3),
        "output": output,
        "output_format": OUTPUT_FORMAT,
        "tests": tests,
    }
    if stdout_visibility is not None:
        data["stdout_visibility"] = stdout_visibility
    if result.leaderboard:
        data["leaderboard"] = [{"name": e.name, "value": e.value, "order": e.order} for e in result.leaderboard]
    return data


def feedback_markdown(result: SubmissionResult) -> str:
    """Per-student feedback: the score, then each exercise and what to fix."""
    lines = [
        f"# Feedback: {markdown_inline(result.submission)} ({markdown_inline(result.assignment)})",
        "",
        f"**Score: {points_text(result.points)} / {points_text(result.max_points)}**",
        "",
    ]
    if result.problem:
        lines += [quoted_problem(result.problem), ""]
    for ex in result.exercises:
        mark = "✅" if ex.points == ex.max_points else ("⚠️" if ex.points > 0 else "❌")
        lines.append(f"## {mark} `{ex.name}`: {points_text(ex.points)} / {points_text(ex.max_points)}")
        lines.append("")
        if ex.note:
            lines += [f"Note: {markdown_inline(ex.note)}", ""]
        hidden_n, run = 0, 0  # run: failed cases in a row with the same message, said once after the last
        for i, case in enumerate(ex.cases):
            if case.hidden:
                hidden_n += 1
                label = f"hidden case {hidden_n}"
            else:
                label = case.name
            status = "passed" if case.passed else "failed"
            lines.append(f"- **{label}** ({points_text(case.points)}/{points_text(case.max_points)}): {status}")
            if not case.passed:
                run += 1
                following = ex.cases[i + 1] if i + 1 < len(ex.cases) else None
                if following is None or following.passed or following.message != case.message:
                    said = f"The same for these {run} cases:\n" if run > 1 else ""
                    lines += ["", markdown_block(said + case.message, indent="  "), ""]
                    run = 0
        lines.append("")
    if any(c.hidden for ex in result.exercises for c in ex.cases):
        lines.append("Hidden cases count toward the grade; their inputs and expected values are not shown.")
    if result.output.strip():
        tail = result.output[-OUTPUT_TAIL:]
        lines += ["", "<details><summary>Output printed by your code</summary>", "", markdown_block(tail), "",
                  "</details>"]
    return encodable("\n".join(lines) + "\n")


class ReportWriter:
    """Writes reports as submissions are graded, so an interrupted run keeps what it graded.

    Every file goes through `write_atomic`: nothing is written through a
    symlink planted in the output folder, and a reader never sees half a file.
    `add` may be called from several threads at once.

    Files under `out_dir`:

    - `run.json`: the run's metadata, written when the writer is created;
      the same line is appended to `runs.jsonl`, the folder's run history.
    - `<submission>/results.json` (Gradescope format) and
      `<submission>/feedback.md`, written by `add`.
    - `gradebook.csv`: one row per submission added so far (and kept from
      earlier runs), sorted by submission, rewritten by every `add`. Columns: submission, assignment, each exercise (in the
      order first seen), total, max, problem; an exercise a submission does
      not have is blank.

    Example:

    ```python
    writer = ReportWriter(Path("grades"), {"isolation": "namespaces"})
    for result in results:
        writer.add(result)
    gradebook = writer.finish()
    ```

    Args:
        out_dir: the output folder; created if missing.
        run_info: JSON-serialisable run metadata (isolation, versions, start
            time, ...); `{}` when not given. Values JSON cannot hold are
            written as strings.
    """

    def __init__(self, out_dir: Path, run_info: dict | None = None) -> None:
        self.out_dir = Path(out_dir)
        self._lock = threading.Lock()
        self._used = {RUN_FILE.casefold(), GRADEBOOK_FILE.casefold(), HISTORY_FILE.casefold()}
        self._rows: list[dict[str, str]] = []
        self._exercises: list[str] = []
        self._earlier: set[str] = set()
        self._read_earlier_rows()
        write_atomic(self.out_dir, RUN_FILE, json.dumps(run_info or {}, indent=1, default=str) + "\n")
        self._append_history(json.dumps(run_info or {}, default=str))

    def _append_history(self, line: str) -> None:
        """Adds this run to `runs.jsonl` (rewritten atomically: never through a planted link)."""
        path = self.out_dir / HISTORY_FILE
        earlier = ""
        if path.is_file() and not path.is_symlink():
            try:
                earlier = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                earlier = ""
        if earlier and not earlier.endswith("\n"):
            earlier += "\n"
        write_atomic(self.out_dir, HISTORY_FILE, earlier + line + "\n")

    def _read_earlier_rows(self) -> None:
        """Keeps the rows of an earlier run into the same folder: a regrade replaces only its own rows."""
        path = self.out_dir / GRADEBOOK_FILE
        if path.is_symlink() or not path.is_file():
            return
        try:
            fields, rows = read_gradebook_rows(path)
        except (OSError, UnicodeDecodeError, csv.Error):
            return
        fixed = {"submission", "assignment", "total", "max", "problem"}
        if "submission" not in fields:
            return
        self._exercises = [f for f in fields if f not in fixed]
        for row in rows:
            self._rows.append({k: v or "" for k, v in row.items() if k})
            self._earlier.add(row.get("submission") or "")

    @property
    def gradebook(self) -> Path:
        """The path of `gradebook.csv`."""
        return self.out_dir / GRADEBOOK_FILE

    @property
    def rows(self) -> int:
        """How many submissions were added."""
        return len(self._rows)

    def _folder(self, submission: str) -> str:
        """A folder name for `submission`, unique in this run (caller holds the lock).

        Compared without case, so that case-insensitive file systems cannot merge two folders.
        """
        base = safe_name(submission)
        folder, n = base, 1
        while folder.casefold() in self._used:
            n += 1
            folder = f"{base}-{n}"
        self._used.add(folder.casefold())
        return folder

    def add(self, result: SubmissionResult) -> Path:
        """Writes one submission's `results.json` and `feedback.md`, then the gradebook so far.


        Args:
            result: the graded submission.

        Returns:
            The submission's folder, `out_dir / <safe name>` (with `-2`, `-3`,
            ... when the name was already used in this run).

        A folder that cannot be written (for example a symlink planted in
        its place, which is never followed) costs a second folder name, and
        the row's `problem` says where the files went; nothing is raised.
        """
        results_json = json.dumps(gradescope_results(result), indent=1) + "\n"
        feedback = feedback_markdown(result)
        row = {"submission": result.submission, "assignment": result.assignment}
        row.update({ex.name: f"{round(ex.points, 4):g}" for ex in result.exercises})
        row.update(total=f"{round(result.points, 4):g}", max=f"{round(result.max_points, 4):g}", problem=result.problem)
        with self._lock:
            folder = self._folder(result.submission)
        try:
            self._write_files(folder, results_json, feedback)
        except OSError as exc:  # e.g. a symlink planted as the folder: never followed, never fatal
            with self._lock:
                other = self._folder(result.submission)
            try:
                self._write_files(other, results_json, feedback)
                note = f"its reports could not be written to {folder}/ ({exc}); they are in {other}/"
                folder = other
            except OSError as again:
                note = f"its reports could not be written ({again})"
            row["problem"] = f"{row['problem']}; {note}" if row["problem"] else note
        with self._lock:
            if row["submission"] in self._earlier:  # regraded: its row from the earlier run is replaced
                self._earlier.discard(row["submission"])
                at = next(i for i, r in enumerate(self._rows) if r.get("submission") == row["submission"])
                self._rows[at] = row
            else:
                self._rows.append(row)
            self._exercises += [ex.name for ex in result.exercises if ex.name not in self._exercises]
            self._write_gradebook()
        return self.out_dir / folder

    def add_missing(self, students: list[str], assignment: str, max_points: float, problem: str) -> None:
        """Adds a 0-point row, with `problem` as its note, for each student that has no row yet."""
        with self._lock:
            have = {r.get("submission") for r in self._rows if r.get("submission") not in self._earlier}
            for key in students:
                if key in have:
                    continue
                self._rows = [r for r in self._rows if r.get("submission") != key]  # an earlier run's row
                self._rows.append({"submission": key, "assignment": assignment, "total": "0",
                                   "max": f"{round(max_points, 4):g}", "problem": problem})
            self._write_gradebook()

    def _write_files(self, folder: str, results_json: str, feedback: str) -> None:
        write_patiently(self.out_dir, f"{folder}/results.json", results_json)
        write_patiently(self.out_dir, f"{folder}/feedback.md", feedback)

    def _write_gradebook(self) -> None:
        """Rewrites gradebook.csv with every row so far (caller holds the lock)."""
        fields = ["submission", "assignment", *self._exercises, "total", "max", "problem"]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields, restval="", extrasaction="ignore")
        writer.writeheader()
        rows = sorted(self._rows, key=lambda r: (r.get("submission", "").casefold(), r.get("assignment", "")))
        writer.writerows([{k: no_formula(v) if k in ("submission", "assignment", "problem") else encodable(v)
                           for k, v in row.items()} for row in rows])
        write_patiently(self.out_dir, GRADEBOOK_FILE, buffer.getvalue())

    def finish(self) -> Path:
        """Writes the gradebook once more (only a header if nothing was added) and returns its path."""
        with self._lock:
            self._write_gradebook()
        return self.gradebook

    def __enter__(self) -> "ReportWriter":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.finish()


def no_formula(text: str) -> str:
    """A printable CSV cell a spreadsheet will not run as a formula (see `student_text.spreadsheet_cell`)."""
    return spreadsheet_cell(text)


def formula_unquoted(text: str) -> str:
    """`text` as it was before `no_formula` quoted it."""
    return spreadsheet_unquoted(text)


def read_gradebook_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The columns and rows of a `gradebook.csv`, with the submission names as they were before quoting.

    Raises:
        OSError, UnicodeDecodeError, csv.Error: the file cannot be read as CSV.
    """
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = [dict(row) for row in reader]
        fields = list(reader.fieldnames or [])
    for row in rows:
        if row.get("submission"):
            row["submission"] = formula_unquoted(row["submission"])
    return fields, rows


def write_reports(results: list[SubmissionResult], out_dir: Path, run_info: dict | None = None) -> Path:
    """Writes every submission's results.json and feedback.md, and gradebook.csv, at once.

    A convenience over `ReportWriter`, which writes them as grading goes.

    Args:
        results: the graded submissions.
        out_dir: the output folder; created if missing.
        run_info: run metadata for `run.json`.

    Returns:
        The path of `gradebook.csv`.
    """
    writer = ReportWriter(out_dir, run_info)
    for result in results:
        writer.add(result)
    return writer.finish()
