"""Comparing a student's value with the reference's: tensor-aware and exact about why.

Runs in the grading process only. Values are what `autograder.run.plain.from_plain`
returns: numbers, strings, lists, tuples, dicts, numeric numpy arrays and
opaque objects. The first difference found is reported with where it is
(`output[1]`), what was expected and what came, the first bad index and the
largest error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.run.plain import OpaqueObject


@dataclass(frozen=True)
class Mismatch:
    """Why two values differ.

    Attributes:
        kind: one of "type", "length", "keys", "shape", "dtype", "nan", "value".
        where: path inside the output, e.g. "output[0]".
        detail: full explanation (may show expected values).
        summary: explanation without expected values, for hidden cases.
    """

    kind: str
    where: str
    detail: str
    summary: str


def describe(value: Any) -> str:
    """A short description of a value's type, shape and dtype."""
    if isinstance(value, np.ndarray):
        kind = getattr(value, "kind", "array")
        return f"{kind} of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, OpaqueObject):
        return f"a {value.type_name} object"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


def number(value: Any) -> str:
    """A number as a person reads it: floats to 6 significant digits, everything else as Python writes it."""
    if isinstance(value, (float, np.floating)) and not isinstance(value, bool):
        return f"{float(value):.6g}"
    return repr(value.item() if isinstance(value, np.generic) else value)


def _preview(array: np.ndarray, limit: int = 6) -> str:
    flat = np.asarray(array).ravel()
    text = "[" + ", ".join(number(v) for v in flat[:limit].tolist()) + "]"
    return text[:-1] + ", ...]" if flat.size > limit else text


def compare_arrays(expected: np.ndarray, actual: Any, where: str, rtol: float, atol: float) -> Mismatch | None:
    if isinstance(actual, (int, float)) and not isinstance(actual, bool) and expected.ndim == 0:
        actual = np.asarray(actual, dtype=expected.dtype)
    if not isinstance(actual, np.ndarray):
        msg = f"{where}: expected {describe(expected)}, got {describe(actual)}"
        return Mismatch("type", where, msg, msg)
    if actual.shape != expected.shape:
        msg = f"{where}: expected shape {tuple(expected.shape)}, got {tuple(actual.shape)}"
        return Mismatch("shape", where, msg, msg)
    if actual.dtype != expected.dtype:
        msg = f"{where}: expected dtype {expected.dtype}, got {actual.dtype} (cast with tf.cast or keep the inputs' dtype)"
        return Mismatch("dtype", where, msg, msg)
    exp = np.asarray(expected)
    act = np.asarray(actual)
    if exp.dtype.kind in "fc":
        bad_nan = np.isnan(act) & ~np.isnan(exp)
        bad_inf = np.isinf(act) & ~np.isinf(exp)
        if bad_nan.any() or bad_inf.any():
            which = "NaN" if bad_nan.any() else "Inf"
            index = tuple(int(i) for i in np.argwhere(bad_nan | bad_inf)[0])
            msg = f"{where}: contains {which} (first at index {index}) where the reference is finite"
            return Mismatch("nan", where, msg, f"{where}: contains {which} where the reference is finite")
        close = np.isclose(act, exp, rtol=rtol, atol=atol, equal_nan=True)
    else:
        close = act == exp
    if close.all():
        return None
    if exp.ndim == 0:
        error = abs(float(act) - float(exp)) if exp.dtype.kind != "b" else 1.0
        detail = (f"{where}: expected {number(exp.item())}, got {number(act.item())} "
                  f"(error {error:.3g}; rtol={rtol:g}, atol={atol:g})")
        return Mismatch("value", where, detail, f"{where}: differs from the reference by {error:.3g}")
    bad = np.argwhere(~close)
    index = tuple(int(i) for i in bad[0])
    with np.errstate(invalid="ignore"):
        errors = np.abs(act.astype(np.float64) - exp.astype(np.float64)) if exp.dtype.kind != "b" else (act != exp)
    max_error = float(np.nanmax(np.where(close, 0, errors)))
    detail = (
        f"{where}: {bad.shape[0]} of {exp.size} values differ (rtol={rtol:g}, atol={atol:g}); "
        f"first at index {index}: expected {number(exp[index].item())}, got {number(act[index].item())}; "
        f"max error {max_error:.3g}.\n"
        f"  expected starts {_preview(exp)}\n  got      starts {_preview(act)}"
    )
    summary = f"{where}: {bad.shape[0]} of {exp.size} values differ; max error {max_error:.3g}"
    return Mismatch("value", where, detail, summary)


def compare(expected: Any, actual: Any, rtol: float = 1e-5, atol: float = 1e-6, where: str = "output") -> Mismatch | None:
    """The first difference between `expected` and `actual`, or None when they match."""
    if isinstance(expected, np.ndarray):
        return compare_arrays(expected, actual, where, rtol, atol)
    if isinstance(expected, (list, tuple)):
        if not isinstance(actual, (list, tuple)):
            msg = f"{where}: expected {describe(expected)}, got {describe(actual)}"
            return Mismatch("type", where, msg, msg)
        if len(actual) != len(expected):
            msg = f"{where}: expected {len(expected)} items, got {len(actual)}"
            if all(isinstance(v, str) for v in (*expected, *actual)):  # e.g. a model's layers
                detail = f"{msg}\n  expected {list(expected)}\n  got      {list(actual)}"[:1500]
                return Mismatch("length", where, detail, f"{msg}\n  got {list(actual)}"[:800])
            return Mismatch("length", where, msg, msg)
        for i, (e, a) in enumerate(zip(expected, actual)):
            found = compare(e, a, rtol, atol, f"{where}[{i}]")
            if found:
                return found
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or set(actual) != set(expected):
            got = sorted(actual) if isinstance(actual, dict) else describe(actual)
            msg = f"{where}: expected a dict with keys {sorted(expected)}, got {got}"
            return Mismatch("keys", where, msg, f"{where}: the dict's keys differ from the reference's")
        for key in expected:
            found = compare(expected[key], actual[key], rtol, atol, f"{where}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        if type(actual) is type(expected) and actual == expected:
            return None
        msg = f"{where}: expected {expected!r}, got {actual!r}"[:300]
        return Mismatch("value", where, msg, f"{where}: differs from the reference")
    if isinstance(expected, (int, float)):
        if isinstance(actual, np.ndarray) and actual.ndim == 0:
            actual = actual.item()
        if not isinstance(actual, (int, float)) or isinstance(actual, bool):
            msg = f"{where}: expected a number, got {describe(actual)}"
            return Mismatch("type", where, msg, msg)
        if np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True) or actual == expected:
            return None
        msg = f"{where}: expected {number(expected)}, got {number(actual)} (error {abs(actual - expected):.3g})"
        return Mismatch("value", where, msg, f"{where}: differs from the reference by {abs(actual - expected):.3g}")
    msg = f"{where}: the reference returned {describe(expected)}, which cannot be compared"
    return Mismatch("type", where, msg, msg)
