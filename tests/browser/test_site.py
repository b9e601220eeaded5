"""The course's website read in headless Chromium, as a student and an instructor would read it.

Both editions are built once per session (``conftest.sites``) and every page of each is opened once
(``crawl``); the tests then look at what the browser found. Screenshots go to ``build/site-shots/``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from fmnist_helpers.course.catalog import discover_notebooks
from fmnist_helpers.course.notebook_files import BEGIN, END, SOLUTION_TAG, has_answer, stub_solution_regions
from fmnist_helpers.course.student import student_copy
from fmnist_helpers.course.website import EDITIONS
from fmnist_helpers.paths import course_dir

NOTEBOOKS = discover_notebooks(course_dir() / "notebooks")
SHOTS = course_dir() / "build" / "site-shots"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")

PAGE_SCRIPT = """async () => {
  const images = await Promise.all([...document.images].map(async (img) => {
    img.loading = "eager";
    try { await img.decode(); } catch (error) {}
    return {src: img.getAttribute("src"), width: img.naturalWidth, output: !!img.closest(".cell_output")};
  }));
  const math = [...document.querySelectorAll(".math")];
  if (math.length) { await MathJax.startup.promise; }
  const text = (element) => element ? element.innerText : null;
  const answers = [...document.querySelectorAll("div.cell.tag_answer, .fmnist-answer")];
  const record = {
    images,
    links: [...document.querySelectorAll("a[href]")].map((a) => a.href),
    ids: [...document.querySelectorAll("[id]")].map((element) => element.id),
    scripts: [...document.scripts].map((script) => script.src).filter(Boolean),
    math: math.length,
    mathRendered: math.filter((element) => element.querySelector("mjx-container")).length,
    cells: [...document.querySelectorAll("div.cell")].map((cell) => ({
      classes: cell.className, input: text(cell.querySelector(".cell_input")),
      output: text(cell.querySelector(".cell_output"))})),
    answers: [...document.querySelectorAll(".fmnist-answer")].map((element) => element.innerText),
    text: document.body.innerText,
  };
  answers.forEach((element) => { element.style.display = "none"; });
  record.textWithoutAnswers = document.body.innerText;  // what both editions share
  answers.forEach((element) => { element.style.display = ""; });
  return record;
}"""


def norm(text: str) -> str:
    """``text`` with every run of whitespace made one space."""
    return " ".join(text.split())


@pytest.fixture(scope="session")
def crawl(sites, tab) -> Callable[[str], dict[str, dict[str, Any]]]:
    """``crawl("student")``: every page of an edition opened once, ``{"index.html": record}`` with
    the page's problems, images, links, ids, scripts, math, code cells and text."""
    cache: dict[str, dict[str, dict[str, Any]]] = {}

    def run(edition: str) -> dict[str, dict[str, Any]]:
        if edition not in cache:
            pages = {}
            for path in sorted((sites / edition).rglob("*.html")):
                name = path.relative_to(sites / edition).as_posix()
                if name.startswith("_"):  # the theme's parts (_static/webpack-macros.html), not pages
                    continue
                tab.goto(f"{edition}/{name}")
                if tab.page.locator(".math").count():
                    tab.page.wait_for_function("() => window.MathJax && MathJax.startup && "
                                               "MathJax.startup.promise")
                record = tab.page.evaluate(PAGE_SCRIPT)
                record["problems"] = tab.problems()
                pages[name] = record
            cache[edition] = pages
        return cache[edition]

    return run


