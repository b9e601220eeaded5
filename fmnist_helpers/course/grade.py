"""``fmnist-course grade``: grade students' notebooks with checks the grader runs itself.

``SUBMISSIONS/<student>/<NN_topic>.ipynb`` are executed on Dask workers (``cluster``, as the sweep
is) with the quick parameters, every cell run even after one fails, the whole notebook stopped
after ``timeout`` seconds. What is expected comes from the instructor's notebooks
(``--notebooks-dir``) and the exercise registry: every notebook with registered exercises, every
check of each, plus the instructor's hidden checks (``--hidden-checks FILE.py``).

**The grader decides, not the submission.** Each submission runs in a sandbox (``sandbox``: its
own folder only, no network, limits, an unprivileged user); the answers it leaves are probed by a
fresh process and judged by the worker itself (``grading_task``). Nothing the notebook displays,
deletes, edits, reorders or patches changes a grade; tampering is reported in the feedback
(``tampering``). The submitted files are never modified: a copy without outputs is executed.

``OUT`` receives, as each notebook finishes, ``grades.csv`` (one row per student, notebook and
check, with points), ``scores.csv`` (one row per student) and, with ``--roster``, ``gradebook.csv``
(Canvas's import layout); at the end ``checks_summary.csv`` and ``.png`` (where the class
struggles), ``<student>.md`` (feedback), ``report.md`` and ``executed/`` (every executed copy).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pandas as pd

from ..exercises import EXERCISES
from ..paths import course_dir
from . import gradebook as gb
from . import tampering
from .catalog import (
    CourseError,
    check_preset,
    notebook_number,
    notebook_parameters,
    parameters_for,
    select_notebooks,
)
from .cluster import NotebookTask, TaskOutcome, input_folders, open_engine, run_tasks
from .execute import NotebookResult, Status
from .folders import write_csv
from .gradebook import Graded, unchecked_rows
from .grading_task import GRADER_TAG, register
from .links import linked_dirs, resolve_links
from .notebook_files import clear_outputs, first_line
from .options import DEFAULT_TIMEOUT_S, ClusterOptions, Folders
from .preflight import check_data
from .sandbox import sandbox_support
from .signals import stop_reason

GRADING_PRESET = "quick"
"""The parameters submissions are executed with (``fmnist_helpers.parameters.PRESETS``)."""


@dataclass(frozen=True)
class GradingOptions:
    """How to grade: which notebooks, the time limit, the sandbox, extra checks and the roster."""

    only: str | Sequence[str] | None = None
    timeout: float | None = DEFAULT_TIMEOUT_S
    sandbox: bool = True
    hidden_checks: Path | None = None
    roster: Path | None = None


def expected_exercises(notebook: Path) -> list[str]:
    """The registered exercises of an instructor notebook (``"04.1"``, ... for ``04_*.ipynb``), in
    order of their numbers."""
    prefix = notebook_number(notebook) + "."
    keys = [key for key in EXERCISES if key.startswith(prefix)]
    return sorted(keys, key=lambda key: [int(p) if p.isdigit() else p for p in key[3:].split(".")])


def check_submission(path: Path) -> tuple[nbformat.NotebookNode | None, str]:
    """The submitted notebook, or None and why it cannot be graded (missing, a link, not notebook
    JSON)."""
    if path.is_symlink():
        return None, f"{path.name} is a symbolic link, not a notebook file; submit the file itself"
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
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return None, f"{path.name} is not a valid notebook ({first})"
    return notebook, ""


def without_outputs(notebook: nbformat.NotebookNode) -> bytes:
    """``notebook`` with every code cell's outputs and counts cleared, as ``.ipynb`` bytes."""
    return nbformat.writes(clear_outputs(notebook)).encode()


def _student_cells(executed: nbformat.NotebookNode | None) -> list[nbformat.NotebookNode]:
    return [c for c in (executed.cells if executed is not None else [])
            if c.cell_type == "code" and GRADER_TAG not in c.get("metadata", {}).get("tags", [])]


def last_run_cell(executed: nbformat.NotebookNode | None) -> str:
    """The first line of the last code cell that started running (where a notebook stopped)."""
    ran = [c for c in _student_cells(executed) if c.get("execution_count") is not None]
    return first_line(ran[-1].source)[:60] if ran else ""


