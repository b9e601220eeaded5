"""Student copies: answer regions and cells stubbed (and tagged to let Run All go on), answer prose
dropped, edited copies kept, the instructor's folder refused, outputs of their own."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from fmnist_helpers.course.catalog import CourseError, discover_notebooks, select_notebooks
from fmnist_helpers.course.cli import main
from fmnist_helpers.course.environment import KERNEL_NAME, apply_environment, kernel_environment
from fmnist_helpers.course.notebook_files import RAISES_TAG
from fmnist_helpers.course.student import (
    STUB,
    has_answer,
    stub_solution_regions,
    student_copy,
    write_student_copies,
)
from fmnist_helpers.results import default_out_dir, resolve_out_dir

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


def test_stubbed_cells_are_tagged_so_run_all_goes_on_past_them():
    copy = student_copy(_exercise_notebook())
    tagged = [RAISES_TAG in c.metadata.get("tags", []) for c in copy.cells]
    assert tagged == [False, True, True, False]  # the region's cell and the answer cell
    assert "solution" in copy.cells[2].metadata["tags"]  # nbgrader's and the site's tag stays


def test_a_student_copy_runs_to_its_end_in_a_kernel_that_stops_at_errors(tmp_path):
    """What JupyterLab's Run All does: a cell that raises stops the run unless it is tagged."""
    original = new_notebook(cells=[
        new_code_cell("def answer():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION"),
        new_code_cell("### BEGIN SOLUTION\nvalue = answer()\n### END SOLUTION"),
        new_code_cell("print('check cell ran')"),
    ])
    copy = student_copy(original)
    apply_environment()
    with kernel_environment():
        NotebookClient(copy, kernel_name=KERNEL_NAME, timeout=60,
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert [o.ename for o in copy.cells[1].outputs] == ["NotImplementedError"]
    assert copy.cells[2].outputs[0].text == "check cell ran\n"


def _course_with_answers(tmp_path: Path) -> Path:
    notebooks = tmp_path / "course" / "notebooks"
    notebooks.mkdir(parents=True)
    nbformat.write(_exercise_notebook(), notebooks / "04_training.ipynb")
    return notebooks


def test_the_notebooks_folder_is_refused_as_out_before_anything_is_written(tmp_path, monkeypatch,
                                                                            capsys):
    notebooks = _course_with_answers(tmp_path)
    monkeypatch.chdir(notebooks.parent)
    before = sorted(notebooks.iterdir())
    assert main(["student", "--out", "notebooks"]) == 2
    err = capsys.readouterr().err
    assert "--out notebooks is the folder of the course's notebooks" in err
    assert "nothing was written" in err and "edited since" not in err
    assert sorted(notebooks.iterdir()) == before  # no NN_topic.new.ipynb beside the answers


def test_a_folder_holding_notebooks_with_answers_is_refused(tmp_path, capsys):
    notebooks = _course_with_answers(tmp_path)
    elsewhere = tmp_path / "backup"
    elsewhere.mkdir()
    nbformat.write(_exercise_notebook(), elsewhere / "04_training.ipynb")
    assert main(["student", "--out", str(elsewhere), "--notebooks-dir", str(notebooks)]) == 2
    assert "holds notebooks with their answers (04_training.ipynb)" in capsys.readouterr().err
    assert [p.name for p in elsewhere.iterdir()] == ["04_training.ipynb"]
    with pytest.raises(CourseError, match="nothing was written"):
        write_student_copies(elsewhere, notebooks_dir=notebooks)
    edited = tmp_path / "student"  # a student's edited copies are not answers: the usual way
    (first,) = write_student_copies(edited, notebooks_dir=notebooks)
    work = nbformat.read(first.path, as_version=4)
    work.cells[2].source = "answer = 41 + 1"
    nbformat.write(work, first.path)
    (again,) = write_student_copies(edited, notebooks_dir=notebooks)
    assert again.kept == first.path and again.path.name == "04_training.new.ipynb"


def test_copies_written_aside_are_not_notebooks_of_the_course(tmp_path):
    folder = tmp_path / "student"
    folder.mkdir()
    for name in ("02_building.ipynb", "02_building.new.ipynb", "04_training.new.ipynb"):
        nbformat.write(_exercise_notebook(), folder / name)
    assert [p.name for p in discover_notebooks(folder)] == ["02_building.ipynb"]
    assert [p.name for p in select_notebooks("02", folder)] == ["02_building.ipynb"]
    with pytest.raises(CourseError, match="no notebook '04'"):
        select_notebooks("04", folder)


def test_student_copies_keep_their_outputs_apart_from_the_instructors(tmp_path, monkeypatch):
    """A kernel runs in its notebook's folder: the instructor's notebooks write to the course's
    outputs/, student copies to outputs/ in their own folder (05 reads 04's from there too)."""
    notebooks = _course_with_answers(tmp_path)
    course = notebooks.parent
    write_student_copies(course / "student", notebooks_dir=notebooks)
    monkeypatch.delenv("FMNIST_COURSE", raising=False)
    for folder, outputs in [(notebooks, course / "outputs"), (course, course / "outputs"),
                            (course / "student", course / "student" / "outputs")]:
        monkeypatch.chdir(folder)
        assert default_out_dir("04_training") == outputs.resolve() / "04_training", folder
        assert resolve_out_dir(None, "05_analysis") == outputs.resolve() / "05_analysis"
    assert resolve_out_dir(str(tmp_path / "mine"), "04_training") == tmp_path / "mine"
