"""`no_loops` on a cell's syntax tree: the Python loops that could carry a recurrence over time.

The rule is that the recurrence is the scan's, so what is refused is a loop whose
length the data decides: a `for` or a comprehension over anything but a fixed-size
display (`for w in (W_x, W_h, b)`, `zip` or `enumerate` of displays, a name only ever
bound to one), every `while`, recursion, and the library routes to a loop
(`functools.reduce`, `itertools.accumulate`, `map`, `filter`, `itertools.*`) over
anything but a display. It is read in the exercise's function and in everything of
its cell that the function reaches by name: helper functions, decorators, classes
(their `__call__` and other methods), objects made from them at the top of the cell.

Best-effort, like every check on names: code in another cell, or a loop reached
through a name built at run time, is not seen here. The evidence that holds is the
computation itself (the traced graph, with the time axis unknown); this check is the
early, friendly message, and it never refuses a loop over a fixed handful of things.
"""

from __future__ import annotations

import ast
from typing import Callable, Iterator

ALL_BUT_FIRST, ALL = "all but the first", "all"
LOOP_ROUTES: dict[str, tuple[int, ...] | str] = {  # dotted name -> the positions of its iterable arguments
    "functools.reduce": (1,),
    "itertools.accumulate": (0,),
    "map": ALL_BUT_FIRST,
    "filter": (1,),
    "itertools.starmap": (1,),
    "itertools.*": ALL,
}
FIXED_WRAPPERS = ("zip", "enumerate", "reversed", "sorted", "list", "tuple", "set", "frozenset", "iter", "dict")
DICT_VIEWS = ("items", "keys", "values")
FunctionNode = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _top_level(tree: ast.Module) -> Iterator[ast.stmt]:
    """The cell's statements outside any function or class (into `if`, `try`, `with` and loop bodies)."""
    stack = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                stack.extend(reversed([n for n in getattr(node, field, []) if isinstance(n, (ast.stmt,
                                                                                             ast.excepthandler))]))


def _definitions(tree: ast.Module) -> dict[str, list[ast.AST]]:
    """Name -> what the top of the cell binds it to: functions, classes, assigned values."""
    out: dict[str, list[ast.AST]] = {}
    for node in _top_level(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.setdefault(node.name, []).append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        out.setdefault(name.id, []).append(node.value)
    return out


def _bindings(tree: ast.Module) -> dict[str, list[ast.AST | None]]:
    """Name -> the value of each binding of it in the cell (None: not a plain `name = value`)."""
    out: dict[str, list[ast.AST | None]] = {}
    plain: set[int] = set()  # the target of `name = value`: a binding judged by its value
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            plain.add(id(node.targets[0]))
            out.setdefault(node.targets[0].id, []).append(node.value)
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)) and id(node) not in plain:
            names = [node.id]
        elif isinstance(node, ast.arg):
            names = [node.arg]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [(a.asname or a.name).split(".")[0] for a in node.names]
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names = list(node.names)
        for name in names:
            out.setdefault(name, []).append(None)
    return out


def _display(node: ast.AST) -> bool:
    """A literal whose length the code fixes: a tuple, list or set display without `*`, a dict without `**`."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return not any(isinstance(e, ast.Starred) for e in node.elts)
    if isinstance(node, ast.Dict):
        return None not in node.keys
    return isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes, tuple, frozenset))


def _small_int(node: ast.AST) -> bool:
    """An integer written in the code (`3`, `-1`): `range(3)` counts gates, not time steps."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


