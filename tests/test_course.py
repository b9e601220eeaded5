"""The course runner (``fmnist-course``) on small stand-in notebooks: runs, reports, sweeps, copies.

The stand-ins need no data or torch, so these tests check the runner's behaviour in seconds; the
real notebooks are covered by the papermill and nbval tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from fmnist_helpers.course import main
from fmnist_helpers.runner import CourseError, parse_value, run_course, select_notebooks
from fmnist_helpers.student import STUB, student_copy, write_student_copies
from fmnist_helpers.sweep import run_sweep

PARAMETERS = '''\
from typing import Optional  # papermill's inspection reads Optional[str], not str | None

x: int = 1  # a number the notebook reports
lr: float = 0.5  # only declared by notebook 01
sleep: float = 0.0  # seconds to wait before finishing
fail: bool = False  # raise an error halfway
out_dir: Optional[str] = None  # where metrics.json goes
'''

BODY = '''\
import json, pathlib, time
time.sleep(sleep)
if fail:
    raise RuntimeError("failing halfway on purpose")
pathlib.Path(out_dir or ".").mkdir(parents=True, exist_ok=True)
pathlib.Path(out_dir or ".", "metrics.json").write_text(json.dumps({"test_accuracy": x / 10, "lr": lr}))
'''


def _notebook(parameters: str) -> nbformat.NotebookNode:
    notebook = new_notebook(cells=[
        new_markdown_cell("# stand-in"),
        new_code_cell(parameters, metadata={"tags": ["parameters"]}),
        new_code_cell(BODY),
        new_markdown_cell("## Exercises\n1. Print the answer."),
        new_code_cell("answer = 6 * 7\nprint(answer)", metadata={"tags": ["solution"]}),
    ])
    notebook.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                        "language": "python"}}
    return notebook


@pytest.fixture
def course(tmp_path, data_root) -> Path:
    """Three stand-in notebooks; 02 and 03 do not declare ``lr``."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nbformat.write(_notebook(PARAMETERS), folder / "01_first.ipynb")
    others = PARAMETERS.replace("lr: float = 0.5  # only declared by notebook 01\n", "")
    nbformat.write(_notebook(others), folder / "02_second.ipynb")
    nbformat.write(_notebook(others), folder / "03_third.ipynb")
    # the body of 02/03 reads lr: give them a module-level default instead
    for name in ("02_second.ipynb", "03_third.ipynb"):
        notebook = nbformat.read(folder / name, as_version=4)
        notebook.cells[2].source = "lr = None\n" + notebook.cells[2].source
        nbformat.write(notebook, folder / name)
    return folder


def test_parse_value():
    assert parse_value("3") == 3 and parse_value("0.01") == 0.01
    assert parse_value("True") is True and parse_value("None") is None
    assert parse_value("[1, 2]") == [1, 2] and parse_value("cpu") == "cpu"


def test_run_writes_every_notebook_and_a_report(course, tmp_path):
    runs = tmp_path / "runs"
    run_dir, results = run_course(overrides={"x": 7}, runs_root=runs, notebooks_dir=course,
                                  show_progress=False)
    assert [r.status for r in results] == ["ok", "ok", "ok"]
    assert run_dir.parent == runs and (run_dir / "01_first.ipynb").is_file()
    assert json.loads((run_dir / "02_second" / "metrics.json").read_text())["test_accuracy"] == 0.7
    report = json.loads((run_dir / "report.json").read_text())
    assert report["ok"] is True
    assert report["provenance"]["parameters"]["overrides"] == {"x": 7}
    assert {"python", "torch", "torchvision", "cpu", "gpu", "date", "platform"} <= set(report["provenance"])
    markdown = (run_dir / "report.md").read_text()
    assert "| 03_third | ok |" in markdown and "test_accuracy=0.7" in markdown
    # a second run never overwrites the first
    second, _ = run_course(only="01", runs_root=runs, notebooks_dir=course, show_progress=False)
    assert second != run_dir and run_dir.is_dir()


def test_parameter_reaches_only_notebooks_that_declare_it(course, tmp_path):
    run_dir, _ = run_course(overrides={"lr": 0.25}, runs_root=tmp_path, notebooks_dir=course,
                            show_progress=False)
    assert json.loads((run_dir / "01_first" / "metrics.json").read_text())["lr"] == 0.25
    assert json.loads((run_dir / "02_second" / "metrics.json").read_text())["lr"] is None


def test_failure_stops_by_default_and_report_says_so(course, tmp_path):
    notebook = nbformat.read(course / "02_second.ipynb", as_version=4)
    notebook.cells[1].source = notebook.cells[1].source.replace("fail: bool = False", "fail: bool = True")
    nbformat.write(notebook, course / "02_second.ipynb")
    run_dir, results = run_course(runs_root=tmp_path, notebooks_dir=course, show_progress=False)
    assert [r.status for r in results] == ["ok", "failed", "not run"]
    assert "RuntimeError: failing halfway on purpose" in results[1].error
    assert "cell" in results[1].error
    report = json.loads((run_dir / "report.json").read_text())
    assert report["on_failure"] == "stop" and report["ok"] is False

    run_dir, results = run_course(runs_root=tmp_path, notebooks_dir=course, keep_going=True,
                                  show_progress=False)
    assert [r.status for r in results] == ["ok", "failed", "ok"]
    assert "on failure: keep going" in (run_dir / "report.md").read_text()


