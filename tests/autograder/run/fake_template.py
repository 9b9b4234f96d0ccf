"""A template that speaks the protocol but lies in one way, chosen by FAKE_TEMPLATE (for test_pool_protocol)."""

import os
import sys

from autograder.run.protocol import (
    CallResult, Finished, Forked, JobRequest, LineReader, Ready, RunResult, Spawn, Spawned, Token, decode, encode,
)


def main() -> None:
    mode = os.environ.get("FAKE_TEMPLATE", "honest")
    fd_in, fd_out = 0, 1
    out = os.fdopen(fd_out, "wb", buffering=0)
    out.write(encode(Ready(0.0, {}, False, {"landlock": "fake", "seccomp": "fake"})))
    reader = LineReader(fd_in)
    while True:
        line = reader.read_line()
        if line is None:
            return
        decode(line, (Spawn,))
        out.write(encode(Spawned()))
        job = decode(reader.read_line(), (JobRequest,)).job
        if mode == "garbage":
            out.write(b"this is not a message\n")
            continue
        out.write(encode(Forked()))
        secret = decode(reader.read_line(), (Token,)).secret
        calls = [CallResult(True, {"value": 1}) for _ in job["calls"]]
        if mode == "mismatch":
            calls = calls + calls
        result = RunResult("ok", "", {}, calls, "", 0.0)
        data = encode(Finished("not-the-token" if mode == "wrong_secret" else secret, result))
        if mode == "extra":
            data += encode(Finished(secret, result))
        if mode == "deep":
            data = data.replace(b'{"value":1}', b'{"value":' + b"[" * 100 + b"]" * 100 + b"}", 1)
        if mode == "kind":
            data = encode(Spawned())
        out.write(data)


if __name__ == "__main__":
    sys.exit(main())
