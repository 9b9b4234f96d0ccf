"""Runs every solution notebook at its default parameters: wall time and headline metric.

    python bench/notebooks.py [--only A2 A3] [--small]

Target: at most 300 s per notebook on a 2-core CPU. Notebooks read data
through `course.data`; set COURSE_DATA_DIR (default here: ../shared/data when
it exists) so they run offline.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.execute import execute  # noqa: E402

TARGET_S = 300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="assignment ids (default: all)")
    parser.add_argument("--small", action="store_true", help="use each notebook's CI parameters")
    args = parser.parse_args()
    shared = ROOT.parent / "shared" / "data"
    if "COURSE_DATA_DIR" not in os.environ and shared.is_dir():
        os.environ["COURSE_DATA_DIR"] = str(shared)
    paths = sorted((ROOT / "solutions").glob("*.ipynb"))
    if args.only:
        paths = [p for p in paths if p.stem in args.only]
    print(f"cores: {os.cpu_count()}; parameters: {'CI (small)' if args.small else 'default'}; target <= {TARGET_S:.0f} s")
    print(f"{'notebook':<10}{'seconds':>9}  {'within':<8}headline")
    worst = 0.0
    for path in paths:
        run = execute(path, small=args.small, timeout_s=900, cwd=ROOT)
        worst = max(worst, run.seconds)
        if run.error:
            headline = f"FAILED in cell {run.failed_cell}: {run.error}"
        elif run.headline:
            h = run.headline
            value = h.get("value")
            shown = f"{value:.4g}" if isinstance(value, (int, float)) else str(value)
            headline = f"{h.get('metric')}: {shown}" + (f" (target {h['target']})" if h.get("target") else "")
        else:
            headline = "(no HEADLINE defined)"
        within = "yes" if run.seconds <= TARGET_S else "NO"
        print(f"{path.stem:<10}{run.seconds:>9.1f}  {within:<8}{headline}", flush=True)
    print(f"slowest notebook: {worst:.1f} s (target <= {TARGET_S:.0f} s)")


if __name__ == "__main__":
    main()