def first_error(executed: nbformat.NotebookNode | None) -> str:
    """``ename: evalue`` of the first cell that failed, and where (or "" when none failed)."""
    for cell in _student_cells(executed):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                evalue = f": {output.get('evalue')}" if output.get("evalue") else ""
                where = first_line(cell.source)[:60]
                return f"in the cell that starts `{where}`, {output.get('ename')}{evalue}"
    return ""


def stopped_reason(result: NotebookResult, executed: nbformat.NotebookNode | None,
                   timeout: float | None) -> str:
    """Why the cells after some cell did not run, or "" when every cell ran."""
    where = last_run_cell(executed)
    where = f" (the cell that starts `{where}`)" if where else ""
    if result.status == Status.TIMEOUT:
        limit = f"{timeout:g} s" if timeout else "its time limit"
        return f"the notebook was stopped when it ran past its {limit}{where}"
    if result.status == Status.FAILED and result.cell is None:  # the kernel died, or never started
        return f"the notebook stopped{where}: {result.error}"
    if result.status == Status.INTERRUPTED:
        return "grading was stopped"
    return ""


def grade_outcome(student: str, notebook: str, exercises: Sequence[str], outcome: TaskOutcome,
                  submitted: nbformat.NotebookNode, timeout: float | None = None) -> Graded:
    """The ``Graded`` record of one finished task: the checks judged on the worker, what stopped
    the notebook, signs of tampering (the executed copy comes back in the task's files)."""
    result = outcome.result
    if not outcome.executed:
        return Graded(student, notebook, unchecked_rows(student, notebook, exercises,
                                                        f"not graded: {result.error}"),
                      f"Not graded, a problem on the grader's side: {result.error}", graded=False)
    content = outcome.files.get(f"{notebook}.ipynb")
    executed = nbformat.reads(content.decode(), as_version=4) if content else None
    stopped = stopped_reason(result, executed, timeout)
    error = first_error(executed)
    note = (f"{stopped[0].upper()}{stopped[1:]}; the answers it had defined by then were checked." if stopped
            else f"First error {error}." if error else "")
    if outcome.checks is None:
        rows = unchecked_rows(student, notebook, exercises, "not checked: the worker returned no checks")
    else:
        rows = [gb.row(student, notebook, r["exercise"], r["check"], bool(r["passed"]), int(r["points"]),
                       int(r["max_points"]), bool(r["hidden"]),
                       f"not checked: {stopped} before its answer was defined"
                       if stopped and str(r["message"]).startswith("finish exercise") else r["message"])
                for r in outcome.checks]
    return Graded(student, notebook, rows, note, sandbox=outcome.sandbox,
                  tampering=tampering.findings(submitted, executed, rows),
                  unchecked_cells=tampering.missing_check_cells(submitted, exercises))


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
    """The absolute ``--out`` folder; ``CourseError`` if it is inside ``submissions``, or is a
    file or a folder that holds anything: grading writes ``<student>.md`` and its tables there, and
    never overwrites a file it did not write."""
    out = out.expanduser().resolve()
    if out == submissions or submissions in out.parents:
        raise CourseError(f"--out {out} is inside SUBMISSIONS; choose a folder outside it")
    if out.exists() and not out.is_dir():
        raise CourseError(f"--out {out} is a file; choose a new folder")
    held = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if held:
        shown = ", ".join(held[:3]) + (f" and {len(held) - 3} more" if len(held) > 3 else "")
        raise CourseError(f"--out {out} is not empty (it holds {shown}); choose a new or empty "
                          "folder: grading never overwrites files")
    return out


def load_hidden_checks(path: Path | None) -> str | None:
    """The source of the instructor's hidden checks, registered here too (so a broken file is
    refused before anything runs); None without one."""
    if path is None:
        return None
    try:
        source = Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CourseError(f"--hidden-checks {path}: cannot read it ({error})") from None
    try:
        register([], source)
    except Exception as error:
        raise CourseError(f"--hidden-checks {path}: it failed when loaded: {type(error).__name__}: "
                          f"{error}") from None
    return source


