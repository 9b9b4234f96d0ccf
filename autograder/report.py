"""Writing results: Gradescope `results.json`, `feedback.md`, `gradebook.csv`, a terminal table."""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

from autograder.results import SubmissionResult

OUTPUT_TAIL = 2000


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "submission"


def gradescope_results(result: SubmissionResult) -> dict:
    """Gradescope's autograder `results.json` for one submission."""
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
                    "output": case.message,
                    "visibility": "visible",
                }
            )
    output = result.problem or ""
    return {
        "score": result.points,
        "execution_time": round(result.wall_s, 3),
        "output": output,
        "tests": tests,
    }


def feedback_markdown(result: SubmissionResult) -> str:
    """Per-student feedback: the score, then each exercise and what to fix."""
    lines = [
        f"# Feedback: {result.submission} ({result.assignment})",
        "",
        f"**Score: {result.points:g} / {result.max_points:g}**",
        "",
    ]
    if result.problem:
        lines += [f"> {result.problem}", ""]
    for ex in result.exercises:
        mark = "✅" if ex.points == ex.max_points else ("⚠️" if ex.points > 0 else "❌")
        lines.append(f"## {mark} `{ex.name}`: {ex.points:g} / {ex.max_points:g}")
        lines.append("")
        if ex.note:
            lines += [f"Note: {ex.note}", ""]
        hidden_n = 0
        for case in ex.cases:
            if case.hidden:
                hidden_n += 1
                label = f"hidden case {hidden_n}"
            else:
                label = case.name
            status = "passed" if case.passed else "failed"
            lines.append(f"- **{label}** ({case.points:g}/{case.max_points:g}): {status}")
            if not case.passed:
                lines += ["", "  ```", *[f"  {l}" for l in case.message.splitlines()], "  ```", ""]
        lines.append("")
    if any(c.hidden for ex in result.exercises for c in ex.cases):
        lines.append("Hidden cases count toward the grade; their inputs and expected values are not shown.")
    if result.output.strip():
        tail = result.output[-OUTPUT_TAIL:]
        lines += ["", "<details><summary>Output printed by your code</summary>", "", "```", tail, "```", "</details>"]
    return "\n".join(lines) + "\n"


def write_reports(results: list[SubmissionResult], out_dir: Path) -> Path:
    """Writes every submission's results.json and feedback.md, and gradebook.csv."""
    out_dir.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    rows = []
    for result in results:
        folder = safe_name(result.submission)
        while folder in used:
            folder += "_"
        used.add(folder)
        target = out_dir / folder
        target.mkdir(parents=True, exist_ok=True)
        (target / "results.json").write_text(json.dumps(gradescope_results(result), indent=1) + "\n")
        (target / "feedback.md").write_text(feedback_markdown(result))
        row = {"submission": result.submission, "assignment": result.assignment}
        row.update({ex.name: f"{ex.points:g}" for ex in result.exercises})
        row.update(total=f"{result.points:g}", max=f"{result.max_points:g}", problem=result.problem)
        rows.append(row)
    gradebook = out_dir / "gradebook.csv"
    fields: list[str] = []
    for row in rows:
        fields += [k for k in row if k not in fields]
    with gradebook.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return gradebook


def summary_table(results: list[SubmissionResult]) -> str:
    """A fixed-width table: one row per submission, one column per exercise."""
    if not results:
        return "(no submissions)"
    names = [ex.name for ex in results[0].exercises]
    width = max(10, *(len(r.submission) for r in results)) + 2
    cols = [max(len(n), 7) + 2 for n in names]
    header = "submission".ljust(width) + "".join(n.rjust(c) for n, c in zip(names, cols)) + "total".rjust(10) + "  note"
    lines = [header, "-" * len(header)]
    for r in results:
        by_name = {ex.name: ex for ex in r.exercises}
        cells = []
        for n, c in zip(names, cols):
            ex = by_name.get(n)
            cells.append((f"{ex.points:g}/{ex.max_points:g}" if ex else "-").rjust(c))
        total = f"{r.points:g}/{r.max_points:g}".rjust(10)
        note = r.problem or next((ex.message for ex in r.exercises if ex.points < ex.max_points), "")
        row = r.submission.ljust(width) + "".join(cells) + total
        if note:
            row += "  " + note.splitlines()[0][:70]
        lines.append(row)
    return "\n".join(lines)


class ProgressBar:
    """A one-line progress bar on stderr (plain lines when not a terminal)."""

    def __init__(self, label: str = "grading", stream=sys.stderr) -> None:
        self.label, self.stream = label, stream
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        bar = "#" * filled + "." * (width - filled)
        text = f"{self.label} [{bar}] {done}/{total}"
        if self.tty:
            self.stream.write("\r" + text + ("\n" if done >= total else ""))
        elif done >= total or done == 1 or done % 10 == 0:
            self.stream.write(text + "\n")
        self.stream.flush()
