"""Where 05 finds 04's outputs: one rule (``fmnist_helpers.course.links``), and ``run``, ``sweep``
and ``grade`` give the same answer in the same situation.

Nothing is executed: each command plans its notebooks as it always does, and the step that would
run them (``run_notebook``, the Dask engine) is replaced by one that records what it was given.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import pytest
from standins import make_course

from fmnist_helpers.course import grade, run, sweep
from fmnist_helpers.course.catalog import CourseError
from fmnist_helpers.course.execute import NotebookResult, Status
from fmnist_helpers.course.grade import GradingOptions
from fmnist_helpers.course.links import EARLIER_RUN, OUTPUTS, THIS_RUN, newest_finished, resolve_links
from fmnist_helpers.course.options import ClusterOptions, Folders

QUIET = ClusterOptions(progress=False)


def _write_run(runs: Path, stamp: str, status: str, weights: str) -> Path:
    """An earlier ``fmnist-course run`` in which ``04_train`` ended with ``status``."""
    folder = runs / stamp / "04_train"
    folder.mkdir(parents=True)
    (folder / "model.pt").write_text(weights)
    (runs / stamp / "report.json").write_text(json.dumps(
        {"notebooks": [{"notebook": "04_train", "status": status}]}))
    return folder


def _outputs(course: Path) -> Path:
    """04's outputs where it writes them when run in JupyterLab: ``outputs/04_train``."""
    folder = course.parent / "outputs" / "04_train"
    folder.mkdir(parents=True)
    (folder / "model.pt").write_text("weights from JupyterLab")
    return folder


def _by_run(folders: Folders, monkeypatch) -> tuple[str, set[str]]:
    seen = []

    def record(path, out_dir, params, output=None, **_):
        seen.append(params)
        return NotebookResult(path.stem, status=Status.OK)

    monkeypatch.setattr(run, "run_notebook", record)
    run.run_course(only="05", folders=folders)
    return seen[0]["train_dir"], set()


def _no_engine(module, monkeypatch) -> list:
    """Replace the Dask engine of ``module`` (sweep or grade): the tasks it is given are kept."""
    tasks = []

    def run_tasks(engine, planned, save, mark_left, options, desc=""):
        tasks.extend(planned)
        mark_left(False)
        return False

    monkeypatch.setattr(module, "open_engine", lambda options, echo: contextlib.nullcontext())
    monkeypatch.setattr(module, "run_tasks", run_tasks)
    return tasks


def _by_sweep(folders: Folders, monkeypatch) -> tuple[str, set[str]]:
    tasks = _no_engine(sweep, monkeypatch)
    sweep.run_sweep("05", {"x": [1, 2]}, folders=folders, cluster=QUIET, echo=lambda _: None)
    assert tasks[0].parameters["train_dir"] == tasks[1].parameters["train_dir"]
    return tasks[0].parameters["train_dir"], {str(p) for p in tasks[0].inputs.values()}


def _by_grade(folders: Folders, monkeypatch) -> tuple[str, set[str]]:
    tasks = _no_engine(grade, monkeypatch)
    submissions = folders.notebooks_dir.parent / "submissions"
    (submissions / "alice").mkdir(parents=True, exist_ok=True)
    shutil.copy(folders.notebooks_dir / "05_use.ipynb", submissions / "alice")
    out = submissions.parent / f"grades-{len(list(submissions.parent.glob('grades-*')))}"
    grade.grade_submissions(submissions, out, GradingOptions(only="05"), folders, QUIET,
                            echo=lambda _: None)
    return tasks[0].parameters["train_dir"], {str(p) for p in tasks[0].inputs.values()}


COMMANDS = {"run": _by_run, "sweep": _by_sweep, "grade": _by_grade}


@pytest.fixture
def course(tmp_path, data_root) -> Path:
    return make_course(tmp_path / "course")


@pytest.mark.parametrize("situation", ["earlier run and outputs", "outputs only"])
def test_run_sweep_and_grade_find_04s_outputs_in_the_same_folder(situation, course, tmp_path,
                                                                  monkeypatch):
    runs = tmp_path / "runs"
    outputs = _outputs(course)
    expected = outputs
    if situation == "earlier run and outputs":
        _write_run(runs, "20260101-090000", "ok", "weights 1")
        expected = _write_run(runs, "20260102-090000", "ok", "weights 2")  # the newest that finished
        _write_run(runs, "20260103-090000", "failed", "weights 3")
    folders = Folders(course, runs)
    answers = {name: by(folders, monkeypatch) for name, by in COMMANDS.items()}
    assert answers["run"] == (str(expected), set())  # run executes here: nothing travels
    assert answers["sweep"] == answers["grade"] == (str(expected), {str(expected)})


def test_run_sweep_and_grade_all_refuse_when_04_never_ran(course, tmp_path, monkeypatch):
    folders = Folders(course, tmp_path / "runs")
    for by in COMMANDS.values():
        with pytest.raises(CourseError, match=r"05_use needs the outputs of 04_train, which .*has not "
                                              r"finished in any earlier run in .* and has none in "):
            by(folders, monkeypatch)
    assert not (tmp_path / "runs").exists() and not list(tmp_path.glob("grades-*"))


def test_the_rule_in_order(course, tmp_path):
    runs = tmp_path / "runs"
    path = course / "05_use.ipynb"
    (link,) = resolve_links(path, {"train_dir"}, Folders(course, runs))  # 1. given with -p: as given
    assert (link.origin, link.where(tmp_path)) == ("-p override", None)
    (link,) = resolve_links(path, (), Folders(course, runs), running=["04_train"])  # 2. this run
    assert (link.origin, link.where(tmp_path)) == (THIS_RUN, tmp_path / "04_train")
    outputs = _outputs(course)
    (link,) = resolve_links(path, (), Folders(course, runs), running=[])
    assert (link.origin, link.folder) == (OUTPUTS, outputs)  # 4. the course's outputs
    earlier = _write_run(runs, "20260101-090000", "ok", "weights")
    (link,) = resolve_links(path, (), Folders(course, runs))
    assert (link.origin, link.folder) == (EARLIER_RUN, earlier)  # 3. before the outputs
    assert link.note("05_use", earlier) == f"05_use used train_dir={earlier} (newest earlier run)"


def test_the_newest_earlier_run_goes_by_its_stamp_then_its_number(tmp_path):
    _write_run(tmp_path, "20260101-090000", "ok", "a")
    _write_run(tmp_path, "20260101-090000-2", "ok", "b")
    ten = _write_run(tmp_path, "20260101-090000-10", "ok", "c")
    (tmp_path / "20260102-000000").mkdir()
    (tmp_path / "20260102-000000" / "report.json").write_text("{not json")  # a run cut short
    assert newest_finished(tmp_path, "04_train") == ten
    assert newest_finished(tmp_path, "05_use") is None
