"""`autograder assign` and `autograder release`: what students get."""

from __future__ import annotations

import shutil
from pathlib import Path

from autograder.authoring.package import ROOT, copy_package
from autograder.authoring.public import embedded_public
from autograder.authoring.student import (
    load_assignment,
    public_cases,
    student_notebook,
    with_install,
    write_notebook,
)
from autograder.authoring.colab import DEFAULT_INSTALL, check_install
from autograder.grading.reference import reference_results, run_reference
from autograder.grading.locate import read_notebook
from autograder.run import Limits, Sandbox
from autograder.authoring.spec import Assignment

FORBIDDEN_IN_BUNDLE = ("### BEGIN SOLUTION", "### END SOLUTION", "# CASES")


def public_only(assignment: Assignment) -> Assignment:
    """The same assignment with its hidden cases removed (what `assign` may run)."""
    from dataclasses import replace

    exercises = [replace(ex, cases=tuple(c for c in ex.cases if not c.hidden)) for ex in assignment.exercises]
    return Assignment(assignment.id, exercises, assignment.setup, assignment.cells, assignment.leaderboard)


def compute_public(assignment: Assignment, sandbox: Sandbox) -> dict:
    """Public cases with expected values computed by running the reference."""
    return public_cases(assignment, run_reference(public_only(assignment), sandbox))


def assign_all(
    solutions: Path, notebooks: Path, ids: list[str] | None = None, install: str = DEFAULT_INSTALL,
) -> list[str]:
    """Writes `notebooks/<id>.ipynb`, carrying its public cases, for each reference notebook.

    `install` is what the notebooks' set-up cell installs on Colab. Besides the
    notebooks, only the reference's full results (hidden cases and known
    mistakes included) are kept, privately, beside the solutions
    (`autograder.grading.reference`), so that the first grading call runs no
    reference; nothing is written anywhere else (never into the installed package).

    Returns:
        One line per file, saying whether it changed.
    """
    paths = sorted(solutions.glob("*.ipynb"))
    if ids:
        paths = [p for p in paths if p.stem in ids]
        missing = set(ids) - {p.stem for p in paths}
        if missing:
            raise ValueError(f"no reference notebook for {sorted(missing)} in {solutions}")
    if not paths:
        raise ValueError(f"no reference notebooks (*.ipynb) in {solutions}")
    check_install(install)
    lines = []
    limits = Limits(timeout_s=300, memory_mb=4096, cpu_s=600)
    with Sandbox(limits, workers=1) as sandbox:
        for path in paths:
            assignment = load_assignment(path)
            public = compute_public(assignment, sandbox)
            reference_results(assignment, limits, solutions, sandbox)  # a no-op when stored and unchanged
            student_path = notebooks / f"{path.stem}.ipynb"
            changed = write_notebook(student_notebook(read_notebook(path), install, public), student_path)
            cases = sum(len(e["cases"]) for e in public["exercises"].values())
            lines.append(f"{'wrote' if changed else 'unchanged'} {student_path} ({cases} public cases)")
    return lines


def release(out_dir: Path, notebooks: Path, root: Path = ROOT, install: str | None = None) -> list[Path]:
    """Copies what students need into `out_dir` and checks no solution went with it.

    The bundle holds the notebooks, the course package, and a `Makefile` and `README.md` whose `make lab`
    sets up a venv and opens JupyterLab from the bundle alone (see `write_lab_files`).

    With `install`, the notebooks' set-up cells install that instead (see
    `autograder.authoring.colab`).

    Raises:
        ValueError: a file of the bundle holds solution code or test cases.
    """
    if install is not None:
        install = check_install(install)  # before anything is written
    sources = sorted(notebooks.glob("*.ipynb"))
    if not sources:
        raise ValueError(f"no student notebooks (*.ipynb) in {notebooks}: run `autograder assign` first")
    for nb in sources:
        if embedded_public(read_notebook(nb)) is None:
            raise ValueError(f"{nb} carries no public cases for check(): regenerate it with `autograder assign`")
    out_dir.mkdir(parents=True, exist_ok=True)
    copy_package(out_dir, root)
    (out_dir / "notebooks").mkdir(exist_ok=True)
    for nb in sources:
        if install is None:
            shutil.copy2(nb, out_dir / "notebooks" / nb.name)
        else:
            write_notebook(with_install(read_notebook(nb), install), out_dir / "notebooks" / nb.name)
    write_lab_files(out_dir, root)
    files = [p for p in out_dir.rglob("*") if p.is_file()]
    for path in files:
        if path.suffix not in {".ipynb", ".json"}:
            continue
        text = path.read_text(errors="replace")
        for marker in FORBIDDEN_IN_BUNDLE:
            if marker in text:
                raise ValueError(f"{path} contains {marker!r}: regenerate notebooks with `autograder assign`")
    return files


def write_lab_files(out_dir: Path, root: Path = ROOT) -> str:
    """Makes `make lab` work from the bundle alone: its `Makefile`, a student `README.md`, and the package.

    The package is the source copied beside them (`pyproject.toml`, from a checkout) or, when the course runs
    from an installed wheel (no source tree), that exact version's wheel under `wheels/`.

    Returns:
        What `make lab` installs: `.` or `wheels/<the wheel>`.
    """
    from autograder.authoring.bundle import TEMPLATES
    from autograder.authoring.wheel import build_wheel

    for stale in (out_dir / "wheels").glob("keras_seq_course-*.whl"):  # an earlier release's
        stale.unlink()
    if (out_dir / "pyproject.toml").is_file():
        package = "."
    else:
        package = f"wheels/{build_wheel(out_dir / 'wheels', root).name}"
    (out_dir / "Makefile").write_text((TEMPLATES / "Makefile.handout").read_text())
    (out_dir / "README.md").write_text((TEMPLATES / "README.handout.md").read_text().replace("{package}", package))
    return package
