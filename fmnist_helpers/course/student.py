"""Student copies: answers replaced by stubs, answer prose dropped, outputs cleared.

The answers and their markers are described in ``notebook_files`` (nbgrader's markers): a solution
region becomes ``# YOUR CODE HERE`` and ``raise NotImplementedError()`` at the marker's indentation,
a solution-tagged code cell becomes that stub, a solution-tagged markdown cell is dropped.

A copy records a hash of its cells; making copies again never overwrites a copy whose cells were
edited since (a student's work): the new copy is written beside it and the command says so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..paths import course_dir
from .catalog import default_notebooks_dir, select_notebooks
from .notebook_files import (  # noqa: F401  (STUB, has_answer, ... are this module's API too)
    BEGIN,
    END,
    SOLUTION_TAG,
    STUB,
    clean_metadata,
    clear_outputs,
    has_answer,
    stub_solution_regions,
    without_answers,
)

COPY_KEY = "fmnist_course"  # notebook metadata of a copy: {"cells_sha256": ...}


def default_student_dir() -> Path:
    """``student/`` in the course folder."""
    return course_dir() / "student"


def student_copy(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student version of ``notebook`` (the original is not changed): answers stubbed, answer
    prose dropped, every output cleared, metadata cleaned."""
    copy = clean_metadata(clear_outputs(without_answers(notebook)))
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
