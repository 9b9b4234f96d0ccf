"""The site builder without a kernel or a browser: the cache key, and pages free of solutions."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _builder():
    spec = importlib.util.spec_from_file_location("course_build_site", ROOT / "tools" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


builder = _builder()


def _solution(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# T1 · A toy lesson\n\nText."),
        nbformat.v4.new_code_cell("# CASES\nHIDDEN_CASE = 42"),
        nbformat.v4.new_code_cell("# GRADED: f\ndef f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION"),
    ]
    nb.cells[1].metadata["tags"] = ["solution-only"]
    nbformat.write(nb, path)
    return path


def _keep(solution: Path, folder: Path, key: str) -> None:
    nb = nbformat.read(solution, as_version=4)
    nb.metadata[builder.RUN_KEY] = {"key": key, "seconds": 1.0, "headline": {"metric": "m", "value": 1.0},
                                    "error": None, "small": True}
    path = builder.copy_path(solution, True, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def test_an_executed_copy_is_reused_only_while_its_notebook_and_parameters_are_unchanged(tmp_path):
    solution = _solution(tmp_path / "T1.ipynb")
    folder = tmp_path / "executed"
    assert builder.cached_run(solution, True, folder) is None  # nothing kept yet
    _keep(solution, folder, builder.run_key(solution, {}, True))
    assert builder.cached_run(solution, True, folder)["headline"]["value"] == 1.0
    assert builder.cached_run(solution, False, folder) is None  # default parameters: another copy
    solution.write_text(solution.read_text().replace("x + 1", "x + 2"))
    assert builder.cached_run(solution, True, folder) is None  # the lesson changed: run it again


def test_a_page_holds_no_solution_and_no_hidden_case(tmp_path):
    nb = builder.publishable(nbformat.read(_solution(tmp_path / "T1.ipynb"), as_version=4))
    sources = "\n".join(c.source for c in nb.cells)
    assert "HIDDEN_CASE" not in sources and "return x + 1" not in sources
    assert "NotImplementedError" in sources and "# GRADED: f" in sources
    assert builder.title_of(nb) == "T1 · A toy lesson"  # backticks dropped, as the page shows the title
    page = builder.page(nb, {"seconds": 3.0, "small": True, "headline": {"metric": "m", "value": 0.5}}, "T1")
    assert '<span id="course-headline">m: 0.5</span>' in page and "return x + 1" not in page


def test_tensorflows_start_up_lines_are_left_out_of_a_page():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("import tensorflow")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=(
            "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
            "I0000 00:00:1796463263.500564   23432 port.cc:153] oneDNN custom operations are on.\n")),
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: something the reader should see\n"),
        nbformat.v4.new_output("stream", name="stdout", text="I0000 kept: stdout is the lesson's own\n"),
    ]
    nb.cells = [cell]
    outputs = builder.publishable(nb).cells[0].outputs
    assert [o["text"] for o in outputs] == ["UserWarning: something the reader should see\n",
                                          "I0000 kept: stdout is the lesson's own\n"]


def test_pages_load_mathjax_from_a_copy_beside_them(tmp_path):
    if builder.mathjax_source() is None:
        pytest.skip("jupyter-server-mathjax (the `test` extra) is not installed: pip install -e '.[test]'")
    url = builder.copy_mathjax(tmp_path)
    assert url.startswith(f"{builder.MATHJAX}/MathJax.js?config=")
    assert (tmp_path / builder.MATHJAX / "MathJax.js").is_file()
    assert (tmp_path / builder.MATHJAX / "config" / f"{builder.MATHJAX_CONFIG.split(',')[0]}.js").is_file()
    assert builder.copy_mathjax(tmp_path) == url  # a second build keeps the copy
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# T1 · Math\n\nThe uniform model: $\\mathrm{PP} = V$.")]
    page = builder.page(nb, {"seconds": 1.0, "small": True}, "T1", url)
    assert f'<script src="{url}">' in page and "libs/mathjax" not in page
    assert not re.findall(r'<script[^>]*src="https?:', page)  # no output runs JavaScript: no script from a CDN
    assert page.index(builder.MATHJAX_FONTS) < page.index(f'<script src="{url}">')  # fonts set before it loads


def test_require_js_stays_where_an_output_runs_javascript():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("display(Javascript('1'))")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"application/javascript": "1"})]
    nb.cells = [cell]
    assert builder.needs_require(nb) and "require.min.js" in builder.page(nb, {"seconds": 1.0}, "T1", None)
    nb.cells[0].outputs = [nbformat.v4.new_output("display_data", data={"text/plain": "1"})]
    assert not builder.needs_require(nb) and "require.min.js" not in builder.page(nb, {"seconds": 1.0}, "T1", None)


def test_without_the_package_the_pages_fall_back_to_the_cdn(tmp_path, monkeypatch):
    monkeypatch.setattr(builder, "mathjax_source", lambda: None)
    assert builder.copy_mathjax(tmp_path) is None and not (tmp_path / builder.MATHJAX).exists()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("$x$")]
    page = builder.page(nb, {"seconds": 1.0, "small": True}, "T1", None)
    assert "libs/mathjax" in page  # nbconvert's default, on a CDN