def test_cli_exit_status_names_failed_notebook(course, tmp_path, capsys):
    code = main(["run", "-p", "fail", "True", "--only", "03", "--notebooks-dir", str(course),
                 "--runs-root", str(tmp_path), "--no-progress"])
    assert code == 1
    assert "FAILED: 03_third.ipynb, cell" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "message"), [
    (["--only", "04"], "--only: no notebook '04'; the notebooks are: 01_first, 02_second, 03_third"),
    (["-p", "epochs", "3"], "-p epochs: no selected notebook has a parameter 'epochs'"),
    (["-p", "x", "abc"], "-p x 'abc': 01_first.ipynb declares x: int, got a str"),
    (["-p", "lr", "0.1", "--only", "02"], "-p lr: no selected notebook has a parameter 'lr'"),
])
def test_bad_requests_are_refused_before_running(course, tmp_path, capsys, argv, message):
    code = main(["run", *argv, "--notebooks-dir", str(course), "--runs-root", str(tmp_path)])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.glob("2*"))  # no run folder was made


def test_missing_data_offline_is_refused(course, tmp_path, monkeypatch, capsys):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    code = main(["run", "--data-root", str(tmp_path / "nowhere"), "--notebooks-dir", str(course),
                 "--runs-root", str(tmp_path / "runs")])
    assert code == 2
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte.gz" in err and str(tmp_path / "nowhere") in err


def test_sweep_runs_every_combination_and_keeps_failures(course, tmp_path):
    sweep_dir, table, interrupted = run_sweep("01", {"x": [1, 2], "fail": [False, True]}, jobs=2,
                                              runs_root=tmp_path, notebooks_dir=course)
    assert not interrupted
    assert len(table) == 4
    ok = table[table["status"] == "ok"]
    assert sorted(ok["test_accuracy"]) == [0.1, 0.2]
    assert (table[table["fail"]]["status"] == "failed").all()
    assert pd.read_csv(sweep_dir / "results.csv").shape[0] == 4
    assert (sweep_dir / "comparison.png").stat().st_size > 0
    assert len(list(sweep_dir.glob("*/01_first.ipynb"))) == 4


def test_sweep_refuses_unknown_parameter(course, tmp_path):
    with pytest.raises(CourseError, match="no selected notebook has a parameter 'epochs'"):
        run_sweep("01", {"epochs": [1, 2]}, runs_root=tmp_path, notebooks_dir=course)


def test_ctrl_c_during_sweep_keeps_finished_runs(course, tmp_path):
    runs = tmp_path / "runs"
    command = [sys.executable, "-m", "fmnist_helpers.course", "sweep", "01", "-p", "sleep", "0", "60",
               "--jobs", "1", "--notebooks-dir", str(course), "--runs-root", str(runs)]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 90
    table = None
    while time.monotonic() < deadline:
        tables = list(runs.glob("sweep-*/results.csv"))
        if tables:
            table = pd.read_csv(tables[0])
            if (table["status"] == "ok").any():
                break
        time.sleep(0.5)
    assert table is not None and (table["status"] == "ok").any(), "the first run never finished"
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    table = pd.read_csv(tables[0])
    assert table["status"].tolist() == ["ok", "interrupted"]
    assert table["test_accuracy"][0] == 0.1


def test_student_copies_have_no_solutions(tmp_path):
    paths = write_student_copies(tmp_path)
    assert [p.name for p in paths] == [p.name for p in select_notebooks(None)]
    for path in paths:
        solution = nbformat.read(Path("notebooks") / path.name, as_version=4)
        student = nbformat.read(path, as_version=4)
        assert len(student.cells) == len(solution.cells)
        tagged = ["solution" in c.metadata.get("tags", []) for c in solution.cells]
        assert any(tagged), f"{path.name} has no solution cells"
        lesson_lines = {ln.strip() for c, t in zip(solution.cells, tagged, strict=True) if not t
                        for ln in c.source.splitlines()}
        student_lines = {ln.strip() for c in student.cells for ln in c.source.splitlines()}
        for original, copy, is_solution in zip(solution.cells, student.cells, tagged, strict=True):
            assert copy.get("outputs", []) == []
            if is_solution:
                assert copy.source == STUB
                # no line that only the solution has survives anywhere in the copy
                only_solution = {ln.strip() for ln in original.source.splitlines()} - lesson_lines
                assert not (only_solution - {""}) & student_lines
            else:
                assert copy.source == original.source


def test_student_copy_of_stand_in(course):
    notebook = nbformat.read(course / "01_first.ipynb", as_version=4)
    copy = student_copy(notebook)
    assert copy.cells[4].source == "# YOUR CODE HERE\nraise NotImplementedError"
    assert "6 * 7" not in json.dumps(copy)
    assert notebook.cells[4].source.startswith("answer")  # the original is untouched
