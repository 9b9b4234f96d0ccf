"""What the kernel boundary costs per job: forks of a TensorFlow-loaded process, with and without the guard.

    python bench/boundary.py [--repeats 20]

In a process that imported numpy, TensorFlow and Keras (as the template
does), times: one fork (the old design: one child per job), two nested forks
(template -> supervisor -> job child, the current design), two nested forks
with `guard.apply` in the inner child (Landlock, seccomp, limits, and the uid
change when run as root), and a trivial job through a warm `Sandbox` end to
end (protocol, token, result). Prints each in milliseconds (median and
spread) and the boundary's share.

Then what the grading process pays for one job's results: its peak resident
growth (VmHWM, reset before each) for results near the caps (a list of 1.9
million numbers, a 40 MB array) and past them (3 million numbers, 80 MB),
and, for comparison, what decoding such a message without the caps costs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def fork_and_wait(body) -> None:
    pid = os.fork()
    if pid == 0:
        try:
            body()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM back to VmRSS
    except OSError:
        pass


def grading_memory(box) -> None:
    """Peak growth of this (the grading) process per job result, near and past the caps."""
    results = {
        "1.9 million numbers (under the value cap)": "def f(a):\n    return [0] * 1_900_000",
        "a 40 MB float32 array (under the size cap)": "import numpy as np\ndef f(a):\n"
                                                     "    return np.zeros(10 * 2**20, np.float32)",
        "3 million numbers (past the value cap)": "def f(a):\n    return [0] * 3_000_000",
        "80 MB of text in a list (past the size cap)": "def f(a):\n    return ['x' * 2**20] * 80",
    }
    print("grading process, peak growth per job result (VmHWM):")
    for name, code in results.items():
        job = {"setup": ["import numpy as np"], "cells": [{"exercise": "f", "code": code}],
               "calls": [{"exercise": "f", "function": "f", "args": [1]}]}
        _reset_peak()
        before = _rss_mb("VmRSS")
        r = box.run(job)
        grew = _rss_mb("VmHWM") - before
        kept = "kept" if r.status == "ok" and r.calls[0] and r.calls[0].ok else f"refused ({r.status})"
        print(f"  {name:<46} +{grew:6.1f} MB, {kept}")
    line = ("[" + ",".join(["0"] * 10_000_000) + "]").encode()
    _reset_peak()
    before = _rss_mb("VmRSS")
    decoded = json.loads(line)
    grew = _rss_mb("VmHWM") - before
    del decoded
    print(f"  without the caps: decoding {len(line) / 2**20:.0f} MB of small numbers costs +{grew:.0f} MB "
          f"({grew / (len(line) / 2**20):.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    import keras  # noqa: F401 - the template's imports
    import numpy  # noqa: F401
    import tensorflow  # noqa: F401

    from autograder.run import Limits, Sandbox, guard

    limits = Limits()
    scratch = tempfile.mkdtemp(prefix="bench-boundary-")
    plan = guard.make_plan(uid=guard.JOB_UID_BASE + 900)
    if plan.uid is not None:
        os.chown(scratch, plan.uid, plan.uid)
    rows = {
        "one fork (old design)": timed(lambda: fork_and_wait(lambda: None), args.repeats),
        "two nested forks (template > supervisor > job)": timed(
            lambda: fork_and_wait(lambda: fork_and_wait(lambda: None)), args.repeats),
        "two nested forks + guard.apply": timed(
            lambda: fork_and_wait(lambda: fork_and_wait(lambda: guard.apply(plan, limits, scratch))), args.repeats),
    }
    with Sandbox(limits, workers=1) as box:
        print(box.isolation().describe())
        job = {"cells": [{"exercise": "f", "code": "def f(a):\n    return a + 1"}],
               "calls": [{"exercise": "f", "function": "f", "args": [1]}]}
        box.run(job)
        rows["a trivial job through a warm Sandbox"] = timed(lambda: box.run(job), args.repeats)
        grading_memory(box)
    os.rmdir(scratch)
    print(f"{args.repeats} repeats each, milliseconds: median (min-max)")
    for name, values in rows.items():
        print(f"  {name:<48} {statistics.median(values):7.1f} ({min(values):.1f}-{max(values):.1f})")
    base = statistics.median(rows["two nested forks (template > supervisor > job)"])
    guarded = statistics.median(rows["two nested forks + guard.apply"])
    one = statistics.median(rows["one fork (old design)"])
    print(f"boundary (guard.apply): {guarded - base:.1f} ms per job; the supervisor's extra fork: {base - one:.1f} ms")


if __name__ == "__main__":
    main()
