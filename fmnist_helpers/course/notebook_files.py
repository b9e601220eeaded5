"""Operations on notebook files, each an nbconvert preprocessor or built on one (as nbgrader's are).

- ``clear_outputs``: every code cell's outputs and execution count (nbconvert's
  ``ClearOutputPreprocessor``);
- ``clean_metadata``: run-specific metadata dropped, the kernel spec as JupyterLab writes it
  (nbconvert's ``ClearMetadataPreprocessor``);
- ``StubSolutions``: answers out, stubs in (the student copy's and the site's student edition);
- ``student_copy``: the notebook a student gets (``make student``, the site's student download);
- ``first_line``: how messages name a cell.

The answer markers are nbgrader's: in a code cell, the lines between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` are an answer (the scaffolding around them stays); a code cell tagged
``solution`` is a whole-cell answer; a markdown cell tagged ``solution`` gives an answer away in
prose. Cells that hold an answer also carry nbgrader's own cell metadata (``nbgrader.solution``),
so nbgrader's ``ClearSolutions`` finds the same answers (``mark_for_nbgrader``).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor, ClearOutputPreprocessor, Preprocessor
from traitlets import Bool

from .environment import KERNEL_DISPLAY_NAME, KERNEL_NAME

SOLUTION_TAG = "solution"
RAISES_TAG = "raises-exception"
"""JupyterLab's (and nbclient's) tag for a cell expected to raise: Run All goes on after it."""
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"

NBGRADER_SCHEMA = 3
"""nbgrader's cell metadata schema version."""

CLEAN_METADATA = ClearMetadataPreprocessor(
    clear_cell_metadata=True, clear_notebook_metadata=True,
    preserve_cell_metadata_mask={"tags", "nbgrader"},
    preserve_nb_metadata_mask={"kernelspec", "language_info"})
"""Keeps only what JupyterLab itself stores (tags, the kernel spec, the language info) and
nbgrader's cell metadata."""

KEPT_CELL_METADATA = ("tags", "nbgrader")

COPY_KEY = "fmnist_course"  # notebook metadata of a student copy: {"cells_sha256": ...}


def copy_of(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A deep copy of ``notebook`` (the original is never changed)."""
    return nbformat.from_dict(json.loads(json.dumps(notebook)))


def clear_outputs(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``notebook`` with every code cell's outputs and execution count cleared."""
    cleared, _ = ClearOutputPreprocessor().preprocess(copy_of(notebook), {})
    return cleared


def clean_metadata(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop run-specific metadata (papermill's, timings, widget state) from ``notebook`` and store
    the kernel spec exactly as JupyterLab writes it (opening the notebook then changes nothing)."""
    notebook, _ = CLEAN_METADATA.preprocess(notebook, {})
    notebook.metadata["kernelspec"] = {"display_name": KERNEL_DISPLAY_NAME, "language": "python",
                                       "name": KERNEL_NAME}
    for cell in notebook.cells:  # the preprocessor leaves markdown cells alone
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in KEPT_CELL_METADATA}
    return notebook


def first_line(source: str) -> str:
    """The first non-blank line of a cell's source, stripped (how messages name a cell)."""
    return next((line.strip() for line in source.splitlines() if line.strip()), "")


def is_tagged(cell: nbformat.NotebookNode, tag: str) -> bool:
    """Whether ``cell`` carries ``tag``."""
    return tag in cell.get("metadata", {}).get("tags", [])


def stub_solution_regions(source: str) -> str:
    """``source`` with every ``BEGIN``/``END SOLUTION`` region replaced by an indented stub."""
    out, inside = [], False
    for line in source.splitlines():
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
    return is_tagged(cell, SOLUTION_TAG) or (
        cell.cell_type == "code" and re.search(rf"^\s*{BEGIN}\s*$", cell.source, re.M) is not None)


class StubSolutions(Preprocessor):
    """Answers out: solution regions and solution-tagged code cells become stubs, solution-tagged
    markdown cells are dropped. With ``clear_answer_outputs`` the outputs of the cells that held
    an answer go too (printed results would give answers away); other outputs stay. With
    ``tag_stubs`` every stubbed code cell is tagged ``raises-exception``: its stub raises until the
    student answers, and Run All must still reach the check cells after it."""

    clear_answer_outputs = Bool(True, help="clear the outputs of the cells that held an answer").tag(
        config=True)
    tag_stubs = Bool(False, help="tag stubbed cells raises-exception (a student copy)").tag(
        config=True)

    def preprocess(self, nb: nbformat.NotebookNode, resources: dict[str, Any]) -> tuple[Any, Any]:
        """Stub every answer of ``nb`` (in place) and drop answer prose."""
        nb.cells = [cell for cell in nb.cells
                    if not (cell.cell_type == "markdown" and is_tagged(cell, SOLUTION_TAG))]
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: nbformat.NotebookNode, resources: dict[str, Any],
                        index: int) -> tuple[Any, Any]:
        """One code cell: its answer stubbed, its outputs cleared if it held one."""
        if cell.cell_type == "code" and has_answer(cell):
            cell.source = STUB if is_tagged(cell, SOLUTION_TAG) else stub_solution_regions(cell.source)
            if self.tag_stubs and not is_tagged(cell, RAISES_TAG):
                cell.setdefault("metadata", {}).setdefault("tags", []).append(RAISES_TAG)
            if self.clear_answer_outputs:
                cell.outputs, cell.execution_count = [], None
        return cell, resources


def without_answers(notebook: nbformat.NotebookNode, clear_answer_outputs: bool = True,
                    tag_stubs: bool = False) -> nbformat.NotebookNode:
    """A copy of ``notebook`` with its answers stubbed (``StubSolutions``)."""
    stub = StubSolutions(clear_answer_outputs=clear_answer_outputs, tag_stubs=tag_stubs)
    stubbed, _ = stub.preprocess(copy_of(notebook), {})
    return stubbed


def mark_for_nbgrader(notebook: nbformat.NotebookNode, prefix: str) -> nbformat.NotebookNode:
    """Give every answer cell of ``notebook`` nbgrader's metadata (a solution cell, not graded by
    nbgrader, ``grade_id`` ``<prefix>-answer-<n>``), in place; other cells lose theirs."""
    count = 0
    for cell in notebook.cells:
        if has_answer(cell):
            count += 1
            cell.metadata["nbgrader"] = {"grade": False, "solution": True, "locked": False,
                                         "schema_version": NBGRADER_SCHEMA,
                                         "grade_id": f"{prefix}-answer-{count}"}
        else:
            cell.metadata.pop("nbgrader", None)
    return notebook


def student_copy(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student version of ``notebook`` (the original is not changed): answers stubbed, answer
    prose dropped, every output cleared, metadata cleaned; stubbed cells tagged
    ``raises-exception``."""
    copy = clean_metadata(clear_outputs(without_answers(notebook, tag_stubs=True)))
    copy.metadata[COPY_KEY] = {"cells_sha256": cells_digest(copy)}
    return copy


def cells_digest(notebook: nbformat.NotebookNode) -> str:
    """A hash of the notebook's cell types and sources (what a student edits)."""
    text = json.dumps([[c.cell_type, c.source] for c in notebook.cells])
    return hashlib.sha256(text.encode()).hexdigest()
