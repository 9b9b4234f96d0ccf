"""Strict, total decoding of every message and of plain values."""

from __future__ import annotations

import base64
import json
import os

import numpy as np
import pytest

from autograder.run.plain import from_plain, to_plain
from autograder.run.job import Job
from autograder.run.protocol import (
    MAX_DEPTH, CallDone, CallResult, CellDone, Done, ErrorInfo, Finished, LineReader, ProtocolError, Ready,
    RunResult, Spawn, StepResult, Token, decode, encode,
)

ALL = (Ready, Spawn, Token, Finished, CellDone, CallDone, Done)


@pytest.mark.parametrize("msg", [
    Spawn(), Token("abc"), Done(),
    CellDone(2, StepResult(False, ErrorInfo("ValueError", "bad", "tb", False, 3), 0.5)),
    CallDone(0, CallResult(True, {"value": [1, 2.5, None]}, None, 0.1)),
    Finished("s", RunResult("timeout", "slow", {"f": StepResult(True)}, [None, CallResult(False, None,
             ErrorInfo("StepTimeLimit", "x", "", True))], "printed", 1.5)),
    Ready(1.0, {"tensorflow": "ImportError"}, False, {"landlock": "x"}),
])
def test_every_message_round_trips(msg):
    assert decode(encode(msg).rstrip(b"\n"), ALL) == msg


@pytest.mark.parametrize("line, why", [
    (b"not json", "not a JSON message"),
    (b"[1, 2]", "must be an object"),
    (b'{"kind": "launch_missiles"}', "unexpected message kind"),
    (b'{"kind": "token"}', "lacks secret"),
    (b'{"kind": "token", "secret": "a", "pid": 1}', "unexpected fields"),
    (b'{"kind": "token", "secret": 7}', "expected text"),
    (b'{"kind": "cell", "index": "0", "step": {"ok": true}}', "expected an integer"),
    (b'{"kind": "cell", "index": true, "step": {"ok": true}}', "expected an integer"),
    (b'{"kind": "cell", "index": -1, "step": {"ok": true}}', "expected an integer"),
    (b'{"kind": "cell", "index": 0, "step": {"ok": 1}}', "expected true/false"),
    (b'{"kind": "done", "x": ' + b"[" * (MAX_DEPTH + 5) + b"]" * (MAX_DEPTH + 5) + b"}", "deeper"),
    (b'{"kind": "done", "x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}", "not a JSON message"),
])
def test_malformed_messages_are_refused(line, why):
    with pytest.raises(ProtocolError, match=why):
        decode(line, ALL)


def test_a_message_of_an_allowed_shape_but_the_wrong_moment_is_refused():
    with pytest.raises(ProtocolError, match="unexpected message kind 'finished'"):
        decode(encode(Finished("s", RunResult("ok", "", {}, []))).rstrip(), (CellDone, CallDone, Done))
    bad_status = json.dumps({"kind": "finished", "secret": "s", "result": {
        "status": "great", "message": "", "cells": {}, "calls": [], "output": "", "wall_s": 0}})
    with pytest.raises(ProtocolError, match="unknown status"):
        decode(bad_status.encode(), (Finished,))


def test_line_reader_limits_and_deadlines():
    r, w = os.pipe()
    os.write(w, b"x" * 100)
    reader = LineReader(r, limit=50)
    with pytest.raises(ProtocolError, match="longer than 50"):
        reader.read_line()
    r2, w2 = os.pipe()
    import time
    assert LineReader(r2).read_line(time.monotonic() + 0.05) is None  # silence
    os.write(w2, b"one\ntwo\n")
    exact = LineReader(r2)
    assert exact.read_exact_line() == b"one"
    assert os.read(r2, 100) == b"two\n"  # nothing past the first line left the pipe
    for fd in (r, w, r2, w2):
        os.close(fd)


def test_job_from_dict_checks_types():
    job = Job.from_dict({"cells": [{"exercise": "f", "code": "x = 1", "time_limit_s": 2}], "calls": [{}]})
    assert job.cells[0].time_limit_s == 2.0 and job.to_dict()["calls"] == [{}]
    with pytest.raises(TypeError, match="no fields"):
        Job.from_dict({"cells": [], "pid": 3})
    with pytest.raises(TypeError):
        Job.from_dict({"calls": ["rm -rf"]})


@pytest.mark.parametrize("data, why", [
    ({"__array__": "", "dtype": "float32", "shape": [10**5, 10**5, 10**5], "kind": "numpy"}, "over the"),
    ({"__array__": "", "dtype": "float32", "shape": [-1], "kind": "numpy"}, "shape"),
    ({"__array__": "", "dtype": "float32", "shape": [1] * 40, "kind": "numpy"}, "shape"),
    ({"__array__": "", "dtype": "float32", "shape": "3", "kind": "numpy"}, "shape"),
    ({"__array__": "!!!!", "dtype": "float32", "shape": [1], "kind": "numpy"}, "base64"),
    ({"__array__": base64.b64encode(bytes(8)).decode(), "dtype": "float32", "shape": [3]}, "do not fill"),
    ({"__array__": "", "dtype": "object", "shape": [0]}, "not allowed"),
    ({"__seq__": "set", "items": []}, "sequence"),
    ({"__dict__": [1, 2]}, "dict"),
    ({"__evil__": 1}, "Unexpected plain dict"),
])
def test_plain_values_are_checked_before_anything_is_allocated(data, why):
    with pytest.raises(ValueError, match=why):
        from_plain(data)


def test_plain_values_nested_too_deep_or_too_many_are_refused():
    deep = 0
    for _ in range(40):
        deep = [deep]
    with pytest.raises(ValueError, match="deeper"):
        from_plain(deep)
    with pytest.raises(ValueError, match="More than"):
        from_plain(list(range(1_100_000)))
    value = from_plain(to_plain({"a": (np.arange(6, dtype="int16").reshape(2, 3), [1.5, "x"])}))
    assert value["a"][0].tolist() == [[0, 1, 2], [3, 4, 5]] and value["a"][1] == [1.5, "x"]
