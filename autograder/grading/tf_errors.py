"""TensorFlow's errors in a student's words: the operation, the two shapes or dtypes, the line, the convention.

Runs in the grading process on the error a job sent as data (`ErrorInfo`), and
in the student's kernel inside `check`'s formatting; it never imports
TensorFlow. `translate` recognises the shape and dtype errors TensorFlow raises
(eagerly and inside `tf.function`) and says them in one line; `clean` strips
the internals (`{{function_node ...}}`, `__wrapped__`, device strings, `[Op:...]`)
from any other message.
"""

from __future__ import annotations

import re
import traceback
from typing import Any

OPERATIONS = {
    "MatMul": "`@` (matrix product)", "BatchMatMulV2": "`@` (matrix product)", "BatchMatMulV3": "`@` (matrix product)",
    "AddV2": "`+`", "Add": "`+`", "BiasAdd": "`+`", "Sub": "`-`", "Mul": "`*`", "RealDiv": "`/`", "Div": "`/`",
    "Maximum": "`tf.maximum`", "Minimum": "`tf.minimum`", "ConcatV2": "`tf.concat`", "Pack": "`tf.stack`",
    "Transpose": "`tf.transpose`", "Reshape": "`tf.reshape`", "GatherV2": "`tf.gather`", "SelectV2": "`tf.where`",
    "Select": "`tf.where`", "Einsum": "`tf.einsum`", "Sum": "`tf.reduce_sum`", "Mean": "`tf.reduce_mean`",
    "SquaredDifference": "`tf.math.squared_difference`", "StridedSlice": "indexing (`[...]`)",
    "TensorListFromTensor": "`tf.scan`", "Squeeze": "`tf.squeeze`", "Tile": "`tf.tile`", "AddN": "`tf.add_n`",
}
DTYPES = {"float": "float32", "double": "float64", "half": "float16", "int32": "int32", "int64": "int64",
          "bool": "bool", "string": "string", "bfloat16": "bfloat16"}
NO_TENSOR = "the function returned no tensor to differentiate"
"""What the `call` probe raises when a case's gradients are asked of a function that returned no tensor."""

_OP = re.compile(r"\[Op:(\w+)\]|operation (\w+) of type|\{\{node [^}]*\}\} = (\w+)\[|cannot compute (\w+) as input|'(\w+)' Op has type")
_SHAPE = re.compile(r"(?<![\w\]])\[((?:-?\d+|\?)(?:,\s*(?:-?\d+|\?))*|)\]")
_SHAPE_WORDS = re.compile(r"size-incompatible|Incompatible shapes|input shapes:|Dimensions must be equal|"
                          r"shape\[0\] = |\.shape = |must have the same (?:size and )?shape|are incompatible")
_DTYPE_EAGER = re.compile(r"expected to be a (\w+) tensor but is a (\w+) tensor")
_DTYPE_GRAPH = re.compile(r"has type (\w+) that does not match type (\w+)")
_INTERNALS = [
    (re.compile(r"\{\{function_node [^}]*\}\}\s*"), ""),
    (re.compile(r"\s*for '\{\{node [^}]*\}\} = [^']*'"), ""),
    (re.compile(r"\{\{node ([^}]*)\}\}"), r"\1"),
    (re.compile(r"\s*\[Op:\w+\](?:\s*name:\s*\S*)?"), ""),
    (re.compile(r"/?job:\w+/replica:\d+/task:\d+(?:/device:\w+:\d+)?"), ""),
    (re.compile(r"_?_wrapped__\w*"), ""),
    (re.compile(r"\b_Mkl(\w+)"), r"\1"),
]
INTERNAL_MARKS = ("{{function_node", "__wrapped__", "/job:localhost", "device:CPU", "device:GPU", "[Op:", "{{node")
"""Text that must never reach a student (the test suite asserts it over all feedback)."""


def clean(text: str) -> str:
    """`text` without TensorFlow's internals (function nodes, device strings, `[Op:...] name:` tails)."""
    for pattern, repl in _INTERNALS:
        text = pattern.sub(repl, text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def _operation(message: str) -> str:
    match = _OP.search(message)
    if match is None:
        return ""
    name = next(g for g in match.groups() if g)
    name = name.removeprefix("_Mkl").removeprefix("_")
    return OPERATIONS.get(name, f"`{name}`")


def _shapes(message: str) -> list[str]:
    shapes = []
    for match in _SHAPE.finditer(clean(message)):
        sizes = [p.strip().replace("?", "None") for p in match.group(1).split(",") if p.strip()]
        shapes.append("(" + ", ".join(sizes) + ("," if len(sizes) == 1 else "") + ")")
    return shapes[:2]


def translate(error_type: str, message: str, line: int = 0, convention: str = "") -> str:
    """One line for a shape or dtype error raised inside the student's function, or "" for any other error.

    Args:
        error_type: the exception's class name.
        message: its message, as TensorFlow wrote it.
        line: the line of the student's cell it was raised at (0: unknown).
        convention: the exercise's shapes in one phrase (`Exercise.convention`).
    """
    if error_type not in ("InvalidArgumentError", "ValueError", "TypeError"):
        return ""
    where = f" at line {line} of your cell" if line > 0 else ""
    operation = _operation(message) or "an operation"
    tail = f"; this exercise's convention: {convention}" if convention else ""
    dtypes = _DTYPE_EAGER.search(message) or _DTYPE_GRAPH.search(message)
    if dtypes:
        first, second = (DTYPES.get(d, d) for d in dtypes.groups())
        if _DTYPE_GRAPH.search(message):
            first, second = second, first
        article = "an" if second[0] in "aeiou" else "a"
        return (f"dtype error in {operation}{where}: it combines a {first} tensor with {article} {second} one, and "
                f"TensorFlow never converts between them; cast one with tf.cast(..., tf.{first}){tail}")
    if not _SHAPE_WORDS.search(message):
        return ""
    shapes = _shapes(message)
    if len(shapes) < 2:
        return ""
    if "matrix product" in operation:
        fit = f"{shapes[0]} @ {shapes[1]} needs the last size of the first to equal the first size of the second"
    else:
        fit = f"shapes {shapes[0]} and {shapes[1]} do not fit together"
    return f"shape error in {operation}{where}: {fit}{tail}"


def student_line(exc: BaseException, function: Any) -> int:
    """The line of the student's cell where `exc` was raised (the cell that defined `function`), or 0."""
    code = getattr(function, "__code__", None)
    if code is None:
        return 0
    try:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == code.co_filename]
    except Exception:  # noqa: BLE001 - a traceback that cannot be read gives no line
        return 0
    return int(frames[-1].lineno or 0) if frames else 0


def student_traceback(exc: BaseException, library: tuple[str, ...]) -> str:
    """The frames of `exc` outside `library` (the student's cells), formatted as the grader sends them."""
    try:
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if not f.filename.startswith(library) and not f.filename.startswith("<frozen")
                  and "__autograph_generated_file" not in f.filename]
        return "".join(traceback.format_list(frames[-8:]))
    except Exception:  # noqa: BLE001 - a traceback that cannot be read names no frame
        return ""