def page_of(path: Path) -> str:
    return f"notebooks/{path.stem}.html"


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_page_loads_without_errors_or_outside_requests(crawl, edition):
    pages = crawl(edition)
    expected = {"index.html", "results.html", "instructors.html", "credits.html", "search.html",
                *(page_of(path) for path in NOTEBOOKS)}
    assert expected <= set(pages), f"pages missing: {sorted(expected - set(pages))}"
    problems = {name: record["problems"] for name, record in pages.items() if record["problems"]}
    assert not problems


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_figure_on_every_notebook_page_decodes(crawl, notebooks, edition):
    pages = crawl(edition)
    for path in NOTEBOOKS:
        notebook = nbformat.read(notebooks / path.name, as_version=4)
        shown = [cell for cell in notebook.cells if cell.cell_type == "code"
                 and not (edition == "student" and has_answer(cell))]
        figures = sum(1 for cell in shown for output in cell.outputs
                      if any(kind in output.get("data", {}) for kind in IMAGE_TYPES))
        images = pages[page_of(path)]["images"]
        assert [image for image in images if image["width"] == 0] == [], path.name
        assert sum(image["output"] for image in images) == figures, path.name


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_internal_link_resolves(crawl, sites, server, edition):
    pages = crawl(edition)
    root = urlsplit(server + edition + "/").path
    checked = 0
    for name, record in pages.items():
        for href in record["links"]:
            if not href.startswith(server):
                continue  # another site (not fetched: the tests are offline), mailto:
            url = urlsplit(href)
            assert url.path.startswith(root), f"{name} links out of its folder: {href}"
            target = unquote(url.path)[len(root):] or "index.html"
            target = f"{target}index.html" if target.endswith("/") else target
            assert (sites / edition / target).is_file(), f"{name}: {href} does not exist"
            if url.fragment and target in pages:
                assert unquote(url.fragment) in pages[target]["ids"], f"{name}: {href} has no anchor"
            checked += 1
    assert checked > 100


@pytest.mark.parametrize("edition", EDITIONS)
def test_each_notebook_can_be_downloaded(crawl, sites, notebooks, edition):
    pages = crawl(edition)
    for path in (notebooks / original.name for original in NOTEBOOKS):
        for page in (page_of(path), "index.html"):
            links = [href for href in pages[page]["links"] if href.endswith(f"/{path.name}")]
            assert links, f"{page} has no download link for {path.name}"
            target = sites / edition / unquote(urlsplit(links[0]).path)[len(f"/{edition}/"):]
            if edition == "instructor":
                assert target.read_bytes() == path.read_bytes()
            else:  # the student copy that `make student` hands out
                downloaded = nbformat.read(target, as_version=4)
                expected = student_copy(nbformat.read(path, as_version=4))
                assert [(c.cell_type, c.source) for c in downloaded.cells] == \
                       [(c.cell_type, c.source) for c in expected.cells]
                assert not any(c.get("outputs") for c in downloaded.cells)


def test_search_for_batchnorm2d_finds_notebook_11(tab):
    tab.goto("student/search.html?q=BatchNorm2d")
    tab.page.wait_for_function("() => (document.querySelector('#search-results .search-summary') || "
                               "{}).textContent?.includes('found')")
    found = tab.page.eval_on_selector_all("ul.search li a", "links => links.map(a => a.href)")
    assert any(href.endswith("/student/notebooks/11_normalization_batchnorm.html") for href in found), found
    assert not tab.problems()


@pytest.mark.parametrize("edition", EDITIONS)
def test_math_is_typeset_by_the_site_s_own_mathjax(crawl, server, edition):
    pages = crawl(edition)
    with_math = {name: record for name, record in pages.items() if record["math"]}
    assert "notebooks/11_normalization_batchnorm.html" in with_math  # its formulas
    for name, record in with_math.items():
        assert record["mathRendered"] == record["math"], f"{name}: math left as TeX"
        assert any(src.startswith(f"{server}{edition}/_static/mathjax/") for src in record["scripts"]), name
        assert record["problems"] == [], name  # no request left the machine (a CDN would be blocked)


