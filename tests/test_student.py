"""Student copies: answer regions and cells stubbed, answer prose dropped, edited copies kept."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from fmnist_helpers.course.catalog import discover_notebooks
from fmnist_helpers.course.cli import main
from fmnist_helpers.course.student import (
    STUB,
    has_answer,
    stub_solution_regions,
    student_copy,
    write_student_copies,
)

REGION = '''\
def short_run(make_optimizer):
    """Scaffolding the student keeps."""
    net = make()
    ### BEGIN SOLUTION
    opt = make_optimizer(net.parameters())
    secret = 42
    ### END SOLUTION
    return net
'''


def test_a_region_becomes_an_indented_stub_and_the_scaffolding_stays():
    assert stub_solution_regions(REGION) == '''\
def short_run(make_optimizer):
    """Scaffolding the student keeps."""
    net = make()
    # YOUR CODE HERE
    raise NotImplementedError()
    return net'''


@pytest.mark.parametrize("source", ["### BEGIN SOLUTION\nx = 1", "x = 1\n### END SOLUTION",
                                    "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION"])
def test_unbalanced_markers_are_refused(source):
    with pytest.raises(ValueError, match="SOLUTION"):
        stub_solution_regions(source)


def _exercise_notebook() -> nbformat.NotebookNode:
    return new_notebook(cells=[
        new_markdown_cell("## Exercises\n1. Train with SGD."),
        new_code_cell(REGION),
        new_markdown_cell("SGD ends well behind Adam here.", metadata={"tags": ["solution"]}),
        new_code_cell("answer = 6 * 7", metadata={"tags": ["solution"]}),
        new_code_cell("check()"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                "language": "python"}})


def test_copy_keeps_scaffolding_drops_answer_prose_and_clears_outputs():
    original = _exercise_notebook()
    original.cells[4].outputs = [nbformat.v4.new_output("stream", text="✓")]
    copy = student_copy(original)
    assert [c.cell_type for c in copy.cells] == ["markdown", "code", "code", "code"]
    assert "secret" not in json.dumps(copy) and "well behind Adam" not in json.dumps(copy)
    assert "Scaffolding the student keeps." in copy.cells[1].source
    assert copy.cells[2].source == STUB and all(c.get("outputs", []) == [] for c in copy.cells)
    assert original.cells[3].source == "answer = 6 * 7"  # the original is untouched


def test_making_copies_again_keeps_a_students_edits(tmp_path, capsys):
    source = tmp_path / "notebooks"
    source.mkdir()
    nbformat.write(_exercise_notebook(), source / "04_training.ipynb")
    out = tmp_path / "student"
    (first,) = write_student_copies(out, notebooks_dir=source)
    (again,) = write_student_copies(out, notebooks_dir=source)  # untouched: replaced quietly
    assert first.path == again.path and again.kept is None
    edited = nbformat.read(first.path, as_version=4)
    edited.cells[2].source = "answer = 41 + 1  # my work"
    nbformat.write(edited, first.path)
    code = main(["student", "--out", str(out), "--notebooks-dir", str(source)])
    assert code == 0
    assert "my work" in first.path.read_text()
    assert (out / "04_training.new.ipynb").is_file()
    assert "04_training.ipynb was edited since it was made: kept it, wrote 04_training.new.ipynb" \
        in capsys.readouterr().out


@pytest.mark.parametrize("path", discover_notebooks(), ids=lambda p: p.stem)
def test_course_copies_hold_no_answer(path, tmp_path):
    original = nbformat.read(path, as_version=4)
    copy = student_copy(original)
    answers = [c for c in original.cells if has_answer(c)]
    assert answers, f"{path.name} has no answers"
    lesson_lines = {ln.strip() for c in original.cells if not has_answer(c) for ln in c.source.splitlines()}
    copy_lines = {ln.strip() for c in copy.cells for ln in c.source.splitlines()}
    for cell in answers:
        regions = cell.source if "solution" in cell.metadata.get("tags", []) else "\n".join(
            ln for ln in cell.source.split("### BEGIN SOLUTION")[1:] for ln in [ln.split(
                "### END SOLUTION")[0]])
        only_answer = {ln.strip() for ln in regions.splitlines()} - lesson_lines - {""}
        assert not only_answer & copy_lines, f"{path.name}: an answer line survives"
    assert all(c.get("outputs", []) == [] for c in copy.cells)
    assert copy.metadata["kernelspec"]["display_name"] == "Python 3 (ipykernel)"  # as Lab writes it


def test_copies_of_the_course(tmp_path):
    copies = write_student_copies(tmp_path / "student")
    assert [c.path.name for c in copies] == [p.name for p in discover_notebooks()]
    assert all(c.kept is None for c in copies)
    assert not any(Path(tmp_path / "student").glob("*.new.ipynb"))
