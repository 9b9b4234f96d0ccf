"""Watching an exercise's rules while the student's code runs (the child, and `check`).

`RuleWatch` installs a profile hook (`sys.setprofile`, and `threading.setprofile`
for threads started meanwhile) for the duration of one cell or one call. It
records every call of a forbidden function (by code object, so any alias,
`getattr` or re-export reaches the same one), every call into a forbidden
module (`course.*`), whether each required function was called, and whether
the student's code touched the hook itself. The static check
(`autograder.rules.static.static_violations`) refuses the names that could blind it.

A forbidden call is charged to the exercise whose code made it: when the student's
function calls another graded exercise's function (`rnn_forward` calling `rnn_step`)
and a call forbidden by *that* exercise's own rules happens inside it, it is left to
that exercise (graded by its own calls), not to the caller (`RuleWatch.others`). A
call the callee's rules allow but the caller's forbid still costs the caller, so no
work is laundered through another exercise's function. This is best-effort, like the
whole watch: what is computed (the traced graph) is the evidence that holds.
"""

from __future__ import annotations

import sys
import threading
import types
from pathlib import Path
from typing import Any, Callable

from autograder.rules.static import TAMPERING, Rules, equivalents
from autograder.rules.targets import GENERATED, codes as _codes, converted_from, forbidden, objects as _objects
from autograder.rules.targets import resolve  # noqa: F401 - part of this module's interface

LIBRARY_DIRS = tuple(str(Path(__file__).resolve().parents[2] / p) for p in ("autograder", "course"))
"""Our own packages: their frames are never the student's."""


_CLEAN = (None, None, None)
_OWN = "<the function itself>"  # a required-name marker: the student's function's own Python ran
_REMEMBERED: dict[tuple[str, int], tuple[Any, frozenset[str]]] = {}
"""(exercise, id of the student's function) -> (the function, required names its traced Python called).

A compiled function (`tf.function`) runs its Python only when it traces: a call that reuses a trace
calls nothing the watch can see, so what the traces called is remembered for such calls."""


WATCHED = "__graded_function__"
"""The attribute of the watch's wrapper that holds the student's function it wraps."""


class RuleBroken(Exception):
    """The student's code broke one of the exercise's rules."""


def _cell_code(filename: str, library: tuple[str, ...]) -> bool:
    """Whether code from `filename` is a notebook cell's (or AutoGraph's conversion of one), not a library's.

    Libraries also run code compiled from strings (`<string>`: named tuples, dataclasses); cells are
    `<cell ...>` in the grader, `<ipython-input-...>` or a kernel's temporary file in a notebook.
    """
    if filename.startswith("<"):
        return filename.startswith(("<cell", "<ipython-input"))
    return not filename.startswith(library)


