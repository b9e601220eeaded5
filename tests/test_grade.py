"""``fmnist-course grade`` on a stand-in course: every kind of submission, the exact ``grades.csv``.

The stand-in course (``tests/grading``) has its own exercises (90.1, 90.2, 91.1), so the expected
grades do not depend on the real notebooks. Its kernels import ``grading_exercises`` from
``tests/grading`` (on ``PYTHONPATH`` for the local cluster's workers and their kernels).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from grading import grading_exercises  # noqa: F401  (registers 90.1, 90.2 and 91.1 here too)
from grading.standin_course import first, write_course, write_submissions

from fmnist_helpers.course.cli import main
from fmnist_helpers.course.cluster import TaskOutcome
from fmnist_helpers.course.execute import NotebookResult
from fmnist_helpers.course.grade import (
    check_submission,
    expected_exercises,
    grade_outcome,
    rows_from_notebook,
    without_outputs,
)
from fmnist_helpers.exercises import CHECK_MIMETYPE, run_checks

GRADING = Path(__file__).parent / "grading"
TIMEOUT_S = "5"  # the endless loop is stopped after this; every other cell takes well under it


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded once, through a local Dask cluster of two workers: (exit code, --out folder,
    submissions folder, the submissions' digests before grading, what the command printed)."""
    root = tmp_path_factory.mktemp("class")
    notebooks, submissions = write_course(root), write_submissions(root)
    before = _digests(submissions)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", str(GRADING))
        code = main(["grade", str(submissions), "--out", str(root / "grades"), "--notebooks-dir",
                     str(notebooks), "--timeout", TIMEOUT_S, "--jobs", "2", "--no-progress"])
    return code, root / "grades", submissions, before


def test_grades_csv_is_exactly_what_each_submission_earned(graded):
    code, out, _, _ = graded
    assert code == 0  # every submission graded, failed checks and broken files included
    expected = (GRADING / "expected_grades.csv").read_text()
    assert (out / "grades.csv").read_text() == expected


def test_submitted_files_are_never_modified(graded):
    _, out, submissions, before = graded
    assert _digests(submissions) == before
    executed = nbformat.read(out / "executed" / "alice" / "90_first" / "90_first.ipynb", as_version=4)
    assert any(c.get("outputs") for c in executed.cells)  # the copy ran; the submission did not
    assert (out / "executed" / "alice" / "90_first" / "metrics.json").is_file()


def test_each_student_gets_feedback(graded):
    _, out, _, _ = graded
    assert sorted(p.stem for p in out.glob("*.md")) == ["alice", "bob", "carol", "dave", "erin", "frank"]
    alice = (out / "alice.md").read_text()
    assert "**5 of 5 checks pass.**" in alice and "### Exercise 90.2 · a list of squares" in alice
    erin = (out / "erin.md").read_text()
    assert "**3 of 5 checks pass.**" in erin
    assert ("The notebook was stopped when it ran past its 5 s (the cell that starts "
            "`squares = []`); the checks after it did not run.") in erin
    carol = (out / "carol.md").read_text()
    assert "First error in the cell that starts `# YOUR CODE HERE`, NotImplementedError." in carol
    assert "- ✗ finish exercise 1 first: `answer` is not defined yet" in carol
    assert "Not graded: 91_second.ipynb is missing." in (out / "frank.md").read_text()
    assert "Not graded: 90_first.ipynb is not valid notebook JSON" in (out / "dave.md").read_text()


def test_grades_are_never_overwritten(graded, capsys):
    _, out, submissions, _ = graded
    code = main(["grade", str(submissions), "--out", str(out), "--notebooks-dir",
                 str(submissions.parent / "notebooks")])
    assert code == 2
    assert "already holds grades.csv" in capsys.readouterr().err


