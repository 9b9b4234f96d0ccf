"""Runs every solution notebook at its default parameters: wall time and headline metric.

    python bench/notebooks.py [--only A2 A3] [--small] [--seeds N] [--keep DIR]

Target: at most 180 s per notebook on a 2-core CPU (headroom for slower machines
and reruns), with each notebook's headline at its target. The last column names
the slowest cell, the first place to look when a notebook is over budget.

`--seeds N` runs each notebook N times, with `SEED = 0, 1, ..., N - 1` set
after its `parameters` cell the way CI sets its small parameters, prints a row
per run and then one summary row per notebook: the worst headline over the
seeds (the lowest, or the highest where the notebook's HEADLINE says lower is
better), the spread, the slowest run, and whether every seed met the target
within the budget. `--keep DIR` keeps each executed notebook there.
Notebooks read data through `course.data`; set COURSE_DATA_DIR (default here:
../shared/data when it exists) so they run offline.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.authoring.run_notebooks import Execution, execute  # noqa: E402

TARGET_S = 180.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="assignment ids (default: all)")
    parser.add_argument("--small", action="store_true", help="use each notebook's CI parameters")
    parser.add_argument("--seeds", type=int, default=0,
                        help="run each notebook with SEED = 0..N-1 (default: once, with the notebook's own SEED)")
    parser.add_argument("--keep", type=Path, help="folder to keep the executed notebooks in")
    args = parser.parse_args()
    shared = ROOT.parent / "shared" / "data"
    if "COURSE_DATA_DIR" not in os.environ and shared.is_dir():
        os.environ["COURSE_DATA_DIR"] = str(shared)
    paths = sorted((ROOT / "solutions").glob("*.ipynb"))
    if args.only:
        paths = [p for p in paths if p.stem in args.only]
    seeds = list(range(args.seeds)) if args.seeds > 0 else [None]
    print(f"cores: {os.cpu_count()}; parameters: {'CI (small)' if args.small else 'default'}; "
          f"seeds: {', '.join(map(str, seeds)) if seeds != [None] else 'the notebooks own'}; "
          f"budget <= {TARGET_S:.0f} s per notebook")
    print(f"{'notebook':<9}{'seed':>5}{'seconds':>8}  {'in budget':<10}{'at target':<10}{'headline':>10}  "
          f"load    slowest cell")
    worst, failures, summary = 0.0, 0, []
    for path in paths:
        runs = []
        for seed in seeds:
            keep = args.keep / f"{path.stem}{'' if seed is None else f'.seed{seed}'}.ipynb" if args.keep else None
            run = execute(path, small=args.small, timeout_s=900, cwd=ROOT,
                          overrides=None if seed is None else {"SEED": seed}, keep=keep)
            load = _load()
            worst = max(worst, run.seconds)
            within = "yes" if run.seconds <= TARGET_S else "NO"
            slowest = run.slowest_cell()
            where = f"{slowest[0]}: {slowest[1]:.1f} s  {slowest[2][:40]}" if slowest else "-"
            met, value, about = _headline(run)
            failures += within != "yes" or met != "yes"
            runs.append((seed, run, within, met))
            print(f"{path.stem:<9}{'-' if seed is None else seed:>5}{run.seconds:>8.1f}  {within:<10}{met:<10}"
                  f"{value:>10}  {load:<7} {where}")
            print(f"{'':<14}  {about}", flush=True)
            if run.error and run.kernel_log.strip():
                print("  kernel's stderr (last lines):\n    " + "\n    ".join(run.kernel_log.strip().splitlines()[-8:]))
        if len(runs) > 1:
            summary.append(_summary(path.stem, runs))
    if summary:
        print(f"\nover {len(seeds)} seeds:")
        print(f"{'notebook':<9}{'worst headline':>15}{'spread':>10}{'slowest s':>10}  every seed at target in budget")
        for line in summary:
            print(line)
    print(f"slowest notebook run: {worst:.1f} s (budget <= {TARGET_S:.0f} s); "
          f"{failures} of {len(paths) * len(seeds)} runs over budget or below target")


def _summary(name: str, runs: list) -> str:
    """One notebook's row over its seeds: worst headline, spread, slowest run, all met."""
    values = [r.headline["value"] for _, r, _, _ in runs
              if r.headline and isinstance(r.headline.get("value"), (int, float))]
    lower = any((r.headline or {}).get("better") == "lower" for _, r, _, _ in runs)
    all_ok = all(within == "yes" and met == "yes" for _, _, within, met in runs)
    slowest = max(r.seconds for _, r, _, _ in runs)
    if values and len(values) == len(runs):
        worst = max(values) if lower else min(values)
        shown, spread = f"{worst:.4g}", f"{max(values) - min(values):.3g}"
    else:
        shown, spread = "-", "-"
    return f"{name:<9}{shown:>15}{spread:>10}{slowest:>10.1f}  {'yes' if all_ok else 'NO'}"


def _load() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "-"


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
