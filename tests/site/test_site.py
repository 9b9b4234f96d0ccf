"""The lesson pages: built from the executed reference lessons, free of solutions, and rendered by a real browser.

The pages are built with the notebooks' CI parameters from the executed copies that
tests/notebooks/test_execute.py keeps in build/executed (a lesson without a valid copy is
executed here). The browser test drives Debian's Chromium through selenium and its
chromedriver, with no network (so every formula must be typeset by the MathJax copied beside
the pages); `make browser` (a step of `make site` and `make test`) installs both when it can,
and the test skips, saying why, only where they cannot be had.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
SITE = ROOT / "build" / "site"
SHARED_DATA = ROOT.parent / "shared" / "data"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                  "--window-size=1280,1600", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost")


def _load_builder():
    spec = importlib.util.spec_from_file_location("course_build_site", ROOT / "tools" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


builder = _load_builder()


@pytest.fixture(scope="module")
def pages():
    """Builds the site into build/site (the folder `make site` fills) and returns {lesson id: page path}."""
    if SHARED_DATA.is_dir():
        os.environ.setdefault("COURSE_DATA_DIR", str(SHARED_DATA))  # a lesson run here reads ../shared/data
    written = builder.build(SITE, small=True)
    return {path.stem: path for path in written}


def _figures(solution: Path) -> int:
    """How many figures the executed copy of a lesson holds (image outputs of its code cells)."""
    nb = nbformat.read(builder.copy_path(solution, small=True), as_version=4)
    return sum(1 for cell in builder.publishable(nb).cells if cell.cell_type == "code"
               for output in cell.get("outputs", []) if "image/png" in output.get("data", {}))


@pytest.mark.slow
def test_a_page_per_lesson_and_an_index_with_every_headline(pages):
    assert set(pages) == {"index", *(s.stem for s in SOLUTIONS)}
    index = pages["index"].read_text(encoding="utf-8")
    for solution in SOLUTIONS:
        record = builder.cached_run(solution, small=True)
        assert record is not None, f"{solution.stem}: no valid executed copy after the build"
        assert f'href="{solution.stem}.html"' in index
        assert html.escape(builder.headline_text(record["headline"])) in index


@pytest.mark.slow
def test_pages_publish_no_solution(pages):
    for solution in SOLUTIONS:
        page = pages[solution.stem].read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in page and "# CASES" not in page, solution.stem
        reference = nbformat.read(solution, as_version=4)
        graded = [c for c in reference.cells if c.cell_type == "code" and "### BEGIN SOLUTION" in c.source]
        assert graded, f"{solution.stem} has no graded region to hide"
        assert page.count("NotImplementedError") >= len(graded), f"{solution.stem}: a graded cell kept its solution"


def _browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None)
    if not (chromium and driver):
        pytest.skip("Chromium and chromedriver are not installed and could not be: `make browser` installs Debian's "
                    "`chromium` and `chromium-driver` when run as root with apt-get")
    return chromium, driver


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium, driver_path = _browser_paths()
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the `test` extra: pip install -e '.[test]'")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


# MathJax 2 keeps each formula's TeX in a <script type="math/tex"> and puts its typeset element,
# id "<script id>-Frame", beside it. False until MathJax has loaded and finished its queue.
TYPESET_JS = """
const hub = window.MathJax && window.MathJax.Hub;
if (!hub || !hub.queue || hub.queue.pending || hub.queue.running) return false;
const scripts = Array.from(document.querySelectorAll('script[type^="math/tex"]'));
if (!scripts.length) return false;
const typeset = scripts.filter(s => s.id && document.getElementById(s.id + '-Frame')).length;
return [scripts.length, typeset, document.querySelectorAll('.MathJax_Error, merror').length];
"""


def _has_formulas(solution: Path) -> bool:
    """Whether the lesson's markdown holds a $...$ or $$...$$ formula."""
    nb = nbformat.read(solution, as_version=4)
    return any(re.search(r"\$[^$\s][^$]*\$", c.source) for c in nb.cells if c.cell_type == "markdown")


@pytest.mark.slow
@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_each_page_renders_its_figures_and_headline(pages, browser, solution):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    expected_figures = _figures(solution)
    assert expected_figures > 0, f"{solution.stem}: the executed lesson has no figure"
    browser.get(pages[solution.stem].as_uri())
    WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
    rendered = WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "const shown = Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0"
        " && i.getBoundingClientRect().width > 0); return shown.length >= arguments[0] ? shown.length : false;",
        expected_figures))
    assert rendered >= expected_figures
    headline = browser.find_element(By.ID, "course-headline")
    record = builder.cached_run(solution, small=True)
    assert headline.is_displayed() and headline.text == builder.headline_text(record["headline"])
    title = builder.title_of(nbformat.read(solution, as_version=4))
    assert any(title in h.text for h in browser.find_elements(By.TAG_NAME, "h1")), f"no heading {title!r}"
    if _has_formulas(solution):  # typeset by the MathJax beside the pages: the browser here has no network
        formulas, typeset, errors = WebDriverWait(browser, 60).until(lambda d: d.execute_script(TYPESET_JS))
        assert formulas > 0 and typeset == formulas and errors == 0, (
            f"{solution.stem}: {typeset} of {formulas} formulas typeset by MathJax, {errors} errors")
    shots = SITE / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(shots / f"{solution.stem}.png"))
    assert (shots / f"{solution.stem}.png").stat().st_size > 10_000


@pytest.mark.slow
def test_index_links_every_lesson(pages, browser):
    from selenium.webdriver.common.by import By

    browser.get(pages["index"].as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "#course-map tr.lesson")
    assert [r.find_element(By.TAG_NAME, "td").text for r in rows] == [s.stem for s in SOLUTIONS]
    assert all(r.find_element(By.CSS_SELECTOR, "td.headline").text.strip() for r in rows)
    (SITE / "screenshots").mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SITE / "screenshots" / "index.png"))
    rows[0].find_element(By.TAG_NAME, "a").click()
    assert browser.current_url.endswith(f"{SOLUTIONS[0].stem}.html")