class LoopFinder:
    """Finds the loops over data in an exercise's function and what it reaches in its cell.

    Args:
        tree: the cell's syntax tree.
        exercise: the graded function's name.
        resolve: the dotted name an expression stands for (`functools.reduce`), or None.
        matches: whether a dotted name matches one of some patterns (`autograder.rules.static.matches`).
    """

    def __init__(self, tree: ast.Module, exercise: str, resolve: Callable[[ast.AST], str | None],
                 matches: Callable[[str, tuple[str, ...]], str | None]) -> None:
        self.tree, self.exercise, self.resolve, self.matches = tree, exercise, resolve, matches
        self.definitions = _definitions(tree)
        self._shadowed = set(self.definitions)  # a cell's own `zip` is not the builtin
        self.fixed_names: set[str] = set()  # names only ever bound to something of a fixed size
        bindings = _bindings(tree)
        for _ in range(4):  # `ws = (a, b)`, then `pairs = zip(ws, ws)`, ...
            fixed = {name for name, values in bindings.items()
                     if all(v is not None and self.fixed(v) for v in values)}
            if fixed == self.fixed_names:
                break
            self.fixed_names = fixed

    def fixed(self, node: ast.AST) -> bool:
        """Whether iterating over `node` takes a number of steps the code fixes (not the data)."""
        if _display(node):
            return True
        if isinstance(node, ast.Name):
            return node.id in self.fixed_names
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return all(self.fixed(g.iter) for g in node.generators)
        if isinstance(node, ast.Call) and all(k.arg in ("strict", "start", "reverse", "key") for k in node.keywords):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "range" and "range" not in self._shadowed:
                return bool(node.args) and not node.keywords and all(_small_int(a) for a in node.args)
            if isinstance(func, ast.Name) and func.id in FIXED_WRAPPERS and func.id not in self._shadowed:
                return bool(node.args) and all(self.fixed(a) for a in node.args)  # a `*` argument is not fixed
            if isinstance(func, ast.Attribute) and func.attr in DICT_VIEWS and not node.args:
                return self.fixed(func.value)
        return False

    def reached(self) -> list[tuple[ast.AST, str]]:
        """(node, name) of the exercise's functions and of every top-level definition they reach by name."""
        start = [n for n in ast.walk(self.tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and n.name == self.exercise]
        out = [(n, self.exercise) for n in start]
        seen = {self.exercise}
        queue = list(start)
        while queue:
            node = queue.pop()
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load) and inner.id not in seen \
                        and inner.id in self.definitions:
                    seen.add(inner.id)
                    for target in self.definitions[inner.id]:
                        out.append((target, inner.id))
                        queue.append(target)
        return out

    def _route(self, call: ast.Call) -> str | None:
        """The loop routine a call runs over data (`functools.reduce`), or None."""
        dotted = self.resolve(call.func)
        if dotted is None and isinstance(call.func, ast.Name) and call.func.id not in self._shadowed:
            dotted = call.func.id
        if dotted is None:
            return None
        pattern = self.matches(dotted, tuple(LOOP_ROUTES))
        if pattern is None:
            return None
        positions = LOOP_ROUTES[pattern]
        if positions == ALL_BUT_FIRST:
            args = call.args[1:]
        elif positions == ALL:
            args = list(call.args)
        else:
            args = [call.args[i] for i in positions if i < len(call.args)]
        if args and not call.keywords and all(self.fixed(a) for a in args):
            return None
        return dotted

    def _recursion(self, node: ast.AST) -> Iterator[tuple[int, str]]:
        """Functions (nested ones included) that call themselves by name."""
        for fn in ast.walk(node):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in (n for stmt in fn.body for n in ast.walk(stmt)):
                    if isinstance(inner, ast.Name) and inner.id == fn.name and isinstance(inner.ctx, ast.Load):
                        yield inner.lineno, f"line {inner.lineno} loops in Python (`{fn.name}` calls itself)"
                        break

    def _cycles(self, reached: list[tuple[ast.AST, str]]) -> Iterator[tuple[int, str]]:
        """Top-level functions that reach themselves through others (`f` calls `g`, `g` calls `f`)."""
        calls: dict[str, set[str]] = {}
        for node, name in reached:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                calls.setdefault(name, set()).update(
                    n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
                    and n.id != name and (n.id in self.definitions or n.id == self.exercise))
        for start in calls:
            stack, seen = list(calls[start]), set()
            while stack:
                name = stack.pop()
                if name == start:
                    line = next(n.lineno for n, m in reached if m == start)
                    yield line, f"line {line} loops in Python (`{start}` calls itself through other functions)"
                    break
                if name not in seen:
                    seen.add(name)
                    stack.extend(calls.get(name, ()))

    def problems(self) -> list[tuple[int, str]]:
        """(line, why) for each loop over data the exercise's function runs, in its own code or reached."""
        out: list[tuple[int, str]] = []
        reached = self.reached()
        for node, name in reached:
            where = "" if name == self.exercise else f" in `{name}`, which `{self.exercise}` uses"
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bodies = [node]
            else:  # a value made once, when the cell runs: only the functions in it run with the data
                bodies = [n for n in ast.walk(node) if isinstance(n, ast.Lambda)]
            for inner in (n for body in bodies for n in ast.walk(body)):
                line = getattr(inner, "lineno", 0)
                if isinstance(inner, ast.While):
                    out.append((line, f"line {line} loops in Python{where}"))
                elif isinstance(inner, (ast.For, ast.AsyncFor)) and not self.fixed(inner.iter):
                    out.append((line, f"line {line} loops in Python{where}"))
                elif isinstance(inner, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)) and not all(
                        self.fixed(g.iter) for g in inner.generators):
                    out.append((line, f"line {line} loops in Python{where}"))
                elif isinstance(inner, ast.Call):
                    route = self._route(inner)
                    if route:
                        out.append((line, f"line {line} loops in Python (`{route}`){where}"))
            for body in bodies:
                out.extend(self._recursion(body))
        out.extend(self._cycles(reached))
        return out
