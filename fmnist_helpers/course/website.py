"""The course as a static website: ``make site`` (``python -m fmnist_helpers.course.website``).

Sphinx with myst-nb and sphinx-book-theme renders the committed notebooks with their committed
outputs; nothing is executed (``nb_execution_mode = "off"`` in ``docs/conf.py``) and nothing is
fetched (MathJax is copied into the site, search is Sphinx's own index). Every link is relative, so
the folder can be served from any path or opened from disk. Two editions come from one command:

- ``student`` (the default, into ``build/site/``): the answers are removed as ``make student``
  removes them (solution regions and ``solution``-tagged code cells become stubs,
  ``solution``-tagged prose is dropped), and so are the outputs of every cell that held an answer,
  since printed results would give answers away; every other cell keeps its outputs. A notebook's
  download is its student copy, the file ``make student`` hands out.
- ``instructor`` (into ``build/site-instructor/``): everything, with the answers marked; a
  notebook's download is the committed notebook.

The pages are written into ``build/site-src/<edition>/`` from the notebooks (one page each), the
README (home page, instructors' page) and ``results/`` (the measured results, rendered by
``measured.render_blocks``), then built with ``docs/conf.py``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..paths import course_dir
from .catalog import CourseError, discover_notebooks, notebook_number
from .measured import update_readme
from .notebook_files import copy_of, has_answer, student_copy, without_answers

EDITIONS = ("student", "instructor")
ANSWER_TAG = "answer"
"""Instructor edition: a code cell holding an answer gets this tag (myst-nb's class ``tag_answer``)."""
ANSWER_CLASS = "fmnist-answer"
"""Instructor edition: answer prose is shown in an admonition with this class."""


def default_site_dir(edition: str = "student") -> Path:
    """``build/site/`` for the student edition, ``build/site-instructor/`` for the instructor's."""
    _check_edition(edition)
    return course_dir() / "build" / ("site" if edition == "student" else f"site-{edition}")


def _check_edition(edition: str) -> None:
    if edition not in EDITIONS:
        raise CourseError(f"--edition must be one of {', '.join(EDITIONS)}, not {edition!r}")


# --- the notebooks, as each edition shows them ---------------------------------------------------

def static_output(output: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``output`` as a static page can show it: an output that needs a script running beside a live
    kernel or server (TensorBoard's ``%tensorboard`` frame) becomes a line that says so."""
    data = output.get("data", {})
    html = data.get("text/html", "")
    html = "".join(html) if isinstance(html, list) else html
    if "application/javascript" not in data and "<script" not in html.lower():
        return output
    what = "TensorBoard, served live while the notebook ran," if "tensorboard" in html.lower() else \
        "an interactive output"
    return nbformat.v4.new_output("stream", name="stdout", text=(
        f"[Here JupyterLab showed {what} which a static website cannot show: run the notebook "
        "in JupyterLab (make lab) to see it.]\n"))


def _answer_admonition(source: str) -> str:
    """Answer prose inside an admonition marked ``ANSWER_CLASS`` (unchanged if it has headings,
    which an admonition cannot hold)."""
    if re.search(r"^\s{0,3}#{1,6}\s", source, re.M):
        return source
    colons = max((len(run) for run in re.findall(r"^:{3,}", source, re.M)), default=2)
    fence = ":" * max(4, colons + 1)
    return f"{fence}{{admonition}} Answer\n:class: {ANSWER_CLASS}\n\n{source}\n{fence}"


def site_notebook(notebook: nbformat.NotebookNode, edition: str) -> nbformat.NotebookNode:
    """The notebook as ``edition``'s page shows it (the original is not changed).

    Student: answers stubbed or dropped as in ``student_copy`` and the outputs of the cells that held
    them removed, every other output kept. Instructor: everything, answers marked. Both: outputs that
    need a live kernel replaced by a note (``static_output``).
    """
    _check_edition(edition)
    if edition == "student":
        page = without_answers(notebook)  # as make student, but the other outputs stay
    else:
        page = copy_of(notebook)
        for cell in filter(has_answer, page.cells):
            if cell.cell_type == "code":
                cell.setdefault("metadata", {}).setdefault("tags", []).append(ANSWER_TAG)
            else:
                cell.source = _answer_admonition(cell.source)
    for cell in page.cells:
        if cell.cell_type == "code":
            cell.outputs = [static_output(output) for output in cell.outputs]
    return page


def download_notebook(notebook: nbformat.NotebookNode, edition: str) -> nbformat.NotebookNode:
    """The file a reader of ``edition`` downloads: the student copy (``make student``) or the
    notebook itself."""
    _check_edition(edition)
    return student_copy(notebook) if edition == "student" else notebook


# --- what the pages say about each notebook ------------------------------------------------------

@dataclass
class NotebookFacts:
    """What the home page and the credits say about one notebook, from its first cell and the
    README's table."""

    path: Path
    title: str  # "01 · Data: extract, transform, load"
    teaches: str  # the README's "what it teaches", or "" when it has no row for it
    study_time: str  # "45 min, exercises included" (from "about 45 minutes, ..."), or ""
    credit: str  # the first cell's paragraphs about deeplizard's series (or going beyond it)


def _paragraphs(markdown: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", markdown) if p.strip()]


def readme_teaches(readme: str) -> dict[str, str]:
    """The README's notebook table: ``{"01_data_etl": "Extract, transform, load: ..."}``."""
    rows = re.findall(r"^\|\s*\d\d\s*\|\s*`(\d\d_\w+)\.ipynb`\s*\|\s*(.+?)\s*\|\s*$", readme, re.M)
    return dict(rows)


def notebook_facts(path: Path, notebook: nbformat.NotebookNode, teaches: dict[str, str]) -> NotebookFacts:
    """The title, study time and credit paragraphs of ``notebook``'s first cell."""
    first = notebook.cells[0].source if notebook.cells else ""
    title = next((line[2:].strip() for line in first.splitlines() if line.startswith("# ")), path.stem)
    study_time = ""
    match = re.search(r"\*\*Study time:?\*\*:?\s*(.+?)(?:\.\s|\.?$)", " ".join(first.split()))
    if match:  # its first sentence, without remarks in parentheses ("its time is printed below")
        study_time = re.sub(r"\s*\([^)]*\)", "", match.group(1)).strip()
        study_time = study_time.replace("about ", "").replace(" minutes", " min")
    credit = [p for p in _paragraphs(first)
              if "deeplizard" in p or p.startswith(("**Beyond the source", "**Follows", "**Source"))]
    return NotebookFacts(path, title, teaches.get(path.stem, ""), study_time, "\n\n".join(credit))


# --- the README's sections -----------------------------------------------------------------------

def _heading_level(line: str) -> int:
    match = re.match(r"(#{1,6})\s", line)
    return len(match.group(1)) if match else 0


def markdown_section(text: str, title: str, level: int = 2) -> str | None:
    """The body of the ``level`` heading ``title`` in ``text`` (up to the next heading of that level
    or above; headings inside code blocks do not count), or ``None`` when there is none."""
    lines, body, inside, fenced = text.splitlines(), [], False, False
    for line in lines:
        if line.lstrip().startswith("```"):
            fenced = not fenced
        heading = 0 if fenced else _heading_level(line)
        if inside and heading and heading <= level:
            break
        if inside:
            body.append(line)
        elif heading == level and line[level:].strip() == title:
            inside = True
    return "\n".join(body).strip("\n") if inside else None


def shift_headings(text: str, by: int) -> str:
    """``text`` with every Markdown heading outside code blocks ``by`` levels higher (negative) or
    lower (positive)."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        level = 0 if fenced else _heading_level(line)
        out.append("#" * min(6, max(1, level + by)) + line[level:] if level else line)
    return "\n".join(out)


def _section(readme: str, title: str, level: int = 2) -> str:
    body = markdown_section(readme, title, level)
    if body is None:
        print(f"website: the README has no section {'#' * level} {title}; the page leaves it out",
              file=sys.stderr)
        return ""
    return body


# --- the pages -----------------------------------------------------------------------------------

EDITION_NOTES = {
    "student": "This is the **student edition**: the exercises' answers are left out (where you write "
               "code, a cell shows `# YOUR CODE HERE`), and so are the printed results of the cells "
               "that held them. Every other output is shown as the notebooks were last run. Each "
               "notebook's download is the copy `make student` hands out.",
    "instructor": "This is the **instructor edition**: it shows every answer, marked *answer*, with its "
                  "output. Each notebook's download is the committed notebook. Students get the student "
                  "edition (`make site`).",
}


def _download(path: Path, label: str) -> str:
    return f"{{download}}`{label} </downloads/{path.name}>`"


def home_page(readme: str, facts: Sequence[NotebookFacts], edition: str) -> str:
    """``index.md``: what the course is, the notebook table, the two commands, the edition."""
    intro = readme.split("\n## ", 1)[0]
    intro = "\n".join(line for line in intro.splitlines() if not line.startswith("# ")).strip()
    rows = ["| # | notebook | what it teaches | study time | download |", "|---|---|---|---|---|"]
    for fact in facts:
        title = fact.title.split("·", 1)[-1].strip()
        rows.append(f"| {notebook_number(fact.path)} | [{title}](notebooks/{fact.path.name}) | "
                    f"{fact.teaches} | {fact.study_time} | {_download(fact.path, '.ipynb')} |")
    toc = "\n".join(f"notebooks/{fact.path.stem}" for fact in facts)
    return f"""# PyTorch on Fashion-MNIST

{intro}

:::{{note}}
{EDITION_NOTES[edition]}
:::

## The notebooks

Read them in order: each builds on the ones before it. Every page shows the notebook's committed
outputs and figures.

{chr(10).join(rows)}

## Two commands

{_section(readme, "Two commands")}

## More on this site

- [Measured results](results.md): the time each notebook takes and what it measured;
- [For instructors](instructors.md): the classroom workflow, from checking the room's machines to
  grading;
- [Credits](credits.md): deeplizard's series, which the notebooks follow, and Fashion-MNIST.

Search (at the top left) works offline, over every page.

```{{toctree}}
:hidden:
:caption: Notebooks

{toc}
```

```{{toctree}}
:hidden:
:caption: About the course

results
instructors
credits
```
"""


def notebook_page(notebook: nbformat.NotebookNode, path: Path, edition: str) -> nbformat.NotebookNode:
    """``notebooks/NN_topic.ipynb`` as the page shows it: ``site_notebook`` with a download link
    after the first cell."""
    page = site_notebook(notebook, edition)
    what = ("the student copy that `make student` hands out: answers replaced by stubs, outputs "
            "cleared" if edition == "student" else "the committed notebook, with its answers and outputs")
    note = nbformat.v4.new_markdown_cell(
        f":::{{note}}\n{_download(path, f'Download {path.name}')}: {what}. Open it in JupyterLab "
        "from the course folder (`make lab`).\n:::")
    page.cells.insert(1 if page.cells else 0, note)
    return page


def results_page(readme: str, target: Path) -> None:
    """``results.md``: the README's measured section with its tables rendered afresh from
    ``results/`` (``measured.update_readme`` on the page itself)."""
    body = shift_headings(_section(readme, "Measured on this project's machine"), -1)
    target.write_text(f"# Measured results\n\n{body}\n")
    try:
        update_readme(target)
    except CourseError as error:  # a result not recorded yet: the README's own tables stay
        print(f"website: the results page keeps the README's tables: {error}", file=sys.stderr)


def instructors_page(readme: str) -> str:
    """``instructors.md``: the README's classroom workflow, its cluster set-up, the data and this
    website."""
    cluster = shift_headings(_section(readme, "Turn the classroom into a cluster", 3), -1)
    data = shift_headings(_section(readme, "Data"), 1)
    website = shift_headings(_section(readme, "Website"), 1)
    return (f"# For instructors\n\n{_section(readme, 'For instructors')}\n\n"
            f"## Turn the classroom into a cluster\n\n{cluster}\n\n## Data\n\n{data}\n\n"
            f"## This website\n\n{website}\n")


def credits_page(facts: Sequence[NotebookFacts]) -> str:
    """``credits.md``: deeplizard's series, each notebook's own credit, Fashion-MNIST, the tools."""
    per_notebook = "\n\n".join(f"**[{fact.title}](notebooks/{fact.path.name})**\n\n{fact.credit}"
                               for fact in facts if fact.credit)
    return f"""# Credits

The notebooks follow deeplizard's series
[*Neural Network Programming - Deep Learning with PyTorch*](https://deeplizard.com/learn/video/v5cngxo4mIg):
its network, its code and the order of its ideas, with the code corrected where the source has
typos or gaps. Each notebook's first cell names the episodes it follows, or says that it goes beyond
the series; here they are together.

## Notebook by notebook

{per_notebook}

## The data

[Fashion-MNIST](https://github.com/zalandoresearch/fashion-mnist) is Zalando Research's data set of
70,000 grayscale images of clothing in ten classes (Han Xiao, Kashif Rasul and Roland Vollgraf,
2017), published under the MIT License.

## This website

Built with [Sphinx](https://www.sphinx-doc.org), [MyST-NB](https://myst-nb.readthedocs.io) and the
[Sphinx Book Theme](https://sphinx-book-theme.readthedocs.io); math is typeset by
[MathJax](https://www.mathjax.org), served from this site.
"""


def write_sources(source_dir: Path, edition: str = "student", notebooks_dir: Path | None = None,
                  readme_path: Path | None = None) -> list[Path]:
    """Write the site's pages for ``edition`` into ``source_dir`` (emptied first); return the
    notebooks they show."""
    _check_edition(edition)
    notebooks = discover_notebooks(notebooks_dir or course_dir() / "notebooks")
    if not notebooks:
        raise CourseError(f"no notebooks NN_topic.ipynb in {notebooks_dir or course_dir() / 'notebooks'}")
    readme = Path(readme_path or course_dir() / "README.md").read_text()
    shutil.rmtree(source_dir, ignore_errors=True)
    (source_dir / "notebooks").mkdir(parents=True)
    (source_dir / "downloads").mkdir()
    teaches, facts = readme_teaches(readme), []
    for path in notebooks:
        notebook = nbformat.read(path, as_version=4)
        facts.append(notebook_facts(path, notebook, teaches))
        nbformat.write(notebook_page(notebook, path, edition), source_dir / "notebooks" / path.name)
        if edition == "student":
            nbformat.write(download_notebook(notebook, edition), source_dir / "downloads" / path.name)
        else:  # the committed file itself, byte for byte
            shutil.copyfile(path, source_dir / "downloads" / path.name)
    (source_dir / "index.md").write_text(home_page(readme, facts, edition))
    results_page(readme, source_dir / "results.md")
    (source_dir / "instructors.md").write_text(instructors_page(readme))
    (source_dir / "credits.md").write_text(credits_page(facts))
    return notebooks


def build_site(edition: str = "student", out: Path | None = None, notebooks_dir: Path | None = None,
               jobs: int = 1, quiet: bool = True) -> Path:
    """Build ``edition``'s website into ``out`` (default ``default_site_dir(edition)``), from
    scratch; return ``out``. ``CourseError`` when Sphinx fails."""
    from sphinx.cmd.build import build_main  # installed by `make site` (requirements-site.txt)

    _check_edition(edition)
    out = Path(out or default_site_dir(edition)).resolve()
    work = course_dir() / "build" / "site-src" / edition
    write_sources(work / "source", edition, notebooks_dir)
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(work / "doctrees", ignore_errors=True)
    argv = ["-b", "html", "-c", str(course_dir() / "docs"), "-d", str(work / "doctrees"),
            "-D", f"fmnist_edition={edition}", "-j", str(jobs), *(["-q"] if quiet else []),
            str(work / "source"), str(out)]
    with warnings.catch_warnings():  # the extensions' notices about Sphinx's next major version
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        status = build_main(argv)
    if status != 0:
        raise CourseError(f"Sphinx could not build the {edition} edition (its messages are above)")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fmnist_helpers.course.website [--edition student|instructor] [--out DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m fmnist_helpers.course.website",
                                     description="Build the course's website from the committed "
                                                 "notebooks (never executed, offline).")
    parser.add_argument("--edition", choices=EDITIONS, default="student",
                        help="student (default): answers and their outputs removed; instructor: all")
    parser.add_argument("--out", type=Path, default=None,
                        help="where the site goes (default: build/site/, or build/site-instructor/)")
    parser.add_argument("--notebooks-dir", type=Path, default=None,
                        help="where the notebooks are (default: notebooks/ in the course folder)")
    parser.add_argument("--jobs", type=int, default=1, help="Sphinx processes (default 1)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        out = build_site(args.edition, args.out, args.notebooks_dir, args.jobs)
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    shown = out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out
    print(f"{args.edition} edition built in {time.perf_counter() - start:.0f} s: {shown}/index.html\n"
          f"serve it: .venv/bin/python -m http.server --directory {shown} 8000  "
          "(then open http://localhost:8000)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
