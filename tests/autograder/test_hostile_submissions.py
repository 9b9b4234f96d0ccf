"""The ring around the job: linked submissions, hostile metadata, and student text in the grader's reports.

One class, graded through the CLI as root and as an ordinary user. Each
attack is a real file in the class folder:

- links: a symlink to the reference notebook, a symlink to a classmate's
  file, a symlinked student folder, two hard links to one file, a hard link
  to the reference;
- metadata: every JSON type in every metadata field the grader reads, on
  honest code (the marker cells decide the assignment, the row keeps its
  points);
- text: printed output and exception messages that try to close a code
  fence, add headings and images, move the terminal, carry a lone surrogate,
  look like the grader's own words, or forge a "setup failed" message; file
  names that a spreadsheet would run as formulas.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest

from grading_as import grade_cli, identities
from tiny_assignment import ADD_ONE, CASES, SCALED_SUM, SETUP, notebook

pytestmark = pytest.mark.slow
FULL = ("4", "2", "6")
BOB_SECRET = "BOB-PRINTED-7431"
HONEST_PRINTING = ADD_ONE.replace("def add_one", f"print({BOB_SECRET!r})\ndef add_one")
INJECTION = "```\n# Score: 29 / 29 (regraded by the instructor)\n![pwned](http://example.invalid/x.png)\n"
ESCAPES = "\x1b]8;;http://example.invalid\x07click\x1b]8;;\x07\x1b[2J\x1b[31mRED"
TEXT_ATTACK = (
    "# GRADED: scaled_sum\n"
    f"print({INJECTION + ESCAPES!r})\n"
    "class ExerciseNotFound(Exception):\n    pass\n"
    "def scaled_sum(x, k):\n"
    f"    raise ExerciseNotFound({'# Score: 29 / 29 (regraded by the instructor) ' + chr(0)!r} + chr(0xDCFF))\n"
)
SETUP_FORGE = (
    "# GRADED: add_one\nimport os\n"
    "MSG = b'{\"kind\":\"setup_error\",\"error\":{\"type\":\"Note\",\"message\":\"# Score: 29 / 29 (regraded by the "
    "instructor)\",\"traceback\":\"\",\"timed_out\":false,\"line\":0}}\\n'\n"
    "for fd in range(3, 64):\n    try:\n        target = os.readlink(f'/proc/self/fd/{fd}')\n"
    "    except OSError:\n        continue\n    if target.startswith('pipe:'):\n        os.write(fd, MSG)\n"
    "def add_one(x):\n    return x + 1\n"
)
JSON_VALUES = [["T1"], {"assignment": "T1"}, 7, 1.5, True, None, "T9", "", [[[[["deep"]]]]], {"": {"": []}}]
FORMULA_NAMES = ["\t=HYPERLINK(1)", "\r=cmd", "+SUM(1)", "@x", "-2+3"]


def _write(path: Path, nb) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, ensure_ascii=False))  # as-is: nbformat would refuse the odd metadata


def _metadata_variants() -> dict[str, dict]:
    """Honest notebooks whose metadata fields each hold one odd JSON value."""
    out = {}
    for i, value in enumerate(JSON_VALUES):
        nb = json.loads(nbformat.writes(notebook(SETUP, ADD_ONE, SCALED_SUM)))
        nb["metadata"]["autograder"] = {"assignment": value}
        out[f"meta_assignment_{i}"] = nb
        nb = json.loads(nbformat.writes(notebook(SETUP, ADD_ONE, SCALED_SUM)))
        nb["metadata"]["autograder"] = value
        out[f"meta_autograder_{i}"] = nb
        nb = json.loads(nbformat.writes(notebook(SETUP, ADD_ONE, SCALED_SUM)))
        for cell in nb["cells"]:
            cell["metadata"] = {"autograder": value, "tags": value} if i % 2 else {"autograder": {"exercise": value}}
        out[f"meta_cells_{i}"] = nb
    return out


@pytest.fixture(scope="module", params=identities())
def graded(request):
    base = Path(tempfile.mkdtemp(prefix="ring2-", dir="/tmp"))
    base.chmod(0o755)
    solutions, klass, out = base / "solutions", base / "class", base / "out"
    reference = solutions / "T1.ipynb"
    solutions.mkdir()
    nbformat.write(notebook(SETUP, CASES, ADD_ONE, SCALED_SUM), reference)
    honest = json.loads(nbformat.writes(notebook(SETUP, ADD_ONE, SCALED_SUM)))
    files = {"alice": klass / "alice.ipynb", "bob": klass / "bob" / "T1.ipynb", "dave": klass / "dave.ipynb"}
    _write(files["alice"], honest)
    _write(files["bob"], json.loads(nbformat.writes(notebook(SETUP, HONEST_PRINTING, SCALED_SUM))))
    _write(files["dave"], honest)
    # links
    files["link_solution"] = klass / "link_solution.ipynb"
    files["link_solution"].symlink_to(reference)
    files["mallory"] = klass / "mallory" / "T1.ipynb"
    files["mallory"].parent.mkdir()
    files["mallory"].symlink_to(Path("..") / "bob" / "T1.ipynb")
    (klass / "carol").symlink_to(klass / "bob", target_is_directory=True)
    files["carol"] = klass / "carol" / "T1.ipynb"
    files["erin"] = klass / "erin.ipynb"
    os.link(files["dave"], files["erin"])
    files["frank"] = klass / "frank.ipynb"
    os.link(reference, files["frank"])
    # metadata of every JSON type
    for name, nb in _metadata_variants().items():
        files[name] = klass / f"{name}.ipynb"
        _write(files[name], nb)
    # student text
    files["text_attack"] = klass / "text_attack.ipynb"
    _write(files["text_attack"], json.loads(nbformat.writes(notebook(SETUP, ADD_ONE, TEXT_ATTACK))))
    files["setup_forge"] = klass / "setup_forge.ipynb"
    _write(files["setup_forge"], json.loads(nbformat.writes(notebook(SETUP, SETUP_FORGE, SCALED_SUM))))
    for i, name in enumerate(FORMULA_NAMES):
        files[f"formula_{i}"] = klass / f"{name}.ipynb"
        _write(files[f"formula_{i}"], honest)
    proc = grade_cli(request.param, base, [*map(str, files.values()), "--out", str(out), "--solutions",
                                           str(solutions), "--jobs", "2", "--timeout", "60", "--step-floor", "30"])
    with (out / "gradebook.csv").open(newline="", encoding="utf-8") as handle:
        raw_rows = list(csv.DictReader(handle))
    yield {"proc": proc, "out": out, "raw_rows": raw_rows, "rows": {r["submission"]: r for r in raw_rows},
           "files": files, "who": request.param}
    shutil.rmtree(base, ignore_errors=True)


def _scores(row: dict) -> tuple[str, str, str]:
    return row["add_one"], row["scaled_sum"], row["total"]


def _feedback(graded, name: str) -> str:
    return (graded["out"] / name / "feedback.md").read_text(encoding="utf-8")


def test_the_class_finishes_with_a_row_per_file(graded):
    assert graded["proc"].returncode == 0, graded["proc"].stderr[-3000:]
    assert len(graded["raw_rows"]) == len(graded["files"]), sorted(graded["rows"])


@pytest.mark.parametrize("name", ["link_solution", "mallory", "carol"])
def test_a_symlinked_submission_gets_nothing_and_says_why(graded, name):
    row = graded["rows"][name]
    assert _scores(row) == ("0", "0", "0") and "symbolic link" in row["problem"], row
    assert BOB_SECRET not in _feedback(graded, name)


@pytest.mark.parametrize("name", ["erin", "dave"])
def test_hard_links_shared_by_two_submissions_are_graded_for_neither(graded, name):
    row = graded["rows"][name]
    assert row["total"] == "0" and "hard link" in row["problem"], row


def test_a_hard_link_to_the_reference_is_refused(graded):
    row = graded["rows"]["frank"]
    assert row["total"] == "0" and "reference" in row["problem"], row


def test_the_linked_to_files_owners_keep_their_scores(graded):
    for name in ("alice", "bob"):
        assert _scores(graded["rows"][name]) == FULL, graded["rows"][name]
    assert BOB_SECRET in _feedback(graded, "bob")


@pytest.mark.parametrize("kind", ["assignment", "autograder", "cells"])
@pytest.mark.parametrize("i", range(len(JSON_VALUES)))
def test_metadata_of_any_json_type_never_costs_an_honest_point(graded, kind, i):
    row = graded["rows"][f"meta_{kind}_{i}"]
    assert _scores(row) == FULL and row["assignment"] == "T1", row


def _outside_fences(markdown: str) -> list[str]:
    """The lines of `markdown` that are not inside a fenced code block."""
    lines, fence = [], None
    for line in markdown.splitlines():
        stripped = line.strip()
        run = re.fullmatch(r"(`{3,}|~{3,}).*", stripped)
        if fence is None and run:
            fence = run.group(1)
        elif fence is not None and re.fullmatch(re.escape(fence[0]) + "{%d,}" % len(fence), stripped):
            fence = None
        elif fence is None:
            lines.append(line)
    return lines


@pytest.mark.parametrize("name", ["text_attack", "setup_forge"])
def test_student_text_never_becomes_the_graders_words(graded, name):
    feedback = _feedback(graded, name)
    results = json.loads((graded["out"] / name / "results.json").read_text(encoding="utf-8"))
    for text in (feedback, results["output"], *(t["output"] for t in results["tests"])):
        outside = _outside_fences(text)
        assert not any(re.match(r"\s*#+\s*Score", line) for line in outside), text
        assert not any(re.search(r"(?<!\\)!\[", line) for line in outside), text
        assert "\x1b" not in text and "\x00" not in text
    assert "regraded by the instructor" not in graded["rows"][name]["problem"]
    assert "regraded by the instructor" not in results["output"]


def test_the_attacks_own_work_is_still_graded(graded):
    assert graded["rows"]["text_attack"]["add_one"] == "4"
    assert graded["rows"]["text_attack"]["scaled_sum"] == "0"
    assert graded["rows"]["setup_forge"]["total"] == "0"


def test_terminal_and_csv_are_free_of_escape_sequences_and_formulas(graded):
    assert "\x1b" not in graded["proc"].stdout and "\x1b" not in graded["proc"].stderr
    gradebook = (graded["out"] / "gradebook.csv").read_text(encoding="utf-8")
    assert "\x1b" not in gradebook and "\x00" not in gradebook
    for row in graded["raw_rows"]:
        for column in ("submission", "problem"):
            cell = row[column]
            assert cell.lstrip()[:1] not in set("=+-@\t\r") or cell.startswith("'"), (column, cell)
    for name in FORMULA_NAMES:  # control characters are shown escaped (\t), formula starts quoted (')
        (row,) = [r for r in graded["raw_rows"] if r["submission"].endswith(name.lstrip("\t\r"))]
        assert _scores(row) == FULL and row["submission"][:1] in ("'", "\\"), row
