"""The messages between the grading process, the template, its supervisors and job children.

Every message is one JSON object on one line, written by `write_line` and read
by `LineReader`; each kind is a dataclass with a strict, total decoder. A
decoder never trusts the other side: unknown kinds, missing or extra fields,
wrong types, oversized lines and nesting beyond `MAX_DEPTH` all raise
`ProtocolError`, which costs the submission a message and nothing more.

Who talks to whom:

- master -> template: `Spawn` (no job data: the template never holds any).
- supervisor (forked from the template) -> master: `Spawned`; master ->
  supervisor: `JobRequest`; supervisor -> master: `Forked` once the job's
  child exists; master -> supervisor: `Token` (a per-job secret the child
  never had in memory); supervisor -> master: `Finished`, carrying the token.
- job child -> supervisor (its own pipe): `CellStart`, `CellDone`,
  `CallStart`, `CallDone`, `SetupFailed`, `Done` - indices only; names come
  from the job the supervisor already holds.
"""

from __future__ import annotations

import json
import os
import select
import time
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from autograder.run.outcome import STATUSES, CallResult, ErrorInfo, RunResult, StepResult
from autograder.run.strict import MAX_DEPTH, ProtocolError, boolean, check_depth, fields_of, integer, number, text

MAX_LINE_BYTES = 80 * 2**20  # one message: a job's results are capped at 64 MB (see `supervisor.MAX_PROGRESS_BYTES`)
MAX_VALUES = 2_000_000
"""JSON values in one message, counted (from above) before it is decoded: a value costs the decoder about
40 bytes however short its text, so this bounds what decoding one message can cost (about 80 MB)."""

__all__ = ["MAX_DEPTH", "MAX_VALUES", "count_values", "CallDone", "CallResult", "CallStart", "CellDone", "CellStart", "Done", "ErrorInfo",
           "Finished", "Forked", "JobRequest", "LineReader", "Message", "ProtocolError", "Ready", "RunResult",
           "STATUSES", "SetupFailed", "Spawn", "Spawned", "StepResult", "Token", "decode", "encode", "write_line"]


# ------------------------------------------------------------------ messages


@dataclass(frozen=True)
class Message:
    """Base of every message; `kind` names the subclass on the wire."""

    kind: ClassVar[str] = ""

    def to_json(self) -> dict:
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True)
class Ready(Message):
    """Template -> master, once: imports done, no TensorFlow op run, isolation probed."""

    kind: ClassVar[str] = "ready"
    import_s: float
    preload_failed: dict[str, str]
    tf_context_started: bool
    isolation: dict[str, Any]


@dataclass(frozen=True)
class Spawn(Message):
    """Master -> template: fork a supervisor for the next job."""

    kind: ClassVar[str] = "spawn"


@dataclass(frozen=True)
class Spawned(Message):
    """Supervisor -> master: ready to receive the job."""

    kind: ClassVar[str] = "spawned"


@dataclass(frozen=True)
class JobRequest(Message):
    """Master -> supervisor: the job (see `autograder.run.job.Job`)."""

    kind: ClassVar[str] = "job"
    job: dict[str, Any]


@dataclass(frozen=True)
class Forked(Message):
    """Supervisor -> master: the job's child exists (it never sees what comes next)."""

    kind: ClassVar[str] = "forked"


@dataclass(frozen=True)
class Token(Message):
    """Master -> supervisor: the per-job secret that `Finished` must carry."""

    kind: ClassVar[str] = "token"
    secret: str


@dataclass(frozen=True)
class Finished(Message):
    """Supervisor -> master: the job's result."""

    kind: ClassVar[str] = "finished"
    secret: str
    result: RunResult


@dataclass(frozen=True)
class CellStart(Message):
    kind: ClassVar[str] = "cell_start"
    index: int


@dataclass(frozen=True)
class CellDone(Message):
    kind: ClassVar[str] = "cell"
    index: int
    step: StepResult


@dataclass(frozen=True)
class CallStart(Message):
    kind: ClassVar[str] = "call_start"
    index: int


@dataclass(frozen=True)
class CallDone(Message):
    kind: ClassVar[str] = "call"
    index: int
    call: CallResult


@dataclass(frozen=True)
class SetupFailed(Message):
    kind: ClassVar[str] = "setup_error"
    error: ErrorInfo


