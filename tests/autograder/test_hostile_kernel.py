"""A class whose attackers aim at the job's kernel objects and world (issues 22 and 29), graded through the CLI.

As root and as an ordinary user, on one machine and on `--scheduler local:2`.
The attackers (see `hostile_class.kernel_submissions`): System V IPC, memfds,
/dev/shm and shared mappings (and a message queue planted by "another
student"); 205 files of 10 MB; a tree 3,000 folders deep with unreadable
folders in it; the grader's environment; /etc; the class roster in its own
memory; a replaced clock; a step that ignores its alarm; a message of 3
million values written straight onto its progress pipe. For every run: every row present, no unearned point,
honest neighbours keep their exact score, no IPC object, process, cgroup or
scratch folder is left, and the grading process stays under `CEILING_MB`.
"""

from __future__ import annotations

import ctypes
import csv
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import pytest

import hostile_class as hc
from autograder.run import cgroup
from grading_as import NOBODY, identities, readable_by_others
from test_hostile import ROOT, _processes_of
from tiny_assignment import CASES, SCALED_SUM, SETUP, notebook

pytestmark = pytest.mark.slow
CEILING_MB = 250  # the grading process's peak resident size (measured: 67 MB here, 91 MB with a Dask client)
STEP_FLOOR_S = 15
JOB_UIDS = range(61000, 61000 + 64 * 61)
ODD_NAME = b"\xff\xfe-odd\x1b[31m"
ODD_KEY = "\\xff\\xfe-odd\\x1b[31m"  # how its row is keyed and shown: escaped, printable


def _sysv_objects() -> set[tuple[str, str, int]]:
    """(kind, id, owner uid) of every System V IPC object on the machine."""
    out = set()
    for kind in ("shm", "msg", "sem"):
        try:
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
        except OSError:
            continue
        header = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[0].split()
        for line in lines:
            cols = dict(zip(header, line.split()))
            out.add((kind, cols["key"] + "/" + (cols.get("shmid") or cols.get("msqid") or cols.get("semid")),
                     int(cols["uid"])))
    return out


def _new_shm(before: list[str]) -> list[str]:
    """Entries of /dev/shm made during the run by a job's uid (the grader's own multiprocessing semaphores aside)."""
    out = []
    for name in set(os.listdir("/dev/shm")) - set(before):
        try:
            owner = os.lstat(f"/dev/shm/{name}").st_uid
        except OSError:
            continue
        if owner in JOB_UIDS or (owner == NOBODY and not name.startswith("sem.mp-")):
            out.append(name)
    return sorted(out)


def _plant_queue(key: int, text: bytes) -> int:
    """A System V message queue holding `text`, as another student's job could have left (removed after)."""
    libc = ctypes.CDLL(None, use_errno=True)
    qid = libc.msgget(key, 0o1000 | 0o666)
    assert qid >= 0, os.strerror(ctypes.get_errno())
    buf = ctypes.create_string_buffer(8 + len(text))
    ctypes.memmove(buf, (1).to_bytes(8, "little") + text, 8 + len(text))
    assert libc.msgsnd(qid, buf, len(text), 0) == 0
    return qid


def _peak_mb(pid: int, stop: threading.Event, seen: list[float]) -> None:
    while not stop.is_set():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    seen.append(int(line.split()[1]) / 1024)
        except OSError:
            return
        time.sleep(0.1)


def _left_cgroups() -> list[str]:
    """Job cgroups whose supervisor is gone (those of live supervisors belong to other runs on this machine)."""
    parent, _ = cgroup.find()
    if parent is None:
        return []
    names = [n for base in {parent.memory, parent.pids} - {None} for n in os.listdir(base) if n.startswith("ag-")]
    return [n for n in names if not Path(f"/proc/{n.rsplit('-', 1)[1]}").exists()]


@pytest.fixture(scope="module", params=[(who, where) for who in identities() for where in ("local", "local:2")],
                ids=lambda p: f"{p[0]}-{'dask' if p[1] != 'local' else 'local'}")
