"""Student copies: answers replaced by stubs, answer prose dropped, outputs cleared.

This module writes the copies; one copy is ``notebook_files.student_copy`` (shared with the
website's student edition). The answers and their markers are described in ``notebook_files``
(nbgrader's markers): a solution region becomes ``# YOUR CODE HERE`` and ``raise
NotImplementedError()`` at the marker's indentation, a solution-tagged code cell becomes that stub, a
solution-tagged markdown cell is dropped. Each stubbed cell is tagged ``raises-exception``, so Run
All in JupyterLab goes on past a stub that is not answered yet and every later check cell still shows
its hint.

A copy records a hash of its cells; making copies again never overwrites a copy whose cells were
edited since (a student's work): the new copy is written beside it and the command says so. A
folder that holds the instructor's notebooks (the answers in them) is refused before anything is
written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..paths import course_dir, numbered_notebooks
from .catalog import CourseError, default_notebooks_dir, select_notebooks
from .notebook_files import (  # noqa: F401  (STUB, has_answer, ... are this module's API too)
    BEGIN,
    COPY_KEY,
    END,
    SOLUTION_TAG,
    STUB,
    cells_digest,
    clean_metadata,
    clear_outputs,
    has_answer,
    is_tagged,
    stub_solution_regions,
    student_copy,
    without_answers,
)


def default_student_dir() -> Path:
    """``student/`` in the course folder."""
    return course_dir() / "student"


def was_edited(path: Path) -> bool:
    """Whether the copy at ``path`` was edited since it was made (or is not a copy we made)."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return True
    recorded = notebook.metadata.get(COPY_KEY, {}).get("cells_sha256")
    return recorded != cells_digest(notebook)


def holds_answers(path: Path) -> bool:
    """Whether the notebook at ``path`` is one with its answers (an instructor's notebook), not a
    student copy: no copy's record, and an answer region, answer prose or an answer cell."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return False
    if COPY_KEY in notebook.metadata:
        return False
    return any(
        (cell.cell_type == "markdown" and is_tagged(cell, SOLUTION_TAG))
        or (cell.cell_type == "code" and has_answer(cell) and cell.source.strip() != STUB)
        for cell in notebook.cells)


def check_student_folder(target: Path, notebooks_dir: Path) -> None:
    """``CourseError`` when ``target`` is the folder of the notebooks the copies are made from, or
    holds notebooks with their answers: copies written there would sit beside the answers (and be
    taken for notebooks of the course)."""
    if target.expanduser().resolve() == notebooks_dir.expanduser().resolve():
        raise CourseError(f"--out {target} is the folder of the course's notebooks: student copies "
                          "go to a folder of their own (by default student/); nothing was written")
    instructors = [path.name for path in numbered_notebooks(target) if holds_answers(path)]
    if instructors:
        raise CourseError(f"--out {target} holds notebooks with their answers ("
                          f"{', '.join(instructors[:3])}{', ...' if len(instructors) > 3 else ''}), "
                          "not student copies: choose a folder of their own (by default student/); "
                          "nothing was written")


@dataclass
class WrittenCopy:
    """One copy written: where, and whether it went beside an edited copy instead of over it."""

    path: Path
    kept: Path | None = None  # the edited copy left in place


def write_student_copies(target: Path | None = None, only: str | Sequence[str] | None = None,
                         notebooks_dir: Path | None = None) -> list[WrittenCopy]:
    """Write student copies of the selected notebooks into ``target`` (default ``student/``).

    A copy edited since it was made stays; the new one goes beside it as ``<name>.new.ipynb``.
    ``CourseError``, before anything is written, for a ``target`` that holds the instructor's
    notebooks (``check_student_folder``).
    """
    target = target or default_student_dir()
    notebooks_dir = notebooks_dir or default_notebooks_dir()
    check_student_folder(target, notebooks_dir)
    notebooks = select_notebooks(only, notebooks_dir)  # all readable
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        copy = student_copy(nbformat.read(path, as_version=4))
        destination, kept = target / path.name, None
        if destination.exists() and was_edited(destination):
            kept, destination = destination, target / f"{path.stem}.new.ipynb"
        nbformat.write(copy, destination)
        written.append(WrittenCopy(destination, kept))
    return written
