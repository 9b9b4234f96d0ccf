"""Grades for a learning-management system, from a run's `gradebook.csv`.

`csv` is the gradebook itself (one row per submission, one column per
exercise). `canvas` is the file Canvas' gradebook import reads: the columns
`Student`, `ID`, `SIS User ID`, `SIS Login ID`, `Section`, then one column
per assignment; a second row, `Points Possible`, gives each assignment's
maximum. Canvas matches a student by name, Canvas ID or SIS User ID, and an
assignment column by its header: name it `A2 (1234)` after the assignment's
Canvas ID to update that assignment rather than create a new one.

A roster (`--roster`) may add the columns `name`, `canvas_id`, `sis_user_id`,
`sis_login_id` and `section` per student; without a Canvas ID, the student's
key is the SIS User ID. A roster student with no row gets 0 (the gradebook's
`problem` column says `missing` when `grade` was given the roster).

The Canvas column of each assignment (`--canvas-column A2='A2 (1234)'`) is
kept in the grades folder's `lms.json`, so a later regrade or export into the
same folder updates the same Canvas column without being told again.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from autograder.reports.writer import no_formula, read_gradebook_rows
from autograder.grading.submissions import STUDENT_COLUMNS, roster_rows
from autograder.reports.safe_files import write_atomic

EXPORTS = ("csv", "canvas")
CANVAS_FILE = "canvas.csv"
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "    Points Possible"
SETTINGS_FILE = "lms.json"
MISSING = "missing: no submission"


@dataclass(frozen=True)
class Student:
    """What Canvas knows a student by. Empty fields are left blank in the export."""

    key: str
    name: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""


def roster_students(path: Path | None) -> dict[str, Student]:
    """Student key -> Canvas identities, from the optional columns of a roster CSV.

    Raises:
        RosterError: the roster cannot be read.
    """
    if path is None:
        return {}
    students = {}
    for row in roster_rows(path):
        fields = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        key = next((fields[c] for c in STUDENT_COLUMNS if fields.get(c)), "")
        if key:
            students[key] = Student(key, fields.get("name", ""), fields.get("canvas_id", ""),
                                    fields.get("sis_user_id", ""), fields.get("sis_login_id", ""),
                                    fields.get("section", ""))
    return students


def read_gradebook(path: Path) -> list[dict[str, str]]:
    """The rows of a `gradebook.csv` written by `ReportWriter`.

    Raises:
        ValueError: the file is missing or is not a gradebook.
    """
    try:
        fields, rows = read_gradebook_rows(Path(path))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"cannot read the gradebook {path}: {exc}") from None
    if not {"submission", "assignment", "total", "max"} <= set(fields):
        raise ValueError(f"{path} is not a gradebook (it needs submission, assignment, total and max columns)")
    return rows


def canvas_csv(rows: list[dict[str, str]], students: dict[str, Student] | None = None,
               columns: dict[str, str] | None = None, names: dict[str, str] | None = None) -> str:
    """The text of a Canvas gradebook import.

    Args:
        rows: gradebook rows (`submission` is the student's key).
        students: Canvas identities by key (from the roster); others use the key as SIS User ID.
        columns: assignment id -> the Canvas column header (default: `<id>: <name>` from `names`, else the id).
        names: assignment id -> the assignment's name (the course settings' `[names]`).
    """
    from autograder.course_settings import assignment_title

    students, columns = students or {}, columns or {}
    assignments = list(dict.fromkeys(row["assignment"] for row in rows if row.get("assignment")))
    maxima = {a: max(float(r["max"] or 0) for r in rows if r["assignment"] == a) for a in assignments}
    scores: dict[str, dict[str, str]] = {}
    for row in rows:
        scores.setdefault(row["submission"], {})[row["assignment"]] = row["total"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*CANVAS_COLUMNS, *(columns.get(a) or assignment_title(a, names) for a in assignments)])
    writer.writerow([POINTS_POSSIBLE, "", "", "", "", *(f"{maxima[a]:g}" for a in assignments)])
    for key in students:
        if key not in scores:  # on the roster, never submitted: 0, as nbgrader's export writes
            scores[key] = {a: "0" for a in assignments}
    for key, by_assignment in sorted(scores.items(), key=lambda item: item[0].casefold()):
        who = students.get(key, Student(key))
        identity = [who.name or key, who.canvas_id, who.sis_user_id or ("" if who.canvas_id else key),
                    who.sis_login_id, who.section]
        writer.writerow([no_formula(v) for v in identity] + [by_assignment.get(a, "") for a in assignments])
    return buffer.getvalue()


def export(out_dir: Path, kinds: list[str], roster: Path | None = None,
           columns: dict[str, str] | None = None, names: dict[str, str] | None = None) -> list[Path]:
    """Writes the asked-for exports of the gradebook in `out_dir`; returns their paths.

    `columns` (kept across runs in `lms.json`) name the Canvas columns; an assignment without one is
    shown by its name from `names` (`A2: A vanilla RNN`), else by its id.

    Raises:
        ValueError: an unknown kind, or no gradebook in `out_dir`.
    """
    unknown = sorted(set(kinds) - set(EXPORTS))
    if unknown:
        raise ValueError(f"--export takes {' or '.join(EXPORTS)}; got {unknown}")
    out_dir = Path(out_dir)
    columns = remembered_columns(out_dir, columns or {})
    gradebook = out_dir / "gradebook.csv"
    paths = [gradebook] if "csv" in kinds else []
    if "canvas" in kinds:
        text = canvas_csv(read_gradebook(gradebook), roster_students(roster), columns, names)
        write_atomic(out_dir, CANVAS_FILE, text)
        paths.append(out_dir / CANVAS_FILE)
    return paths


def remembered_columns(out_dir: Path, columns: dict[str, str]) -> dict[str, str]:
    """The Canvas columns kept in `out_dir/lms.json`, updated with `columns` (which win) and saved.

    Raises:
        ValueError: `lms.json` exists but is not what this function writes.
    """
    path = Path(out_dir) / SETTINGS_FILE
    kept: dict[str, str] = {}
    if path.is_file() and not path.is_symlink():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            kept = {str(k): str(v) for k, v in data.get("canvas_columns", {}).items()}
        except (OSError, ValueError, AttributeError) as exc:
            raise ValueError(f"{path} is damaged ({exc}): expected {{\"canvas_columns\": {{\"A2\": \"A2 (1234)\"}}}}") \
                from None
    merged = {**kept, **columns}
    if merged != kept:
        write_atomic(Path(out_dir), SETTINGS_FILE, json.dumps({"canvas_columns": merged}, indent=1) + "\n")
    return merged


def missing_students(roster: Path | None, graded: set[str]) -> list[str]:
    """The roster's students (sorted) that have no row among `graded`."""
    return sorted((key for key in roster_students(roster) if key not in graded), key=str.casefold)
