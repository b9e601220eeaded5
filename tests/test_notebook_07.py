"""Notebook 07 (hyperparameter runs): a quick papermill run, another grid, and 07's inline
``RunBuilder``/``RunManager`` kept in step with ``fmnist_helpers.runs``."""

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

from fmnist_helpers import load_metrics
from fmnist_helpers.course.catalog import PRESETS, select_notebooks
from fmnist_helpers.metrics import get_num_correct
from fmnist_helpers.runs import RunBuilder, RunManager

pytestmark = pytest.mark.notebook

QUICK_BATCHES = PRESETS["quick"]["max_batches"]


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


def test_07_another_grid_through_papermill(tmp_path, run_quick):
    """An experimenter's grid; lrs as text, the way papermill's ``-p lrs "[0.005]"`` passes it."""
    metrics = load_metrics(run_quick("07", tmp_path, lrs="[0.005]", batch_sizes=[50],
                                     shuffles=[True], epochs=1))
    assert metrics["num_runs"] == 1
    assert metrics["best_run"] == {"run": 1, "lr": 0.005, "batch_size": 50, "shuffle": True}
    results = pd.read_csv(metrics["results_csv"])
    assert len(results) == 1 and results["lr"].tolist() == [0.005]
    assert results["batch_size"].tolist() == [50]
    assert metrics["runs"][0]["steps"] == QUICK_BATCHES  # max_batches of the quick preset


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
