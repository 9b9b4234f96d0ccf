"""`autograder gradescope`: an upload-ready Gradescope autograder zip (authoring, the instructor's machine).

The zip holds `setup.sh` (a virtual environment with the pinned
`requirements.txt` and this package's wheel, on Gradescope's Ubuntu image) and
`run_autograder` (grades the notebook in `/autograder/submission` into
`/autograder/results/results.json` with `python -m
autograder.grading.gradescope`), both shipped as real files in
`autograder/authoring/templates/`; `wheels/<the exact installed version>.whl`
and `requirements.txt` (see `autograder.authoring.wheel`); the one reference
notebook; and `config.json` (the assignment, limits and visibility settings).
A zip whose wheel would not install is never written. The reference never reaches the
students: Gradescope keeps `/autograder/source` to itself.

Example:

```python
build_bundle(BundleConfig("A2", hidden_visibility="after_due_date"), Path("solutions"), Path("A2.zip"))
```
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from autograder.authoring.package import ROOT
from autograder.authoring.wheel import build_wheel, pinned_requirements
from autograder.reports.writer import HIDDEN_VISIBILITY, VISIBILITIES
TEMPLATES = Path(__file__).resolve().parent / "templates"
"""`setup.sh` and `run_autograder`, as they go into the zip (package data)."""
SCRIPTS = ("setup.sh", "run_autograder")


@dataclass(frozen=True)
class BundleConfig:
    """What the Gradescope autograder grades, and how (the CLI's defaults are these).

    Attributes:
        assignment: the assignment id (its reference is `solutions/<id>.ipynb`).
        hidden_visibility: when students see hidden cases: `after_published`
            (default), `after_due_date`, `hidden` or `visible`.
        stdout_visibility: when students see what the autograder printed (default `hidden`).
        timeout_s, memory_mb: the sandbox's limits per submission (default 120 s, 2048 MB:
            Gradescope's container starts TensorFlow cold for every submission).
        hidden_details: show a failed hidden case's message (default False: passed or failed only).
    """

    assignment: str
    hidden_visibility: str = HIDDEN_VISIBILITY
    stdout_visibility: str = "hidden"
    timeout_s: float = 120.0
    memory_mb: int = 2048
    hidden_details: bool = False

    def __post_init__(self) -> None:
        for name in ("hidden_visibility", "stdout_visibility"):
            if getattr(self, name) not in VISIBILITIES:
                raise ValueError(f"{name} must be one of {VISIBILITIES}; got {getattr(self, name)!r}")


def build_bundle(config: BundleConfig, solutions: Path, out: Path, source: Path = ROOT) -> Path:
    """Writes the upload-ready zip and returns its path.

    Args:
        config: what it grades and how.
        solutions: the folder of reference notebooks (`<id>.ipynb`).
        out: the zip to write.
        source: the source tree whose package the zip ships.

    Raises:
        ValueError: no reference notebook for the assignment, or no installable wheel
            of this package (then nothing is written).
    """
    reference = Path(solutions) / f"{config.assignment}.ipynb"
    if not reference.is_file():
        raise ValueError(f"no reference notebook {reference} for assignment {config.assignment!r}")
    out = Path(out)
    requirements = "\n".join(pinned_requirements()) + "\n"
    stored = store_reference_results(reference, config)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(Path(tmp), source)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        _write_zip(partial, config, reference, wheel, requirements, stored)
        partial.replace(out)
    return out


def store_reference_results(reference: Path, config: BundleConfig) -> Path | None:
    """Runs the reference once (or finds its results stored) so that every Gradescope container starts with
    them: each submission there runs in a fresh container, which would otherwise run the reference again."""
    from autograder.authoring.student import load_assignment
    from autograder.grading.reference import cache_path, reference_results
    from autograder.run import Limits

    reference_results(load_assignment(reference), Limits(timeout_s=max(config.timeout_s, 300.0),
                                                         memory_mb=config.memory_mb), reference.parent)
    path = cache_path(reference.parent, config.assignment)
    return path if path.is_file() else None


def _write_zip(out: Path, config: BundleConfig, reference: Path, wheel: Path, requirements: str,
               stored: Path | None = None) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name in SCRIPTS:
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            bundle.writestr(info, (TEMPLATES / name).read_text())
        bundle.writestr("config.json", json.dumps(asdict(config), indent=1) + "\n")
        bundle.write(reference, f"solutions/{reference.name}")
        if stored is not None:  # keyed by the reference, its cases and the pinned versions: stale means rerun
            bundle.write(stored, f"solutions/{stored.parent.name}/{stored.name}")
        bundle.write(wheel, f"wheels/{wheel.name}")
        bundle.writestr("requirements.txt", requirements)
