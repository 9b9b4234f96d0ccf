"""The per-job kernel layers a root grader adds: a cgroup, namespaces, a tmpfs scratch, binds instead of a capability.

Each test grades a job through a light sandbox (numpy only) and checks the
attack's effect is absent and the honest path still works. Where the
machine offers no cgroup or the grader is not root, the fallback is checked
instead (the isolation line says which is in force).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from autograder.run import Limits, Sandbox, cgroup

HERE = Path(__file__).resolve().parent
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="per-job cgroups and namespaces are made by a root grader")


def light(extra: tuple[str, ...] = (), **limits) -> Sandbox:
    return Sandbox(Limits(**{"timeout_s": 20, **limits}), preload=("numpy",), extra_sys_path=extra)


def job(code: str) -> dict:
    return {"cells": [{"exercise": "x", "code": code}]}


def test_the_isolation_line_says_which_memory_limit_and_scratch_quota_hold():
    with light() as box:
        iso = box.isolation()
        line = iso.describe()
        if os.geteuid() == 0 and cgroup.find()[0] is not None:
            assert iso.memory_by.startswith("cgroup v") and "shared memory and tmpfs counted" in line, line
            assert iso.scratch.startswith("tmpfs ") and iso.namespaces == "mount, IPC", line
        else:
            assert iso.memory_by == "" and "by address-space limit" in line, line
            assert "measured by the supervisor" in iso.scratch, line
        assert iso.complete, line


@ROOT_ONLY
def test_tmpfs_scratch_counts_against_the_jobs_memory():
    if cgroup.find()[0] is None:
        pytest.skip("no writable memory cgroup here")
    write = ("import os\nfor i in range(30):\n    with open(f'f{i}', 'wb') as f:\n"
             "        f.write(os.urandom(10 << 20))\nprint('wrote all')")
    with light(memory_mb=150, scratch_mb=400, file_mb=20) as box:
        r = box.run(job(write))
        assert r.status == "memory" and "wrote all" not in r.output, r  # 300 MB of files in 150 MB
        ok = box.run(job("open('small', 'wb').write(b'x' * (20 << 20))\nprint('fine')"))
        assert ok.status == "ok" and ok.output == "fine\n", ok


@ROOT_ONLY
def test_the_scratch_tmpfs_is_full_at_its_quota_and_gone_after():
    code = ("import os\nn = 0\ntry:\n    for i in range(100):\n        open(f'f{i}', 'wb').write(b'x' * (5 << 20))\n"
            "        n += 5\nexcept OSError as e:\n    print('full at', n, e.errno)\nprint(os.getcwd())")
    with light(scratch_mb=30) as box:
        r = box.run(job(code))
        assert r.status == "ok" and "full at 30 28" in r.output, r  # ENOSPC at the quota, not before
        work = r.output.splitlines()[-1]
        assert not os.path.exists(work) or os.listdir(work) == []  # the tmpfs died with the job


@ROOT_ONLY
def test_python_under_a_closed_folder_is_bound_in_not_read_with_a_capability():
    closed = Path(tempfile.mkdtemp(prefix="closed-", dir="/tmp"))
    closed.chmod(0o700)
    lib = closed / "lib"
    lib.mkdir()
    (lib / "mine.py").write_text("VALUE = 41\n")
    (lib / "secret.txt").write_text("root only")
    (lib / "secret.txt").chmod(0o600)
    (closed / "beside.txt").write_text("not in the read set")
    code = (f"import mine\nprint('import', mine.VALUE + 1)\n"
            f"for p in ({str(lib / 'secret.txt')!r}, {str(closed / 'beside.txt')!r}):\n"
            f"    try:\n        open(p).read()\n        print('READ', p)\n"
            f"    except OSError as e:\n        print(type(e).__name__)")
    try:
        with light(extra=(str(lib),)) as box:
            iso = box.isolation()
            r = box.run(job(code))
        lines = r.output.splitlines()
        assert r.status == "ok" and lines[:2] == ["import 42", "PermissionError"], r  # bound, but no capability
        assert lines[2] in ("PermissionError", "FileNotFoundError"), r  # not bound at all
        assert iso.kept_caps == () and "CAP_DAC_READ_SEARCH" not in iso.describe(), iso
    finally:
        shutil.rmtree(closed, ignore_errors=True)


def test_the_grader_environment_does_not_reach_the_job(monkeypatch):
    monkeypatch.setenv("AG_GRADER_SECRET", "s3cret")
    with light() as box:
        r = box.run(job("import os\nprint(sorted(k for k in os.environ if 'SECRET' in k or 'AG_' in k))"))
    assert r.status == "ok" and r.output == "[]\n", r
