"""``fmnist-course grade``: execute students' notebooks and collect what their check cells say.

``SUBMISSIONS/<student>/<NN_topic>.ipynb`` are executed on Dask workers (``cluster``, as the sweep
is) with the quick parameters, every cell run even after one fails, a cell stopped after
``timeout`` seconds. What is expected comes from the instructor's notebooks (``--notebooks-dir``)
and the exercise registry: every notebook with registered exercises, every check of each. The
submitted files are never modified: a copy without its outputs is executed (so a submission cannot
bring check results of its own).

``OUT/grades.csv`` holds one row per student, notebook and check (``GRADE_COLUMNS``), rewritten as
each notebook finishes; ``OUT/<student>.md`` is that student's feedback; ``OUT/executed/`` keeps
every executed copy and its outputs. A submission that is missing, is not notebook JSON, crashes or
runs out of time gets rows that say so, and the others go on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd

from ..exercises import CHECK_MIMETYPE, EXERCISES
from .catalog import (
    CourseError,
    check_preset,
    default_notebooks_dir,
    notebook_number,
    notebook_parameters,
    parameters_for,
    select_notebooks,
)
from .cluster import DEFAULT_THREADS, NotebookTask, TaskOutcome, input_folders, open_engine
from .execute import NotebookResult
from .preflight import check_data

GRADE_COLUMNS = ["student", "notebook", "exercise", "passed", "message"]
"""The columns of ``grades.csv``."""

DEFAULT_TIMEOUT_S = 600.0
"""Seconds one submitted notebook may run in all before it is stopped (an endless loop, say)."""

GRADING_PRESET = "quick"
"""The parameters submissions are executed with (``catalog.PRESETS``)."""


def read_check_results(notebook: nbformat.NotebookNode) -> list[dict[str, Any]]:
    """Every check result an executed notebook displayed, in order: ``exercise``, ``check``,
    ``passed``, ``message`` (what ``fmnist_helpers.check_exercise`` shows after each exercise)."""
    rows = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            bundle = output.get("data", {}).get(CHECK_MIMETYPE)
            if bundle:
                rows += [dict(row) for row in bundle["results"]]
    return rows


def expected_exercises(notebook: Path) -> list[str]:
    """The registered exercises of an instructor notebook (``"04.1"``, ... for ``04_*.ipynb``), in
    order of their numbers."""
    prefix = notebook_number(notebook) + "."
    keys = [key for key in EXERCISES if key.startswith(prefix)]
    return sorted(keys, key=lambda key: [int(p) if p.isdigit() else p for p in key[3:].split(".")])


def check_submission(path: Path) -> tuple[nbformat.NotebookNode | None, str]:
    """The submitted notebook, or None and why it cannot be graded (missing, not notebook JSON)."""
    if not path.is_file():
        return None, f"{path.name} is missing"
    try:
        text = path.read_text(encoding="utf-8")
        json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return None, f"{path.name} is not valid notebook JSON ({error})"
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except Exception as error:  # nbformat raises TypeError, KeyError, ValidationError, ...
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return None, f"{path.name} is not a valid notebook ({first_line})"
    return notebook, ""


def without_outputs(notebook: nbformat.NotebookNode) -> bytes:
    """``notebook`` with every code cell's outputs and counts cleared, as ``.ipynb`` bytes."""
    copy = nbformat.from_dict(json.loads(json.dumps(notebook)))
    for cell in copy.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nbformat.writes(copy).encode()


def _row(student: str, notebook: str, exercise: str, passed: bool, message: str) -> dict[str, Any]:
    return dict(zip(GRADE_COLUMNS, (student, notebook, exercise, passed, message), strict=True))


def unchecked_rows(student: str, notebook: str, exercises: Sequence[str],
                   reason: str) -> list[dict[str, Any]]:
    """One failed row per check of ``exercises`` that could not be checked, saying why."""
    return [_row(student, notebook, key, False, reason) for key in exercises for _ in EXERCISES[key].checks]


