"""Exercise rules: forbidden calls, required calls, no Python loops, unknown sizes, points by difficulty.

Every rule is enforced twice, on the cell's syntax tree in the grader and by
watching the calls in the child (and both again in `check`); each dodge below
beats one of the two and is caught by the other.
"""

from __future__ import annotations

import json

import nbformat
import pytest

import autograder.check as check_module
from autograder.authoring.student import load_assignment, public_cases
from autograder.authoring.assign import public_only
from autograder.check import check
from autograder.grading.pipeline import GradeConfig, Grader
from autograder.grading.reference import run_reference
from autograder.rules.static import Rules, static_violations
from autograder.run import Limits
from rules_assignment import BROKEN, CASES, CLIP, RUNNING_SUM, SETUP, SUBMISSIONS
from tiny_assignment import notebook


@pytest.fixture(scope="module")
def rules_solutions(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rules-solutions")
    nbformat.write(notebook(SETUP, CASES, RUNNING_SUM, CLIP, assignment="R1"), folder / "R1.ipynb")
    return folder


@pytest.fixture(scope="module")
def graded(rules_solutions, sandbox, tmp_path_factory):
    folder = tmp_path_factory.mktemp("rules-class")
    paths = []
    for name, (running, clip) in SUBMISSIONS.items():
        nbformat.write(notebook(SETUP, running, clip, assignment="R1"), folder / f"{name}.ipynb")
        paths.append(folder / f"{name}.ipynb")
    grader = Grader(GradeConfig(rules_solutions, "R1", 2, Limits(timeout_s=30)))
    return {r.submission: r for r in grader.grade(paths, sandbox)}


def exercise(result, name):
    return next(e for e in result.exercises if e.name == name)


@pytest.mark.parametrize("name", ["honest", "honest_with_helpers"])
def test_honest_work_keeps_full_marks_points_follow_the_spec(graded, name):
    result = graded[name]
    assert result.points == result.max_points == 8, [e.message for e in result.exercises]
    running = exercise(result, "running_sum")
    assert [c.max_points for c in running.cases] == [1.5, 3.0, 1.5]  # worth 6, weights 1:2:1


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_rule_costs_that_exercise_with_the_rules_words(graded, name):
    target, words = BROKEN[name]
    result = graded[name]
    broken = exercise(result, target)
    assert broken.points == 0, broken.message
    message = broken.cases[0].message
    assert words in message, message
    rule_text = {"running_sum": "must run the recurrence with `tf.scan`", "clip": "is written by hand"}[target]
    assert rule_text in message
    other = exercise(result, "clip" if target == "running_sum" else "running_sum")
    assert other.points == other.max_points, other.message  # the other exercise is untouched


def test_a_python_loop_also_fails_the_symbolic_case_for_a_reason_it_names(sandbox, rules_solutions):
    running = SUBMISSIONS["python_loop"][0].replace("    tf.scan(lambda a, b: a, x)\n", "")
    rules_free = CASES.replace("rules=SCAN, ", "")
    folder = rules_solutions.parent / "symbolic-only"
    folder.mkdir(exist_ok=True)
    nbformat.write(notebook(SETUP, rules_free, RUNNING_SUM, CLIP, assignment="R2"), folder / "R2.ipynb")
    (folder.parent / "symbolic-class").mkdir(exist_ok=True)
    sub = folder.parent / "symbolic-class" / "loop.ipynb"
    nbformat.write(notebook(SETUP, running, CLIP, assignment="R2"), sub)
    result = Grader(GradeConfig(folder, "R2", 1, Limits(timeout_s=30))).grade([sub], sandbox)[0]
    cases = exercise(result, "running_sum").cases
    assert cases[0].passed and not cases[1].passed  # concrete sizes pass, unknown sizes do not
    assert "must work when the batch and time sizes are unknown" in cases[1].message
    assert "(None, None)" in cases[1].message


@pytest.fixture(scope="module")
def public(rules_solutions, roomy_sandbox):
    assignment = load_assignment(rules_solutions / "R1.ipynb")
    return json.loads(json.dumps(public_cases(assignment, run_reference(public_only(assignment), roomy_sandbox))))


@pytest.mark.parametrize("name", sorted(SUBMISSIONS))
def test_check_reports_rules_exactly_as_the_grader(graded, public, monkeypatch, name):
    monkeypatch.setattr(check_module, "load_public", lambda assignment: public)
    running, clip = SUBMISSIONS[name]
    ns: dict = {"__name__": "__main__", "In": ["", SETUP, running, clip]}  # as IPython keeps a kernel's inputs
    for code in (SETUP, running, clip):
        exec(compile(code, f"<ipython-input-{name}>", "exec"), ns)
    for ex in ("running_sum", "clip"):
        report = check(ex, "R1", ns, quiet=True)
        graded_ex = exercise(graded[name], ex)
        public_cases_ = [c for c in graded_ex.cases if not c.hidden]
        assert report.passed == sum(c.passed for c in public_cases_), (name, ex, str(report))
        if name in BROKEN and BROKEN[name][0] == ex:
            assert BROKEN[name][1] in str(report), str(report)


def test_static_check_resolves_aliases_chains_getattr_and_imports():
    rules = Rules(forbid=("tf.clip_by_global_norm", "keras.layers.GRU*"))
    setup = ["import tensorflow as tf\nimport keras"]
    dodges = [
        "def f(g):\n    return tf.clip_by_global_norm(g, 1.0)",
        "from tensorflow import clip_by_global_norm as c",
        "c = tf.clip_by_global_norm\nd = c",
        "f = getattr(tf, 'clip_by_global_norm')",
        "import importlib\nm = importlib.import_module('tensorflow')\nm.clip_by_global_norm",
        "layer = tf.keras.layers.GRUCell(3)",
        "from keras import layers as L\nL.GRU(2)",
    ]
    for source in dodges:
        assert static_violations(source, "f", rules, setup), source
    assert static_violations("def f(g):\n    return tf.linalg.global_norm(g)", "f", rules, setup) == []


def test_a_bare_required_name_is_the_notebooks_own_function():
    rules = Rules(require=("gru_forward",))
    calls = "def bidirectional(x):\n    return gru_forward(x) + gru_forward(x[::-1])"
    own_loop = "def bidirectional(x):\n    return tf.scan(lambda h, v: h + v, x)"
    assert static_violations(calls, "bidirectional", rules, ["import tensorflow as tf"]) == []
    assert [v.why for v in static_violations(own_loop, "bidirectional", rules, ["import tensorflow as tf"])] == [
        "it never calls `gru_forward`"]


def test_the_run_time_watch_looks_a_bare_required_name_up_in_the_students_namespace():
    from autograder.rules.watch import RuleBroken, call_watched

    rules = Rules(require=("gru_forward",)).to_plain()
    namespace: dict = {}
    exec("def gru_forward(x):\n    return [v * 2 for v in x]\n"
         "def honest(x):\n    return gru_forward(x)\n"
         "def mentions_only(x):\n    helper = gru_forward\n    return [v * 2 for v in x]\n", namespace)
    assert call_watched(namespace, "honest", "honest", rules, lambda: namespace["honest"]([1, 2])) == [2, 4]
    with pytest.raises(RuleBroken, match="`gru_forward` was never called"):
        call_watched(namespace, "mentions_only", "mentions_only", rules, lambda: namespace["mentions_only"]([1]))
    empty: dict = {"f": lambda x: x}
    with pytest.raises(RuleBroken, match="was never called"):  # not defined at all: never satisfied
        call_watched(empty, "f", "f", rules, lambda: empty["f"](1))
