"""Notebooks 06 (TensorBoard) and 07 (hyperparameter runs): quick papermill runs, other grids, bad input.

Also keeps 07's inline ``RunBuilder``/``RunManager`` in step with ``fmnist_helpers.runs``.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict, namedtuple
from itertools import product
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from fmnist_helpers import load_metrics
from fmnist_helpers.metrics import get_num_correct
from fmnist_helpers.runner import PRESETS, execute_notebook, notebook_parameters, select_notebooks
from fmnist_helpers.runs import RunBuilder, RunManager

pytestmark = pytest.mark.notebook

SCALAR_TAGS = {"Loss", "Number Correct", "Accuracy", "Test Accuracy", "Batch Loss"}
QUICK_BATCHES = PRESETS["quick"]["max_batches"]


def run_notebook(number: str, out_dir: Path, data_root: Path, **parameters) -> dict:
    """Execute a notebook with the quick preset's values plus ``parameters``; return its metrics."""
    from conftest import quick_parameters  # the same quick values the quick_run fixture passes

    (path,) = select_notebooks(number)
    params = quick_parameters(path, out_dir, data_root, **parameters)
    assert "max_batches" in params and params["out_dir"] == str(out_dir)  # quick, and into tmp
    execute_notebook(path, out_dir / "executed.ipynb", params)
    return load_metrics(out_dir)


def cell_outputs_text(executed: Path, first_line: str) -> str:
    """All text and HTML output of the code cells whose source contains ``first_line``."""
    notebook = nbformat.read(executed, as_version=4)
    texts = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and first_line in cell.source:
            for output in cell.outputs:
                texts.append(output.get("text", ""))
                texts.extend(str(v) for k, v in output.get("data", {}).items() if k.startswith("text/"))
    return "\n".join(texts)


# ---------------------------------------------------------------- 06 TensorBoard

def test_06_quick_run_logs_scalars_histograms_images_and_graph(quick_run):
    out_dir = quick_run("06")
    metrics = load_metrics(out_dir)
    assert set(metrics["scalar_tags"]) >= SCALAR_TAGS
    assert metrics["histogram_tag_count"] == 20  # 10 parameters and their 10 gradients
    assert metrics["image_tags"] == ["images"] and metrics["graph_logged"] is True
    assert metrics["event_file_count"] == 1
    assert metrics["epochs_run"] == 1
    assert 0.0 < metrics["final_loss"] < 2.5
    assert 0.2 < metrics["final_accuracy"] <= 1.0
    assert 0.4 < metrics["test_accuracy"] <= 1.0  # 30 batches of 100 already reach about 0.65
    assert metrics["provenance"]["parameters"]["max_batches"] == QUICK_BATCHES

    log_dir = Path(metrics["log_dir"])
    assert log_dir.is_relative_to(out_dir)
    assert list(log_dir.glob("events.out.tfevents.*"))
    # the event files hold what metrics.json says: read them back independently
    accumulator = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    accumulator.Reload()
    losses = accumulator.Scalars("Loss")
    assert [e.step for e in losses] == [1]
    assert losses[0].value == pytest.approx(metrics["final_loss"], rel=1e-6)
    assert len(accumulator.Scalars("Batch Loss")) == QUICK_BATCHES
    assert "conv1.weight.grad" in accumulator.Tags()["histograms"]
    # open_tensorboard=False (quick preset): no server, a note instead
    note = cell_outputs_text(out_dir / "executed.ipynb", "if open_tensorboard:")
    assert "open_tensorboard is False" in note


def test_06_tensorboard_magic_returns_under_papermill(tmp_path, data_root):
    """%tensorboard (the default, open_tensorboard=True) starts a server and returns; no hang."""
    start = time.perf_counter()
    metrics = run_notebook("06", tmp_path, data_root, open_tensorboard=True, max_batches=2)
    assert time.perf_counter() - start < 120
    assert metrics["provenance"]["parameters"]["open_tensorboard"] is True
    shown = cell_outputs_text(tmp_path / "executed.ipynb", "if open_tensorboard:")
    # the inline frame when the server started; TensorBoard's own message if it could not
    assert "tensorboard-frame" in shown or "TensorBoard" in shown


@pytest.mark.parametrize(("name", "value"), [("epochs", 0), ("open_tensorboard", "yes"), ("lr", -0.1)])
def test_06_bad_input_names_the_parameter(run_expecting_error, name, value):
    error = run_expecting_error("06", **{name: value})
    assert error.ename == "ParameterError"
    assert name in error.evalue


# ---------------------------------------------------------------- 07 hyperparameter runs

def test_07_quick_run_two_runs_and_the_best(quick_run):
    out_dir = quick_run("07")
    metrics = load_metrics(out_dir)
    assert metrics["num_runs"] == 2 and len(metrics["runs"]) == 2
    assert metrics["inline_runs_match_package"] is True

    results = pd.read_csv(metrics["results_csv"])
    assert Path(metrics["results_csv"]).is_relative_to(out_dir)
    assert results["run"].tolist() == [1, 2] and results["epoch"].tolist() == [1, 1]
    # the first two runs of the default grid: lr 0.01, batch 100, shuffled and in order
    assert results["lr"].tolist() == [0.01, 0.01] and results["batch_size"].tolist() == [100, 100]
    assert results["shuffle"].tolist() == [True, False]
    assert results["test_accuracy"].between(0.3, 1.0).all()

    best = max(metrics["runs"], key=lambda r: r["test_accuracy"])
    assert metrics["best_test_accuracy"] == pytest.approx(best["test_accuracy"])
    assert metrics["best_run"] == {k: best[k] for k in ("run", "lr", "batch_size", "shuffle")}
    assert all(r["steps"] == QUICK_BATCHES for r in metrics["runs"])

    ranking = pd.read_csv(metrics["ranking_csv"])
    assert ranking["test_accuracy"].is_monotonic_decreasing
    run_dirs = sorted(p for p in Path(metrics["log_dir"]).iterdir() if p.is_dir())
    assert [p.name for p in run_dirs] == ["01-lr=0.01,batch_size=100,shuffle=True",
                                          "02-lr=0.01,batch_size=100,shuffle=False"]
    assert all(list(p.glob("events.out.tfevents.*")) for p in run_dirs)


