"""Seconds per submission: our autograder against nbgrader's `autograde`, on the same notebooks.

    python bench/grading.py [--copies 200] [--jobs N] [--nbgrader-copies M] [--timeout 30]
                            [--scheduler local:2 ...]

Grades `--copies` copies (default 200: a class, whose start-up of about one
TensorFlow import is shared as in real use) of examples/submissions/*.ipynb (blank, partial, full,
hangs, cycled) with `autograder grade` (timed end to end, start-up included)
and with `nbgrader autograde` on the same notebooks converted to nbgrader's
format (a separate venv, build/nbgrader-venv, made once). nbgrader executes the
whole notebook, training cells included, so by default it grades only the
first 8 copies (two of each example) and its seconds per submission are
measured on those. Prints machine info, both timings, both graders' scores
per example and, as the last line, the ratio nbgrader/ours (target >= 10;
target for ours: <= 0.35 s per submission on 2 cores). `--nbgrader-copies 0`
skips nbgrader. Each `--scheduler ADDRESS` (repeatable; `local:N` starts N
local Dask workers) also grades the same copies on that Dask cluster with
`autograder grade --scheduler`, and prints its seconds per submission beside
the local pool's.

First, the one-submission figure (`--single N`, default 5; 0 skips it): the
wall time of `autograder grade` on one submission as a multiple of a bare
`python -c "import tensorflow, keras"` in a fresh process, for a fresh call
(the reference's stored results removed first, so the reference runs) and for
a call that finds them stored, the three measured in turn N times (medians
printed; targets: <= 1.6x fresh, <= 1.3x stored).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from autograder.authoring.student import load_assignment  # noqa: E402
from autograder.grading.locate import GRADED, SETUP, first_line, read_notebook  # noqa: E402

import nbgrader_adapter as nbg  # noqa: E402

ORDER = ["blank", "partial", "full", "hangs"]
RATIO_TARGET = 10.0
OURS_TARGET_S = 0.35
SINGLE_TARGETS = {"fresh": 1.6, "stored": 1.3}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def example_paths(folder: Path) -> list[Path]:
    paths = sorted(folder.glob("*.ipynb"))
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(paths, key=lambda p: (rank.get(p.stem, len(ORDER)), p.stem))


def make_copies(examples: list[Path], n: int, folder: Path) -> list[tuple[str, Path]]:
    """`n` copies of the examples, cycled: `[(kind, path)]`."""
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for i in range(n):
        src = examples[i % len(examples)]
        dst = folder / f"s{i:03d}_{src.stem}.ipynb"
        shutil.copyfile(src, dst)
        copies.append((src.stem, dst))
    return copies


def run_ours(copies: list[tuple[str, Path]], out: Path, jobs: int, timeout_s: float, assignment: str,
             scheduler: str | None = None) -> dict:
    """Times `autograder grade` end to end (on `scheduler`'s Dask workers when given); reads its gradebook and results."""
    cmd = [sys.executable, "-m", "autograder.cli", "grade", *[str(p) for _, p in copies], "--out", str(out),
           "--jobs", str(jobs), "--timeout", str(timeout_s), "--solutions", str(ROOT / "solutions"),
           "--assignment", assignment]
    if scheduler:
        cmd += ["--scheduler", scheduler]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    start = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if res.returncode != 0:
        raise SystemExit(f"autograder grade failed (exit {res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    scores, walls = {}, {}
    isolation = res.stdout.splitlines()[0] if res.stdout else ""
    with (out / "gradebook.csv").open() as handle:
        for row in csv.DictReader(handle):
            scores[row["submission"]] = (float(row["total"]), float(row["max"]))
    for _, path in copies:
        results = out / path.stem / "results.json"
        if results.exists():
            walls[path.stem] = float(json.loads(results.read_text()).get("execution_time", 0.0))
    return {"seconds": seconds, "scores": scores, "walls": walls, "isolation": isolation}


def run_nbgrader(copies: list[tuple[str, Path]], work: Path, assignment_id: str, timeout_s: int,
                 log) -> dict:
    """Converts, generates, submits and times `nbgrader autograde`; reads the gradebook."""
    from autograder.grading.reference import run_reference
    from autograder.run import Limits, Sandbox

    python = nbg.ensure_venv(log=log)
    assignment = load_assignment(ROOT / "solutions" / f"{assignment_id}.ipynb")
    with Sandbox(Limits(timeout_s=120), workers=1) as box:
        expected = {k: v["value"] for k, v in run_reference(assignment, box).items()}
    tests = {ex.name: nbg.test_cell_source(assignment, ex.name, expected) for ex in assignment.exercises}

    course = work / "nbgrader-course"
    reference = nbg.to_nbgrader(read_notebook(ROOT / "solutions" / f"{assignment_id}.ipynb"), assignment, tests)
    nbg.write_course(course, assignment_id, reference, timeout_s)
    env = nbg.venv_env()
    nbgrader = str(nbg.VENV / "bin" / "nbgrader")
    res = subprocess.run([nbgrader, "generate_assignment", assignment_id, "--force"], cwd=course, env=env,
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"nbgrader generate_assignment failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    students = {}
    for i, (kind, path) in enumerate(copies):
        student = f"student_{i:03d}"
        folder = course / "submitted" / student / assignment_id
        folder.mkdir(parents=True, exist_ok=True)
        nbg.nbformat.write(nbg.to_nbgrader(read_notebook(path), assignment, tests), folder / f"{assignment_id}.ipynb")
        (folder / "timestamp.txt").write_text("2026-01-01 12:00:00.000000 UTC\n")
        students[student] = kind
    cmd = [nbgrader, "autograde", assignment_id, f"--ExecutePreprocessor.timeout={timeout_s}",
           f"--Execute.timeout={timeout_s}", "--ExecutePreprocessor.kernel_name=python3"]
    log_path = work / "nbgrader-autograde.log"
    marks = []  # (seconds since start, student) when nbgrader starts each submission
    start = time.perf_counter()
    with log_path.open("w") as log_file:
        proc = subprocess.Popen(cmd, cwd=course, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, bufsize=1)
        for line in proc.stdout:  # type: ignore[union-attr]
            now = time.perf_counter() - start
            log_file.write(f"{now:8.2f} {line}")
            if "Creating/updating student" in line:
                for student in students:
                    if student in line:
                        marks.append((now, student))
                        break
        rc = proc.wait()
    seconds = time.perf_counter() - start
    if rc != 0:
        raise SystemExit(f"nbgrader autograde failed (exit {rc}); see {log_path}")
    per_student = {}
    for (t0, student), nxt in zip(marks, marks[1:] + [(seconds, None)]):
        per_student.setdefault(student, nxt[0] - t0)
    grades = nbg.read_grades(python, course, assignment_id)
    return {"seconds": seconds, "grades": grades, "students": students, "per_student": per_student,
            "log": log_path, "reference": reference}


def score_text(pairs: list[tuple[float, float]]) -> str:
    """`[(score, max)]` (the distinct results of one example's copies) as `7/19` or `7|8/19`."""
    if not pairs:
        return "-"
    return "|".join(f"{score:g}" for score, _ in pairs) + f"/{pairs[0][1]:g}"


def cells_summary(assignment_id: str, student_nb_path: Path, converted) -> tuple[str, str]:
    """Which cells each grader executes (as numbered in a submission)."""
    nb = read_notebook(student_nb_path)
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    ours = []
    for i, c in code:
        line = first_line(c.source)
        if SETUP.match(line):
            ours.append(f"#{i} SETUP")
        elif (m := GRADED.match(line)):
            ours.append(f"#{i} {m.group(1)}")
    n_tests = sum(1 for c in converted.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade"))
    n_code = sum(1 for c in converted.cells if c.cell_type == "code")
    ours_line = (f"ours executes {len(ours)} of {len(code)} code cells, in a forked child of a warm process: "
                 + ", ".join(ours) + "; then calls each exercise on its cases (no training cell runs)")
    nbg_line = (f"nbgrader executes all {n_code} code cells of the converted notebook in a fresh kernel: "
                f"the {len(code)} cells of the submission (set-up, check(), demos, training, plots) "
                f"+ {n_tests} autograder-tests cells")
    return ours_line, nbg_line


def timed(cmd: list[str]) -> float:
    """Wall seconds of one command in a fresh process (its failure stops the bench)."""
    start = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed (exit {res.returncode}):\n{res.stderr[-3000:]}")
    return time.perf_counter() - start


def load_average() -> str:
    """The machine's 1-minute load average now (timings on a shared machine are read beside it)."""
    try:
        return f"load average {os.getloadavg()[0]:.2f}"
    except OSError:
        return "load average unknown"


def one_submission(example: Path, repeats: int, work: Path, assignment: str) -> dict[str, float]:
    """Median seconds of a bare TensorFlow import and of grading `example` fresh and with stored reference results.

    The three are measured in turn, `repeats` times, so that a change in the machine's load touches all three.
    """
    from autograder.grading.reference import CACHE_DIR

    solutions = work / "single-solutions"
    shutil.copytree(ROOT / "solutions", solutions, ignore=shutil.ignore_patterns(CACHE_DIR))
    grade = [sys.executable, "-m", "autograder.cli", "grade", str(example), "--solutions", str(solutions),
             "--assignment", assignment, "--out", str(work / "single-out")]
    times: dict[str, list[float]] = {"import": [], "fresh": [], "stored": []}
    for _ in range(repeats):
        times["import"].append(timed([sys.executable, "-c", "import tensorflow, keras"]))
        shutil.rmtree(solutions / CACHE_DIR, ignore_errors=True)
        times["fresh"].append(timed(grade))
        times["stored"].append(timed(grade))
    return {k: sorted(v)[len(v) // 2] for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=200, help="submissions graded by ours (default 200, a class)")
    parser.add_argument("--jobs", type=int, default=usable_cores(), help="our grader's parallel jobs (default: cores)")
    parser.add_argument("--nbgrader-copies", type=int, default=None,
                        help="submissions graded by nbgrader (default: min(copies, 8)); "
                             "its seconds per submission are measured on those; 0 skips nbgrader")
    parser.add_argument("--scheduler", action="append", default=[], metavar="ADDRESS",
                        help="also grade the copies on this Dask cluster (local:N for N local workers); repeatable")
    parser.add_argument("--timeout", type=int, default=30,
                        help="seconds: ours per submission, nbgrader per cell (default 30)")
    parser.add_argument("--assignment", default="A2")
    parser.add_argument("--examples", default=str(ROOT / "examples" / "submissions"))
    parser.add_argument("--keep", default=None, help="work folder to keep (default: a temporary one)")
    parser.add_argument("--single", type=int, default=5,
                        help="repeats of the one-submission figure (default 5; 0 skips it)")
    args = parser.parse_args()
    n_nbg = min(args.copies, args.nbgrader_copies if args.nbgrader_copies is not None else 8)
    examples = example_paths(Path(args.examples))
    if not examples:
        raise SystemExit(f"no example submissions in {args.examples}")

    def log(msg: str) -> None:
        print(f"  .. {msg}", file=sys.stderr, flush=True)

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-grading-"))
    if args.keep and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"machine: {cpu_model()}; {usable_cores()} usable cores ({os.cpu_count()} online); "
              f"{platform.system()} {platform.release()}; Python {platform.python_version()}")
        print(f"examples: {', '.join(p.stem for p in examples)} (cycled); ours: {args.copies} copies, "
              f"--jobs {args.jobs}, {args.timeout} s per submission; nbgrader: {n_nbg} copies, "
              f"sequential (nbgrader autograde runs one notebook at a time), {args.timeout} s per cell"
              + "".join(f"; Dask: the same copies on {s}" for s in args.scheduler))
        copies = make_copies(examples, args.copies, work / "submissions")
        if args.single > 0:
            full = next((p for p in examples if p.stem == "full"), examples[0])
            log(f"one submission ({full.name}): import, fresh and stored, {args.single} times each")
            before = load_average()
            single = one_submission(full, args.single, work, args.assignment)
            print(f"one submission ({full.name}), median of {args.single} ({before} before, {load_average()} "
                  f"after): bare `import tensorflow, keras` {single['import']:.2f} s")
            for kind, target in SINGLE_TARGETS.items():
                ratio = single[kind] / single["import"]
                print(f"  {kind + ' reference results:':<28} {single[kind]:6.2f} s = {ratio:.2f}x the import "
                      f"(target <= {target}: {'met' if ratio <= target else 'NOT met'})")

        log("ours: warm-up run on one submission (start-up cost)")
        warm = run_ours(copies[:1], work / "ours-one", args.jobs, args.timeout, args.assignment)
        log(f"ours: grading {len(copies)} submissions")
        before = load_average()
        ours = run_ours(copies, work / "ours", args.jobs, args.timeout, args.assignment)
        ours["load"] = f"{before} before, {load_average()} after"
        ours_per = ours["seconds"] / len(copies)
        print(f"ours: {ours['isolation']}")
        calm = [(k, p) for k, p in copies if k != "hangs"]
        ours_calm = None
        if calm and len(calm) < len(copies):
            log(f"ours: grading the {len(calm)} submissions that do not hang (for information)")
            ours_calm = run_ours(calm, work / "ours-calm", args.jobs, args.timeout, args.assignment)

        dask_runs = []
        for scheduler in args.scheduler:
            slug = "".join(c if c.isalnum() else "-" for c in scheduler)
            log(f"ours on Dask ({scheduler}): a 1-submission run (start-up cost), then {len(copies)} submissions")
            one = run_ours(copies[:1], work / f"dask-{slug}-one", args.jobs, args.timeout, args.assignment, scheduler)
            run = run_ours(copies, work / f"dask-{slug}", args.jobs, args.timeout, args.assignment, scheduler)
            dask_runs.append((scheduler, one, run))
            print(f"ours on Dask ({scheduler}): {run['isolation']}")

        nbgr = None
        if n_nbg > 0:
            log(f"nbgrader: preparing the course and grading {n_nbg} submissions")
            nbgr = run_nbgrader(copies[:n_nbg], work, args.assignment, args.timeout, log)
        nbg_per = nbgr["seconds"] / n_nbg if nbgr else 0.0

        if nbgr:
            ours_cells, nbg_cells = cells_summary(args.assignment, examples[0], nbgr["reference"])
            print(f"cells: {ours_cells}")
            print(f"cells: {nbg_cells}")

        kinds = [p.stem for p in examples]
        print("per example, mean seconds per submission:")
        for kind in kinds:
            ours_w = [ours["walls"][p.stem] for k, p in copies if k == kind and p.stem in ours["walls"]]
            nbg_w = [t for s, t in nbgr["per_student"].items() if nbgr["students"].get(s) == kind] if nbgr else []
            o = f"{sum(ours_w) / len(ours_w):6.2f} s in its child" if ours_w else "     -"
            g = f"{sum(nbg_w) / len(nbg_w):7.1f} s" if nbg_w else "      -"
            print(f"  {kind:<8} ours {o}   nbgrader {g}")
        print(f"ours:     {len(copies)} submissions in {ours['seconds']:.1f} s  -> {ours_per:.3f} s/submission "
              f"({ours['load']}; start-up included: a 1-submission run takes {warm['seconds']:.1f} s; "
              f"target <= {OURS_TARGET_S} s: {'met' if ours_per <= OURS_TARGET_S else 'NOT met'})")
        if ours_calm is not None:
            calm_per = ours_calm["seconds"] / len(calm)
            print(f"  (ours without the 'hangs' copies: {len(calm)} in {ours_calm['seconds']:.1f} s -> "
                  f"{calm_per:.3f} s/submission; in a hanging copy the looping check is stopped at its step limit, "
                  f"10x the reference's time and at least 0.3 s of CPU time, and the rest of the copy is still graded)")
        if dask_runs:
            print(f"seconds per submission on the same {len(copies)} copies, start-up included "
                  f"(a 1-submission run in brackets):")
            print(f"  {'local pool (--jobs ' + str(args.jobs) + ')':<26} {ours_per:7.3f}   [{warm['seconds']:.1f} s]")
            for scheduler, one, run in dask_runs:
                same = "same scores" if run["scores"] == ours["scores"] else "SCORES DIFFER from the local pool"
                print(f"  {'Dask ' + scheduler:<26} {run['seconds'] / len(copies):7.3f}   [{one['seconds']:.1f} s]"
                      f"   {same}")
        if nbgr is None:
            print("nbgrader: skipped (--nbgrader-copies 0)")
            return
        note = ""
        if n_nbg < len(copies):
            note = (f"  [nbgrader: {n_nbg} of {len(copies)} copies run, per-submission time measured on those; "
                    f"all {len(copies)} would take ~{nbg_per * len(copies):.0f} s]")
        print(f"nbgrader: {n_nbg} submissions in {nbgr['seconds']:.1f} s -> {nbg_per:.2f} s/submission{note}")

        parts = []
        for kind in kinds:
            o = sorted({ours["scores"][p.stem] for k, p in copies if k == kind and p.stem in ours["scores"]})
            g = sorted({(v["score"], v["max"]) for s, v in nbgr["grades"].items() if nbgr["students"].get(s) == kind})
            parts.append(f"{kind} {score_text(o)} / {score_text(g)}")
        print("scores (ours / nbgrader): " + ", ".join(parts))
        print("  (ours: 1 point per case, partial credit; nbgrader: one all-or-nothing test cell per exercise "
              "worth the exercise's points)")
        print(f"nbgrader/ours: {nbg_per / ours_per:.1f}x (target >= {RATIO_TARGET:g})")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