def last_run_cell(executed: nbformat.NotebookNode | None) -> str:
    """The first line of the last code cell that started running (where a notebook stopped)."""
    ran = [c for c in (executed.cells if executed is not None else [])
           if c.cell_type == "code" and c.get("execution_count") is not None]
    first = next((line.strip() for line in ran[-1].source.splitlines() if line.strip()), "") if ran else ""
    return first[:60]


def first_error(executed: nbformat.NotebookNode | None) -> str:
    """``ename: evalue`` of the first cell that failed, and where (or "" when none failed)."""
    for cell in executed.cells if executed is not None else []:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
                evalue = f": {output.get('evalue')}" if output.get("evalue") else ""
                return f"in the cell that starts `{first[:60]}`, {output.get('ename')}{evalue}"
    return ""


def stopped_reason(result: NotebookResult, executed: nbformat.NotebookNode | None,
                   timeout: float | None) -> str:
    """Why the checks after some cell did not run, or "" when every cell ran."""
    where = last_run_cell(executed)
    where = f" (the cell that starts `{where}`)" if where else ""
    if result.status == "timeout":
        limit = f"{timeout:g} s" if timeout else "its time limit"
        return f"not checked: the notebook was stopped when it ran past its {limit}{where}"
    if result.status == "failed" and result.cell is None:  # the kernel died, or it never started
        return f"not checked: the notebook stopped{where}: {result.error}"
    if result.status == "interrupted":
        return "not checked: grading was stopped by Ctrl-C"
    return ""


def rows_from_notebook(student: str, notebook: str, exercises: Sequence[str],
                       executed: nbformat.NotebookNode | None, result: NotebookResult,
                       timeout: float | None = None) -> list[dict[str, Any]]:
    """The grade rows of one executed submission: for each expected exercise, the checks its check
    cell displayed last; an exercise whose check never ran gets one row per check saying why."""
    shown: dict[str, list[dict[str, Any]]] = {}
    for row in read_check_results(executed) if executed is not None else []:
        shown.setdefault(row["exercise"], [])
        if any(r["check"] == row["check"] for r in shown[row["exercise"]]):
            shown[row["exercise"]] = []  # the check cell ran again: keep its last display
        shown[row["exercise"]].append(row)
    reason = (stopped_reason(result, executed, timeout)
              or "not checked: its check cell did not run (it was removed or changed)")
    rows = []
    for key in exercises:
        if shown.get(key):
            rows += [_row(student, notebook, key, bool(r["passed"]), r["message"]) for r in shown[key]]
        else:
            rows += unchecked_rows(student, notebook, [key], reason)
    return rows


@dataclass
class Graded:
    """One student's notebook: its grade rows, what happened when it ran, and whether the grader
    itself could do its job (False: a worker failed, the task was lost; grade it again)."""

    student: str
    notebook: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""  # for the feedback: why it was not run, or its first error
    graded: bool = True


def grade_outcome(student: str, notebook: str, exercises: Sequence[str], outcome: TaskOutcome,
                  timeout: float | None = None) -> Graded:
    """The ``Graded`` record of one finished task (the executed copy comes back in its files)."""
    result = outcome.result
    if not outcome.executed:
        return Graded(student, notebook, unchecked_rows(student, notebook, exercises,
                                                        f"not graded: {result.error}"),
                      f"Not graded, a problem on the grader's side: {result.error}", graded=False)
    content = outcome.files.get(f"{notebook}.ipynb")
    executed = nbformat.reads(content.decode(), as_version=4) if content else None
    stopped = stopped_reason(result, executed, timeout)
    error = first_error(executed)
    note = (stopped.replace("not checked: t", "T", 1) + "; the checks after it did not run." if stopped
            else f"First error {error}." if error else "")
    return Graded(student, notebook,
                  rows_from_notebook(student, notebook, exercises, executed, result, timeout), note)