def test_07_another_grid_through_papermill(tmp_path, data_root):
    """An experimenter's grid; lrs as text, the way papermill's ``-p lrs "[0.005]"`` passes it."""
    metrics = run_notebook("07", tmp_path, data_root, lrs="[0.005]", batch_sizes=[50],
                           shuffles=[True], epochs=1)
    assert metrics["num_runs"] == 1
    assert metrics["best_run"] == {"run": 1, "lr": 0.005, "batch_size": 50, "shuffle": True}
    results = pd.read_csv(metrics["results_csv"])
    assert len(results) == 1 and results["lr"].tolist() == [0.005]
    assert results["batch_size"].tolist() == [50]
    assert metrics["runs"][0]["steps"] == QUICK_BATCHES  # max_batches of the quick preset


@pytest.mark.parametrize(("parameters", "named"), [
    ({"epochs": 0}, "epochs"),
    ({"lrs": []}, "lrs"),
    ({"lrs": [-1.0]}, "lrs[0]"),
    ({"batch_sizes": [100, 0]}, "batch_sizes[1]"),
    ({"shuffles": ["yes"]}, "shuffles[0]"),
])
def test_07_bad_input_names_the_parameter(run_expecting_error, parameters, named):
    error = run_expecting_error("07", **parameters)
    assert error.ename == "ParameterError"
    assert named in error.evalue


@pytest.mark.parametrize(("number", "own"), [("06", {"open_tensorboard"}),
                                           ("07", {"lrs", "batch_sizes", "shuffles", "num_runs_limit"})])
def test_notebook_declares_its_parameters(number, own):
    """The runner and the quick preset find every parameter, ``int | None`` ones included."""
    (path,) = select_notebooks(number)
    declared = notebook_parameters(path)
    common = {"data_root", "epochs", "seed", "device", "max_batches", "out_dir", "show_progress"}
    assert common | own <= set(declared)
    if number == "07":
        assert declared["lrs"]["inferred_type_name"] == "list[float]"


# ------------------------------------------- 07's inline classes in step with fmnist_helpers.runs

def inline_classes() -> dict:
    """Execute the cells of notebook 07 that define the inline ``RunBuilder`` and ``RunManager``."""
    (path,) = select_notebooks("07")
    notebook = nbformat.read(path, as_version=4)
    namespace = {"namedtuple": namedtuple, "product": product, "OrderedDict": OrderedDict,
                 "time": time, "pd": pd, "get_num_correct": get_num_correct}
    found = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.startswith(("class RunBuilder", "class RunManager")):
            exec(compile(cell.source, f"{path.name}:{cell.source.split(':')[0]}", "exec"), namespace)
            found.append(cell.source.split(":")[0])
    assert found == ["class RunBuilder", "class RunManager"]
    return namespace


@pytest.mark.parametrize("params", [
    OrderedDict(lr=[0.01, 0.001], batch_size=[100, 1000], shuffle=[True, False]),
    OrderedDict(lr=[0.005]),
    OrderedDict(batch_size=[50, 500], lr=[0.1, 0.01, 0.001], device=["cpu", "cuda"], seed=[0, 1]),
    {"shuffle": [False], "num_workers": [0, 1, 2]},
])
def test_07_inline_run_builder_matches_the_package(params):
    inline = inline_classes()["RunBuilder"].get_runs(params)
    package = RunBuilder.get_runs(params)
    assert inline == package
    assert [r._fields for r in inline] == [r._fields for r in package]
    assert [r._asdict() for r in inline] == [r._asdict() for r in package]


def test_07_inline_run_manager_tallies_like_the_package(tmp_path):
    inline = inline_classes()["RunManager"]()
    package = RunManager(tmp_path, live=False, log_histograms=False)
    run = RunBuilder.get_runs({"lr": [0.01], "batch_size": [4]})[0]
    network = torch.nn.Linear(3, 3)
    torch.manual_seed(0)
    batches = [(torch.rand(size), torch.randn(size, 3), torch.randint(0, 3, (size,))) for size in (4, 4, 2)]
    inline.begin_run(run)
    package.begin_run(run, network)
    for epoch in range(2):
        for manager in (inline, package):
            manager.begin_epoch()
            for loss, preds, labels in batches[epoch:]:
                manager.track_loss(loss.mean(), len(labels))
                manager.track_num_correct(preds, labels)
        inline.end_epoch()
        package.end_epoch()
    inline.end_run()
    package.end_run()
    columns = ["run", "epoch", "loss", "accuracy", "lr", "batch_size"]
    pd.testing.assert_frame_equal(inline.results_frame()[columns], package.results_frame()[columns])
    assert json.loads((tmp_path / "results.json").read_text())[-1]["epoch"] == 2
