"""Strict, total checks for plain data that crossed a process boundary (nothing is trusted)."""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any

MAX_DEPTH = 64  # JSON nesting of one message
MAX_TEXT = 200_000  # an error message, traceback or output text


class ProtocolError(ValueError):
    """A message that is not what the protocol allows."""


def check_depth(data: Any) -> None:
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ProtocolError(f"a message nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, (dict, list)))
        elif isinstance(value, list):  # only containers are kept: a long list of numbers costs nothing here
            stack.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))


def fields_of(data: Any, cls: type) -> dict:
    if not isinstance(data, dict):
        raise ProtocolError(f"{cls.__name__} must be an object")
    names = [f.name for f in fields(cls)]
    extra = set(data) - set(names)
    if extra:
        raise ProtocolError(f"{cls.__name__} has unexpected fields {sorted(map(str, extra))[:3]}")
    out = {}
    for f in fields(cls):
        if f.name in data:
            out[f.name] = data[f.name]
        elif f.default is not MISSING:
            out[f.name] = f.default
        else:
            raise ProtocolError(f"{cls.__name__} lacks {f.name}")
    return out


def text(value: Any, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise ProtocolError(f"expected text, got {type(value).__name__}")
    return value if len(value) <= limit else value[:limit] + " ..."


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ProtocolError(f"expected true/false, got {type(value).__name__}")
    return value


def integer(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProtocolError(f"expected an integer in [{low}, {high}]")
    return value


def number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProtocolError(f"expected a number, got {type(value).__name__}")
    return float(value)


def optional(value: Any, decoder):
    return None if value is None else decoder(value)
