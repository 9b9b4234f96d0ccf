"""`autograder gradescope`: an upload-ready Gradescope autograder, and the grading it runs there.

The zip holds `setup.sh` (a virtual environment with this package and its CPU
TensorFlow, on Gradescope's Ubuntu image), `run_autograder` (grades the
notebook in `/autograder/submission` into `/autograder/results/results.json`),
this package's source, the one reference notebook, and `config.json` (the
assignment, limits and visibility settings). The reference never reaches the
students: Gradescope keeps `/autograder/source` to itself, and the grading
runs the student's cells in the same kernel-guarded sandbox as a local run.

Tests run `run_autograder` in a folder laid out like `/autograder`, with
`AUTOGRADER_ROOT` (and `AUTOGRADER_PYTHON`) pointing elsewhere.
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from autograder.report import HIDDEN_VISIBILITY, VISIBILITIES, gradescope_results

ROOT = Path(__file__).resolve().parents[1]
SOURCE_FILES = ("pyproject.toml", "README.md", "LICENSE")
SOURCE_PACKAGES = ("autograder", "course")
NO_NOTEBOOK = ("No notebook (.ipynb) was found in your submission. Upload the notebook itself "
               "(File > Download > .ipynb in Colab), not a PDF or a zip of a folder.")

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, on its Ubuntu image: a venv with this package and CPU TensorFlow.
set -euo pipefail
cd /autograder/source
PY="$(command -v python3.13 || command -v python3.12 || command -v python3.11 || true)"
if [ -z "$PY" ]; then
    apt-get update
    apt-get install -y python3.11 python3.11-venv
    PY=python3.11
fi
"$PY" -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --upgrade pip
/autograder/venv/bin/python -m pip install "/autograder/source[cpu]"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; AUTOGRADER_ROOT / AUTOGRADER_PYTHON are for tests.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
export TF_CPP_MIN_LOG_LEVEL=3
exec "$PY" -m autograder.gradescope --root "$ROOT"
"""


@dataclass(frozen=True)
class BundleConfig:
    """What the Gradescope autograder grades, and how.

    Attributes:
        assignment: the assignment id (its reference is `solutions/<id>.ipynb`).
        hidden_visibility: when students see hidden cases: `after_published`
            (default), `after_due_date`, `hidden` or `visible`.
        stdout_visibility: when students see what the autograder printed.
        timeout_s, memory_mb: the sandbox's limits per submission.
    """

    assignment: str
    hidden_visibility: str = HIDDEN_VISIBILITY
    stdout_visibility: str = "hidden"
    timeout_s: float = 120.0
    memory_mb: int = 2048

    def __post_init__(self) -> None:
        for name in ("hidden_visibility", "stdout_visibility"):
            if getattr(self, name) not in VISIBILITIES:
                raise ValueError(f"{name} must be one of {VISIBILITIES}; got {getattr(self, name)!r}")


def build_bundle(config: BundleConfig, solutions: Path, out: Path, source: Path = ROOT) -> Path:
    """Writes the upload-ready zip and returns its path.

    Raises:
        ValueError: no reference notebook for the assignment.
    """
    reference = Path(solutions) / f"{config.assignment}.ipynb"
    if not reference.is_file():
        raise ValueError(f"no reference notebook {reference} for assignment {config.assignment!r}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            bundle.writestr(info, text)
        bundle.writestr("config.json", json.dumps(asdict(config), indent=1) + "\n")
        bundle.write(reference, f"solutions/{reference.name}")
        for name in SOURCE_FILES:
            if (source / name).is_file():
                bundle.write(source / name, name)
        for package in SOURCE_PACKAGES:
            for path in sorted((source / package).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                    bundle.write(path, path.relative_to(source).as_posix())
    return out


def find_submission(folder: Path, assignment: str) -> Path | None:
    """The notebook to grade: `<assignment>.ipynb` if present, else the first notebook found."""
    notebooks = sorted(p for p in Path(folder).rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    named = [p for p in notebooks if p.stem == assignment]
    return (named or notebooks or [None])[0]


def run(root: Path) -> Path:
    """Grades the submission in `root/submission` into `root/results/results.json` (as on Gradescope)."""
    from autograder.grade import GradeConfig, Grader
    from autograder.run import Limits, Sandbox

    config = BundleConfig(**json.loads((root / "source" / "config.json").read_text()))
    results_dir = root / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    target = results_dir / "results.json"
    notebook = find_submission(root / "submission", config.assignment)
    if notebook is None:
        data = {"score": 0.0, "output": NO_NOTEBOOK, "output_format": "md", "tests": [],
                "stdout_visibility": config.stdout_visibility}
        target.write_text(json.dumps(data, indent=1) + "\n")
        return target
    limits = Limits(timeout_s=config.timeout_s, memory_mb=config.memory_mb)
    grade_config = GradeConfig(root / "source" / "solutions", config.assignment, 1, limits)
    grader = Grader(grade_config, deny_paths=[str(results_dir), str(root / "source")])
    with Sandbox(limits, workers=1, deny_paths=[str(root / "source")]) as sandbox:
        isolation = sandbox.isolation().describe()
        print(isolation, flush=True)
        result = grader.grade([notebook], sandbox)[0]
    data = gradescope_results(result, config.hidden_visibility, config.stdout_visibility)
    if result.problem:
        data["output"] = result.problem
    target.write_text(json.dumps(data, indent=1) + "\n")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope",
                                     description="Grade /autograder/submission as Gradescope's run_autograder.")
    parser.add_argument("--root", default="/autograder")
    args = parser.parse_args(argv)
    path = run(Path(args.root))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
