"""A hostile class graded through the CLI, as root (jobs under their own uid) and as an ordinary user.

Each attacker is a real submission (see `hostile_class`). For every run:
no unearned point, the class finishes, honest neighbours keep their exact
scores, no process of any job outlives the grader, and nothing is written
outside the output folder and the jobs' scratch folders.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

import hostile_class as hc
from grading_as import NOBODY, identities, readable_by_others
from tiny_assignment import ADD_ONE, CASES, SCALED_SUM, SETUP, notebook

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
FULL = 6.0


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def _processes_of(base: Path) -> list[str]:
    """Processes whose command line names `base` (the grader's templates, supervisors and jobs all do)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            uid = int(next(l for l in Path(f"/proc/{entry}/status").read_text().splitlines()
                           if l.startswith("Uid:")).split()[1])
        except (OSError, StopIteration, ValueError):
            continue
        if str(base) in cmd:
            found.append(f"{entry} uid={uid} {cmd[:80]}")
    return found


@pytest.fixture(scope="module", params=identities())
def hostile(request):
    who = request.param
    base = Path(tempfile.mkdtemp(prefix="hostile-", dir="/tmp"))
    base.chmod(0o755)
    solutions, klass, canary, out = base / "solutions", base / "class", base / "canary", base / "out"
    for folder in (solutions, klass, canary):
        folder.mkdir()
    nbformat.write(notebook(SETUP, CASES, hc.reference_add_one(), SCALED_SUM), solutions / "T1.ipynb")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    subs = hc.submissions(str(solutions / "T1.ipynb"), str(solutions), str(out), str(canary), port)
    names = list(subs)
    for name, nb in subs.items():
        nbformat.write(nb, klass / f"{name}.ipynb")
    # honest notebooks in unusual encodings, and one that is no notebook at all
    full = nbformat.writes(notebook(SETUP, ADD_ONE, SCALED_SUM))
    (klass / "bom.ipynb").write_bytes(codecs.BOM_UTF8 + full.encode())
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "code", "input": src, "language": "python", "outputs": [], "metadata": {}}
        for src in (SETUP, ADD_ONE, SCALED_SUM)]}]}
    (klass / "v3.ipynb").write_text(json.dumps(v3))
    (klass / "essay.ipynb").write_text("My answers are in the PDF.")
    names += ["bom", "v3", "essay"]
    # a victim file, and links a previous compromise could have planted in the output folder
    victim = canary / "victim.txt"
    victim.write_text("untouched")
    (out / "full_1").mkdir(parents=True)
    (out / "full_1" / "results.json").symlink_to(victim)
    (out / "full_2").symlink_to(canary, target_is_directory=True)
    before = {"solutions": _digest(solutions), "class": _digest(klass)}
    cmd = [sys.executable, "-m", "autograder.cli", "grade", *[str(klass / f"{n}.ipynb") for n in names],
           "--out", str(out), "--solutions", str(solutions), "--jobs", "2", "--timeout", "60",
           "--step-floor", "30", "--require-isolation"]
    tmp = base / "tmp"
    tmp.mkdir(mode=0o1777)
    tmp.chmod(0o1777)
    env = {**os.environ, "TMPDIR": str(tmp), "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT) + os.pathsep + str(Path(__file__).parent)}
    if who == "user" and os.geteuid() == 0:
        for path in (base, out, *out.iterdir()):
            os.lchown(path, NOBODY, NOBODY)
        caps = [] if readable_by_others(sys.base_prefix, sys.prefix, ROOT) else ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
        cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *caps, *cmd]
        env["HOME"] = str(base)
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    seconds = time.monotonic() - started
    listener.close()
    time.sleep(3.5)  # anything that escaped would write now
    rows = {}
    gradebook = out / "gradebook.csv"
    if gradebook.exists():
        rows = {r["submission"]: r for r in csv.DictReader(gradebook.open())}
    yield {"base": base, "who": who, "proc": proc, "rows": rows, "out": out, "canary": canary, "victim": victim,
           "solutions": solutions, "klass": klass, "before": before, "names": names, "seconds": seconds}
    shutil.rmtree(base, ignore_errors=True)


def feedback(h, name: str) -> str:
    return (h["out"] / name / "feedback.md").read_text()


