"""Two sandboxes on one machine never hand out the same job uids (root only)."""

from __future__ import annotations

import os

import pytest

from autograder.run import uids

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
    monkeypatch.setattr(uids.tempfile, "gettempdir", lambda: str(tmp_path))
    (tmp_path / "autograder-uid-blocks").symlink_to(tmp_path)
    assert uids.lock_folder() is None
    assert uids.claim_block() == (None, uids.JOB_UID_BASE + 1)