def _answer_code_lines(cell: nbformat.NotebookNode) -> list[str]:
    """The lines of a code cell that are answer (a solution region's, or all of a tagged cell's)."""
    if SOLUTION_TAG in cell.get("metadata", {}).get("tags", []):
        lines = cell.source.splitlines()
    else:
        kept = set(stub_solution_regions(cell.source).splitlines())
        lines = [line for line in cell.source.splitlines() if line not in kept]
    return [norm(line) for line in lines if norm(line) not in (BEGIN, END, "")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_the_student_edition_holds_no_answer(crawl, notebooks, path):
    """Cell by cell against the instructor edition: every answer cell stubbed and without outputs,
    every other code cell and output the same; no answer line, answer output or answer prose of the
    instructor's page anywhere in the student's."""
    notebook = nbformat.read(notebooks / path.name, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    student, instructor = crawl("student")[page_of(path)], crawl("instructor")[page_of(path)]
    assert len(student["cells"]) == len(instructor["cells"]) == len(code)
    # What both editions may show: the instructor's page without its answers, and every cell of the
    # copy `make student` hands out (the scaffolding around an answer is no secret).
    handed_out = "\n".join(cell.source for cell in student_copy(notebook).cells)
    shared = norm(instructor["textWithoutAnswers"]) + " | " + norm(handed_out)
    student_text = norm(student["text"])
    secrets: list[str] = []
    for cell, ours, theirs in zip(code, student["cells"], instructor["cells"], strict=True):
        if not has_answer(cell):
            assert (ours["input"], ours["output"]) == (theirs["input"], theirs["output"])
            continue
        assert "tag_answer" in theirs["classes"]
        assert "raise NotImplementedError()" in ours["input"] and ours["output"] is None
        assert (theirs["output"] is not None) == bool(cell.outputs)
        lines = _answer_code_lines(cell)
        assert all(line in norm(theirs["input"]) for line in lines)
        secrets += [line for line in lines if len(line) >= 8 and line not in shared]
        secrets += [norm(line) for line in (theirs["output"] or "").splitlines()
                    if len(norm(line)) >= 12 and norm(line) not in shared]
    prose = [cell for cell in notebook.cells if cell.cell_type == "markdown" and has_answer(cell)]
    assert len(instructor["answers"]) == len(prose) and student["answers"] == []
    secrets += [norm(line) for answer in instructor["answers"] for line in answer.splitlines()
                if len(norm(line)) >= 20 and norm(line) not in shared]
    assert secrets, f"{path.name}: no answer text to look for"
    leaked = [secret for secret in secrets if secret in student_text]
    assert leaked == []


def _shot(tab, name: str, element: Any = None, full_page: bool = False) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    target = SHOTS / name
    if element is not None:
        element.scroll_into_view_if_needed()
        element.screenshot(path=str(target))
    else:
        tab.page.screenshot(path=str(target), full_page=full_page)
    return target


def test_screenshots_of_the_home_page_and_a_notebook(tab):
    """build/site-shots/: the home page, notebook 11 (top, math, a figure) and an answer cell of
    notebook 04 in each edition, to look at."""
    tab.goto("student/index.html")
    shots = [_shot(tab, "home.png", full_page=True)]
    tab.goto("student/notebooks/11_normalization_batchnorm.html")
    tab.page.wait_for_function("() => document.querySelector('mjx-container')")
    shots.append(_shot(tab, "notebook-11.png"))
    tab.page.locator("mjx-container[display=true]").first.scroll_into_view_if_needed()
    shots.append(_shot(tab, "notebook-11-math.png"))
    figure = tab.page.locator("div.cell:has(.cell_output img)").first
    shots.append(_shot(tab, "notebook-11-figure.png", figure))
    for edition in EDITIONS:
        tab.goto(f"{edition}/notebooks/04_training.html")
        shots.append(_shot(tab, f"notebook-04-answer-{edition}.png",
                           tab.page.locator("div.cell").filter(has_text="{sgd_loss:.3f}").first))
    assert not tab.problems()
    assert all(shot.stat().st_size > 5_000 for shot in shots)
