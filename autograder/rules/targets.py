"""What a rule's names stand for while the student's code runs: objects, code objects, modules.

The run-time watch (`autograder.rules.watch`) recognises a forbidden or required call by the
code object that runs, so that any alias, `getattr` or re-export reaches the same one; this
module turns dotted names and wildcards into those code objects (`Forbidden`), and recognises
code that AutoGraph converted from a function (`converted_from`).
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
import sys
import types
from typing import Any

from autograder.rules.static import canonical


def resolve(name: str) -> Any:
    """The object a dotted name stands for (`tensorflow.scan` -> the function), or None."""
    parts = canonical(name).split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except Exception:  # noqa: BLE001 - not a module at this depth
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def objects(pattern: str) -> list[Any]:
    """Objects a pattern names: one, or every attribute of a module matching a wildcard."""
    pattern = canonical(pattern)
    if not any(c in pattern for c in "*?["):
        obj = resolve(pattern)
        return [] if obj is None else [obj]
    module_name, _, leaf = pattern.rpartition(".")
    if any(c in module_name for c in "*?["):
        return []
    module = resolve(module_name)
    if module is None:
        return []
    top = canonical(module_name).split(".")[0]
    out = []
    for attr in dir(module):
        if fnmatch.fnmatchcase(attr, leaf):
            try:
                obj = getattr(module, attr)
            except Exception:  # noqa: BLE001
                continue
            owner = getattr(obj, "__module__", None) or ""
            if isinstance(obj, types.ModuleType) or owner.split(".")[0] != top:
                continue  # what the module merely imported (math.log in statistics, enum helpers, ...)
            out.append(obj)
    return out


def codes(obj: Any) -> list[types.CodeType]:
    """Code objects that run when `obj` is called: a function's innermost body (decorators'
    wrappers are shared by many functions, so never theirs), or a class's own methods."""
    if isinstance(obj, (types.FunctionType, types.MethodType)):
        try:
            fn = inspect.unwrap(getattr(obj, "__func__", obj))
        except ValueError:  # a cycle of __wrapped__
            return []
        fn = getattr(fn, "__func__", fn)
        return [fn.__code__] if isinstance(fn, types.FunctionType) else []
    if isinstance(getattr(obj, "python_function", None), types.FunctionType):  # a tf.function
        return codes(obj.python_function)
    if isinstance(obj, type):
        return [v.__code__ for k, v in vars(obj).items()
                if k in ("__init__", "__new__", "__call__", "call") and isinstance(v, types.FunctionType)]
    return []


GENERATED = "__autograph_generated_file"
"""In the file name of code that AutoGraph converted (a `tf.function`'s Python, traced)."""


class Forbidden:
    """What a list of patterns forbids, as the hook sees it: code objects, builtins, module prefixes."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.codes: dict[types.CodeType, str] = {}
        self.builtins: dict[Any, str] = {}  # by the builtin itself: hashing one is by identity, and id() is audited
        self.modules: list[tuple[str, str]] = []  # (module prefix, pattern)
        for pattern in patterns:
            if pattern.endswith(".*") and not any(c in pattern[:-2] for c in "*?["):
                self.modules.append((canonical(pattern[:-2]), pattern))
            for obj in objects(pattern):
                for code in codes(obj):
                    self.codes[code] = pattern
                if isinstance(obj, types.BuiltinFunctionType):
                    self.builtins[obj] = pattern

    def module_pattern(self, module: str) -> str | None:
        for prefix, pattern in self.modules:
            if module == prefix or module.startswith(prefix + "."):
                return pattern
        return None

    def covers(self, frame: Any, builtin: Any = None) -> bool:
        """Whether the call into `frame` (or of `builtin`, called from `frame`) is forbidden here."""
        if builtin is not None:
            return builtin in self.builtins
        if frame.f_code in self.codes:
            return True
        return bool(self.modules) and self.module_pattern(frame.f_globals.get("__name__", "") or "") is not None


_FORBIDDEN: dict[tuple[tuple[str, ...], int], Forbidden] = {}


def forbidden(patterns: tuple[str, ...]) -> Forbidden:
    """`Forbidden(patterns)`, made once per list while no module is imported (resolving wildcards walks
    whole modules; a module imported since may hold more of what a pattern names)."""
    key = (tuple(patterns), len(sys.modules))
    found = _FORBIDDEN.get(key)
    if found is None:
        if len(_FORBIDDEN) > 64:
            _FORBIDDEN.clear()
        found = _FORBIDDEN[key] = Forbidden(key[0])
    return found


def converted_from(frame: Any) -> types.CodeType | None:
    """The code AutoGraph converted into `frame`'s code, when AutoGraph's own `converted_call` called it."""
    caller = frame.f_back
    api = sys.modules.get("tensorflow.python.autograph.impl.api")
    converted_call = getattr(getattr(api, "converted_call", None), "__code__", None)
    if caller is None or converted_call is None or caller.f_code is not converted_call:
        return None
    entity = caller.f_locals.get("target_entity")
    code = getattr(getattr(entity, "__func__", entity), "__code__", None)
    return code if isinstance(code, types.CodeType) else None
