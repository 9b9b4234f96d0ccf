"""What the wheel and the sdist hold: the packages and public cases, never a solution or a hidden case."""

import json
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

from autograder import __version__
from autograder.authoring.student import load_assignment

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("course", "autograder")
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
SECRETS = ("### BEGIN SOLUTION", "### END SOLUTION", "# CASES")


def source_files() -> set[str]:
    return {p.relative_to(ROOT).as_posix() for package in PACKAGES for p in (ROOT / package).rglob("*.py")
            if "__pycache__" not in p.parts}


def solution_regions(solution: Path) -> list[tuple[str, str]]:
    """(exercise, the code between its BEGIN and END SOLUTION markers) for each graded cell."""
    regions = []
    for exercise, source in load_assignment(solution).cells.items():
        for part in source.split("### BEGIN SOLUTION")[1:]:
            body = part.split("### END SOLUTION")[0].strip()
            body = body.split("\n", 1)[1] if body.startswith("\n") else body
            if body.strip():
                regions.append((exercise, body.strip()))
    assert regions, f"no solution regions found in {solution}"
    return regions


def test_the_wheel_holds_every_module_and_no_case(built):
    with zipfile.ZipFile(built["wheel"]) as wheel:
        names = set(wheel.namelist())
        texts = {n: wheel.read(n).decode("utf-8", "replace") for n in names}
    missing = source_files() - names
    assert not missing, f"modules missing from the wheel: {sorted(missing)}"
    assert not [n for n in names if n.startswith("autograder/public/")], "cases travel in the notebooks"
    for script in ("setup.sh", "run_autograder"):  # `autograder gradescope` works from the installed package
        assert f"autograder/authoring/templates/{script}" in names
    assert not [n for n in names if n.endswith(".ipynb")], "no notebook belongs in the wheel"
    assert not [n for n in names if n.split("/")[0] in {"tests", "solutions", "notebooks", "bench", "examples"}]
    for name, text in texts.items():
        if name.endswith(".json"):  # the grader's code and the README name the markers; the cases must not
            for secret in SECRETS:
                assert secret not in text, f"{name} holds {secret!r}"
    everything = "\n".join(texts.values())
    for solution in SOLUTIONS:
        for exercise, region in solution_regions(solution):
            assert region not in everything, f"the wheel holds the solution of {solution.stem}/{exercise}"


def test_the_public_cases_in_the_notebooks_name_no_hidden_case():
    from autograder.authoring.public import embedded_public

    for solution in SOLUTIONS:
        assignment = load_assignment(solution)
        public = embedded_public(json.loads((solution.parents[1] / "notebooks" / solution.name).read_text()))
        assert public is not None, f"run `autograder assign {solution.stem}`"
        for exercise in assignment.exercises:
            shipped = {c["name"] for c in public["exercises"][exercise.name]["cases"]}
            hidden = {c.name for c in exercise.cases if c.hidden}
            assert hidden, f"{solution.stem}/{exercise.name} has no hidden case"
            assert not shipped & hidden, f"hidden cases shipped: {shipped & hidden}"
            assert shipped == {c.name for c in exercise.cases if not c.hidden}
            assert public["exercises"][exercise.name]["hidden_cases"] == len(hidden)


def test_the_wheel_metadata_leaves_tensorflow_to_an_extra(built):
    with zipfile.ZipFile(built["wheel"]) as wheel:
        meta_name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(wheel.read(meta_name).decode())
        entry_points = wheel.read(meta_name.replace("METADATA", "entry_points.txt")).decode()
    assert meta["Name"] == "keras-seq-course" and meta["Version"] == __version__
    requires = meta.get_all("Requires-Dist")
    hard_tf = [r for r in requires if r.startswith("tensorflow") and not r.startswith("tensorflow-datasets")
               and "extra ==" not in r]
    assert not hard_tf, f"a hard TensorFlow dependency would install a second copy on Colab: {hard_tf}"
    assert {"cpu", "gpu", "test"} <= set(meta.get_all("Provides-Extra"))
    assert "autograder = autograder.cli:main" in entry_points


def test_the_sdist_holds_the_source_and_no_lesson_or_test(built):
    with tarfile.open(built["sdist"]) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert {"pyproject.toml", "README.md", "LICENSE"} <= names
    assert source_files() <= names
    assert not [n for n in names if n.split("/")[0] in {"tests", "solutions", "notebooks", "bench", "examples"}]
    assert not [n for n in names if n.endswith(".ipynb")]