@dataclass(frozen=True)
class Done(Message):
    kind: ClassVar[str] = "done"


_NESTED = {"step": StepResult.decode, "call": CallResult.decode, "error": ErrorInfo.decode,
           "result": RunResult.decode}
_KINDS: dict[str, type[Message]] = {m.kind: m for m in (
    Ready, Spawn, Spawned, JobRequest, Forked, Token, Finished,
    CellStart, CellDone, CallStart, CallDone, SetupFailed, Done)}


def decode(line: bytes, allowed: tuple[type[Message], ...]) -> Message:
    """One message from one line, if it is of an allowed kind.

    Raises:
        ProtocolError: anything else (bad JSON, too deep, unknown or
            unexpected kind, missing, extra or mistyped fields).
    """
    if len(line) > MAX_LINE_BYTES:
        raise ProtocolError(f"message of {len(line)} bytes is over the limit")
    if count_values(line) > MAX_VALUES:
        raise ProtocolError(f"a message with more than {MAX_VALUES} values")
    try:
        data = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"not a JSON message ({type(exc).__name__})") from None
    check_depth(data)
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        raise ProtocolError("a message must be an object with a kind")
    cls = _KINDS.get(data["kind"])
    if cls is None or cls not in allowed:
        raise ProtocolError(f"unexpected message kind {str(data['kind'])[:40]!r}")
    body = {k: v for k, v in data.items() if k != "kind"}
    d = fields_of(body, cls)
    values = {}
    for f in fields(cls):
        raw = d[f.name]
        if f.name in _NESTED:
            values[f.name] = _NESTED[f.name](raw)
        elif f.name == "index":
            values[f.name] = integer(raw, 0, 10**6)
        elif f.name == "secret":
            values[f.name] = text(raw, 200)
        elif f.name == "import_s":
            values[f.name] = number(raw)
        elif f.name == "tf_context_started":
            values[f.name] = boolean(raw)
        elif f.name in ("preload_failed", "isolation", "job"):
            if not isinstance(raw, dict):
                raise ProtocolError(f"{f.name} must be an object")
            values[f.name] = raw
        else:  # pragma: no cover - every field is listed above
            raise ProtocolError(f"no decoder for field {f.name}")
    return cls(**values)


def count_values(line: bytes) -> int:
    """An upper bound on the JSON values in `line` (commas and openings; text with commas counts too)."""
    return line.count(b",") + line.count(b"[") + line.count(b"{") + 1


def encode(message: Message) -> bytes:
    """One line of JSON for a message (`ValueError` if a value is not JSON data)."""
    return (json.dumps(message.to_json(), allow_nan=True, separators=(",", ":")) + "\n").encode("utf-8")


def write_line(fd: int, message: Message) -> None:
    """Writes one message to a file descriptor, all of it."""
    data = encode(message)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class LineReader:
    """Reads whole lines from a file descriptor, with a deadline and a size limit."""

    def __init__(self, fd: int, limit: int = MAX_LINE_BYTES) -> None:
        self.fd = fd
        self.limit = limit
        self._buf = bytearray()

    def pending(self) -> bool:
        """Bytes were read past the last line (the peer sent more than it should)."""
        return bool(self._buf)

    def read_line(self, deadline: float | None = None) -> bytes | None:
        """The next line without its newline; None at end of file or past the deadline.

        Raises:
            ProtocolError: the line grows past the size limit.
        """
        while True:
            end = self._buf.find(b"\n")
            if end >= 0:
                line = bytes(self._buf[:end])
                if end + 1 == len(self._buf):
                    self._buf = bytearray()  # frees a large line's buffer at once, not at the next read
                else:
                    del self._buf[: end + 1]
                return line
            if len(self._buf) > self.limit:
                raise ProtocolError(f"a message longer than {self.limit} bytes")
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                ready, _, _ = select.select([self.fd], [], [], min(left, 1.0))
                if not ready:
                    continue
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                return None
            self._buf += chunk

    def read_exact_line(self) -> bytes | None:
        """One line read a byte at a time, so nothing after it leaves the pipe."""
        out = bytearray()
        while True:
            b = os.read(self.fd, 1)
            if not b:
                return None
            if b == b"\n":
                return bytes(out)
            out += b
            if len(out) > self.limit:
                raise ProtocolError(f"a message longer than {self.limit} bytes")
