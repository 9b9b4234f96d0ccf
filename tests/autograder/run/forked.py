"""Running a test's body in a forked child, so that no restriction ever reaches pytest itself."""

from __future__ import annotations

import os
import pickle
import select
import signal
import time
import traceback
from typing import Any, Callable

import pytest


def run(body: Callable[[], Any], timeout: float = 30.0) -> tuple[str, Any]:
    """Run `body` in a forked child: ("ok", its result), ("error", traceback) or ("signal", number)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 0
        try:
            os.close(read_fd)
            try:
                payload = ("ok", body())
            except BaseException:
                payload, code = ("error", traceback.format_exc()), 1
            os.write(write_fd, pickle.dumps(payload))
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_fd], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                pytest.fail("child timed out")
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return "signal", os.WTERMSIG(status)
    if not chunks:
        return "error", f"child exited with {os.waitstatus_to_exitcode(status)} and no result"
    return pickle.loads(b"".join(chunks))


def attempt(action: Callable[[], Any]) -> str:
    """'ok', or the name of the exception `action` raised."""
    try:
        action()
    except Exception as error:  # noqa: BLE001 - the name is the observation
        return type(error).__name__
    return "ok"
