"""``fmnist-course grade`` on a stand-in course, graded as a class would be: honest answers, wrong
ones, forged results, replaced check functions, deleted check cells, a submission that reads, writes
and connects where it should not, and resource bombs; the exact ``grades.csv`` and the other tables.

The stand-in course (``tests/grading``) has its own exercises (90.1, 90.2, 91.1) and a hidden
check, so the expected grades do not depend on the real notebooks. Its kernels import
``grading_exercises`` from ``tests/grading`` (on ``PYTHONPATH`` for the local cluster's workers,
their kernels and the probe processes).
"""

from __future__ import annotations

import hashlib
import re
import socket
from dataclasses import replace
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from exercise_answers import verdicts
from grading import grading_exercises  # noqa: F401  (registers 90.1, 90.2 and 91.1 here too)
from grading.standin_course import first, write_course, write_submissions

from fmnist_helpers.course import grade, sandbox
from fmnist_helpers.course.cli import main
from fmnist_helpers.course.cluster import TaskOutcome
from fmnist_helpers.course.execute import NotebookResult, Status
from fmnist_helpers.course.grade import check_submission, expected_exercises, grade_outcome, without_outputs
from fmnist_helpers.course.gradebook import GRADE_COLUMNS
from fmnist_helpers.course.grading_task import register
from fmnist_helpers.course.tampering import code_findings
from fmnist_helpers.exercises import EXERCISES