class RuleWatch:
    """Records what the student's code calls while it runs, against an exercise's rules.

    Args:
        exercise: the exercise's name (for messages).
        rules: what it must and must not call.
        check_required: also check `rules.require` (calls of the function;
            not while its cell merely defines it).
        namespace: where a bare required name (`gru_forward`, a function the
            notebook defines) is looked up; dotted names are imported.
        others: the other graded exercises' functions (name in `namespace` -> their
            rules, plain or not): a call that one of them makes, forbidden by its own
            rules, is its exercise's to answer for, not this one's.
    """

    def __init__(self, exercise: str, rules: Rules, check_required: bool = True,
                 namespace: dict | None = None, others: dict[str, Any] | None = None) -> None:
        self.exercise, self.rules, self.check_required = exercise, rules, check_required
        own = forbidden(tuple(rules.forbid))
        self.forbidden: dict[types.CodeType, str] = dict(own.codes)
        self.forbidden_builtins: dict[Any, str] = dict(own.builtins)
        self.tamper: dict[Any, str] = {}  # code objects: refused from the student's own frames
        self.tamper_builtins: dict[Any, str] = {}  # builtins (by the object: `id()` is an audited event)
        self.modules: list[tuple[str, str]] = list(own.modules)  # (module prefix, pattern)
        for pattern in TAMPERING:
            for obj in _objects(pattern):
                for code in _codes(obj):
                    self.tamper[code] = pattern
                if isinstance(obj, types.BuiltinFunctionType):
                    self.tamper_builtins[obj] = pattern
        self.library = tuple(sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, *LIBRARY_DIRS}))
        self.required: dict[types.CodeType, str] = {}
        for name in rules.require:
            if "." in name:
                found = [obj for equivalent in equivalents(name) for obj in _objects(equivalent)]
            else:
                found = [namespace[name]] if namespace and callable(namespace.get(name)) else []
            for obj in found:
                for code in _codes(obj):
                    self.required[code] = name
        self.others: dict[types.CodeType, tuple[str, Any]] = {}  # another exercise's code -> its rules
        self.other_files: set[str] = set()  # the cells those functions were defined in
        for name, other in (others or {}).items():
            other_rules = other if isinstance(other, Rules) else Rules.from_plain(other)
            target = (namespace or {}).get(name)
            if name == exercise or not other_rules.forbid or not callable(target):
                continue
            for code in _codes(getattr(target, "python_function", target)):
                self.others[code] = (name, forbidden(tuple(other_rules.forbid)))
                self.other_files.add(code.co_filename)
        self.hits: list[str] = []
        self.seen: set[str] = set()
        self.remembered: frozenset[str] = frozenset()  # what earlier traces of the same compiled function called
        self.tampered = False
        self._previous: Any = None
        self._previous_threads: Any = None
        self._verdicts: dict[types.CodeType, tuple] = {}
        self._bound = self._make_hook()  # one function, so that `getprofile() is` it can be checked

    def _students(self, frame: Any) -> bool:
        """Whether a frame runs the student's code (not a library's, not ours)."""
        if frame is None:
            return False
        filename = frame.f_code.co_filename
        return not (filename.startswith(self.library) or filename.startswith("<frozen"))

    def _charged_elsewhere(self, frame: Any, builtin: Any = None) -> bool:
        """Whether a forbidden call is another exercise's to answer for, not this one's.

        `frame` is the forbidden function's own frame (or, with `builtin`, the frame calling
        that builtin). Walking out from the code that made the call, past library frames and
        code from the other exercises' cells: the first frame of another exercise's function
        (or of AutoGraph's conversion of it) decides, when that exercise's own rules forbid
        the call; any other code of the student's (this exercise's cell, a helper cell, a
        helper in another exercise's cell called directly) keeps the call this one's.
        """
        if not self.others:
            return False
        current = frame if builtin is not None else frame.f_back
        for _ in range(1000):
            if current is None:
                return False
            code = current.f_code
            if GENERATED in code.co_filename:
                original = converted_from(current)
                if original is None:  # a function nested in converted code: its converted parent decides
                    current = current.f_back
                    continue
                code = original
            if self.required.get(code) == _OWN:
                return False
            other = self.others.get(code)
            if other is not None:
                return other[1].covers(frame, builtin)
            filename = code.co_filename
            if not (filename in self.other_files or filename.startswith(self.library) or filename.startswith("<frozen")):
                return False
            current = current.f_back
        return False

    def _classify(self, frame: Any) -> tuple[str | None, str | None, str | None]:
        """(forbidden pattern, required name, tampering pattern) of a frame's code; the same for every call."""
        code = frame.f_code
        hit = self.forbidden.get(code)
        if hit is None and self.modules:
            module = frame.f_globals.get("__name__", "") or ""
            for prefix, pattern in self.modules:
                if module == prefix or module.startswith(prefix + "."):
                    hit = pattern
                    break
        need = self.required.get(code)
        if need is None and self.check_required and _cell_code(code.co_filename, self.library):
            need = _OWN  # the student's own Python (or AutoGraph's conversion of it) ran in this call
        return hit, need, self.tamper.get(code)

    def _make_hook(self) -> Callable[[Any, str, Any], None]:
        """The profile function: a closure over local names, since it runs on every call."""
        verdicts = self._verdicts
        classify = self._classify
        students = self._students
        charged_elsewhere = self._charged_elsewhere
        builtins_hit = {**{k: (v, False) for k, v in self.forbidden_builtins.items()},
                        **{k: (v, True) for k, v in self.tamper_builtins.items()}}
        hits = self.hits
        seen = self.seen
        clean = _CLEAN

        def hook(frame: Any, event: str, arg: Any) -> None:
            if event == "call":
                code = frame.f_code
                verdict = verdicts.get(code)
                if verdict is None:
                    verdict = classify(frame)
                    if verdict == clean:
                        verdict = clean
                    verdicts[code] = verdict
                if verdict is clean:
                    return
                hit, need, tamper = verdict
                if hit is not None and not charged_elsewhere(frame):
                    hits.append(hit)
                if need is not None:
                    seen.add(need)
                if tamper is not None and students(frame.f_back):
                    hits.append(tamper)
            elif event == "c_call":
                found = builtins_hit.get(arg)
                if found is not None and (students(frame) if found[1] else not charged_elsewhere(frame, arg)):
                    hits.append(found[0])

        return hook

    def __enter__(self) -> "RuleWatch":
        self._previous = sys.getprofile()
        self._previous_threads = getattr(threading, "_profile_hook", None)
        threading.setprofile(self._bound)
        sys.setprofile(self._bound)
        return self

    def __exit__(self, *exc: object) -> None:
        current = sys.getprofile()
        sys.setprofile(self._previous)
        threading.setprofile(self._previous_threads)
        if current is not self._bound:
            self.tampered = True

    def problem(self) -> str | None:
        """The first broken rule, in words, or None."""
        if self.tampered:
            return f"{self.rules.describe(self.exercise)} (the code switched off the grader's observer)"
        if self.hits:
            return f"{self.rules.describe(self.exercise)} (it called `{self.hits[0]}` while running)"
        if self.check_required:
            # No Python of the function ran: a compiled function reused an earlier trace, judged by what it called.
            known = self.seen if _OWN in self.seen or not self.remembered else self.seen | self.remembered
            missing = [n for n in self.rules.require if n not in known]
            if missing:
                return f"{self.rules.describe(self.exercise)} (`{missing[0]}` was never called)"
        return None

    def enforce(self) -> None:
        """Raises `RuleBroken` when a rule was broken."""
        problem = self.problem()
        if problem:
            raise RuleBroken(problem)


