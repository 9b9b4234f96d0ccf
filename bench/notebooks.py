"""Runs every solution notebook at its default parameters: wall time and headline metric.

    python bench/notebooks.py [--only A2 A3] [--small]

Target: at most 180 s per notebook on a 2-core CPU (headroom for slower machines
and reruns), with each notebook's headline at its target. The last column names
the slowest cell, the first place to look when a notebook is over budget. Notebooks read data
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

from autograder.execute import Execution, execute  # noqa: E402

TARGET_S = 180.0


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
    print(f"cores: {os.cpu_count()}; parameters: {'CI (small)' if args.small else 'default'}; "
          f"budget <= {TARGET_S:.0f} s per notebook")
    print(f"{'notebook':<9}{'seconds':>8}  {'in budget':<10}{'at target':<10}{'headline':>10}  slowest cell")
    worst, failures = 0.0, 0
    for path in paths:
        run = execute(path, small=args.small, timeout_s=900, cwd=ROOT)
        worst = max(worst, run.seconds)
        within = "yes" if run.seconds <= TARGET_S else "NO"
        slowest = run.slowest_cell()
        where = f"{slowest[0]}: {slowest[1]:.1f} s  {slowest[2][:48]}" if slowest else "-"
        met, value, about = _headline(run)
        failures += within != "yes" or met != "yes"
        print(f"{path.stem:<9}{run.seconds:>8.1f}  {within:<10}{met:<10}{value:>10}  {where}")
        print(f"{'':<9}  {about}", flush=True)
        if run.error and run.kernel_log.strip():
            print("  kernel's stderr (last lines):\n    " + "\n    ".join(run.kernel_log.strip().splitlines()[-8:]))
    print(f"slowest notebook: {worst:.1f} s (budget <= {TARGET_S:.0f} s); "
          f"{failures} of {len(paths)} over budget or below target")


def _headline(run: Execution) -> tuple[str, str, str]:
    """(at target: yes/NO/?, the value, what was measured and the target) for one notebook's run."""
    if run.error:
        return "NO", "-", f"FAILED in cell {run.failed_cell}: {run.error}"
    h = run.headline
    if not h:
        return "?", "-", "(no HEADLINE defined)"
    value = h.get("value")
    shown = f"{value:.4g}" if isinstance(value, (int, float)) else str(value)
    met = {True: "yes", False: "NO"}.get(h.get("met"), "?")
    return met, shown, f"{h.get('metric')}" + (f"; target {h['target']}" if h.get("target") else "")


if __name__ == "__main__":
    main()
