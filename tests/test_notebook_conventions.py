"""Every committed notebook follows the course's conventions (docs/design.md, "How a notebook is built")."""

from __future__ import annotations

import ast
import json
import re

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from fmnist_helpers.course.catalog import discover_notebooks, notebook_parameters
from fmnist_helpers.course.hygiene import file_problems, notebook_problems
from fmnist_helpers.course.hygiene import main as hygiene_main
from fmnist_helpers.course.student import has_answer

NOTEBOOKS = discover_notebooks()
EXPECTED = ["01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14"]


def test_the_course_has_its_numbered_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == EXPECTED


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.stem)
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_title_and_learning_goals(notebook):
    path, nb = notebook
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    assert first.source.startswith(f"# {path.name[:2]} · ")
    assert "You will learn" in first.source


def test_parameters_cell_is_second_and_fully_visible_to_papermill(notebook):
    path, nb = notebook
    cell = nb.cells[1]
    assert cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", [])
    assigned = {node.target.id if isinstance(node, ast.AnnAssign) else node.targets[0].id
                for node in ast.parse(cell.source).body if isinstance(node, (ast.AnnAssign, ast.Assign))}
    seen = notebook_parameters(path)
    assert assigned == set(seen), f"papermill cannot read {assigned - set(seen)} (use Optional[...])"
    for name, spec in seen.items():
        assert spec["inferred_type_name"] not in (None, "None"), f"{name} has no type annotation"
        assert spec["help"], f"{name} has no comment saying what it is"


def test_the_checking_cell_is_one_call(notebook):
    """The first code cell after the parameters checks them all, seeds, and makes out_dir."""
    path, nb = notebook
    after = next(c for c in nb.cells[2:] if c.cell_type == "code")
    assert after.source == ('import fmnist_helpers as fh\n\n'
                            f'setup = fh.start_notebook("{path.stem}", globals())')


def test_only_the_parameters_cell_annotates_names(notebook):
    """start_notebook reads the declared parameters from the annotations the parameters cell makes."""
    _, nb = notebook
    for cell in nb.cells[2:]:
        if cell.cell_type == "code":
            tree = ast.parse(TransformerManager().transform_cell(cell.source))  # magics as Python
            assert not [n for n in tree.body if isinstance(n, ast.AnnAssign)], cell.source[:80]


def test_summary_exercises_and_solutions(notebook):
    _, nb = notebook
    lines = [ln.strip() for c in nb.cells if c.cell_type == "markdown" for ln in c.source.splitlines()]
    assert "## Summary" in lines and "## Exercises" in lines
    assert any(has_answer(c) for c in nb.cells if c.cell_type == "code")


def test_committed_outputs_are_complete_and_clean(notebook):
    """What refresh writes and the pre-commit hook checks (``hygiene``): clean metadata, the kernel
    spec exactly as JupyterLab writes it (opening the notebook does not mark it modified), run top
    to bottom, no error or widget output."""
    path, nb = notebook
    assert not file_problems(path)
    # exactly what JupyterLab writes, so opening the notebook does not mark it modified
    assert nb.metadata["kernelspec"] == {"display_name": "Python 3 (ipykernel)", "language": "python",
                                         "name": "python3"}
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not re.search(r";\s*$", cell.source), "a trailing ';' hides output (nbval ignores it)"


def test_deterministic_cells_are_checked_by_nbval(notebook):
    _, nb = notebook
    assert any("nbval-check-output" in c.metadata.get("tags", []) for c in nb.cells)


def test_the_hygiene_check_finds_what_refresh_would_clean():
    path = NOTEBOOKS[0]
    dirty = nbformat.read(path, as_version=4)
    dirty.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    dirty.metadata["papermill"] = {"duration": 1.0}
    code = [c for c in dirty.cells if c.cell_type == "code"]
    code[0].metadata["execution"] = {"iopub.execute_input": "2026-11-28T16:30:00"}
    code[1].execution_count = None
    code[-1].outputs.append(nbformat.v4.new_output("error", ename="ValueError", evalue="", traceback=[]))
    problems = "\n".join(notebook_problems(dirty, path.stem))
    for expected in ("remove papermill, widgets", "metadata ['execution', 'tags']", "not run top to bottom",
                     "an error output (ValueError)"):
        assert expected in problems


def test_the_hygiene_hook_reads_the_file_as_stored(tmp_path, capsys):
    """A trust signature is dropped by nbformat as it reads a file, but the file still holds it."""
    stored = json.loads(NOTEBOOKS[0].read_text())
    stored["metadata"]["signature"] = "sha256:0123"
    dirty = tmp_path / NOTEBOOKS[0].name
    dirty.write_text(json.dumps(stored))
    assert file_problems(dirty) == ["notebook metadata: remove signature"]
    assert hygiene_main([str(NOTEBOOKS[0]), str(dirty)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{dirty}: notebook metadata: remove signature",
        f"{dirty}: re-execute it: fmnist-course refresh --only {dirty.name[:2]}"]
    assert hygiene_main([str(NOTEBOOKS[0])]) == 0