def watched(body: Callable[[], Any], exercise: str, rules: dict | None, check_required: bool,
            namespace: dict | None = None, others: dict[str, Any] | None = None) -> Any:
    """Runs `body` under an exercise's rules (their plain form; none: just runs it).

    Args:
        namespace, others: as for `RuleWatch` (what other exercises' functions call is theirs).

    Raises:
        RuleBroken: the body broke a rule (after it finished).
    """
    if not rules:
        return body()
    watch = RuleWatch(exercise, Rules.from_plain(rules), check_required, namespace, others)
    with watch:
        value = body()
    watch.enforce()
    return value


def call_watched(namespace: dict, function: str, exercise: str, rules: dict | None, body: Callable[[], Any],
                 others: dict[str, Any] | None = None) -> Any:
    """Runs `body` (a probe calling `namespace[function]`) with only the student's function under watch.

    The grader's own work around the call - building inputs, taking gradients,
    converting the result - runs unwatched, so the watch costs only what the
    student's code runs. `others` (the other graded exercises' functions -> their
    rules) leaves to them what they call against their own rules (`RuleWatch`).

    Raises:
        RuleBroken: the function broke a rule in any of its calls.
    """
    original = namespace.get(function)
    if not rules or not callable(original):
        return body()
    others = {name: value for name, value in (others or {}).items() if name != function}
    watch = RuleWatch(exercise, Rules.from_plain(rules), check_required=True, namespace=namespace, others=others)
    own = getattr(original, "python_function", original)  # a tf.function's Python, or the function itself
    for code in _codes(own):
        watch.required.setdefault(code, _OWN)
    key = (exercise, id(original))
    remembered = _REMEMBERED.get(key)
    if remembered is not None and remembered[0] is original:
        watch.remembered = remembered[1]

    relayed = {}  # required notebook functions that are compiled: a cached trace runs none of their Python
    for name in watch.rules.require:
        target = namespace.get(name)
        if "." not in name and callable(getattr(target, "python_function", None)):
            def relay(*args: Any, _name: str = name, _target: Any = target, **kwargs: Any) -> Any:
                watch.seen.add(_name)
                return _target(*args, **kwargs)

            relayed[name] = target
            namespace[name] = relay

    def guarded(*args: Any, **kwargs: Any) -> Any:
        with watch:
            return original(*args, **kwargs)

    guarded.__name__ = getattr(original, "__name__", function)
    guarded.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(guarded, WATCHED, original)  # a probe that caches by function keys the trace on the student's own
    namespace[function] = guarded
    try:
        value = body()
    finally:
        namespace[function] = original
        namespace.update(relayed)
    if _OWN in watch.seen:  # its Python ran (traced): remember what it called, for calls that reuse the trace
        _REMEMBERED[key] = (original, frozenset(watch.seen))
    watch.enforce()
    return value
