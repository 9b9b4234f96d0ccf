"""What a job produced, as typed data: errors, cells, calls, the whole run (with strict decoders)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from autograder.run.strict import ProtocolError, boolean, fields_of, integer, number, optional, text

@dataclass(frozen=True)
class ErrorInfo:
    """An exception raised by the student's code (or the grader's probe), as data.

    Attributes:
        type: the exception's class name, e.g. "ValueError".
        message: `str(exc)`, shortened.
        traceback: the frames that lie in the student's cells, formatted.
        timed_out: the step was stopped at its own time limit.
        line: the line of the student's cell the error points at (0: unknown).
    """

    type: str
    message: str
    traceback: str = ""
    timed_out: bool = False
    line: int = 0

    def text(self) -> str:
        """`Type: message`, then the student's traceback."""
        head = f"{self.type}: {self.message}" if self.message else self.type
        return head + (f"\n{self.traceback}" if self.traceback else "")

    @classmethod
    def decode(cls, data: Any) -> "ErrorInfo":
        d = fields_of(data, cls)
        return cls(text(d["type"], 200), text(d["message"]), text(d["traceback"]),
                   boolean(d["timed_out"]), integer(d["line"], 0, 10**9))


@dataclass(frozen=True)
class StepResult:
    """How one graded cell ran.

    Attributes:
        seconds: wall-clock time, as the supervisor measured it.
        cpu_s: the job process's CPU time, as the child itself measured it: trusted only from the reference.
    """

    ok: bool
    error: ErrorInfo | None = None
    seconds: float = 0.0
    cpu_s: float = 0.0

    @classmethod
    def decode(cls, data: Any) -> "StepResult":
        d = fields_of(data, cls)
        return cls(boolean(d["ok"]), optional(d["error"], ErrorInfo.decode), number(d["seconds"]), number(d["cpu_s"]))


@dataclass(frozen=True)
class CallResult:
    """How one case's call ran; `value` is plain data (see `autograder.run.plain`); `seconds` and `cpu_s` as
    for `StepResult`."""

    ok: bool
    value: Any = None
    error: ErrorInfo | None = None
    seconds: float = 0.0
    cpu_s: float = 0.0

    @classmethod
    def decode(cls, data: Any) -> "CallResult":
        d = fields_of(data, cls)
        return cls(boolean(d["ok"]), d["value"], optional(d["error"], ErrorInfo.decode), number(d["seconds"]),
                   number(d["cpu_s"]))


STATUSES = ("ok", "timeout", "memory", "cpu", "crashed", "exited", "protocol")


@dataclass(frozen=True)
class RunResult:
    """Everything one job produced.

    Attributes:
        status: "ok" or why the job stopped early (one of `STATUSES`).
        message: what happened, for people ("" when ok).
        cells: exercise -> how its cell ran.
        calls: one entry per call of the job, None where never reached.
        output: what the student's code printed (capped).
        wall_s: seconds from the request to the result.
    """

    status: str
    message: str
    cells: dict[str, StepResult]
    calls: list[CallResult | None]
    output: str = ""
    wall_s: float = 0.0

    @classmethod
    def decode(cls, data: Any) -> "RunResult":
        d = fields_of(data, cls)
        status = text(d["status"], 20)
        if status not in STATUSES:
            raise ProtocolError(f"unknown status {status!r}")
        cells = d["cells"]
        if not isinstance(cells, dict):
            raise ProtocolError("cells must be an object")
        calls = d["calls"]
        if not isinstance(calls, list):
            raise ProtocolError("calls must be a list")
        return cls(status, text(d["message"]), {text(k, 200): StepResult.decode(v) for k, v in cells.items()},
                   [optional(c, CallResult.decode) for c in calls], text(d["output"]), number(d["wall_s"]))
