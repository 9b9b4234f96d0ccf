"""Builds the course's web pages: every reference lesson, executed, as a static HTML page.

    python tools/build_site.py [--out build/site] [--default] [--only A1 A3]      (`make site`)

Each lesson runs once, with its CI parameters unless `--default` is given, and
the executed copy is kept in `build/executed/` under a key made of the
solution's bytes, the parameters and the `course` library's sources. A copy
whose key still matches is reused, not run again: `tests/notebooks/test_execute.py`
writes the same copies while it checks that every solution runs, so CI
executes each lesson once for both. nbconvert's HTML exporter turns each copy
into a page with its printed output and plots; `index.html` holds the course
map with each lesson's headline.

The formulas are typeset by MathJax from a copy beside the pages (`mathjax/`,
taken from the `jupyter-server-mathjax` package of the `test` extra), so the
pages read the same offline as online. Without that package the pages fall
back to nbconvert's MathJax on a CDN, and say so when they are built.

The pages never publish a solution: each graded region is replaced by the
stub students get, and cells tagged solution-only (the hidden cases among
them) are left out, exactly as `autograder assign` does.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import importlib.util
import json
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EXECUTED = ROOT / "build" / "executed"
SITE = ROOT / "build" / "site"
RUN_KEY = "course_run"  # metadata of an executed copy: its cache key, seconds, headline, error
MATHJAX = "mathjax"  # the folder beside the pages that holds the local MathJax
# MathJax 2.7 as jupyter-server-mathjax ships it: this combined configuration, and only the STIX web fonts.
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"
MATHJAX_FONTS = ('<script type="text/javascript">window.MathJax = {"HTML-CSS": {availableFonts: [], '
                 'webFont: "STIX-Web", imageFont: null}};</script>')


def run_key(solution: Path, overrides: dict, small: bool) -> str:
    """What an executed copy depends on: the notebook, its parameters and the course library's code."""
    digest = hashlib.sha256(solution.read_bytes())
    digest.update(json.dumps({"small": small, "overrides": overrides}, sort_keys=True, default=str).encode())
    for source in sorted((ROOT / "course").rglob("*.py")):
        digest.update(source.relative_to(ROOT).as_posix().encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def copy_path(solution: Path, small: bool, folder: Path = EXECUTED) -> Path:
    return folder / f"{solution.stem}.{'small' if small else 'default'}.ipynb"


def cached_run(solution: Path, small: bool = True, folder: Path = EXECUTED) -> dict | None:
    """The recorded run of a still-valid executed copy of `solution`, or None."""
    path = copy_path(solution, small, folder)
    if not path.is_file():
        return None
    record = nbformat.read(path, as_version=4).metadata.get(RUN_KEY, {})
    if record.get("key") != run_key(solution, {}, small) or record.get("error"):
        return None
    return dict(record)


def execute_and_keep(solution: Path, small: bool = True, folder: Path = EXECUTED, timeout_s: int = 900):
    """Runs `solution` in a fresh kernel and keeps the executed copy, keyed, in `folder`.

    Returns the `Execution` (the copy is written even when a cell fails, with the error recorded).
    """
    from autograder.authoring.run_notebooks import execute

    os.environ.setdefault("COURSE_DATA_DIR", str(ROOT.parent / "shared" / "data"))
    path = copy_path(solution, small, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    run = execute(solution, small=small, timeout_s=timeout_s, cwd=ROOT, keep=path)
    nb = nbformat.read(path, as_version=4)
    nb.metadata[RUN_KEY] = {"key": run_key(solution, {}, small), "seconds": run.seconds,
                            "headline": run.headline, "error": run.error, "small": small}
    nbformat.write(nb, path)
    return run


def ensure_executed(solution: Path, small: bool = True, folder: Path = EXECUTED) -> Path:
    """The executed copy of `solution`: reused when its key matches, run (once) otherwise.

    Raises:
        RuntimeError: the lesson failed to run.
    """
    if cached_run(solution, small, folder) is None:
        print(f"  executing {solution.name} ({'CI' if small else 'default'} parameters) ...", flush=True)
        run = execute_and_keep(solution, small, folder)
        if run.error:
            raise RuntimeError(f"{solution.name}: cell {run.failed_cell} failed: {run.error}")
    else:
        print(f"  {solution.name}: executed copy is up to date, reused", flush=True)
    return copy_path(solution, small, folder)


def publishable(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The executed notebook without solutions: stubs for graded regions, no solution-only cells."""
    from autograder.authoring.student import strip_solutions
    from autograder.grading.locate import SOLUTION_ONLY_TAG

    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    cells = []
    for cell in nb.cells:
        if SOLUTION_ONLY_TAG in cell.metadata.get("tags", []):
            continue
        if cell.cell_type == "code" and "BEGIN SOLUTION" in cell.source:
            cell.source = strip_solutions(cell.source)
        if cell.cell_type == "code":
            cell.outputs = [o for o in map(_without_start_up_lines, cell.outputs) if o is not None]
        cells.append(cell)
    nb.cells = cells
    return nb


START_UP = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\).*|[IW]\d{4} [\d:.]+ +\d+ \S+\] .*)$")


def _without_start_up_lines(output: dict) -> dict | None:
    """An output without TensorFlow's start-up lines on stderr (None when nothing else is left)."""
    if output.get("output_type") != "stream" or output.get("name") != "stderr":
        return output
    kept = [line for line in output.get("text", "").splitlines(keepends=True) if not START_UP.match(line.rstrip("\n"))]
    if not "".join(kept).strip():
        return None
    output["text"] = "".join(kept)
    return output


def title_of(nb: nbformat.NotebookNode) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            return cell.source.lstrip()[2:].splitlines()[0].strip().replace("`", "")  # as the page shows it
    return "lesson"


def headline_text(headline: dict | None) -> str:
    if not headline:
        return "no headline recorded"
    value = headline.get("value")
    shown = f"{value:.4g}" if isinstance(value, (int, float)) else str(value)
    met = {True: "target met", False: "target not met"}.get(headline.get("met"), "")
    target = f" (target {headline['target']}" + (f"; {met})" if met else ")") if headline.get("target") else ""
    return f"{headline.get('metric', 'headline')}: {shown}{target}"


def mathjax_source() -> Path | None:
    """The folder of MathJax files that the `jupyter-server-mathjax` package ships, or None without it."""
    spec = importlib.util.find_spec("jupyter_server_mathjax")
    if spec is None or not spec.submodule_search_locations:
        return None
    static = Path(next(iter(spec.submodule_search_locations))) / "static"
    return static if (static / "MathJax.js").is_file() else None


def copy_mathjax(out: Path) -> str | None:
    """Copies MathJax beside the pages in `out` (once: an up-to-date copy is kept) and returns the pages' URL for
    it, relative to them; None when the package is missing (the pages then load MathJax from nbconvert's CDN)."""
    source = mathjax_source()
    if source is None:
        return None
    target = out / MATHJAX
    if not (target / "MathJax.js").is_file() or (target / "MathJax.js").read_bytes() != (source / "MathJax.js").read_bytes():
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    return f"{MATHJAX}/MathJax.js?config={MATHJAX_CONFIG}"


JS_OUTPUTS = ("application/javascript", "application/vnd.jupyter.widget-view+json")
"""Output types that run JavaScript in a page (and need the require.js nbconvert's template loads)."""


def needs_require(nb: nbformat.NotebookNode) -> bool:
    """Whether any output of the notebook runs JavaScript in the page."""
    return any(mime in output.get("data", {}) for cell in nb.cells for output in cell.get("outputs", [])
               for mime in JS_OUTPUTS)


def page(nb: nbformat.NotebookNode, record: dict, lesson: str, mathjax_url: str | None = None) -> str:
    """One lesson's HTML page: nbconvert's `lab` template, with a banner holding the headline.

    `mathjax_url` (relative to the page) is a local MathJax 2.7 from `copy_mathjax`; None keeps nbconvert's CDN.
    """
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", **({"mathjax_url": mathjax_url} if mathjax_url else {}))
    body, _ = exporter.from_notebook_node(nb)
    if not needs_require(nb):  # nbconvert loads require.js from a CDN for outputs that run JavaScript: none here
        body = body.replace(f'<script src="{exporter.require_js_url}"></script>', "", 1)
    if mathjax_url:  # the package ships no TeX web fonts: tell MathJax, before it loads, to use its STIX ones
        loader = f'<script src="{mathjax_url}">'
        body = body.replace(loader, MATHJAX_FONTS + "\n" + loader, 1)
    parameters = "CI (small) parameters" if record.get("small") else "default parameters"
    banner = (
        '<nav id="course-banner" style="font-family: sans-serif; padding: 0.6em 1em; background: #eef3f8; '
        'border-bottom: 1px solid #ccd;"><a href="index.html">Course map</a> &middot; '
        f'<strong>{html.escape(lesson)}</strong> &middot; run with {parameters} in '
        f'{record.get("seconds", 0):.0f} s &middot; <span id="course-headline">'
        f'{html.escape(headline_text(record.get("headline")))}</span></nav>'
    )
    return _after_body(body, banner)


def _after_body(document: str, fragment: str) -> str:
    start = document.find("<body")
    end = document.find(">", start) + 1
    return document[:end] + fragment + document[end:]


def index_page(rows: list[tuple[str, str, dict]], small: bool) -> str:
    parameters = "their CI (small) parameters" if small else "their default parameters"
    lines = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        "<title>Sequence models with Keras: the lessons</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
        "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:0.3em 0.6em;text-align:left}</style>",
        "</head><body>", "<h1>Sequence models with Keras: the lessons</h1>",
        f"<p>Each page is a reference lesson executed top to bottom with {parameters}, with its printed "
        "output and plots. Graded solutions are replaced by the stubs students get. The numbers in the "
        "README's bench table come from the default parameters, over several seeds.</p>",
        '<table id="course-map"><tr><th>id</th><th>lesson</th><th>headline of this run</th><th>seconds</th></tr>',
    ]
    for lesson, title, record in rows:
        lines.append(
            f'<tr class="lesson"><td>{lesson}</td><td><a href="{lesson}.html">{html.escape(title)}</a></td>'
            f'<td class="headline">{html.escape(headline_text(record.get("headline")))}</td>'
            f'<td>{record.get("seconds", 0):.0f}</td></tr>'
        )
    lines += ["</table>", "</body></html>"]
    return "\n".join(lines) + "\n"


def build(out: Path = SITE, small: bool = True, only: list[str] | None = None, folder: Path = EXECUTED) -> list[Path]:
    """Executes (or reuses) every reference lesson and writes one page each plus `index.html` to `out`."""
    solutions = sorted((ROOT / "solutions").glob("*.ipynb"))
    if only:
        solutions = [s for s in solutions if s.stem in only]
    out.mkdir(parents=True, exist_ok=True)
    mathjax_url = copy_mathjax(out)
    if mathjax_url is None:
        print("  jupyter-server-mathjax is not installed (pip install -e '.[test]'): the pages load MathJax from a "
              "CDN, and show raw $...$ formulas offline", flush=True)
    rows, written = [], []
    for solution in solutions:
        executed = nbformat.read(ensure_executed(solution, small, folder), as_version=4)
        record = dict(executed.metadata.get(RUN_KEY, {}))
        title = title_of(executed)
        target = out / f"{solution.stem}.html"
        target.write_text(page(publishable(executed), record, solution.stem, mathjax_url), encoding="utf-8")
        rows.append((solution.stem, title, record))
        written.append(target)
    index = out / "index.html"
    index.write_text(index_page(rows, small), encoding="utf-8")
    return [index, *written]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SITE, help="folder of the pages (default: build/site)")
    parser.add_argument("--default", action="store_true", help="run at default parameters (minutes per lesson)")
    parser.add_argument("--only", nargs="*", help="assignment ids (default: all)")
    args = parser.parse_args()
    for path in build(args.out, small=not args.default, only=args.only):
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


if __name__ == "__main__":
    main()
