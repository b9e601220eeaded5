"""Student copies: every ``solution``-tagged cell becomes a stub, every output is cleared."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearOutputPreprocessor, Preprocessor

from .runner import NOTEBOOKS_DIR, REPO_ROOT, select_notebooks

SOLUTION_TAG = "solution"
STUB = "# YOUR CODE HERE\nraise NotImplementedError"
STUDENT_DIR = REPO_ROOT / "student"


class SolutionStubPreprocessor(Preprocessor):
    """Replace the source of each cell tagged ``solution`` with ``STUB`` (tag kept, so it's marked)."""

    def preprocess_cell(self, cell, resources, index):
        if SOLUTION_TAG in cell.get("metadata", {}).get("tags", []):
            cell.source = STUB
            cell.outputs = []
            cell.execution_count = None
        return cell, resources


def student_copy(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return the student version of ``notebook``: solutions stubbed, all outputs cleared."""
    copy = nbformat.from_dict(notebook)
    for preprocessor in (SolutionStubPreprocessor(), ClearOutputPreprocessor()):
        copy, _ = preprocessor.preprocess(copy, {})
    return copy


def write_student_copies(target: Path = STUDENT_DIR, only: str | Sequence[str] | None = None,
                         notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Path]:
    """Write student copies of the selected notebooks into ``target``; return their paths."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for path in select_notebooks(only, notebooks_dir):
        copy = student_copy(nbformat.read(path, as_version=4))
        destination = target / path.name
        nbformat.write(copy, destination)
        written.append(destination)
    return written
