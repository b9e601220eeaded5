"""Sweeps on a real Dask cluster: a scheduler and two workers started here, on 127.0.0.1.

``dask scheduler`` and two ``dask worker`` processes run for this module (free ports: the scheduler
picks its own and writes its address into a file), and are stopped at the end. Also: workers that
lack the course, or have another torch, met through a local cluster whose workers get a changed
``PYTHONPATH``; the worker-side task and its messages, called directly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import dask
import nbformat
import pandas as pd
import pytest
from distributed import Client
from distributed.scheduler import KilledWorker
from standins import make_course, write_one_cell_notebook

from fmnist_helpers.course import cluster as cluster_module
from fmnist_helpers.course import worker
from fmnist_helpers.course.catalog import CourseError
from fmnist_helpers.course.cli import main
from fmnist_helpers.course.cluster import (
    NotebookTask,
    input_folders,
    outcome_from_error,
    scheduler_address,
    task_spec,
)
from fmnist_helpers.course.links import OUTPUTS, resolve_links
from fmnist_helpers.course.options import ClusterOptions, Folders
from fmnist_helpers.course.sweep import run_sweep

QUIET = ClusterOptions(progress=False)

DASK = str(Path(sys.executable).with_name("dask"))
START_TIMEOUT_S = 120


def _wait_for(condition, what: str, timeout: float = START_TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value is not None and value is not False:
            return value
        time.sleep(0.2)
    pytest.fail(f"{what} within {timeout} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler (a worker that dies has its task run once more) and workers ``w1``, ``w2``."""
    folder = tmp_path_factory.mktemp("dask")
    address_file = folder / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}
    log = (folder / "dask.log").open("w")
    started = []

    def start(*command: str) -> subprocess.Popen:
        process = subprocess.Popen([DASK, *command], env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # its own group: stopped as a whole
        started.append(process)
        return process

    try:
        start("scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address",
              "127.0.0.1:0", "--scheduler-file", str(address_file))
        address = _wait_for(lambda: address_file.is_file() and json.loads(address_file.read_text())
                            .get("address"), "the scheduler did not start")
        workers = {name: start("worker", address, "--name", name, "--nthreads", "1", "--no-nanny",
                               "--host", "127.0.0.1", "--no-dashboard", "--local-directory",
                               str(folder / name)) for name in ("w1", "w2")}
        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=START_TIMEOUT_S)
            names = {info["name"]: addr for addr, info in client.scheduler_info()["workers"].items()}
        yield SimpleNamespace(address=address, workers=workers, addresses=names)
    finally:
        for process in reversed(started):
            _stop(process)
        log.close()


@pytest.mark.notebook
def test_quick_sweep_of_04_through_the_scheduler_fills_every_row_on_both_workers(cluster, tmp_path,
                                                                                  data_root, capsys):
    code = main(["sweep", "04", "--preset", "quick", "-p", "lr", "0.01", "0.001", "-p", "batch_size",
                 "100", "1000", "-p", "max_batches", "2",  # two batches an epoch: the engine is tested
                 "--scheduler", cluster.address, "--runs-root", str(tmp_path), "--data-root",
                 str(data_root), "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert f"Dask cluster at {cluster.address}: 2 workers; dashboard: http://127.0.0.1:" in printed
    (sweep_dir,) = tmp_path.glob("sweep-04_training-*")
    table = pd.read_csv(sweep_dir / "results.csv")
    assert table[["lr", "batch_size", "max_batches"]].values.tolist() == [
        [0.01, 100, 2], [0.01, 1000, 2], [0.001, 100, 2], [0.001, 1000, 2]]
    assert (table["status"] == "ok").all(), table["error"].tolist()
    assert set(table["worker"]) == set(cluster.addresses.values())  # both workers ran notebooks
    assert table["test_accuracy"].between(0.0, 1.0).all() and table["seconds"].gt(0).all()
    for folder in table["folder"]:  # no shared filesystem: everything came back as bytes
        files = {p.name for p in (sweep_dir / folder).iterdir()}
        assert {"04_training.ipynb", "metrics.json", "model.pt"} <= files
        metrics = json.loads((sweep_dir / folder / "metrics.json").read_text())
        assert metrics["test_accuracy"] == pytest.approx(table.set_index("folder").loc[folder,
                                                                                       "test_accuracy"])
    assert (sweep_dir / "comparison.png").stat().st_size > 0


def test_a_worker_without_the_course_fails_its_task_and_says_so(tmp_path, monkeypatch, data_root):
    """The local cluster's workers start with a ``PYTHONPATH`` that hides ``fmnist_helpers``."""
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import sys\n"
        "class Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'fmnist_helpers':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Hide())\n")
    monkeypatch.setenv("PYTHONPATH", str(hide))
    course = make_course(tmp_path / "course")
    _, table, _ = run_sweep("01", {"x": [1]}, folders=Folders(course, tmp_path / "runs"), cluster=QUIET)
    (row,) = table.to_dict("records")
    assert row["status"] == "failed" and row["worker"].startswith("tcp://127.0.0.1:")
    assert row["error"] == (f"worker {row['worker']} ({row['host']}): the course is not installed "
                            "(No module named 'fmnist_helpers'); install it there with the client's "
                            "requirements.txt and `pip install .`")


def test_a_worker_with_another_torch_is_refused_before_anything_runs(tmp_path, monkeypatch, data_root):
    """The workers start with a ``sitecustomize`` that makes them report torch 2.0.0."""
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "sitecustomize.py").write_text(
        "import importlib.metadata as metadata\n"
        "real = metadata.version\n"
        "metadata.version = lambda name: '2.0.0' if name == 'torch' else real(name)\n")
    monkeypatch.setenv("PYTHONPATH", str(fake))
    course = make_course(tmp_path / "course")
    printed = []
    with pytest.raises(CourseError, match="every worker was refused"):
        run_sweep("01", {"x": [1]}, folders=Folders(course, tmp_path / "runs"), cluster=QUIET,
                  echo=printed.append)
    torch = worker.package_version("torch")
    assert any(line.startswith("refused worker tcp://127.0.0.1:") and f"torch 2.0.0 (this machine "
               f"has python {worker.environment_versions()['python']}, torch {torch}" in line
               for line in printed), printed
    assert not (tmp_path / "runs").exists()  # refused before any folder or task


