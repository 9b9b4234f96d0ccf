"""Gradescope's `run_autograder`: grades `/autograder/submission` (runs inside Gradescope's container).

`python -m autograder.grading.gradescope --root /autograder` reads the bundle's
`config.json` (written by `autograder.authoring.bundle`), finds the submitted
notebook and grades it through the one grading driver, in the same
kernel-guarded sandbox as a local run, into `results/results.json`.

Tests run it in a folder laid out like `/autograder`, with `AUTOGRADER_ROOT`
(and `AUTOGRADER_PYTHON`) pointing elsewhere.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from autograder.authoring.bundle import BundleConfig
from autograder.reports.writer import gradescope_results
from autograder.grading.settings import skip_unused_imports
from autograder.grading.submissions import find_submission

NO_NOTEBOOK = ("No notebook (.ipynb) was found in your submission. Upload the notebook itself "
               "(File > Download > .ipynb in Colab), not a PDF or a zip of a folder.")


def run(root: Path) -> Path:
    """Grades the submission in `root/submission` into `root/results/results.json` (as on Gradescope).

    `execution_time` is the whole run's, warm-up included, as Gradescope's own clock sees it.
    """
    start = time.perf_counter()
    from autograder.grading.settings import GradeConfig
    from autograder.grading.driver import GradingSession
    from autograder.run import Limits

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
    grade_config = GradeConfig(root / "source" / "solutions", config.assignment, 1, limits,
                               root=root / "submission")  # a link anywhere under it is refused
    with GradingSession(grade_config, [notebook], deny_paths=[str(results_dir), str(root / "source")],
                        sandbox_deny=[str(root / "source")]) as session:
        print(session.isolation().describe(), flush=True)
        result = session.grade()[0]
    data = gradescope_results(result, config.hidden_visibility, config.stdout_visibility, config.hidden_details)
    data["execution_time"] = round(time.perf_counter() - start, 3)
    target.write_text(json.dumps(data, indent=1) + "\n")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.grading.gradescope",
                                     description="Grade /autograder/submission as Gradescope's run_autograder.")
    parser.add_argument("--root", default="/autograder")
    args = parser.parse_args(argv)
    skip_unused_imports()
    path = run(Path(args.root))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
