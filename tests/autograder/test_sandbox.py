"""The sandbox survives every kind of misbehaving submission and says what happened."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from autograder.run import Limits, Sandbox

HERE = Path(__file__).resolve().parent
PROBE = "simple_probe:run_call"
TF_CELL = """
def grad_of_sum(n):
    x = tf.random.normal((n, n))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(tf.matmul(x, x))
    g = tape.gradient(y, x)  # (n, n)
    return [list(g.shape), float(tf.reduce_sum(g))]

def first_random():
    return [float(np.random.rand()), float(tf.random.uniform(()))]
print("student says hi")
"""


def err(step) -> str:
    """A cell's or call's error as text ("" when it ran)."""
    return step.error.text() if step is not None and step.error is not None else ""


def job(*cells: tuple[str, str], calls: list[dict] | None = None, setup: list[str] | None = None,
        deny: list[str] | None = None, seed: int = 0) -> dict:
    default = ["import numpy as np", "import tensorflow as tf"]
    return {"setup": default if setup is None else setup,
            "cells": [{"exercise": e, "code": c} for e, c in cells],
            "calls": calls or [], "seed": seed, "deny_paths": deny or []}


@pytest.fixture(scope="module")
def box():
    limits = Limits(timeout_s=3.0, memory_mb=1024, cpu_s=20, output_bytes=10_000)
    with Sandbox(limits, workers=2, probe=PROBE, extra_sys_path=[str(HERE)]) as sandbox:
        yield sandbox


def light(**kw) -> Sandbox:
    """A sandbox without TensorFlow, for tests that need other limits."""
    return Sandbox(Limits(**kw), preload=("numpy",), probe=PROBE, extra_sys_path=[str(HERE)])


def assert_still_works(box: Sandbox) -> None:
    r = box.run(job(("ok", "def f(a):\n    return a * 2"), calls=[{"function": "f", "args": [21]}], setup=[]))
    assert r.status == "ok", r
    assert [(c.ok, c.value, c.error) for c in r.calls] == [(True, {"value": 42}, None)]


def test_warm_parent_ran_no_tensorflow_op(box):
    for info in box.ready_info():
        assert info.preload_failed == {}
        assert info.tf_context_started is False


def test_tensorflow_op_and_gradient_run_in_child(box):
    j = job(("tf", TF_CELL), calls=[{"function": "grad_of_sum", "args": [3]}, {"function": "first_random"}], seed=7)
    r = box.run(j)
    assert r.status == "ok" and r.message == "", r
    assert {k: (v.ok, v.error) for k, v in r.cells.items()} == {"tf": (True, None)}
    assert r.calls[0].ok and r.calls[0].value["value"][0] == [3, 3]
    assert r.output == "student says hi\n"  # no TensorFlow log lines
    again = box.run(j)
    assert again.calls[1].value == r.calls[1].value  # same seed, same random numbers
    other = box.run({**j, "seed": 8})
    assert other.calls[1].value != r.calls[1].value
    assert r.wall_s < 3


def test_syntax_error_shows_the_line_and_other_cells_still_run(box):
    r = box.run(job(("bad", "x = 1\ny = (2 +\n"), ("good", "def f(a):\n    return a + 1"),
                    calls=[{"function": "f", "args": [1]}]))
    assert r.status == "ok"
    text = err(r.cells["bad"])
    assert text.startswith("SyntaxError") and "line 2" in text and "y = (2 +" in text
    assert r.cells["good"].ok and r.cells["good"].error is None
    assert r.calls[0].value == {"value": 2}


def test_exceptions_are_caught_per_cell_with_student_frames_only(box):
    r = box.run(job(("div", "def f(a):\n    return helper(a)\n\ndef helper(a):\n    return a / 0"),
                    ("raise", "raise ValueError('nope')"),
                    ("ctrl_c", "raise KeyboardInterrupt"),
                    ("exit", "import sys\nsys.exit(3)"),
                    ("after", "z = 5"),
                    calls=[{"function": "f", "args": [1]}, {"function": "missing"}]))
    assert r.status == "ok", r
    assert err(r.cells["raise"]).startswith("ValueError: nope")
    assert err(r.cells["ctrl_c"]).startswith("KeyboardInterrupt")
    assert err(r.cells["exit"]).startswith("SystemExit: 3")
    assert r.cells["after"].ok
    call = r.calls[0]
    assert not call.ok and err(call).startswith("ZeroDivisionError")
    assert "return a / 0" in err(call) and "return helper(a)" in err(call)
    assert "autograder" not in err(call) and "simple_probe" not in err(call)
    assert err(r.calls[1]).startswith("KeyError")


def test_infinite_loop_is_stopped_by_the_wall_clock(box):
    t = time.monotonic()
    r = box.run(job(("spin", "while True:\n    pass"), ("later", "x = 1"), calls=[{"function": "f"}]))
    assert 2.9 < time.monotonic() - t < 8
    assert r.status == "timeout"
    assert "3 s" in r.message and "exercise 'spin'" in r.message
    assert not r.cells["spin"].ok and "not run" in err(r.cells["later"])
    assert r.calls == [None]
    assert_still_works(box)


def test_memory_bombs_end_in_memory_error(box):
    r = box.run(job(("huge", "x = bytearray(20 * 2**30)"),
                    ("grow", "y = []\nwhile True:\n    y.append(bytes(2**22))"),  # untouched pages: fast
                    ("after", "del y\nz = 1")))
    assert r.status in ("ok", "memory"), r
    assert err(r.cells["huge"]).startswith("MemoryError")
    assert not r.cells["grow"].ok and "MemoryError" in (err(r.cells["grow"]) or r.message)
    assert_still_works(box)


def test_memory_bomb_that_touches_its_pages():
    with light(timeout_s=10, memory_mb=300) as sandbox:
        r = sandbox.run(job(("grow", "y = []\nwhile True:\n    y.append(bytearray(2**20))"), setup=[]))
        assert r.status in ("ok", "memory"), r
        assert "MemoryError" in (err(r.cells["grow"]) or r.message) or r.status == "memory"
        assert_still_works(sandbox)


def test_cpu_limit():
    with light(timeout_s=20, cpu_s=1) as sandbox:
        r = sandbox.run(job(("spin", "while True:\n    pass"), setup=[]))
        assert r.status == "cpu", r
        assert "CPU" in r.message and "exercise 'spin'" in r.message
        assert_still_works(sandbox)


def test_os_exit_and_crash_stop_the_job_and_later_calls_are_not_reached(box):
    code = "import os\ndef f(a):\n    if a == 2:\n        os._exit(0)\n    return a"
    r = box.run(job(("f", code), calls=[{"function": "f", "args": [1]}, {"function": "f", "args": [2]},
                                        {"function": "f", "args": [3]}]))
    assert r.status == "exited" and "exit code 0" in r.message and "check 2 of 3" in r.message
    assert r.cells["f"].ok
    assert r.calls[0].value == {"value": 1} and r.calls[1:] == [None, None]

    r = box.run(job(("first", "a = 1"), ("dies", "import os\nos._exit(4)"), ("never", "b = 2")))
    assert r.status == "exited" and "exit code 4" in r.message and "'dies'" in r.message
    assert r.cells["first"].ok and not r.cells["dies"].ok
    assert "not run" in err(r.cells["never"])

    r = box.run(job(("segv", "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)")))
    assert r.status == "crashed" and "SIGSEGV" in r.message
    assert_still_works(box)


def test_output_flood_is_truncated_quickly(box):
    t = time.monotonic()
    r = box.run(job(("flood", "for _ in range(200_000):\n    print('x' * 500)\n"
                              "import os\nos.write(1, b'y' * 50_000_000)"),
                    ("after", "print('done')"), setup=[]))
    assert time.monotonic() - t < 3
    assert r.status == "ok", r
    assert len(r.output) < 10_300 and "output truncated" in r.output
    assert r.cells["after"].ok


def test_denied_paths_and_writes_outside_the_work_dir_are_refused(box, tmp_path):
    secret = tmp_path / "solutions"
    secret.mkdir()
    (secret / "answer.py").write_text("ANSWER = 42\n")
    code = {
        "read": f"open({str(secret / 'answer.py')!r}).read()",
        "write_denied": f"open({str(secret / 'new.txt')!r}, 'w').write('x')",
        "list": f"import os\nos.listdir({str(secret)!r})",
        "write_outside": f"open({str(tmp_path / 'elsewhere.txt')!r}, 'w')",
        "remove": f"import os\nos.remove({str(secret / 'answer.py')!r})",
        "write_here": "open('mine.txt', 'w').write('ok')\nassert open('mine.txt').read() == 'ok'",
    }
    r = box.run(job(*code.items(), deny=[str(secret)]))
    assert r.status == "ok", r
    for name in ("read", "write_denied", "list", "write_outside", "remove"):
        assert err(r.cells[name]).startswith("PermissionError"), (name, r.cells[name])
    assert r.cells["write_here"].ok, r.cells["write_here"]
    assert (secret / "answer.py").exists() and not (secret / "new.txt").exists()
    assert not (tmp_path / "elsewhere.txt").exists()


def test_processes_and_network_are_refused(box):
    r = box.run(job(("popen", "import subprocess\nsubprocess.run(['echo', 'hi'])"),
                    ("system", "import os\nos.system('echo hi')"),
                    ("fork", "import os\nos.fork()"),
                    ("socket", "import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=1)"),
                    ("kill_parent", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)")))
    assert r.status == "ok", r
    for name, cell in r.cells.items():
        assert not cell.ok and "PermissionError" in err(cell), (name, cell)
    assert "hi" not in r.output
    assert_still_works(box)


def test_run_many_keeps_input_order_and_runs_two_at_a_time(box):
    sleeps = [0.8, 0.6, 0.4, 0.2]  # later jobs finish first
    jobs = [job(("s", f"import time\ntime.sleep({s})\ndef f():\n    return {i}"),
                calls=[{"function": "f"}], setup=[]) for i, s in enumerate(sleeps)]
    seen = []
    t = time.monotonic()
    results = box.run_many(jobs, progress=lambda done, total: seen.append((done, total)))
    assert [r.calls[0].value["value"] for r in results] == [0, 1, 2, 3]
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert time.monotonic() - t < sum(sleeps) - 0.3  # serial would take at least sum(sleeps)


def test_failing_setup_is_reported_as_the_graders_fault(box):
    r = box.run(job(("a", "x = 1"), setup=["import no_such_module_here"], calls=[{"function": "f"}]))
    assert r.status == "crashed" and "setup code failed" in r.message
    assert "ModuleNotFoundError" in r.message
    assert "not run" in err(r.cells["a"]) and r.calls == [None]


def test_dead_warm_parent_is_restarted_and_the_job_reported_crashed():
    with light(timeout_s=10) as sandbox:
        assert_still_works(sandbox)
        zygote_pid = sandbox._templates[0].proc.pid
        threading.Timer(0.5, os.kill, (zygote_pid, signal.SIGKILL)).start()
        r = sandbox.run(job(("slow", "import time\ntime.sleep(5)"), setup=[]))
        assert r.status == "crashed" and "restarted" in r.message, r
        assert sandbox._templates[0].proc.pid != zygote_pid
        assert_still_works(sandbox)
