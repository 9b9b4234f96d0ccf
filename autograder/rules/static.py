"""An exercise's rules, and their static check on the cell's syntax tree (grading process).

A rule says what the student's own code must do: `forbid` names it may not
call, import or reference (a library routine that does the exercise);
`require` names it must call (`tf.scan`); `no_loops` forbids Python loops
over data in the graded function and in what it reaches in its cell (the
recurrence must be the scan's; `autograder.rules.loops`). Names are
dotted paths with `fnmatch` wildcards, written with the usual aliases
(`tf.`, `np.`); `tf.keras.X` and `keras.X` are the same name.

The static check resolves imports (`import … as …`, `from … import … as …`),
assignments of names (`f = tf.clip_by_global_norm`), attribute chains,
`getattr(obj, "name")` and `importlib.import_module("name")`, in the setup
cell and the student's cell. What it cannot see (a name built at run time) the
run-time watch in the child catches (`autograder.rules.watch`). Both are
best-effort early messages; where an exercise has a graph rule, the traced
computation is the evidence. The check reads one cell: another exercise's cell
never costs this one (each graded cell answers for its own code).
"""

from __future__ import annotations

import ast
import fnmatch
from dataclasses import dataclass, field

from autograder.rules.loops import LoopFinder

ALIASES = {"tf": "tensorflow", "np": "numpy", "tensorflow.keras": "keras", "tf.keras": "keras"}
TAMPERING = ("sys.setprofile", "sys.settrace", "sys.getprofile", "threading.setprofile", "threading.settrace",
             "sys.monitoring.*", "sys._getframe", "gc.get_objects", "gc.get_referrers")
"""Names no rule-bearing cell may use: they could blind the run-time watch."""


@dataclass(frozen=True)
class Rules:
    """What an exercise's code must and must not do.

    Args:
        forbid: dotted names (wildcards allowed) the cell may not call, import or reference.
        require: names the exercise's function must call while it runs: a dotted
            name (`tf.scan`), or a bare one (`gru_forward`) for a function the
            notebook itself defines, such as an earlier exercise the student wrote.
        no_loops: the graded function may not loop in Python over data (`for`, `while`,
            comprehensions, recursion, `functools.reduce`, `map`, ... over anything but a
            fixed-size display such as `(W_x, W_h, b)`), nor may what it reaches in its cell.
        text: the rule in words, quoted in feedback (default: made from the fields).
    """

    forbid: tuple[str, ...] = ()
    require: tuple[str, ...] = ()
    no_loops: bool = False
    text: str = ""

    def __bool__(self) -> bool:
        return bool(self.forbid or self.require or self.no_loops)

    def describe(self, exercise: str) -> str:
        """The rule in one sentence."""
        if self.text:
            return self.text
        parts = []
        if self.require:
            parts.append("must call " + ", ".join(f"`{n}`" for n in self.require))
        if self.no_loops:
            parts.append("must not loop in Python")
        if self.forbid:
            parts.append("may not use " + ", ".join(f"`{n}`" for n in self.forbid))
        return f"`{exercise}` " + "; ".join(parts)

    def to_plain(self) -> dict:
        return {"forbid": list(self.forbid), "require": list(self.require), "no_loops": self.no_loops,
                "text": self.text}

    @classmethod
    def from_plain(cls, data: dict | None) -> "Rules":
        data = data or {}
        return cls(tuple(data.get("forbid", ())), tuple(data.get("require", ())), bool(data.get("no_loops")),
                   str(data.get("text", "")))


@dataclass(frozen=True)
class Violation:
    """One broken rule: the line it broke on (0: not tied to a line) and why."""

    line: int
    why: str


def canonical(name: str) -> str:
    """`tf.keras.layers.GRU` -> `keras.layers.GRU`; `np.x` -> `numpy.x`."""
    for short in sorted(ALIASES, key=len, reverse=True):
        if name == short or name.startswith(short + "."):
            name = ALIASES[short] + name[len(short):]
    for short in sorted(ALIASES, key=len, reverse=True):  # tensorflow.keras after tf -> tensorflow
        if name == short or name.startswith(short + "."):
            name = ALIASES[short] + name[len(short):]
    return name


def matches(name: str, patterns: tuple[str, ...] | list[str]) -> str | None:
    """The first pattern `name` (or one of its parent modules) matches, canonically."""
    name = canonical(name)
    for pattern in patterns:
        pat = canonical(pattern)
        if fnmatch.fnmatchcase(name, pat) or name.startswith(pat.rstrip("*").rstrip(".") + ".") and pat.endswith("*"):
            return pattern
    return None


