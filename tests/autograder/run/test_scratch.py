"""Removing a job's scratch folder is bounded in time and never raises, whatever the job left in it."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

import forked

from autograder.run import scratch


def _deep(base: Path, depth: int, locked_every: int = 0) -> None:
    fd = os.open(base, os.O_RDONLY)
    for level in range(1, depth + 1):
        os.mkdir("d", dir_fd=fd)
        new = os.open("d", os.O_RDONLY, dir_fd=fd)
        if locked_every and level % locked_every == 0:
            os.fchmod(fd, 0)
        os.close(fd)
        fd = new
    os.close(fd)


def test_a_tree_deeper_than_recursion_and_paths_is_removed(tmp_path):
    top = tmp_path / "job"
    top.mkdir()
    _deep(top, 1100, locked_every=300)  # shutil.rmtree raises RecursionError here
    for i in range(200):
        (top / f"f{i}").write_bytes(b"x")
    (top / ".rm-1").mkdir()  # names the removal itself uses do not confuse it
    (top / "link").symlink_to(tmp_path)
    keep = tmp_path / "keep.txt"
    keep.write_text("outside")
    assert scratch.remove(str(top), budget_s=60) is True
    assert not top.exists() and keep.read_text() == "outside"


def test_what_cannot_be_removed_in_time_is_left_for_a_sweep_and_logged(tmp_path, caplog):
    top = tmp_path / f"{scratch.SANDBOX_PREFIX}1-x"
    top.mkdir()
    for i in range(400):
        (top / f"f{i}").mkdir()
    started = time.monotonic()
    assert scratch.remove(str(top), budget_s=0.001) is False  # no exception
    assert time.monotonic() - started < 2
    left = Path(str(top) + scratch.LEFTOVER)
    assert left.is_dir() and not top.exists()
    assert "left for a later sweep" in caplog.text
    assert scratch.sweep(str(tmp_path)) == [] and not left.exists()


def test_sweep_leaves_live_and_foreign_folders_alone(tmp_path):
    live = tmp_path / scratch.sandbox_prefix()  # this process is alive
    live.mkdir()
    other = tmp_path / "not-ours"
    other.mkdir()
    dead = tmp_path / f"{scratch.SANDBOX_PREFIX}999999999-abc"  # no such process
    dead.mkdir()
    scratch.sweep(str(tmp_path))
    assert live.exists() and other.exists() and not dead.exists()


def test_usage_is_bounded_in_entries_and_depth(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"x" * 100_000)
    small = scratch.usage(str(tmp_path), max_entries=100)
    assert small.complete and small.bytes >= 100_000 and small.entries == 1
    _deep(tmp_path, 80)
    assert not scratch.usage(str(tmp_path), max_entries=1000, max_depth=64).complete
    for i in range(50):
        (tmp_path / f"e{i}").touch()
    assert not scratch.usage(str(tmp_path), max_entries=20).complete


@pytest.mark.skipif(os.geteuid() != 0, reason="needs a second uid")
def test_a_locked_tree_of_another_owner_is_removed_by_root(tmp_path):
    top = tmp_path / "job"
    top.mkdir()
    _deep(top, 50, locked_every=10)
    for p in [top, *top.rglob("*")]:
        os.lchown(p, 65534, 65534)
    assert scratch.remove(str(top), budget_s=30) and not top.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="root makes the ordinary user here")
def test_an_ordinary_user_removes_folders_it_locked_itself():
    base = Path(tempfile.mkdtemp(prefix="scratch-user-", dir="/tmp"))
    os.chown(base, 65534, 65534)

    def body() -> tuple[bool, bool]:
        os.setresgid(65534, 65534, 65534)
        os.setresuid(65534, 65534, 65534)
        top = base / "job"
        top.mkdir()
        _deep(top, 200, locked_every=20)
        os.chmod(top, 0)
        return scratch.remove(str(top), budget_s=30), top.exists()

    try:
        assert forked.run(body, timeout=60) == ("ok", (True, False))
    finally:
        shutil.rmtree(base, ignore_errors=True)
