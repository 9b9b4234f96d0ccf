"""The project's own files agree with each other."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pip_section_of_environment_yml() -> list[str]:
    """The quoted requirement lines under `- pip:` in environment.yml."""
    text = (ROOT / "environment.yml").read_text()
    pip_block = text.split("- pip:", 1)[1]
    return re.findall(r'^\s+- "([^"]+)"', pip_block, flags=re.M)


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    expected = set(project["dependencies"]) | set(project["optional-dependencies"]["cpu"])
    listed = set(pip_section_of_environment_yml()) - {"-e ."}
    assert listed == expected, f"missing: {expected - listed}; extra: {listed - expected}"
    assert "python=3.11" in (ROOT / "environment.yml").read_text()


def test_tensorflow_is_not_a_hard_dependency():
    # Colab ships `tensorflow`; a hard dependency on tensorflow-cpu would pull a second copy.
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not [d for d in deps if d.startswith("tensorflow") and not d.startswith("tensorflow-datasets")]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme.split("\n## ", 1)[0]
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), flags=re.M)


def test_the_cpu_extra_installs_on_linux_and_on_macos():
    from packaging.requirements import Requirement

    cpu = [Requirement(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["cpu"]]
    for platform, wanted in (("linux", "tensorflow-cpu"), ("darwin", "tensorflow"), ("win32", "tensorflow-cpu")):
        env = {"sys_platform": platform, "platform_system": platform, "python_version": "3.11"}
        chosen = [r.name for r in cpu if r.marker is None or r.marker.evaluate(env)]
        assert chosen == [wanted], (platform, chosen)
    assert "ipykernel" in (ROOT / "environment.yml").read_text()