def kernel(request):
    who, where = request.param
    base = Path(tempfile.mkdtemp(prefix="hostile-kern-", dir="/tmp"))
    base.chmod(0o755)
    solutions, klass, out, tmp = base / "solutions", base / "class", base / "out", base / "tmp"
    for folder in (solutions, klass, out):
        folder.mkdir()
    tmp.mkdir(mode=0o1777)
    tmp.chmod(0o1777)
    nbformat.write(notebook(SETUP, CASES, hc.reference_add_one(), SCALED_SUM), solutions / "T1.ipynb")
    victim = base / "victim.txt"
    victim.write_text("grader's file")
    victim.chmod(0o600)
    secret = "PLANTED-" + secrets.token_hex(8)
    key = int.from_bytes(secrets.token_bytes(3), "little") + 1
    needles = {"roster": str(klass / "full_d").encode().hex(), "token": hc.hexed('"kind":"token"')}
    subs = hc.kernel_submissions(needles, key, secret, str(victim))
    paths = []
    for name, nb in subs.items():  # a folder per student: the job's deny list used to name them all
        (klass / name).mkdir()
        nbformat.write(nb, klass / name / "T1.ipynb")
        paths.append(klass / name / "T1.ipynb")
    odd = os.fsdecode(os.fsencode(str(klass)) + b"/" + ODD_NAME)  # a folder name that is no UTF-8, with an escape
    os.mkdir(odd)
    nbformat.write(subs["full_a"], os.path.join(odd, "T1.ipynb"))
    paths.append(Path(odd) / "T1.ipynb")
    cmd = [sys.executable, "-m", "autograder.cli", "grade", *map(str, paths), "--out", str(out),
           "--solutions", str(solutions), "--jobs", "2", "--timeout", "90", "--step-floor", str(STEP_FLOOR_S),
           "--require-isolation"]
    if where != "local":
        cmd += ["--scheduler", where]
    env = {**os.environ, "TMPDIR": str(tmp), "TF_CPP_MIN_LOG_LEVEL": "3", "AG_PLANTED_SECRET": secret,
           "PYTHONPATH": str(ROOT) + os.pathsep + str(Path(__file__).parent)}
    if who == "user" and os.geteuid() == 0:
        for path in (base, out, tmp):
            os.lchown(path, NOBODY, NOBODY)
        caps = [] if readable_by_others(sys.base_prefix, sys.prefix, ROOT) else \
            ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
        cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *caps, *cmd]
        env["HOME"] = str(base)
    before_ipc, before_shm = _sysv_objects(), sorted(os.listdir("/dev/shm"))
    qid = _plant_queue(key, b"another student's answer")
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stop, peaks = threading.Event(), []
    watcher = threading.Thread(target=_peak_mb, args=(proc.pid, stop, peaks), daemon=True)
    watcher.start()
    try:
        stdout, stderr = proc.communicate(timeout=900)
    finally:
        stop.set()
        proc.kill()
        ctypes.CDLL(None).msgctl(qid, 0, None)  # IPC_RMID
    seconds = time.monotonic() - started
    time.sleep(1.0)
    rows = {}
    if (out / "gradebook.csv").exists():
        rows = {r["submission"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    after_ipc = {o for o in _sysv_objects() - before_ipc if o[2] in JOB_UIDS or o[2] == NOBODY}
    yield {"who": who, "where": where, "base": base, "out": out, "tmp": tmp, "rows": rows, "names": list(subs),
           "stdout": stdout, "stderr": stderr, "returncode": proc.returncode, "seconds": seconds,
           "peak_mb": max(peaks, default=0.0), "new_ipc": after_ipc, "new_shm": _new_shm(before_shm),
           "cgroups": _left_cgroups(), "victim": victim}
    shutil.rmtree(base, ignore_errors=True)


def feedback(k, name: str) -> str:
    return (k["out"] / name / "feedback.md").read_text()


def test_the_class_finishes_with_every_row_and_says_what_protects_it(kernel):
    assert kernel["returncode"] == 0, kernel["stderr"][-3000:]
    first = kernel["stdout"].splitlines()[0]
    assert first.startswith("isolation: ") and "System V IPC, memfd" in first and "MISSING" not in first, first
    assert "scratch " in first and "memory " in first, first
    if kernel["who"] == "root" and cgroup.find()[0] is not None:
        assert "by cgroup v" in first and "tmpfs" in first and "own mount, IPC namespaces" in first, first
    if kernel["who"] == "user":
        assert "by address-space limit" in first and "measured by the supervisor" in first, first
    expected = {*kernel["names"], ODD_KEY}
    assert set(kernel["rows"]) == expected, sorted(expected ^ set(kernel["rows"]))


def test_a_file_name_of_any_bytes_is_keyed_and_shown_safely(kernel):
    row = kernel["rows"][ODD_KEY]
    assert (row["total"], row["problem"]) == ("6", ""), row
    assert "\x1b" not in kernel["stdout"] and "\udcff" not in kernel["stdout"], kernel["stdout"][-1500:]
    assert ODD_KEY in kernel["stdout"]


@pytest.mark.parametrize("name", hc.KERNEL_HONEST)
def test_honest_neighbours_keep_their_exact_scores(kernel, name):
    row = kernel["rows"][name]
    assert (row["add_one"], row["scaled_sum"], row["total"]) == ("4", "2", "6"), row


@pytest.mark.parametrize("name", hc.KERNEL_CHEATERS)
def test_no_unearned_point(kernel, name):
    row = kernel["rows"][name]
    assert row["add_one"] in ("0", "0.0"), (row, feedback(kernel, name)[-1500:])


def test_no_ipc_object_or_shared_memory_is_made_or_read(kernel):
    text = feedback(kernel, "ipc")
    assert "ipc: shmget=" in text, text[-1500:]
    for attack in ("shmget", "msgget", "semget", "planted_queue"):
        assert f"{attack}=Operation not permitted" in text, text[-1500:]
    assert "memfd=PermissionError" in text and "dev_shm=PermissionError" in text, text[-1500:]
    assert "shared_map=HELD" not in text and "another student" not in text
    assert kernel["new_ipc"] == set()
    assert kernel["new_shm"] == [], kernel["new_shm"]


def test_the_scratch_folder_has_a_total(kernel):
    text = feedback(kernel, "disk")
    assert kernel["rows"]["disk"]["total"] == "0"
    wrote = [int(line.split()[2]) for line in text.splitlines() if line.startswith("disk: wrote")]
    if wrote:  # the tmpfs said no: the job saw it
        assert wrote[0] <= 260, text[-800:]
    else:  # the supervisor measured the folder and stopped the job
        assert "quota" in text, text[-1500:]


def test_a_deep_tree_costs_only_its_author_and_nothing_is_left(kernel):
    assert "deep" in kernel["rows"]
    assert not [p for p in kernel["tmp"].iterdir() if p.name.startswith("ag-")], list(kernel["tmp"].iterdir())
    assert _processes_of(kernel["base"]) == []
    assert kernel["cgroups"] == []


def test_the_job_sees_no_grader_environment_etc_or_roster(kernel):
    env = feedback(kernel, "env")
    assert "env: clean" in env and "AG_PLANTED_SECRET" not in env, env[-1500:]
    etc = feedback(kernel, "etc")
    assert "etc:" in etc and "=READ" not in etc, etc[-1500:]
    roster = feedback(kernel, "roster")
    assert "scan: roster=False token=False" in roster, roster[-1500:]
    assert kernel["victim"].read_text() == "grader's file"


def test_times_are_the_supervisors(kernel):
    board = json.loads((kernel["out"] / "clock" / "results.json").read_text()).get("leaderboard", [])
    assert board and board[0]["value"] >= 250, board  # it slept 300 ms; its own clock said 0
    assert kernel["rows"]["clock"]["total"] == "6"
    stopped = feedback(kernel, "no_alarm")
    assert "time limit of this step" in stopped, stopped[-1500:]


def test_a_flood_of_values_costs_the_flooder_not_the_grader(kernel):
    assert "values of results" in feedback(kernel, "flood"), feedback(kernel, "flood")[-1500:]
    print(f"{kernel['who']}/{kernel['where']}: grading process peak {kernel['peak_mb']:.0f} MB, "
          f"class graded in {kernel['seconds']:.0f} s")
    assert 0 < kernel["peak_mb"] < CEILING_MB, kernel["peak_mb"]