@dataclass
class _Names:
    """Aliases in scope: local name -> dotted name."""

    aliases: dict[str, str] = field(default_factory=dict)

    def learn_imports(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.aliases[a.asname] = a.name
                    else:
                        top = a.name.split(".")[0]
                        self.aliases[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"

    def learn_assignments(self, tree: ast.AST) -> None:
        for _ in range(3):  # a few rounds: f = tf.x; g = f
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    dotted = self.resolve(node.value)
                    if dotted:
                        self.aliases[node.targets[0].id] = dotted

    def resolve(self, node: ast.AST) -> str | None:
        """The dotted name an expression stands for, if it is one."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[-1] if len(node.args) > 1 else node.args[0],
                                                                   ast.Constant):
            func = self.resolve(node.func)
            if func == "getattr" or (isinstance(node.func, ast.Name) and node.func.id == "getattr"):
                if len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
                    base = self.resolve(node.args[0])
                    return f"{base}.{node.args[1].value}" if base else None
            if func in ("importlib.import_module", "__import__") or (
                    isinstance(node.func, ast.Name) and node.func.id == "__import__"):
                value = node.args[0].value if isinstance(node.args[0], ast.Constant) else None
                return value if isinstance(value, str) else None
        return None


EQUIVALENT_CALLS = {"tensorflow.scan": ("tensorflow.compat.v1.scan", "keras.ops.scan")}
"""Calls that do the work a required call names: any of them meets the rule."""


def equivalents(name: str) -> tuple[str, ...]:
    """`name` and the calls that meet a rule requiring it (`tf.scan`: also `tf.compat.v1.scan`, `keras.ops.scan`)."""
    return (name, *EQUIVALENT_CALLS.get(canonical(name), ()))


def _names_of(tree: ast.AST, setup: list[str] | tuple[str, ...], aliases: dict[str, str] | None = None) -> _Names:
    """What each name in a cell stands for: `tf`, `np`, the set-up's imports, the cell's imports and assignments."""
    names = _Names({"tf": "tensorflow", "np": "numpy", **(aliases or {})})
    for code in setup:
        try:
            names.learn_imports(ast.parse(code))
        except SyntaxError:
            pass
    names.learn_imports(tree)
    names.learn_assignments(tree)
    return names


def mentions(source: str, patterns: tuple[str, ...], setup: list[str] | tuple[str, ...] = ()) -> bool:
    """Whether a cell refers to any of `patterns` through any alias (on its syntax tree; never runs it)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    names = _names_of(tree, setup)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Name, ast.Attribute, ast.Call)):
            dotted = names.resolve(node)
            if dotted and matches(dotted, patterns):
                return True
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if any(matches(f"{node.module}.{a.name}", patterns) for a in node.names):
                return True
    return False


def static_violations(source: str, exercise: str, rules: Rules, setup: list[str] | tuple[str, ...] = (),
                      aliases: dict[str, str] | None = None) -> list[Violation]:
    """The rules a graded cell breaks, found on its syntax tree (never runs it).

    Args:
        source: the student's cell.
        exercise: the function's name (for `no_loops`).
        rules: the exercise's rules.
        setup: the grader's setup cells (their imports define aliases such as `tf`).
        aliases: more names known to stand for modules (`check` reads them off the
            student's namespace), besides `tf` and `np`.
    """
    if not rules:
        return []
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # the run reports the syntax error itself
    names = _names_of(tree, setup, aliases)
    out: list[Violation] = []
    forbidden = tuple(rules.forbid) + TAMPERING
    seen: set[tuple[int, str]] = set()

    def flag(line: int, why: str) -> None:
        if (line, why) not in seen:
            seen.add((line, why))
            out.append(Violation(line, why))

    for node in ast.walk(tree):
        dotted = None
        if isinstance(node, (ast.Name, ast.Attribute, ast.Call)):
            dotted = names.resolve(node)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                hit = matches(f"{node.module}.{a.name}", forbidden)
                if hit:
                    flag(node.lineno, f"line {node.lineno} imports `{node.module}.{a.name}`, which is off limits")
        elif isinstance(node, ast.Import):
            for a in node.names:
                hit = matches(a.name, forbidden)
                if hit:
                    flag(node.lineno, f"line {node.lineno} imports `{a.name}`, which is off limits")
        if dotted:
            hit = matches(dotted, forbidden)
            if hit:
                flag(getattr(node, "lineno", 0), f"line {getattr(node, 'lineno', 0)} uses `{dotted}`")
    if rules.no_loops:
        for line, why in LoopFinder(tree, exercise, names.resolve, matches).problems():
            flag(line, why)
    if rules.require and not _is_stub(tree, exercise):
        used = {canonical(d) for n in ast.walk(tree) if isinstance(n, (ast.Name, ast.Attribute, ast.Call))
                and (d := names.resolve(n))}
        used |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}  # the notebook's own functions
        for name in rules.require:
            if not any(matches(u, equivalents(name)) for u in used):
                flag(0, f"it never calls `{name}`")
    return sorted(out, key=lambda v: (v.line == 0, v.line))


def _is_stub(tree: ast.AST, exercise: str) -> bool:
    """Whether the exercise's function still raises NotImplementedError (judged as not implemented)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == exercise:
            for inner in ast.walk(node):
                if isinstance(inner, ast.Raise) and inner.exc is not None:
                    target = inner.exc.func if isinstance(inner.exc, ast.Call) else inner.exc
                    if isinstance(target, ast.Name) and target.id == "NotImplementedError":
                        return True
    return False


def violation_message(exercise: str, rules: Rules, violations: list[Violation]) -> str:
    """`rnn_forward` must call `tf.scan` (line 4 loops in Python)."""
    return f"{rules.describe(exercise)} ({'; '.join(v.why for v in violations[:3])})"
