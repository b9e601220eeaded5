"""``fmnist-course run`` on stand-in notebooks: runs, reports, failures, links, signals, bad folders.

The stand-ins (``tests/standins.py``) need no data or torch, so these tests check the runner in
seconds; the real notebooks are covered by the notebook tests and nbval.
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

import psutil
import pytest
from standins import kernels_under, make_course, set_default, wait_for_kernels, write_one_cell_notebook

from fmnist_helpers.course.catalog import CourseError
from fmnist_helpers.course.cli import main, parse_value
from fmnist_helpers.course.options import Folders
from fmnist_helpers.course.run import run_course


@pytest.fixture
def course(tmp_path, data_root) -> Path:
    return make_course(tmp_path / "course")


def test_parse_value():
    assert parse_value("3") == 3 and parse_value("0.01") == 0.01
    assert parse_value("True") is True and parse_value("None") is None
    assert parse_value("[1, 2]") == [1, 2] and parse_value("cpu") == "cpu"


def test_run_writes_every_notebook_and_a_report(course, tmp_path):
    runs = tmp_path / "runs"
    run_dir, results = run_course(only="01,02,03", overrides={"x": 7},
                                  folders=Folders(course, runs))
    assert [r.status for r in results] == ["ok", "ok", "ok"]
    assert run_dir.parent == runs and (run_dir / "01_first.ipynb").is_file()
    assert json.loads((run_dir / "02_second" / "metrics.json").read_text())["test_accuracy"] == 0.7
    report = json.loads((run_dir / "report.json").read_text())
    assert report["ok"] is True
    assert report["provenance"]["parameters"]["overrides"] == {"x": 7}
    assert Path(report["provenance"]["parameters"]["data_root"]).is_absolute()
    assert {"python", "torch", "torchvision", "cpu", "gpu", "date", "platform"} <= set(report["provenance"])
    markdown = (run_dir / "report.md").read_text()
    assert "| 03_third | ok |" in markdown and "test_accuracy=0.7" in markdown
    # a second run never overwrites the first
    second, _ = run_course(only="01", folders=Folders(course, runs))
    assert second != run_dir and run_dir.is_dir()


def test_kernels_started_side_by_side_in_one_folder_never_share_sockets(course, tmp_path):
    """Four kernels start at once in the same notebooks/ folder (a sweep, the tests' workers): each
    gets sockets of its own, and none is left behind (jupyter_client's default, kernel-ipc-N in
    the kernel's folder, was picked twice by kernels started together)."""
    from concurrent.futures import ProcessPoolExecutor

    from fmnist_helpers.course.execute import run_notebook

    path = course / "01_first.ipynb"
    outs = [tmp_path / f"out{i}" for i in range(4)]
    for out in outs:
        out.mkdir()
    with ProcessPoolExecutor(4) as pool:
        results = list(pool.map(run_notebook, [path] * 4, outs,
                                [{"x": i, "out_dir": str(out)} for i, out in enumerate(outs)]))
    assert [r.status for r in results] == ["ok"] * 4, [r.error for r in results]
    assert not [p.name for p in course.iterdir() if p.suffix != ".ipynb"]  # no socket files left


def test_parameter_reaches_only_notebooks_that_declare_it(course, tmp_path):
    run_dir, _ = run_course(only="01,02", overrides={"lr": 0.25},
                            folders=Folders(course, tmp_path))
    assert json.loads((run_dir / "01_first" / "metrics.json").read_text())["lr"] == 0.25
    assert json.loads((run_dir / "02_second" / "metrics.json").read_text())["lr"] is None


def test_failure_stops_by_default_and_is_reported_on_one_line(course, tmp_path):
    set_default(course / "02_second.ipynb", "fail", "True")
    run_dir, results = run_course(only="01,02,03", folders=Folders(course, tmp_path))
    assert [r.status for r in results] == ["ok", "failed", "not run"]
    error = results[1].error
    assert "RuntimeError: failing halfway on purpose second line of the message" in error
    assert error.startswith("cell ") and "\n" not in error and results[1].cell is not None
    report = json.loads((run_dir / "report.json").read_text())
    assert report["provenance"]["parameters"]["on_failure"] == "stop" and report["ok"] is False
    row = next(ln for ln in (run_dir / "report.md").read_text().splitlines() if "02_second" in ln)
    assert "second line of the message |" in row  # one table row, no literal \n

    run_dir, results = run_course(only="01,02,03", folders=Folders(course, tmp_path),
                                  keep_going=True)
    assert [r.status for r in results] == ["ok", "failed", "ok"]
    assert "on failure: keep going" in (run_dir / "report.md").read_text()


def test_cli_exit_status_names_failed_notebook(course, tmp_path, capsys):
    code = main(["run", "-p", "fail", "True", "--only", "03", "--notebooks-dir", str(course),
                 "--runs-root", str(tmp_path), "--no-progress"])
    assert code == 1
    assert "FAILED: 03_third.ipynb, cell" in capsys.readouterr().err


def test_missing_data_offline_is_refused_once(course, tmp_path, monkeypatch, capsys):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    code = main(["run", "--data-root", str(tmp_path / "nowhere"), "--notebooks-dir", str(course),
                 "--runs-root", str(tmp_path / "runs")])
    assert code == 2
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte.gz" in err and str(tmp_path / "nowhere") in err
    assert not (tmp_path / "runs").exists()


def test_relative_data_root_is_taken_from_the_callers_folder(course, tmp_path, data_root,
                                                              monkeypatch):
    monkeypatch.chdir(data_root.parent)
    run_dir, _ = run_course(only="01", folders=Folders(course, tmp_path, data_root.name))
    report = json.loads((run_dir / "report.json").read_text())
    assert report["provenance"]["parameters"]["data_root"] == str(data_root)


def test_a_notebook_needing_another_uses_the_newest_earlier_run_and_says_so(course, tmp_path,
                                                                            capsys):
    runs = tmp_path / "runs"
    # no earlier 04: refused before anything runs, with what to do
    with pytest.raises(CourseError, match=r"05_use needs the outputs of 04_train.*--only 04,05.*"
                                          r"-p train_dir FOLDER"):
        run_course(only="05", folders=Folders(course, runs))
    first, _ = run_course(only="04", overrides={"x": 1}, folders=Folders(course, runs))
    second, _ = run_course(only="04", overrides={"x": 2}, folders=Folders(course, runs))
    run_dir, results = run_course(only="05", folders=Folders(course, runs))
    assert results[0].status == "ok"
    assert json.loads((run_dir / "05_use" / "metrics.json").read_text()) == {"trained_weights": "weights 2"}
    report = json.loads((run_dir / "report.json").read_text())
    assert report["notes"] == [f"05_use used train_dir={second / '04_train'} (newest earlier run)"]
    assert f"05_use used train_dir={second / '04_train'}" in (run_dir / "report.md").read_text()
    # run together, 05 uses this run's 04, and the report says that too
    run_dir, _ = run_course(only="04,05", folders=Folders(course, runs))
    notes = json.loads((run_dir / "report.json").read_text())["notes"]
    assert notes == [f"05_use used train_dir={run_dir / '04_train'} (this run)"]


@pytest.mark.parametrize("make_bad", [
    lambda tmp: (tmp / "a_file").write_text("x") and tmp / "a_file",  # a file, not a folder
    lambda tmp: (tmp / "a_file").write_text("x") and tmp / "a_file" / "runs",
], ids=["file", "below-a-file"])
def test_unusable_runs_root_is_one_clear_line(course, tmp_path, capsys, make_bad):
    bad = make_bad(tmp_path)
    code = main(["run", "--only", "01", "--notebooks-dir", str(course), "--runs-root", str(bad)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and f"cannot create a run folder in {bad}" in err
    assert "--runs-root" in err and "Traceback" not in err


def _start_run(course: Path, runs: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "fmnist_helpers.course", "run", "--only", "01,02", "-p",
               "sleep", "60", "--notebooks-dir", str(course), "--runs-root", str(runs),
               "--no-progress"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129),
                                              (signal.SIGINT, 130)])
def test_stop_signals_write_the_report_and_stop_the_kernel(course, tmp_path, signum, code):
    runs = tmp_path / "runs"
    process = _start_run(course, runs)
    kernels = wait_for_kernels(process.pid)
    assert kernels, "no kernel started"
    time.sleep(2)  # the kernel is busy in time.sleep(60)
    os.kill(process.pid, signum)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == code, output
    (report,) = runs.glob("*/report.json")
    statuses = [n["status"] for n in json.loads(report.read_text())["notebooks"]]
    assert statuses == ["interrupted", "not run"]
    psutil.wait_procs(kernels, timeout=10)
    assert not [k for k in kernels if _still_running(k)]


def _still_running(process: psutil.Process) -> bool:
    """True while `process` runs; a zombie (exited, waiting for its parent) counts as stopped."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_kernels_never_inherit_dasks_malloc_setting(tmp_path, monkeypatch):
    """A LocalCluster sets MALLOC_TRIM_THRESHOLD_=65536 in the process that starts it; kernels
    started afterwards in that process must not inherit it (it halves torch's training speed)."""
    import nbformat

    from fmnist_helpers.course.execute import run_notebook

    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    notebook = write_one_cell_notebook(tmp_path / "env.ipynb",
                                       "import os\nprint(os.environ.get('MALLOC_TRIM_THRESHOLD_'))")
    result = run_notebook(notebook, tmp_path, {}, tmp_path / "executed.ipynb")
    assert result.status == "ok", result.error
    executed = nbformat.read(tmp_path / "executed.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "None\n"
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536"  # this process's setting is left alone


def test_a_finished_notebook_leaves_no_kernel_or_child_process(tmp_path):
    """Once the last cell ran the kernel is killed (immediate shutdown), and a process it started
    (a DataLoader worker, say) goes with it; the files its cells wrote stay."""
    from fmnist_helpers.course.execute import run_notebook

    notebook = write_one_cell_notebook(tmp_path / "child.ipynb", (
        "import pathlib, subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        "pathlib.Path('child.pid').write_text(str(child.pid))\n"
        "with open('written.txt', 'w') as f:\n"
        "    f.write('kept')"))
    result = run_notebook(notebook, tmp_path, {}, tmp_path / "executed.ipynb")
    assert result.status == "ok", result.error
    assert (tmp_path / "written.txt").read_text() == "kept"
    child = int((tmp_path / "child.pid").read_text())
    assert not kernels_under(os.getpid())
    assert not psutil.pid_exists(child) or not _still_running(psutil.Process(child))
