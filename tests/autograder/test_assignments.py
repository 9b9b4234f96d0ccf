"""Every real assignment: in sync, full marks for the reference, zero for the blank copy."""

import json
from pathlib import Path

import numpy as np
import pytest

from autograder.authoring.public import embedded_public
from autograder.authoring.student import load_assignment, student_notebook, write_notebook
from autograder.authoring.assign import compute_public, release
from autograder.grading.pipeline import GradeConfig, Grader
from autograder.grading.locate import read_notebook
from autograder.run.plain import from_plain
from autograder.run import Limits

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
IDS = [p.stem for p in SOLUTIONS]


@pytest.mark.parametrize("solution", SOLUTIONS, ids=IDS)
def test_student_notebook_is_in_sync(solution, tmp_path):
    regenerated = tmp_path / solution.name
    committed = ROOT / "notebooks" / solution.name
    assert committed.exists(), f"run `autograder assign`: {committed} is missing"
    public = embedded_public(read_notebook(committed))  # its values: test_public_cases_are_in_sync
    assert public is not None, f"run `autograder assign`: {committed} carries no public cases"
    write_notebook(student_notebook(read_notebook(solution), public=public), regenerated)
    assert committed.read_text() == regenerated.read_text(), f"run `autograder assign`: {committed} is stale"


def assert_same_plain_values(a, b, where):
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_plain_values(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.shape == b.shape and a.dtype == b.dtype, where
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=where)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same_plain_values(a[k], b[k], f"{where}[{k}]")
    else:
        assert a == b or (isinstance(a, float) and np.isclose(a, b)), where


def committed_public(assignment_id: str) -> dict:
    """The public cases the committed student notebook carries."""
    data = embedded_public(read_notebook(ROOT / "notebooks" / f"{assignment_id}.ipynb"))
    assert data is not None, f"run `autograder assign {assignment_id}`: its notebook carries no public cases"
    return data


@pytest.mark.parametrize("solution", SOLUTIONS, ids=IDS)
def test_public_cases_are_in_sync(solution, roomy_sandbox):
    assignment = load_assignment(solution)
    fresh = compute_public(assignment, roomy_sandbox)
    committed = committed_public(assignment.id)
    assert committed.keys() == fresh.keys()
    for name, spec in fresh["exercises"].items():
        old = committed["exercises"][name]
        assert [c["call"] for c in old["cases"]] == [c["call"] for c in spec["cases"]], name
        assert old["hidden_cases"] == spec["hidden_cases"] and old["points"] == spec["points"]
        for a, b in zip(old["cases"], spec["cases"]):
            assert_same_plain_values(from_plain(a["expected"]["value"]), from_plain(b["expected"]["value"]), name)


def test_public_data_holds_no_hidden_case():
    for solution in SOLUTIONS:
        assignment = load_assignment(solution)
        committed = committed_public(assignment.id)
        for ex in assignment.exercises:
            names = {c["name"] for c in committed["exercises"][ex.name]["cases"]}
            assert names == {c.name for c in ex.cases if not c.hidden}
            assert committed["exercises"][ex.name]["hidden_cases"] == sum(c.hidden for c in ex.cases)
        text = (ROOT / "notebooks" / f"{assignment.id}.ipynb").read_text()
        assert '"hidden": true' not in text and "make_args" not in text


@pytest.fixture(scope="module")
def graded_references(roomy_sandbox):
    config = GradeConfig(ROOT / "solutions", None, 2, Limits())
    grader = Grader(config)
    paths = SOLUTIONS + [ROOT / "notebooks" / p.name for p in SOLUTIONS]
    return grader.grade(paths, roomy_sandbox)


def test_references_score_full_marks_and_blank_copies_zero(graded_references):
    n = len(SOLUTIONS)
    for result in graded_references[:n]:
        assert result.points == result.max_points > 0, [(e.name, e.message) for e in result.exercises]
    for result in graded_references[n:]:
        assert result.points == 0
        for ex in result.exercises:
            assert ex.message == f"`{ex.name}` is not implemented yet (it still raises NotImplementedError)"


def test_examples_score_in_order(sandbox):
    examples = ROOT / "examples" / "submissions"
    config = GradeConfig(ROOT / "solutions", None, 2, Limits(timeout_s=10, memory_mb=2048, cpu_s=60))
    results = {r.submission: r for r in Grader(config).grade(sorted(examples.glob("*.ipynb")), sandbox)}
    assert results["full"].points == results["full"].max_points
    assert results["blank"].points == 0
    assert 0 < results["partial"].points < results["full"].points
    hangs = {e.name: e for e in results["hangs"].exercises}
    assert "ran past its time limit" in hangs["mean_cross_entropy"].message
    assert 0 < results["hangs"].points < results["full"].points


# Lines any TensorFlow code has: the grader's own probes hold them too, and they give nothing away.
GENERIC_LINES = {"with tf.GradientTape() as tape:"}


def test_release_bundle_has_no_solution_code(tmp_path):
    files = release(tmp_path / "bundle", ROOT / "notebooks")
    text = "\n".join(p.read_text(errors="replace") for p in files if p.suffix in {".ipynb", ".json", ".py"})
    for solution in SOLUTIONS:
        assignment = load_assignment(solution)
        for name, source in assignment.cells.items():
            body = source.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0]
            for line in body.splitlines():
                line = line.strip()
                if len(line) > 25 and not line.startswith("#") and line not in GENERIC_LINES:
                    assert json.dumps(line)[1:-1] not in text and line not in text, f"{name}: {line!r} leaked"
    assert not list((tmp_path / "bundle").rglob("solutions"))


def test_a_leaderboard_must_measure_a_case_of_the_assignment(tmp_path):
    import nbformat

    from autograder.authoring.student import load_assignment
    from autograder.authoring.spec import Leaderboard
    from tiny_assignment import ADD_ONE, CASES, SCALED_SUM, SETUP, notebook

    with pytest.raises(ValueError, match="measure must be"):
        Leaderboard("x", "add_one", "one value", measure="accuracy")
    wrong = CASES.replace('"add_one", "many values")', '"add_one", "no such case")')
    assert wrong != CASES
    nbformat.write(notebook(SETUP, wrong, ADD_ONE, SCALED_SUM), tmp_path / "T1.ipynb")
    with pytest.raises(ValueError, match="not a case of the assignment"):
        load_assignment(tmp_path / "T1.ipynb")
