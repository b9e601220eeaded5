"""The answer cells carry nbgrader's metadata, and nbgrader's own ``ClearSolutions`` takes out the
same answers as ``make student`` (where nbgrader is installed; it is not one of the course's pins)."""

from __future__ import annotations

import nbformat
import pytest

from fmnist_helpers.course.catalog import discover_notebooks
from fmnist_helpers.course.notebook_files import STUB, copy_of, has_answer, without_answers

NOTEBOOKS = discover_notebooks()


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.stem)
def notebook(request):
    return nbformat.read(request.param, as_version=4)


def test_answer_cells_and_only_they_are_nbgrader_solution_cells(notebook):
    ids = []
    for cell in notebook.cells:
        marks = cell.metadata.get("nbgrader")
        if has_answer(cell):
            assert marks is not None, f"an answer cell without nbgrader's metadata: {cell.source[:60]!r}"
            assert marks["solution"] is True and marks["grade"] is False and marks["schema_version"] == 3
            ids.append(marks["grade_id"])
        else:
            assert marks is None, f"nbgrader's metadata on a cell that holds no answer: {cell.source[:60]!r}"
    assert ids and len(set(ids)) == len(ids)


def test_nbgrader_clear_solutions_takes_out_the_same_answers(notebook):
    preprocessors = pytest.importorskip("nbgrader.preprocessors")
    cleared, _ = preprocessors.ClearSolutions(code_stub={"python": STUB}).preprocess(
        copy_of(notebook), {})
    ours = without_answers(notebook, clear_answer_outputs=False)
    theirs = [c.source for c in cleared.cells if c.cell_type == "code"]
    assert theirs == [c.source for c in ours.cells if c.cell_type == "code"]