GRADING = Path(__file__).parent / "grading"
TIMEOUT_S = "5"  # the endless loop is stopped after this; every other cell takes well under it
SANDBOXED = sandbox.sandbox_support()[0]
STUDENTS = ["alice", "bob", "carol", "dave", "erin", "frank", "gina", "hank", "ivy", "jack", "kate",
            "liam", "mia"]


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded once, through a local Dask cluster of two workers, with the hidden check
    and the roster: (exit code, --out folder, submissions folder, their digests before grading)."""
    root = tmp_path_factory.mktemp("class")
    server = socket.create_server(("127.0.0.1", 0))  # what kate tries to reach
    notebooks = write_course(root)
    submissions = write_submissions(root, server.getsockname()[1])
    before = _digests(submissions)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", f"{GRADING}:{GRADING.parent}")
        code = main(["grade", str(submissions), "--out", str(root / "grades"), "--notebooks-dir",
                     str(notebooks), "--timeout", TIMEOUT_S, "--jobs", "2", "--no-progress",
                     "--hidden-checks", str(GRADING / "hidden_checks.py"),
                     "--roster", str(GRADING / "roster.csv")])
    server.close()
    return code, root / "grades", submissions, before


def _grades(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "grades.csv", dtype={"exercise": str})


def _rows(out: Path, student: str) -> pd.DataFrame:
    table = _grades(out)
    return table[table["student"] == student]


def test_grades_csv_is_exactly_what_each_submission_earned(graded):
    code, out, _, _ = graded
    assert code == 0  # every submission graded, failed checks and broken files included
    if not SANDBOXED:
        pytest.skip("the bombs' rows depend on the sandbox's limits")
    expected = (GRADING / "expected_grades.csv").read_text().splitlines()
    bombs = ("liam,", "mia,")  # how far a bomb gets depends on the machine's load: see below
    assert [r for r in (out / "grades.csv").read_text().splitlines() if not r.startswith(bombs)] == expected


def test_answers_written_differently_or_without_check_cells_get_every_point(graded):
    _, out, _, _ = graded
    for student in ("alice", "gina", "jack"):
        rows = _rows(out, student)
        mine = rows[rows["notebook"] == "90_first"]
        assert mine["passed"].all() and mine["points"].sum() == mine["max_points"].sum() == 6, student
    jack = (out / "jack.md").read_text()
    assert ("The check cells of exercises 90.1 and 90.2 were removed or changed; the grader ran the "
            "checks anyway.") in jack


def test_forged_results_and_replaced_checks_earn_nothing_and_are_reported(graded):
    _, out, _, _ = graded
    for student in ("hank", "ivy"):
        assert _rows(out, student)["points"].sum() == 0, student
    hank = (out / "hank.md").read_text()
    assert "**Tampering with the checks**" in hank
    assert ("the notebook displayed ✓ for 1 check(s) that the grader's own run failed: 90.1 “`answer` "
            "is six times seven”") in hank
    ivy = (out / "ivy.md").read_text()
    assert "replaces the course's check functions and interferes with the grader's hand-over" in ivy
    report = (out / "report.md").read_text()
    assert "hank/90_first: the notebook displayed ✓" in report and "ivy/90_first: cell " in report


@pytest.mark.skipif(not SANDBOXED, reason="the sandbox needs root and namespaces here")
def test_a_submission_cannot_read_write_or_connect_outside_its_folder(graded):
    _, out, submissions, _ = graded
    executed = nbformat.read(out / "executed" / "kate" / "90_first" / "90_first.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in executed.cells if "attempt(" in c.source
                      for o in c.outputs)
    assert "read another submission failed: FileNotFoundError" in printed  # the folder looks empty
    assert "list the submissions failed: FileNotFoundError" in printed
    assert "write beside the submissions failed" in printed
    assert "connect to 127.0.0.1 failed: ConnectionRefusedError" in printed
    assert "write to the host's /tmp SUCCEEDED" in printed  # a private /tmp of its own ...
    assert not Path("/tmp/kate-was-here").exists()  # ... that is not the host's
    assert not (submissions / "kate-was-here").exists()
    assert re.search(r"uid (\d+)", printed) and int(re.search(r"uid (\d+)", printed)[1]) >= sandbox.UID_BASE
    assert "Sandbox: on" in (out / "report.md").read_text()


@pytest.mark.skipif(not SANDBOXED, reason="the limits come with the sandbox")
def test_bombs_end_with_a_row_that_says_what_happened_and_leave_nothing_running(graded):
    _, out, _, _ = graded
    liam = (out / "liam.md").read_text()
    assert ("First error in the cell that starts `hog = bytearray(64 * 2**30)  # 64 GiB at once`, "
            "MemoryError.") in liam
    for student in ("liam", "mia"):
        rows = _rows(out, student)
        first_exercise = rows[rows["exercise"] == "90.1"]
        assert len(first_exercise) == 2 and first_exercise["passed"].all(), student  # graded up to the bomb
    mia = (out / "mia.md").read_text()  # the process limit stops it, or the time limit on a busy machine
    assert ("First error in the cell that starts `import os, time`, BlockingIOError" in mia
            or "ran past its 5 s (the cell that starts `import os, time`)" in mia)
    assert not [uid for uid in _sandbox_uids() if uid >= sandbox.UID_BASE]


def _sandbox_uids() -> list[int]:
    """The uids of live processes (zombies left out). Another grading run on this machine at the
    same time would show up here too: CI runs none."""
    uids = []
    for entry in Path("/proc").iterdir():
        try:
            fields = dict(line.split(":", 1) for line in (entry / "status").read_text().splitlines())
        except (OSError, ValueError):
            continue
        if not fields.get("State", "").strip().startswith(("Z", "X")):
            uids.append(int(fields["Uid"].split()[0]))
    return uids


def test_hidden_checks_show_their_description_never_their_code(graded):
    _, out, _, _ = graded
    hidden = _grades(out).query("hidden")
    assert set(hidden["check"]) == {"`squares` ends with 16"} and set(hidden["exercise"]) == {"90.2"}
    alice = (out / "alice.md").read_text()
    assert "- ✓ hidden check: `squares` ends with 16" in alice
    assert "[-1:]" not in alice and "`squares` does not end" not in alice
    assert "- ✗ hidden check: `squares` ends with 16" in (out / "bob.md").read_text()


def test_scores_and_the_canvas_gradebook_add_up(graded):
    _, out, _, _ = graded
    grades = _grades(out)
    scores = pd.read_csv(out / "scores.csv").set_index("student")
    assert list(scores.columns) == ["90_first", "91_second", "total", "possible", "percent"]
    assert list(scores.index) == STUDENTS
    for student, mine in grades.groupby("student"):
        by_notebook = mine.groupby("notebook")["points"].sum()
        assert scores.loc[student, "90_first"] == by_notebook["90_first"]
        assert scores.loc[student, "total"] == mine["points"].sum()
        assert scores.loc[student, "possible"] == mine["max_points"].sum() == 7
    assert scores.loc["alice", "percent"] == 100.0 and scores.loc["bob", "percent"] == round(100 * 4 / 7, 1)
    book = pd.read_csv(out / "gradebook.csv", dtype=str, keep_default_na=False)
    assert list(book.columns) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "90_first",
                                  "91_second"]
    assert book.iloc[0].tolist() == ["Points Possible", "", "", "", "", "6", "1"]
    assert book.iloc[1:].values.tolist() == [
        ["Alice Ames", "1001", "a.ames", "", "A", "6", "1"],
        ["Bob Burr", "1002", "b.burr", "", "A", str(scores.loc["bob", "90_first"]), "1"],
        ["Gina Gale", "1007", "g.gale", "", "B", "6", "0"],
        ["Noor Nasser", "1099", "n.nasser", "", "B", "0", "0"]]  # rostered, never submitted


def test_checks_summary_gives_each_checks_pass_rate_and_a_chart(graded):
    _, out, _, _ = graded
    grades = _grades(out)
    summary = pd.read_csv(out / "checks_summary.csv", dtype={"exercise": str})
    assert len(summary) == len(grades.drop_duplicates(["notebook", "exercise", "check"]))
    for row in summary.itertuples():
        mine = grades[(grades["exercise"] == row.exercise) & (grades["check"] == row.check)]
        assert row.students == len(STUDENTS) and row.passed == mine["passed"].sum()
        assert row.pass_rate == round(mine["passed"].mean(), 3)
        assert row.mean_points == round(mine["points"].mean(), 2)
    assert (out / "checks_summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_submitted_files_are_never_modified(graded):
    _, out, submissions, before = graded
    assert _digests(submissions) == before
    executed = nbformat.read(out / "executed" / "alice" / "90_first" / "90_first.ipynb", as_version=4)
    assert any(c.get("outputs") for c in executed.cells)  # the copy ran; the submission did not
    assert (out / "executed" / "alice" / "90_first" / "metrics.json").is_file()


def test_each_student_gets_feedback(graded):
    _, out, _, _ = graded
    assert sorted(p.stem for p in out.glob("*.md")) == sorted(STUDENTS + ["report"])
    alice = (out / "alice.md").read_text()
    assert "**7 of 7 points.**" in alice and "### Exercise 90.2 · a list of squares: 4 of 4 points" in alice
    erin = (out / "erin.md").read_text()
    assert ("The notebook was stopped when it ran past its 5 s (the cell that starts `squares = []`); "
            "the answers it had defined by then were checked.") in erin
    assert "- ✓ `answer` is six times seven" in erin
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
    assert "is not empty (it holds alice.md, bob.md, carol.md and " in capsys.readouterr().err


def test_an_out_folder_with_other_files_is_refused_and_left_as_it_was(graded, tmp_path, capsys):
    _, _, submissions, _ = graded
    out = tmp_path / "feedback"
    out.mkdir()
    (out / "alice.md").write_text("the instructor's own notes on alice")
    code = main(["grade", str(submissions), "--out", str(out), "--notebooks-dir",
                 str(submissions.parent / "notebooks")])
    assert code == 2
    err = capsys.readouterr().err
    assert f"--out {out} is not empty (it holds alice.md); choose a new or empty folder" in err
    assert [p.name for p in out.iterdir()] == ["alice.md"]
    assert (out / "alice.md").read_text() == "the instructor's own notes on alice"


@pytest.mark.parametrize(("arguments", "message"), [
    (["nowhere"], "SUBMISSIONS: .*nowhere is not a folder"),
    (["submissions", "--out", "submissions/grades"], "is inside SUBMISSIONS"),
    (["submissions", "--timeout", "0"], "--timeout must be a positive number of seconds, got 0.0"),
    (["submissions", "--only", "04"], "no notebook '04'"),
    (["submissions", "--hidden-checks", "nowhere.py"], "--hidden-checks .*nowhere.py: cannot read it"),
    (["submissions", "--roster", "submissions"], "--roster .*submissions: cannot read it as CSV"),
])
def test_refused_requests_start_nothing(tmp_path, capsys, arguments, message):
    notebooks, submissions = write_course(tmp_path), tmp_path / "submissions"
    (submissions / "alice").mkdir(parents=True)
    named = ("nowhere", "submissions", "submissions/grades", "nowhere.py")
    arguments = [str(tmp_path / a) if a in named else a for a in arguments]
    if "--out" not in arguments:
        arguments += ["--out", str(tmp_path / "grades")]
    assert main(["grade", *arguments, "--notebooks-dir", str(notebooks)]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "grades").exists()


def test_a_roster_without_its_columns_is_refused(tmp_path, capsys):
    notebooks, submissions = write_course(tmp_path), tmp_path / "submissions"
    (submissions / "alice").mkdir(parents=True)
    (tmp_path / "roster.csv").write_text("student,email\nalice,a@example.org\n")
    assert main(["grade", str(submissions), "--out", str(tmp_path / "grades"), "--notebooks-dir",
                 str(notebooks), "--roster", str(tmp_path / "roster.csv")]) == 2
    assert "needs the columns folder, id, name; folder, id, name missing" in capsys.readouterr().err


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
    (tmp_path / "link.ipynb").symlink_to(good)
    assert check_submission(tmp_path / "link.ipynb") == (
        None, "link.ipynb is a symbolic link, not a notebook file; submit the file itself")


def test_outputs_a_submission_brings_are_cleared_before_it_runs():
    cell = nbformat.v4.new_code_cell("x = 1", execution_count=3)
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": "✓ forged"})]
    copy = nbformat.reads(without_outputs(nbformat.v4.new_notebook(cells=[cell])).decode(), as_version=4)
    assert copy.cells[0].outputs == [] and copy.cells[0].execution_count is None
    assert cell.outputs  # the submission itself is untouched


@pytest.mark.parametrize(("source", "finding"), [
    ("fh.check_exercise = print", "replaces the course's check functions"),
    ("setattr(engine, 'run_checks', fake)", "replaces the course's check functions"),
    ("with mock.patch('fmnist_helpers.exercises.engine.judge_exercise'): pass",
     "patches the course's check functions"),
    ("display({'application/vnd.fmnist-course.check+json': {}}, raw=True)",
     "writes the check results' display format itself"),
    ("get_ipython().events.unregister('post_run_cell', f)", "interferes with the grader's hand-over"),
])
def test_tampering_in_code_is_named(source, finding):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"),
                                               nbformat.v4.new_code_cell(source)])
    (line,) = code_findings(notebook)
    assert line.startswith("cell 1 (`") and finding in line


@pytest.mark.parametrize("source", ["result = fh.check_exercise('04.1', globals())",
                                    "if check_exercise == other: pass", "checks = run_checks_count"])
def test_ordinary_code_is_not_called_tampering(source):
    assert code_findings(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])) == []


def test_a_task_the_grader_lost_is_not_graded():
    outcome = TaskOutcome(NotebookResult("90_first", status=Status.FAILED, error="worker tcp://x:1 (pc): "
                                         "the course is not installed"), executed=False)
    record = grade_outcome("zoe", "90_first", ["90.1"], outcome, first())
    assert not record.graded
    assert [r["message"] for r in record.rows] == ["not graded: worker tcp://x:1 (pc): the course is "
                                                   "not installed"] * 2


def test_expected_csv_is_a_table_of_the_right_columns():
    table = pd.read_csv(GRADING / "expected_grades.csv")
    assert list(table.columns) == GRADE_COLUMNS


def test_the_example_hidden_checks_judge_the_course_exercise():
    """``examples/hidden_checks.py`` (the README's example) loads and tells answers apart."""
    before = EXERCISES["03.2"]
    register([], (Path(__file__).parents[1] / "examples" / "hidden_checks.py").read_text())
    try:
        public = len(before.checks)
        assert len(EXERCISES["03.2"].hidden) == 2
        exact = verdicts("03.2", {"stable_log_softmax": lambda z: z - z.logsumexp(1, keepdim=True)})
        in_float32 = {"stable_log_softmax": lambda z: (z - z.logsumexp(1, keepdim=True)).float()}
        single = verdicts("03.2", in_float32)
        assert exact[public:] == [True, True] and single[public:] == [False, True]
    finally:
        for key in EXERCISES:
            EXERCISES[key] = replace(EXERCISES[key], hidden=())
        assert EXERCISES["03.2"] == before


def test_grading_says_when_it_runs_without_the_sandbox(monkeypatch):
    monkeypatch.setattr(grade, "sandbox_support", lambda: (False, "the sandbox needs root (to "
                                                           "create namespaces, mount and change uid)."))
    assert grade.sandbox_notice(True) == ("OFF: the sandbox needs root (to create namespaces, mount and "
                                          "change uid); submissions run with this user's rights and network")
    assert grade.sandbox_notice(False).startswith("off (--no-sandbox)")