def test_the_class_finishes_and_says_what_protects_it(hostile):
    proc = hostile["proc"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    first = proc.stdout.splitlines()[0]
    assert first.startswith("isolation: landlock ABI") and "seccomp" in first and "MISSING" not in first, first
    assert ("uid 61" in first) == (hostile["who"] == "root"), first
    assert set(hostile["rows"]) == set(hostile["names"]), sorted(set(hostile["names"]) ^ set(hostile["rows"]))
    run = json.loads((hostile["out"] / "run.json").read_text())
    assert run["isolation_line"] == first and run["isolation"]["landlock"]


@pytest.mark.parametrize("name", hc.CHEATERS)
def test_no_unearned_point(hostile, name):
    assert float(hostile["rows"][name]["total"]) == 0, (hostile["rows"][name], feedback(hostile, name)[-1500:])


@pytest.mark.parametrize("name", [*hc.HONEST, "bom", "v3"])
def test_honest_neighbours_keep_their_exact_scores(hostile, name):
    row = hostile["rows"][name]
    assert (row["add_one"], row["scaled_sum"], row["total"]) == ("4", "2", "6"), row
    assert row["problem"] in ("", None) or name == "full_2", row


def test_an_unreadable_file_gets_its_own_row(hostile):
    row = hostile["rows"]["essay"]
    assert row["assignment"] == "" and row["total"] == "0" and "could not be read" in row["problem"]


def test_every_attempt_ran_and_was_refused(hostile):
    for name in hc.READS:
        text = feedback(hostile, name)
        assert "attempt:" in text and "attempt: stolen" not in text, (name, text[-800:])
    writes = feedback(hostile, "writes")
    assert "writes:" in writes and "WROTE" not in writes, writes[-800:]
    scan = feedback(hostile, "memory_scan")
    assert "scan: answer=False reference=False token=False" in scan, scan[-800:]
    proc_text = feedback(hostile, "proc")
    assert "proc: read=0 wrote=0 tried=" in proc_text, proc_text[-1500:]
    assert "killed: 0" in feedback(hostile, "kill_all")
    escape = feedback(hostile, "escape")
    assert "escape:" in escape and "STARTED" not in escape, escape[-800:]
    assert "memory: held" in feedback(hostile, "memory")
    limits = feedback(hostile, "limits")
    assert "limits: rlimit=" in limits and "RAISED" not in limits and "CONNECTED" not in limits \
        and "SENT" not in limits, limits[-800:]


def test_forged_progress_costs_only_the_forger(hostile):
    for name in hc.FORGED:
        row = hostile["rows"][name]
        assert row["total"] == "0", row
    assert "protocol" in hostile["rows"]["forge_finished"]["problem"]
    assert "protocol" in hostile["rows"]["forge_types"]["problem"]


def test_no_process_of_any_job_survives(hostile):
    assert _processes_of(hostile["base"]) == []


def test_nothing_written_outside_the_output_folder(hostile):
    assert hostile["victim"].read_text() == "untouched"
    assert sorted(p.name for p in hostile["canary"].iterdir()) == ["victim.txt"]
    after = _digest(hostile["solutions"])
    cache = {name for name in after if name.startswith(".autograder-cache/")}  # the grader's own reference cache
    assert cache <= {".autograder-cache/T1.json"}, cache
    grader_uid = NOBODY if hostile["who"] == "user" and os.geteuid() == 0 else os.geteuid()
    assert all((hostile["solutions"] / name).stat().st_uid == grader_uid for name in cache), cache  # no job wrote it
    assert {k: v for k, v in after.items() if k not in cache} == hostile["before"]["solutions"]
    assert _digest(hostile["klass"]) == hostile["before"]["class"]
    assert "pwned" not in (hostile["out"] / "gradebook.csv").read_text()
    assert "everyone" not in (hostile["out"] / "gradebook.csv").read_text()


def test_planted_links_in_the_output_folder_are_not_followed(hostile):
    planted = hostile["out"] / "full_1" / "results.json"
    assert not planted.is_symlink() and json.loads(planted.read_text())["score"] == FULL
    assert (hostile["out"] / "full_2").is_symlink()  # left alone, and nothing written through it
    assert "could not be written to full_2/" in hostile["rows"]["full_2"]["problem"]
    assert json.loads((hostile["out"] / "full_2-2" / "results.json").read_text())["score"] == FULL