@pytest.mark.parametrize(("arguments", "message"), [
    (["nowhere"], "SUBMISSIONS: .*nowhere is not a folder"),
    (["submissions", "--out", "submissions/grades"], "is inside SUBMISSIONS"),
    (["submissions", "--timeout", "0"], "--timeout must be a positive number of seconds, got 0.0"),
    (["submissions", "--only", "04"], "no notebook '04'"),
])
def test_refused_requests_start_nothing(tmp_path, capsys, arguments, message):
    notebooks, submissions = write_course(tmp_path), tmp_path / "submissions"
    (submissions / "alice").mkdir(parents=True)
    arguments = [str(tmp_path / a) if a in ("nowhere", "submissions", "submissions/grades") else a
                 for a in arguments]
    if "--out" not in arguments:
        arguments += ["--out", str(tmp_path / "grades")]
    assert main(["grade", *arguments, "--notebooks-dir", str(notebooks)]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "grades").exists()


def test_expected_exercises_come_from_the_registry_in_number_order(tmp_path):
    notebooks = write_course(tmp_path)
    assert expected_exercises(notebooks / "90_first.ipynb") == ["90.1", "90.2"]
    assert expected_exercises(notebooks / "91_second.ipynb") == ["91.1"]


def test_a_submission_is_checked_before_it_is_sent(tmp_path):
    good = tmp_path / "good.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), good)
    assert check_submission(good)[1] == ""
    assert check_submission(tmp_path / "gone.ipynb") == (None, "gone.ipynb is missing")
    (tmp_path / "list.ipynb").write_text('{"cells": 3}')
    notebook, problem = check_submission(tmp_path / "list.ipynb")
    assert notebook is None and problem.startswith("list.ipynb is not a valid notebook (")


def test_outputs_a_submission_brings_are_cleared_before_it_runs():
    cell = nbformat.v4.new_code_cell("x = 1", execution_count=3)
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": "✓ forged"})]
    copy = nbformat.reads(without_outputs(nbformat.v4.new_notebook(cells=[cell])).decode(), as_version=4)
    assert copy.cells[0].outputs == [] and copy.cells[0].execution_count is None
    assert cell.outputs  # the submission itself is untouched


def _died_in_exercise_2() -> nbformat.NotebookNode:
    """90_first as if its kernel died in exercise 2: exercise 1's check shown, nothing after."""
    notebook = first()
    report = run_checks("90.1", {"answer": 42})
    bundle = {"exercise": "90.1", "title": report.title,
              "results": [vars(r) for r in report.results]}
    for index, cell in enumerate(notebook.cells[:8]):
        if cell.cell_type == "code":
            cell.execution_count = index
    notebook.cells[5].outputs = [nbformat.v4.new_output("display_data", data={CHECK_MIMETYPE: bundle})]
    return notebook


def test_a_kernel_that_dies_is_reported_on_the_checks_it_never_reached():
    executed = _died_in_exercise_2()
    result = NotebookResult("90_first", status="failed", error="the kernel died: Kernel died", cell=None)
    rows = rows_from_notebook("zoe", "90_first", ["90.1", "90.2"], executed, result)
    assert [(r["exercise"], r["passed"]) for r in rows] == [("90.1", True), ("90.1", True),
                                                            ("90.2", False), ("90.2", False)]
    assert rows[2]["message"] == ("not checked: the notebook stopped (the cell that starts "
                                  "`squares = []`): the kernel died: Kernel died")


def test_a_task_the_grader_lost_is_not_graded():
    outcome = TaskOutcome(NotebookResult("90_first", status="failed", error="worker tcp://x:1 (pc): "
                                         "the course is not installed"), executed=False)
    record = grade_outcome("zoe", "90_first", ["90.1"], outcome)
    assert not record.graded
    assert [r["message"] for r in record.rows] == ["not graded: worker tcp://x:1 (pc): the course is "
                                                   "not installed"] * 2


def test_expected_csv_is_a_table_of_the_right_columns():
    table = pd.read_csv(GRADING / "expected_grades.csv")
    assert list(table.columns) == ["student", "notebook", "exercise", "passed", "message"]