def test_the_task_on_a_worker_without_the_data_names_what_is_missing(tmp_path, monkeypatch):
    """The client's data folder is not on this worker, and the worker's own has no data."""
    monkeypatch.setenv("FMNIST_DATA", str(tmp_path / "no-data"))
    answer = worker.run_task({"notebook": "01_first.ipynb", "source": b"{}", "versions": {},
                              "parameters": {"data_root": str(tmp_path / "gone")}})
    assert answer["status"] == "failed" and not answer["executed"]
    assert answer["error"].startswith(f"worker local ({answer['host']}): no usable Fashion-MNIST data: ")
    assert "no-data" in answer["error"]


def test_a_worker_that_has_the_clients_data_folder_keeps_it_as_the_parameter_says(tmp_path, monkeypatch):
    """``data_root`` travels once, as a parameter, and is not resolved again where it exists."""
    given = tmp_path / "client-data"  # as the client resolved and checked it (no data needed here)
    given.mkdir()
    monkeypatch.setenv("FMNIST_DATA", str(tmp_path / "the-workers-own"))
    notebook = write_one_cell_notebook(tmp_path / "data.ipynb", "print(data_root)")
    task = NotebookTask("t", notebook, {"data_root": str(given)})
    spec = task_spec(task, 1, worker.environment_versions())
    assert "data_root" not in spec and spec["parameters"] == {"data_root": str(given)}
    answer = worker.run_task(spec)
    executed = nbformat.reads(answer["files"]["data.ipynb"].decode(), as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == f"{given}\n"


def test_the_task_refuses_a_worker_whose_versions_differ():
    answer = worker.run_task({"notebook": "01_first.ipynb", "source": b"{}", "parameters": {},
                              "versions": {"torch": "0.1"}})
    assert answer["error"] == (f"worker local ({answer['host']}): refused: torch "
                               f"{worker.package_version('torch')} (the client has 0.1)")


def test_a_task_whose_workers_died_is_reported_failed():
    error = KilledWorker("01_first-abc", SimpleNamespace(address="tcp://10.0.0.7:4000"), 1)
    outcome = outcome_from_error("01_first", error, 1)
    assert outcome.result.status == "failed" and not outcome.executed
    assert outcome.worker == "tcp://10.0.0.7:4000"
    assert outcome.result.error == ("the worker running it died, and so did the one that ran it again "
                                    "(2 tries); the last was tcp://10.0.0.7:4000")


def test_a_scheduler_that_is_not_there_is_refused_up_front(tmp_path, capsys, monkeypatch, data_root):
    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT_S", 2.0)
    course = make_course(tmp_path / "course")
    code = main(["sweep", "01", "-p", "x", "1", "--scheduler", "tcp://127.0.0.1:9", "--notebooks-dir",
                 str(course), "--runs-root", str(tmp_path / "runs")])
    assert code == 2
    assert "--scheduler tcp://127.0.0.1:9: no Dask scheduler answered" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_killing_a_worker_mid_sweep_loses_no_finished_row(cluster, tmp_path, data_root):
    """It kills ``w1`` (the last test of this module that uses the cluster); what ``w1`` was running
    is run again on ``w2``."""
    course = make_course(tmp_path / "course")
    results: list = []
    sweep = threading.Thread(target=lambda: results.append(run_sweep(
        "01", {"x": [1, 2, 3, 4, 5, 6], "sleep": [1.5]}, folders=Folders(course, tmp_path / "runs"),
        cluster=ClusterOptions(scheduler=cluster.address, progress=False), echo=lambda _: None)))
    sweep.start()

    def finished_rows() -> pd.DataFrame | None:
        tables = list((tmp_path / "runs").glob("sweep-*/results.csv"))
        table = pd.read_csv(tables[0]) if tables else None
        return table if table is not None and (table["status"] == "ok").sum() >= 2 else None

    before = _wait_for(finished_rows, "two combinations did not finish")
    os.killpg(cluster.workers["w1"].pid, signal.SIGKILL)  # as if the machine went away
    sweep.join(timeout=START_TIMEOUT_S)
    assert not sweep.is_alive()
    _, table, interrupted = results[0]
    assert not interrupted
    finished = before[before["status"] == "ok"]
    after = table.set_index("folder").loc[finished["folder"]]
    assert after["worker"].tolist() == finished["worker"].tolist()  # finished rows kept as they were
    assert after["test_accuracy"].tolist() == finished["test_accuracy"].tolist()
    assert (table["status"] == "ok").all(), table["error"].tolist()  # the killed one ran again
    assert sorted(table["test_accuracy"]) == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    late = table[~table["folder"].isin(finished["folder"])]
    assert cluster.addresses["w2"] in set(late["worker"])  # the survivor ran the rest


def test_folders_a_notebook_reads_travel_with_it_and_outputs_come_back(tmp_path, data_root):
    """05 reads 04's folder (``train_dir``): sent as bytes, used on the worker, outputs returned."""
    course = make_course(tmp_path / "course")
    trained = tmp_path / "course" / "outputs" / "04_train"  # 04's default folder, as 05 expects
    trained.mkdir(parents=True)
    (trained / "model.pt").write_text("weights 7")
    path = course / "05_use.ipynb"
    (link,) = resolve_links(path, (), Folders(course, tmp_path / "runs"))
    assert (link.origin, link.folder) == (OUTPUTS, trained)
    params = {"out_dir": str(tmp_path / "here"), "train_dir": str(trained)}
    assert input_folders(params) == {"train_dir": trained}
    task = NotebookTask("05", path, params, inputs=input_folders(params))
    answer = worker.run_task(task_spec(task, 1, worker.environment_versions()))
    assert answer["status"] == "ok" and answer["executed"], answer["error"]
    assert json.loads(answer["files"]["metrics.json"]) == {"trained_weights": "weights 7"}
    assert "05_use.ipynb" in answer["files"] and not (tmp_path / "here").exists()


def test_the_kernel_gets_the_torch_threads_asked_for(tmp_path, monkeypatch):
    """... and not the nanny's MALLOC_TRIM_THRESHOLD_, which halves torch's training speed."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # what a Dask nanny gives its worker
    notebook = write_one_cell_notebook(tmp_path / "threads.ipynb", (
        "import os\nprint(os.environ.get('OMP_NUM_THREADS'), os.environ.get('MKL_NUM_THREADS'), "
        "os.environ.get('MALLOC_TRIM_THRESHOLD_'))"))
    answer = worker.run_task(task_spec(NotebookTask("t", notebook, {}), 3, worker.environment_versions()))
    executed = nbformat.reads(answer["files"]["threads.ipynb"].decode(), as_version=4)
    assert executed.cells[0].outputs[0]["text"] == "3 3 None\n"
    assert "OMP_NUM_THREADS" not in os.environ  # the worker's own environment is left as it was
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536"


def test_the_scheduler_comes_from_the_option_else_dasks_setting():
    with dask.config.set({"scheduler-address": "tcp://10.0.0.1:8786"}):  # $DASK_SCHEDULER_ADDRESS
        assert scheduler_address(None) == "tcp://10.0.0.1:8786"
        assert scheduler_address("tcp://127.0.0.1:9000") == "tcp://127.0.0.1:9000"
    with dask.config.set({"scheduler-address": None}):
        assert scheduler_address(None) is None  # a local cluster
