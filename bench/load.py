"""A class graded quiet and again with every core saturated: the gradebooks must be identical.

    python bench/load.py [--copies 100] [--jobs N] [--hogs N]

Grades `--copies` copies of examples/submissions/*.ipynb (blank, partial,
full, hangs, cycled) twice with `autograder grade`: once on a quiet machine,
once while `--hogs` CPU-bound processes (default: one per core) spin beside
it. Load must never turn a correct answer into a timeout, so the two
gradebooks must match row for row (every score; the notes with their numbers masked). Prints
both wall times, the slowdown, and `identical` or the rows that differ.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def spin(stop: multiprocessing.synchronize.Event) -> None:
    """A CPU-bound loop until `stop` is set."""
    total = 0
    while not stop.is_set():
        for i in range(100_000):
            total += i * i


def grade(paths: list[Path], out: Path, jobs: int) -> tuple[float, dict[str, dict[str, str]]]:
    """Wall seconds of `autograder grade` on `paths`, and its gradebook rows by submission."""
    cmd = [sys.executable, "-m", "autograder.cli", "grade", *map(str, paths), "--out", str(out),
           "--jobs", str(jobs), "--solutions", str(ROOT / "solutions"), "--assignment", "A2"]
    start = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), capture_output=True,
                         text=True)
    seconds = time.perf_counter() - start
    if res.returncode != 0:
        raise SystemExit(f"autograder grade failed (exit {res.returncode}):\n{res.stderr[-3000:]}")
    with (out / "gradebook.csv").open(newline="", encoding="utf-8") as handle:
        rows = {row["submission"]: row for row in csv.DictReader(handle)}
    for row in rows.values():  # a note may quote a time ("stopped after 1.2 s"): compare its words
        row["problem"] = re.sub(r"\d+(\.\d+)?", "#", row.get("problem") or "")
    return seconds, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=100, help="submissions in the class (default 100)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel jobs (default: cores)")
    parser.add_argument("--hogs", type=int, default=os.cpu_count() or 1,
                        help="CPU-bound processes beside the loaded run (default: one per core)")
    args = parser.parse_args()
    examples = sorted((ROOT / "examples" / "submissions").glob("*.ipynb"))
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    try:
        paths = []
        for i in range(args.copies):
            source = examples[i % len(examples)]
            paths.append(work / "class" / f"{source.stem}_{i:03d}.ipynb")
            paths[-1].parent.mkdir(exist_ok=True)
            shutil.copy(source, paths[-1])
        print(f"{args.copies} copies of {', '.join(p.stem for p in examples)}; --jobs {args.jobs}; "
              f"{args.hogs} CPU-bound processes in the loaded run; {os.cpu_count()} cores")
        quiet_s, quiet = grade(paths, work / "quiet", args.jobs)
        stop = multiprocessing.Event()
        hogs = [multiprocessing.Process(target=spin, args=(stop,), daemon=True) for _ in range(args.hogs)]
        for hog in hogs:
            hog.start()
        try:
            loaded_s, loaded = grade(paths, work / "loaded", args.jobs)
        finally:
            stop.set()
            for hog in hogs:
                hog.join(5)
        print(f"quiet:  {quiet_s:6.1f} s ({quiet_s / args.copies:.3f} s per submission)")
        print(f"loaded: {loaded_s:6.1f} s ({loaded_s / args.copies:.3f} s per submission), "
              f"{loaded_s / quiet_s:.2f}x the quiet run")
        differ = [name for name in sorted(set(quiet) | set(loaded)) if quiet.get(name) != loaded.get(name)]
        if not differ:
            print(f"gradebooks: identical ({len(quiet)} rows)")
            return
        print(f"gradebooks: {len(differ)} of {len(quiet)} rows DIFFER")
        for name in differ[:10]:
            print(f"  {name}: quiet {quiet.get(name)}\n  {' ' * len(name)}  loaded {loaded.get(name)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
