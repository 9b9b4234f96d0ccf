"""Two sandboxes on one machine never hand out the same job uids (root only)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.run import uids

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="job uids exist only when the grader is root")


def test_blocks_are_distinct_while_held_and_freed_after():
    fd1, base1 = uids.claim_block()
    fd2, base2 = uids.claim_block()
    try:
        assert fd1 is not None and fd2 is not None
        assert abs(base1 - base2) >= uids.BLOCK
    finally:
        os.close(fd2)
    fd3, base3 = uids.claim_block()
    os.close(fd3)
    os.close(fd1)
    assert base3 == base2  # the block freed by closing its lock is the first free one again


def test_a_planted_lock_folder_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setattr(uids, "LOCK_PARENTS", (str(tmp_path),))
    (tmp_path / "autograder-uid-blocks").symlink_to(tmp_path)
    assert uids.lock_folder() is None
    assert uids.claim_block() == (None, uids.JOB_UID_BASE + 1)


def _hold_block(tmpdir: Path) -> subprocess.Popen:
    code = ("import sys, time; from autograder.run import uids; fd, base = uids.claim_block(); "
            "print(base, fd is not None, flush=True); time.sleep(30)")
    env = {**os.environ, "TMPDIR": str(tmpdir), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)


def test_two_runs_with_different_tmpdirs_get_different_blocks(tmp_path):
    """The lock is machine-wide: TMPDIR does not split it (issue 22, runs that cannot collide)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = _hold_block(tmp_path / "a"), _hold_block(tmp_path / "b")
    try:
        got = [p.stdout.readline().split() for p in (first, second)]
    finally:
        for p in (first, second):
            p.kill()
            p.wait()
    assert [g[1] for g in got] == ["True", "True"], got
    assert abs(int(got[0][0]) - int(got[1][0])) >= uids.BLOCK, got
    assert not list((tmp_path / "a").iterdir()) and not list((tmp_path / "b").iterdir())  # nothing under TMPDIR
