"""Plain, JSON-safe data for values crossing a process boundary.

The student's process turns whatever a function returned into plain data with
`to_plain`; the grading process reads it back with `from_plain`, which only
ever builds numbers, strings, lists, dicts and numeric numpy arrays, so a
crafted message cannot run code or smuggle an object with a lying `__eq__`.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

ALLOWED_DTYPES = {
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
}
MAX_REPR = 200


def _array_to_plain(array: np.ndarray, kind: str) -> dict:
    array = np.asarray(array)
    if not array.flags.c_contiguous:
        array = array.copy(order="C")  # np.ascontiguousarray would turn a 0-d array into 1-d
    if array.dtype.name not in ALLOWED_DTYPES:
        return {"__object__": f"array of dtype {array.dtype}", "repr": repr(array)[:MAX_REPR]}
    return {
        "__array__": base64.b64encode(array.tobytes()).decode("ascii"),
        "dtype": array.dtype.name,
        "shape": list(array.shape),
        "kind": kind,
    }


def to_plain(value: Any, depth: int = 0) -> Any:
    """Converts a returned value to plain data (runs in the student's process)."""
    if depth > 20:
        return {"__object__": "nesting deeper than 20 levels", "repr": ""}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and type(value) in (int, float):
        return value
    if type(value) is np.ndarray:
        return _array_to_plain(value, "numpy")
    if isinstance(value, np.generic):
        return _array_to_plain(np.asarray(value), "numpy scalar")
    if type(value) in (list, tuple):
        return {"__seq__": type(value).__name__, "items": [to_plain(v, depth + 1) for v in value]}
    if type(value) is dict:
        return {"__dict__": {str(k): to_plain(v, depth + 1) for k, v in value.items()}}
    module = type(value).__module__ or ""
    if module.startswith(("tensorflow", "keras")) and hasattr(value, "numpy") and hasattr(value, "dtype"):
        return _array_to_plain(np.asarray(value.numpy()), "tf.Tensor")
    return {"__object__": f"{module}.{type(value).__qualname__}", "repr": _safe_repr(value)}


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)[:MAX_REPR]
    except Exception as exc:  # a broken __repr__ is the student's, not ours
        return f"<repr failed: {type(exc).__name__}>"


MAX_DEPTH = 32
MAX_ARRAY_BYTES = 512 * 2**20
MAX_NDIM = 32
MAX_ITEMS = 1_000_000


def from_plain(data: Any, depth: int = 0, budget: list[int] | None = None) -> Any:
    """Reads plain data back (runs in the grading process); strict and total.

    Every size is checked before anything is allocated: nesting depth, the
    number of items, an array's rank, declared shape and byte count.

    Raises:
        ValueError: the data is not in the plain format (for example an array
            of a dtype outside the numeric whitelist, bytes of the wrong size,
            a huge declared shape or nesting deeper than `MAX_DEPTH`).
    """
    if budget is None:
        budget = [MAX_ITEMS]
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError(f"More than {MAX_ITEMS} values.")
    if depth > MAX_DEPTH:
        raise ValueError(f"Values nested deeper than {MAX_DEPTH} levels.")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [from_plain(v, depth + 1, budget) for v in data]
    if not isinstance(data, dict):
        raise ValueError(f"Unexpected plain value of type {type(data).__name__}.")
    if "__array__" in data:
        return _array_from_plain(data)
    if "__seq__" in data:
        items = data.get("items")
        if not isinstance(items, list) or data["__seq__"] not in ("list", "tuple") or set(data) != {"__seq__", "items"}:
            raise ValueError("A sequence must be {'__seq__': 'list'|'tuple', 'items': [...]}.")
        values = [from_plain(v, depth + 1, budget) for v in items]
        return tuple(values) if data["__seq__"] == "tuple" else values
    if "__dict__" in data:
        inner = data["__dict__"]
        if not isinstance(inner, dict) or len(data) != 1:
            raise ValueError("A dict must be {'__dict__': {...}}.")
        return {str(k): from_plain(v, depth + 1, budget) for k, v in inner.items()}
    if "__object__" in data:
        return OpaqueObject(str(data["__object__"])[:MAX_REPR], str(data.get("repr", ""))[:MAX_REPR])
    raise ValueError(f"Unexpected plain dict with keys {sorted(map(str, data))[:5]}.")


def _array_from_plain(data: dict) -> "PlainArray":
    dtype = data.get("dtype")
    if dtype not in ALLOWED_DTYPES:
        raise ValueError(f"Array dtype {str(dtype)[:40]!r} is not allowed.")
    shape = data.get("shape")
    if not isinstance(shape, list) or len(shape) > MAX_NDIM or not all(
            type(s) is int and 0 <= s < 2**31 for s in shape):
        raise ValueError(f"An array's shape must be a list of at most {MAX_NDIM} sizes in [0, 2**31).")
    itemsize = np.dtype(dtype).itemsize
    size = 1
    for s in shape:
        size *= s
    if size * itemsize > MAX_ARRAY_BYTES:
        raise ValueError(f"An array of shape {tuple(shape)} is over the {MAX_ARRAY_BYTES // 2**20} MB limit.")
    encoded = data.get("__array__")
    if not isinstance(encoded, str) or len(encoded) > 4 * (size * itemsize + 2) // 3 + 4:
        raise ValueError(f"Array bytes do not fill shape {tuple(shape)} of {dtype}.")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (ValueError, TypeError):
        raise ValueError("Array bytes are not valid base64.") from None
    if len(raw) != itemsize * size:
        raise ValueError(f"Array bytes do not fill shape {tuple(shape)} of {dtype}.")
    kind = data.get("kind", "numpy")
    array = np.frombuffer(raw, dtype=np.dtype(dtype))
    return PlainArray(array.reshape(tuple(shape)).copy(), str(kind)[:40])


class PlainArray(np.ndarray):
    """A numpy array that remembers what kind of object it came from."""

    def __new__(cls, array: np.ndarray, kind: str) -> "PlainArray":
        obj = np.asarray(array).view(cls)
        obj.kind = kind
        return obj

    def __array_finalize__(self, obj: Any) -> None:
        self.kind = getattr(obj, "kind", "numpy")


class OpaqueObject:
    """Something that was not plain data; only its type name and repr survive."""

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name = type_name
        self.text = text

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"
