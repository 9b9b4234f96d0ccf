"""The layout by role (issue 23): a small top level, documented subpackages, a library free of the grader."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_the_library_imports_nothing_from_the_grader():
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in _imports(p) if m.split(".")[0] == "autograder")
                 for p in (ROOT / "course").rglob("*.py")}
    assert {p: m for p, m in offenders.items() if m} == {}


def test_the_grader_is_grouped_by_role():
    top = sorted(p.name for p in (ROOT / "autograder").glob("*.py"))
    assert len(top) <= 6, top
    packages = [p.parent for p in (ROOT / "autograder").rglob("__init__.py")]
    assert {p.name for p in packages} >= {"authoring", "rules", "grading", "reports", "run", "probes"}
    undocumented = [str(p) for p in packages if not ast.get_docstring(ast.parse((p / "__init__.py").read_text()))]
    assert undocumented == []


def test_no_module_is_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in [*(ROOT / "autograder").rglob("*.py"), *(ROOT / "course").rglob("*.py")]
            if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}