def feedback(student: str, graded: Sequence[Graded], timeout: float | None) -> str:
    """The Markdown feedback for one student: a score, then per notebook and exercise ✓ or a hint."""
    rows = [row for g in graded for row in g.rows]
    passed = sum(bool(row["passed"]) for row in rows)
    limit = f", {timeout:g} s per notebook at most" if timeout else ""
    lines = [f"# Feedback for {student}", "",
             f"Executed with the {GRADING_PRESET} parameters{limit}. **{passed} of {len(rows)} checks "
             "pass.**"]
    for g in graded:
        ok = sum(bool(row["passed"]) for row in g.rows)
        lines += ["", f"## {g.notebook}: {ok} of {len(g.rows)} checks pass"]
        if g.note:
            lines += ["", g.note]
        for key in dict.fromkeys(row["exercise"] for row in g.rows):
            lines += ["", f"### Exercise {key} · {EXERCISES[key].title}"]
            lines += [f"- {'✓' if row['passed'] else '✗'} {row['message']}"
                      for row in g.rows if row["exercise"] == key]
    return "\n".join(lines) + "\n"


def find_students(submissions: Path) -> list[str]:
    """The students: the folders in ``submissions``, by name (hidden folders left out)."""
    if not submissions.is_dir():
        raise CourseError(f"SUBMISSIONS: {submissions} is not a folder; give the folder that holds "
                          "one folder per student")
    students = sorted(p.name for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not students:
        raise CourseError(f"SUBMISSIONS: {submissions} holds no student folders "
                          "(SUBMISSIONS/<student>/<NN_topic>.ipynb)")
    return students


def check_out(out: Path, submissions: Path) -> Path:
    """The absolute ``--out`` folder; ``CourseError`` if it is inside ``submissions`` or already
    holds grades (they are never overwritten)."""
    out = out.expanduser().resolve()
    if out == submissions or submissions in out.parents:
        raise CourseError(f"--out {out} is inside SUBMISSIONS; choose a folder outside it")
    if (out / "grades.csv").exists():
        raise CourseError(f"--out {out} already holds grades.csv; choose a new folder (grades are "
                          "never overwritten)")
    return out


class Gradebook:
    """The grades of one grading run, kept in ``out``: ``grades.csv`` rewritten whole as each
    notebook is graded, ``<student>.md`` when the run ends, executed copies in ``executed/``."""

    def __init__(self, out: Path, order: Sequence[tuple[str, str]]) -> None:
        self.out = out
        self.order = {key: index for index, key in enumerate(order)}  # (student, notebook)
        self.graded: dict[tuple[str, str], Graded] = {}
        self.exercises: dict[tuple[str, str], list[str]] = {}

    def executed(self, student: str, notebook: str) -> Path:
        """Where the executed copy of a student's notebook and its outputs go."""
        return self.out / "executed" / student / notebook

    def enter(self, record: Graded, exercises: Sequence[str] | None = None) -> None:
        """Record (or replace) the grades of one student's notebook and rewrite ``grades.csv``."""
        self.graded[record.student, record.notebook] = record
        if exercises is not None:
            self.exercises[record.student, record.notebook] = list(exercises)
        self.table().to_csv(self.out / "grades.csv.partial", index=False)
        (self.out / "grades.csv.partial").replace(self.out / "grades.csv")  # never half a table

    def records(self) -> list[Graded]:
        """Every student's notebooks, by student, then in course order."""
        return [self.graded[key] for key in sorted(self.graded, key=self.order.__getitem__)]

    def table(self) -> pd.DataFrame:
        """The grades: one row per student, notebook and check (``GRADE_COLUMNS``)."""
        return pd.DataFrame([row for g in self.records() for row in g.rows], columns=GRADE_COLUMNS)

    def close(self, reason: str, timeout: float | None) -> None:
        """Say ``reason`` on every notebook that was sent but never came back; write the feedback."""
        for (student, notebook), exercises in self.exercises.items():
            record = self.graded[student, notebook]
            if not record.graded and not record.note:
                self.enter(Graded(student, notebook, unchecked_rows(
                    student, notebook, exercises, f"not graded: {reason}"), f"Not graded: {reason}.",
                    graded=False))
        for student in dict.fromkeys(student for student, _ in self.order):
            mine = [g for g in self.records() if g.student == student]
            (self.out / f"{student}.md").write_text(feedback(student, mine, timeout))


def grade_submissions(
    submissions: Path,
    out: Path,
    notebooks_dir: Path | None = None,
    only: str | Sequence[str] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT_S,
    data_root: str | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    threads: int | None = DEFAULT_THREADS,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> tuple[pd.DataFrame, list[Graded], bool]:
    """Grade every student's notebooks in ``submissions`` into ``out`` (see the module's text).

    ``only`` limits the notebooks (``"04,05"``); ``timeout`` is the seconds a notebook may run in all;
    ``jobs``, ``scheduler`` and ``threads`` are the sweep's. Returns the grades table, one
    ``Graded`` per student and notebook, and whether Ctrl-C stopped it.
    """
    if timeout is not None and timeout <= 0:
        raise CourseError(f"--timeout must be a positive number of seconds, got {timeout}")
    check_preset(GRADING_PRESET)
    notebooks_dir = notebooks_dir or default_notebooks_dir()
    assignments = [(p, expected_exercises(p)) for p in select_notebooks(only, notebooks_dir)]
    assignments = [(p, keys) for p, keys in assignments if keys]
    if not assignments:
        raise CourseError(f"no notebook in {notebooks_dir} has registered exercises to grade "
                          f"(fmnist_helpers.exercises.EXERCISES)")
    submissions = submissions.expanduser().resolve()
    students = find_students(submissions)
    out = check_out(out, submissions)
    if any("data_root" in notebook_parameters(p) for p, _ in assignments):
        data_root = check_data(data_root)

    with open_engine(jobs, scheduler, echo) as engine:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CourseError(f"--out {out}: cannot create it ({error.strerror})") from None
        book = Gradebook(out, [(s, p.stem) for s in students for p, _ in assignments])
        tasks: list[NotebookTask] = []
        sent: list[tuple[str, str]] = []  # (student, notebook) of each task
        for student in students:
            for path, exercises in assignments:
                notebook, problem = check_submission(submissions / student / path.name)
                if notebook is None:
                    book.enter(Graded(student, path.stem, unchecked_rows(
                        student, path.stem, exercises, f"not graded: {problem}"), f"Not graded: {problem}."))
                    continue
                params = parameters_for(path, GRADING_PRESET, {}, book.executed(student, path.stem),
                                        data_root, {})
                tasks.append(NotebookTask(f"{student}/{path.stem}", path, params, data_root,
                                          input_folders(path, params, notebooks_dir), timeout,
                                          allow_errors=True, content=without_outputs(notebook)))
                sent.append((student, path.stem))
                book.enter(Graded(student, path.stem, unchecked_rows(
                    student, path.stem, exercises, "not graded: it has not run yet"), graded=False),
                    exercises)

        def save(index: int, outcome: TaskOutcome) -> None:
            student, notebook = sent[index]
            outcome.write_files(book.executed(student, notebook))
            book.enter(grade_outcome(student, notebook, book.exercises[student, notebook], outcome,
                                     timeout))

        interrupted = False
        try:
            interrupted = engine.run(tasks, save, threads=threads, desc="submissions",
                                     progress=progress)
        except KeyboardInterrupt:
            interrupted = True
        finally:  # what finished is kept; the rest says why it has no grade
            book.close("stopped by Ctrl-C" if interrupted else "grading stopped early", timeout)
    return book.table(), book.records(), interrupted