class GradingRun:
    """The grades of one grading run, kept in ``out`` and rewritten as each notebook is graded."""

    def __init__(self, out: Path, order: Sequence[tuple[str, str]], roster: pd.DataFrame | None,
                 preset: str, timeout: float | None) -> None:
        self.out, self.roster, self.preset, self.timeout = out, roster, preset, timeout
        self.order = {key: index for index, key in enumerate(order)}  # (student, notebook)
        self.notebooks = list(dict.fromkeys(nb for _, nb in order))
        self.graded: dict[tuple[str, str], Graded] = {}
        self.exercises: dict[tuple[str, str], list[str]] = {}

    def executed(self, student: str, notebook: str) -> Path:
        """Where the executed copy of a student's notebook and its outputs go."""
        return self.out / "executed" / student / notebook

    def enter(self, record: Graded, exercises: Sequence[str] | None = None) -> None:
        """Record (or replace) one student's notebook; rewrite the tables."""
        self.graded[record.student, record.notebook] = record
        if exercises is not None:
            self.exercises[record.student, record.notebook] = list(exercises)
        grades = self.table()
        write_csv(grades, self.out / "grades.csv")
        scores = gb.scores_table(grades, self.notebooks)
        write_csv(scores, self.out / "scores.csv")
        if self.roster is not None:
            write_csv(gb.canvas_gradebook(scores, self.roster, gb.possible_points(grades)),
                         self.out / "gradebook.csv")

    def records(self) -> list[Graded]:
        """Every student's notebooks, by student, then in course order."""
        return [self.graded[key] for key in sorted(self.graded, key=self.order.__getitem__)]

    def table(self) -> pd.DataFrame:
        """The grades: one row per student, notebook and check (``gradebook.GRADE_COLUMNS``)."""
        return gb.grades_table(self.records())

    def close(self, reason: str, sandbox_line: str) -> None:
        """Say ``reason`` on every notebook that was sent but never came back; write the summary,
        its chart, the feedback and the report."""
        for (student, notebook), exercises in self.exercises.items():
            record = self.graded[student, notebook]
            if not record.graded and not record.note:
                self.enter(Graded(student, notebook, unchecked_rows(
                    student, notebook, exercises, f"not graded: {reason}"), f"Not graded: {reason}.",
                    graded=False))
        grades = self.table()
        summary = gb.checks_summary(grades)
        write_csv(summary, self.out / "checks_summary.csv")
        gb.plot_checks_summary(summary, self.out / "checks_summary.png")
        for student in dict.fromkeys(student for student, _ in self.order):
            mine = [g for g in self.records() if g.student == student]
            (self.out / f"{student}.md").write_text(gb.feedback(student, mine, self.preset, self.timeout))
        (self.out / "report.md").write_text(self.report(sandbox_line))

    def report(self, sandbox_line: str) -> str:
        """The grading report: the sandbox, each notebook's sandbox where it differs, scores."""
        records = self.records()
        lines = ["# Grading report", "", f"Sandbox: {sandbox_line}."]
        unsandboxed = [f"{g.student}/{g.notebook}: {g.sandbox}" for g in records
                       if g.sandbox and g.sandbox != "on"]
        if unsandboxed:
            lines += ["", "Ran without the sandbox:"] + [f"- {line}" for line in unsandboxed]
        tampered = [f"{g.student}/{g.notebook}: {t}" for g in records for t in g.tampering]
        if tampered:
            lines += ["", "Tampering with the checks (grades unaffected):"] + [f"- {t}" for t in tampered]
        scores = gb.scores_table(self.table(), self.notebooks)
        lines += ["", "| " + " | ".join(scores.columns) + " |", "|" + "---|" * len(scores.columns)]
        lines += ["| " + " | ".join(str(v) for v in r) + " |" for r in scores.itertuples(index=False)]
        return "\n".join(lines) + "\n"


def hidden_folders(submissions: Path, out: Path, notebooks_dir: Path) -> list[str]:
    """What a submission must not see: the other submissions, the grades, the instructor's
    notebooks and the course's output folders."""
    course = course_dir(notebooks_dir)
    candidates = [submissions, out, notebooks_dir, course / "student", course / "outputs", course / "runs"]
    return [str(p) for p in dict.fromkeys(candidates) if p.exists() or p == out]


def sandbox_notice(enabled: bool) -> str:
    """The line grading starts with: whether submissions run sandboxed here, and if not, why."""
    if not enabled:
        return "off (--no-sandbox): submissions run with this user's rights and network"
    available, why = sandbox_support()
    if available:
        return ("on: each submission runs in a folder of its own, without network, with limits, "
                "as an unprivileged user")
    return f"OFF: {why.rstrip('.')}; submissions run with this user's rights and network"


