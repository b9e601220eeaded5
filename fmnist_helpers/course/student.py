"""Student copies: answers replaced by stubs, answer prose dropped, outputs cleared.

The answer markers are nbgrader's, so the instructor's notebooks import into nbgrader unchanged:

- in a code cell, the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` are an answer;
  the copy keeps the rest of the cell (the scaffolding) and puts ``# YOUR CODE HERE`` and
  ``raise NotImplementedError()`` in its place, at the marker's indentation;
- a code cell tagged ``solution`` is a whole-cell answer: the copy keeps only the stub;
- a markdown cell tagged ``solution`` gives an answer away in prose: the copy drops it.

A copy records a hash of its cells; making copies again never overwrites a copy whose cells were
edited since (a student's work): the new copy is written beside it and the command says so.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..paths import course_dir
from .catalog import default_notebooks_dir, select_notebooks
from .refresh import clean_metadata

SOLUTION_TAG = "solution"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
COPY_KEY = "fmnist_course"  # notebook metadata of a copy: {"cells_sha256": ...}


def default_student_dir() -> Path:
    """``student/`` in the course folder."""
    return course_dir() / "student"


def stub_solution_regions(source: str) -> str:
    """``source`` with every ``BEGIN``/``END SOLUTION`` region replaced by an indented stub."""
    lines, out, inside = source.splitlines(), [], False
    for line in lines:
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"{BEGIN} inside another solution region")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + stub_line for stub_line in STUB.splitlines()]
        elif stripped == END:
            if not inside:
                raise ValueError(f"{END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN} without {END}")
    return "\n".join(out)


def has_answer(cell: nbformat.NotebookNode) -> bool:
    """Whether ``cell`` is or holds an answer (tagged ``solution`` or with a solution region)."""
    tagged = SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])
    return tagged or (cell.cell_type == "code" and re.search(rf"^\s*{BEGIN}\s*$", cell.source, re.M)
                      is not None)


def student_copy(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student version of ``notebook`` (the original is not changed)."""
    copy = nbformat.from_dict(json.loads(json.dumps(notebook)))
    cells = []
    for cell in copy.cells:
        tagged = SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])
        if cell.cell_type == "markdown" and tagged:
            continue
        if cell.cell_type == "code":
            cell.source = STUB if tagged else stub_solution_regions(cell.source)
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    copy.cells = cells
    copy = clean_metadata(copy)
    copy.metadata[COPY_KEY] = {"cells_sha256": cells_digest(copy)}
    return copy


def cells_digest(notebook: nbformat.NotebookNode) -> str:
    """A hash of the notebook's cell types and sources (what a student edits)."""
    text = json.dumps([[c.cell_type, c.source] for c in notebook.cells])
    return hashlib.sha256(text.encode()).hexdigest()


def was_edited(path: Path) -> bool:
    """Whether the copy at ``path`` was edited since it was made (or is not a copy we made)."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return True
    recorded = notebook.metadata.get(COPY_KEY, {}).get("cells_sha256")
    return recorded != cells_digest(notebook)


@dataclass
class WrittenCopy:
    """One copy written: where, and whether it went beside an edited copy instead of over it."""

    path: Path
    kept: Path | None = None  # the edited copy left in place


def write_student_copies(target: Path | None = None, only: str | Sequence[str] | None = None,
                         notebooks_dir: Path | None = None) -> list[WrittenCopy]:
    """Write student copies of the selected notebooks into ``target`` (default ``student/``).

    A copy edited since it was made stays; the new one goes beside it as ``<name>.new.ipynb``.
    """
    target = target or default_student_dir()
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for path in select_notebooks(only, notebooks_dir or default_notebooks_dir()):
        copy = student_copy(nbformat.read(path, as_version=4))
        destination, kept = target / path.name, None
        if destination.exists() and was_edited(destination):
            kept, destination = destination, target / f"{path.stem}.new.ipynb"
        nbformat.write(copy, destination)
        written.append(WrittenCopy(destination, kept))
    return written
