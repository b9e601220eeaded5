"""The tool's bad days: a corrupt notebook, a closed terminal, a full disk, a diverged run, a
grading folder that holds other files, leftovers in the temporary folder (issue 21's second round).

Each case is tried as a user meets it, through ``fmnist-course`` (``main`` or a real process), on
the stand-in notebooks (``tests/standins.py``): they need no data or torch, so each test takes
seconds. Every refusal is one line without a traceback, exit code 2, and nothing already written
is lost.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from standins import make_course, notebook, wait_for_kernels

from fmnist_helpers.course.cli import main
from fmnist_helpers.course.scratch import remove_orphaned_scratch


@pytest.fixture
def course(tmp_path) -> Path:
    return make_course(tmp_path / "course")


def _cut_short(path: Path) -> None:
    text = path.read_text()
    path.write_text(text[: len(text) // 2])


@pytest.mark.parametrize("command", [
    ["list"],
    ["run", "--runs-root", "{tmp}/runs"],
    ["run", "--only", "03", "--runs-root", "{tmp}/runs"],
    ["student", "--out", "{tmp}/student"],
    ["sweep", "03", "-p", "x", "1", "2", "--runs-root", "{tmp}/runs"],
])
def test_a_corrupt_notebook_is_named_and_nothing_is_written(course, tmp_path, capsys, command):
    _cut_short(course / "03_third.ipynb")
    argv = [part.format(tmp=tmp_path) for part in command] + ["--notebooks-dir", str(course)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert f"{course / '03_third.ipynb'} is not a readable notebook" in err
    assert "Notebook does not appear to be JSON" in err and "git checkout -- 03_third.ipynb" in err
    assert not (tmp_path / "student").exists() and not (tmp_path / "runs").exists()


def test_list_takes_a_notebooks_folder(course, capsys):
    assert main(["list", "--notebooks-dir", str(course)]) == 0
    listed = capsys.readouterr().out
    assert "01_first" in listed and "05_use" in listed and "train_dir" in listed


def test_a_reader_that_goes_early_is_no_error(course):
    """`fmnist-course list | head -0`: the reader has gone before the table is printed, which is
    then dropped without a word (no BrokenPipeError, not even at exit)."""
    command = [sys.executable, "-m", "fmnist_helpers.course", "list", "--notebooks-dir", str(course)]
    listing = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    listing.stdout.close()  # gone while the command still starts: its print meets a broken pipe
    assert listing.wait(timeout=60) == 0
    assert listing.stderr.read() == b""


def test_list_of_an_empty_folder_says_so(tmp_path, capsys):
    assert main(["list", "--notebooks-dir", str(tmp_path)]) == 2
    assert f"no notebooks NN_topic.ipynb in {tmp_path}" in capsys.readouterr().err


OUT_DIR_ONLY = "from typing import Optional\n\nout_dir: Optional[str] = None  # metrics.json\n"

DIVERGING = '''\
import math
from fmnist_helpers import save_metrics
save_metrics(out_dir, {"test_accuracy": 0.1, "epoch_losses": [2.3, math.nan, math.inf], "loss": math.nan})
'''


def test_a_diverged_run_is_strict_json_and_the_report_warns(tmp_path, capsys):
    """``-p lr 1e9`` in 04: the loss becomes NaN, the run still ends "ok"; metrics.json stays strict
    JSON (null where NaN was) and the table and the report say what happened."""
    course = tmp_path / "course"
    course.mkdir()
    nbformat.write(notebook(OUT_DIR_ONLY, DIVERGING), course / "01_diverge.ipynb")
    assert main(["run", "--notebooks-dir", str(course), "--runs-root", str(tmp_path / "runs"),
                 "--no-progress"]) == 0
    (metrics_file,) = (tmp_path / "runs").glob("*/01_diverge/metrics.json")
    text = metrics_file.read_text()
    metrics = json.loads(text, parse_constant=lambda token: pytest.fail(f"bare {token} in JSON"))
    assert metrics["loss"] is None and metrics["epoch_losses"] == [2.3, None, None]
    assert metrics["not_finite"] == ["epoch_losses[1]", "epoch_losses[2]", "loss"]
    warning = ("not a finite number (NaN or infinity) in epoch_losses[1], epoch_losses[2], loss: "
               "the training diverged; try a smaller lr")
    assert warning in capsys.readouterr().out
    (report,) = (tmp_path / "runs").glob("*/report.md")
    assert warning in report.read_text()


def test_closing_the_terminal_keeps_the_report_and_the_exit_code(course, tmp_path):
    """The terminal closes (its master side goes, then SIGHUP arrives): the report is written, the
    table printed to the dead terminal is dropped, and the exit code is 129 (128 + SIGHUP)."""
    runs = tmp_path / "runs"
    master, terminal = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "fmnist_helpers.course", "run", "--only", "01,02", "-p", "sleep", "60",
         "--notebooks-dir", str(course), "--runs-root", str(runs)],
        stdin=terminal, stdout=terminal, stderr=terminal, cwd=tmp_path)
    os.close(terminal)
    try:
        assert wait_for_kernels(process.pid), "no kernel started"
        time.sleep(1)
        os.close(master)  # every later write to the terminal fails with EIO
        master = -1
        process.send_signal(signal.SIGHUP)
        assert process.wait(timeout=60) == 128 + signal.SIGHUP
    finally:
        if master >= 0:
            os.close(master)
        process.kill()
    (report,) = runs.glob("*/report.json")
    statuses = [n["status"] for n in json.loads(report.read_text())["notebooks"]]
    assert statuses == ["interrupted", "not run"]
    assert "stopped by SIGHUP" in (report.parent / "report.md").read_text()


OUT_DIR_ONLY_BODY_BIG = "print('x' * 200_000)  # more than the small disk holds\n"
FILL_THE_DISK = '''\
import pathlib
with open(pathlib.Path(out_dir, "filler"), "wb") as filler:
    try:
        while True:
            filler.write(b"0" * 4096)
            filler.flush()
    except OSError:
        pass
'''


def _run_on_a_small_disk(course: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """``fmnist-course run --keep-going`` with ``--runs-root`` on a 128 KiB tmpfs of its own (a
    private mount namespace), where the disk fills up."""
    small = tmp_path / "small"
    small.mkdir()
    script = (f"mount -t tmpfs -o size=128k tmpfs {small} && {sys.executable} -m "
              f"fmnist_helpers.course run --keep-going --no-progress --notebooks-dir {course} "
              f"--runs-root {small}")
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs a mount namespace (unshare -m) for a small disk of its own")
    return subprocess.run(["unshare", "-m", "sh", "-c", script + "; ls -la " + str(small) + "/*"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)


def test_a_full_disk_is_named_and_the_failure_recorded(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    nbformat.write(notebook(OUT_DIR_ONLY, OUT_DIR_ONLY_BODY_BIG), course / "01_big.ipynb")
    nbformat.write(notebook(OUT_DIR_ONLY, "print('small')\n"), course / "02_small.ipynb")
    done = _run_on_a_small_disk(course, tmp_path)
    assert "Traceback" not in done.stderr, done.stderr
    message = "No space left on device (the disk is full: free some space there, or choose a folder"
    # the notebook whose executed copy did not fit is failed, and its cut-short copy removed
    assert f"FAILED: 01_big.ipynb, cannot write or read {tmp_path}/small/" in done.stderr
    assert message in done.stderr
    assert re.search(r"01_big\s+failed", done.stdout) and re.search(r"02_small\s+ok", done.stdout)
    listed = done.stdout.split("executed notebooks and report:")[1]  # ls -la of the run's disk
    assert not re.search(r" 01_big\.ipynb$", listed, re.M), listed
    assert re.search(r" report\.json$", listed, re.M) and ".partial" not in listed


def test_a_disk_too_full_for_the_report_says_what_it_would_have_said(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    nbformat.write(notebook(OUT_DIR_ONLY, FILL_THE_DISK), course / "01_filler.ipynb")
    done = _run_on_a_small_disk(course, tmp_path)
    err = done.stderr.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    assert f"fmnist-course: error: cannot write the report in {tmp_path}/small/" in err
    assert "No space left on device (the disk is full: free some space there" in err
    assert "The notebooks: 01_filler failed (cannot write or read " in err
    # what was written is whole: a report file is written completely or not at all
    assert ".partial" not in done.stdout, done.stdout
    assert not re.search(r" 0 \w+ +\d+ [\d:]+ report\.(json|md)$", done.stdout, re.M), done.stdout


def test_a_sweep_stopped_by_sigterm_leaves_nothing_in_the_temp_folder(course, tmp_path):
    """SIGTERM to a sweep whose worker is busy: the rows say which signal stopped them, and neither
    the task's folder, nor the kernel's sockets, nor its connection file (which holds its keys)
    stays in the temporary folder."""
    temp = Path(tempfile.mkdtemp(prefix="t", dir="/tmp"))  # short: Unix socket paths are limited
    runs = tmp_path / "runs"
    command = [sys.executable, "-m", "fmnist_helpers.course", "sweep", "01", "-p", "sleep", "0", "60",
               "--jobs", "1", "--no-progress", "--notebooks-dir", str(course), "--runs-root",
               str(runs)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "TMPDIR": str(temp)}, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(temp.glob("fmnist-kernel-*/connection.json")):
            time.sleep(0.3)
        time.sleep(8)  # the first combination (sleep 0) is done, the second one sleeps
        assert list(temp.glob("fmnist-kernel-*/connection.json")), "no kernel started"
        process.send_signal(signal.SIGTERM)  # `kill PID`: the sweep only, not its workers
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 128 + signal.SIGTERM, output
        (table,) = runs.glob("sweep-*/results.csv")
        rows = table.read_text()
        assert "interrupted" in rows and "stopped by SIGTERM" in rows and "Ctrl-C" not in rows, rows
        time.sleep(2)  # the workers' processes end after the sweep
        # dask-scratch-space: Dask's own workspace of lock files, shared by every Dask process
        left = sorted(p.name for p in temp.iterdir() if p.name != "dask-scratch-space")
        assert left == [], list(temp.rglob("*"))
    finally:
        process.kill()
        shutil.rmtree(temp, ignore_errors=True)


def test_only_the_scratch_folders_of_ended_processes_are_removed(tmp_path):
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True).stdout.strip()
    mine = os.getpid()
    names = [f"fmnist-course-{ended}-abc", f"fmnist-kernel-{ended}-abc", f"fmnist-spec-{ended}-x",
             f"fmnist-kernel-{mine}-abc", f"fmnist-other-{ended}-abc", f"tmp{ended}-abc"]
    for name in names:
        (tmp_path / name).mkdir()
    (tmp_path / f"fmnist-kernel-{ended}-abc" / "connection.json").write_text("{}")
    removed = remove_orphaned_scratch(tmp_path)
    assert sorted(p.name for p in removed) == sorted(names[:3])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[3:])


def test_an_interrupted_notebooks_unrun_cells_stay_pending(course, tmp_path):
    """papermill's last save after a stop calls every cell "completed", even those that never ran."""
    runs = tmp_path / "runs"
    process = subprocess.Popen(
        [sys.executable, "-m", "fmnist_helpers.course", "run", "--only", "01", "-p", "sleep", "60",
         "--no-progress", "--notebooks-dir", str(course), "--runs-root", str(runs)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        assert wait_for_kernels(process.pid), "no kernel started"
        time.sleep(2)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        process.kill()
    (executed,) = runs.glob("*/01_first.ipynb")
    states = [cell.metadata.get("papermill", {}).get("status")
              for cell in nbformat.read(executed, as_version=4).cells]
    body = states.index("interrupted") if "interrupted" in states else pytest.fail(str(states))
    assert states[:body] == ["completed"] * body
    assert states[body + 1:] == ["pending"] * (len(states) - body - 1) and len(states) > body + 1