def grade_submissions(
    submissions: Path,
    out: Path,
    options: GradingOptions = GradingOptions(),
    folders: Folders | None = None,
    cluster: ClusterOptions | None = None,
    echo: Callable[[str], None] = print,
) -> tuple[pd.DataFrame, list[Graded], bool]:
    """Grade every student's notebooks in ``submissions`` into ``out`` (see the module's text).

    ``options``: the notebooks (``only``), the seconds a notebook may run (``timeout``), the
    sandbox, hidden checks and roster; ``folders``: the instructor's notebooks and the data (and
    the runs an earlier notebook's outputs may come from: ``links``); ``cluster``: as the sweep's.
    Returns the grades table, one ``Graded`` per student and notebook, and whether it was stopped.
    """
    timeout = options.timeout
    if timeout is not None and timeout <= 0:
        raise CourseError(f"--timeout must be a positive number of seconds, got {timeout}")
    check_preset(GRADING_PRESET)
    folders, cluster = folders or Folders(), (cluster or ClusterOptions()).check()
    notebooks_dir = folders.notebooks()
    hidden_source = load_hidden_checks(options.hidden_checks)
    assignments = [(p, expected_exercises(p)) for p in select_notebooks(options.only, notebooks_dir)]
    assignments = [(p, keys) for p, keys in assignments if keys]
    if not assignments:
        raise CourseError(f"no notebook in {notebooks_dir} has registered exercises to grade "
                          f"(fmnist_helpers.exercises.EXERCISES)")
    submissions = submissions.expanduser().resolve()
    students = find_students(submissions)
    out = check_out(out, submissions)
    try:
        roster = gb.read_roster(options.roster) if options.roster else None
    except ValueError as error:
        raise CourseError(str(error)) from None
    links = {path: resolve_links(path, (), folders) for path, _ in assignments}
    data_root = (check_data(folders.data_root)
                 if any("data_root" in notebook_parameters(p) for p, _ in assignments) else None)
    sandbox_line = sandbox_notice(options.sandbox)
    echo(f"sandbox: {sandbox_line}")
    hide = hidden_folders(submissions, out, notebooks_dir)

    with open_engine(cluster, echo) as engine:
        for path, found in links.items():
            for link in found:
                echo(link.note(path.stem, link.folder))
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CourseError(f"--out {out}: cannot create it ({error.strerror})") from None
        book = GradingRun(out, [(s, p.stem) for s in students for p, _ in assignments], roster,
                          GRADING_PRESET, timeout)
        tasks: list[NotebookTask] = []
        sent: list[tuple[str, str, nbformat.NotebookNode]] = []  # (student, notebook, submitted)
        for student in students:
            for path, exercises in assignments:
                notebook, problem = check_submission(submissions / student / path.name)
                if notebook is None:
                    book.enter(Graded(student, path.stem, unchecked_rows(
                        student, path.stem, exercises, f"not graded: {problem}"), f"Not graded: {problem}."))
                    continue
                params = parameters_for(path, GRADING_PRESET, {}, book.executed(student, path.stem),
                                        data_root, linked_dirs(links[path]))
                grading = {"exercises": exercises, "hidden_checks": hidden_source, "hide": hide,
                           "sandbox": options.sandbox,
                           "modules": sorted({EXERCISES[key].module for key in exercises})}
                tasks.append(NotebookTask(f"{student}/{path.stem}", path, params, input_folders(params),
                                          timeout, allow_errors=True, content=without_outputs(notebook),
                                          grading=grading))
                sent.append((student, path.stem, notebook))
                book.enter(Graded(student, path.stem, unchecked_rows(
                    student, path.stem, exercises, "not graded: it has not run yet"), graded=False),
                    exercises)

        def save(index: int, outcome: TaskOutcome) -> None:
            student, notebook, submitted = sent[index]
            outcome.write_files(book.executed(student, notebook))
            book.enter(grade_outcome(student, notebook, book.exercises[student, notebook], outcome,
                                     submitted, timeout))

        def mark_left(interrupted: bool) -> None:  # what finished is kept; the rest says why
            reason = f"grading was {stop_reason()}" if interrupted else "grading stopped early"
            book.close(reason, sandbox_line)

        interrupted = run_tasks(engine, tasks, save, mark_left, cluster, desc="submissions")
    return book.table(), book.records(), interrupted
