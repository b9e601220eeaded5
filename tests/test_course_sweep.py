"""``fmnist-course sweep`` on stand-in notebooks, through the default local Dask cluster: every
combination, failures kept, checks up front, Ctrl-C keeps finished rows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pandas as pd
import pytest
from standins import make_course

from fmnist_helpers.course.catalog import CourseError
from fmnist_helpers.course.options import ClusterOptions, Folders
from fmnist_helpers.course.sweep import run_sweep


@pytest.fixture
def course(tmp_path, data_root):
    return make_course(tmp_path / "course")


def test_sweep_runs_every_combination_and_keeps_failures(course, tmp_path):
    sweep_dir, table, interrupted = run_sweep("01", {"x": [1, 2], "fail": [False, True]},
                                              folders=Folders(course, tmp_path),
                                              cluster=ClusterOptions(jobs=2))
    assert not interrupted
    assert len(table) == 4
    ok = table[table["status"] == "ok"]
    assert sorted(ok["test_accuracy"]) == [0.1, 0.2]
    assert (table[table["fail"]]["status"] == "failed").all()
    assert pd.read_csv(sweep_dir / "results.csv").shape[0] == 4
    assert (sweep_dir / "comparison.png").stat().st_size > 0
    assert len(list(sweep_dir.glob("*/01_first.ipynb"))) == 4
    assert table["worker"].str.startswith("tcp://127.0.0.1:").all()  # each row says where it ran
    assert table["worker"].nunique() == 2  # the local cluster's two worker processes


@pytest.mark.parametrize(("options", "message"), [
    ({"jobs": 0}, "--jobs must be at least 1, got 0"),
    ({"threads": 0}, "--threads must be at least 1, got 0"),
])
def test_sweep_refuses_bad_engine_options_before_starting(course, tmp_path, options, message):
    with pytest.raises(CourseError, match=message):
        run_sweep("01", {"x": [1]}, folders=Folders(course, tmp_path / "runs"),
                  cluster=ClusterOptions(**options))
    assert not (tmp_path / "runs").exists()


def test_sweep_refuses_unknown_parameter(course, tmp_path):
    with pytest.raises(CourseError, match="no selected notebook has a parameter 'epochs'"):
        run_sweep("01", {"epochs": [1, 2]}, folders=Folders(course, tmp_path))


def test_sweep_with_missing_data_fails_once_up_front(course, tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(CourseError, match="Fashion-MNIST is not in"):
        run_sweep("01", {"x": [1, 2, 3]},
                  folders=Folders(course, tmp_path / "runs", str(tmp_path / "nowhere")))
    assert not (tmp_path / "runs").exists()  # no folder, no combination started


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
