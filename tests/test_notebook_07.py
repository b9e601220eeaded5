"""Notebook 07 (hyperparameter runs): a quick papermill run ranked on validation with the chosen
run's test accuracy checked independently, another grid, the exercises' checks (instructor and
student copies), and 07's inline ``RunBuilder``/``RunManager`` kept in step with
``fmnist_helpers.runs``."""

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
from notebook_checks import exercise_tests
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from fmnist_helpers import (
    Network,
    TensorBatches,
    evaluate,
    load_metrics,
    load_tensors,
    train_validation_split,
)
from fmnist_helpers.course.catalog import PRESETS, select_notebooks
from fmnist_helpers.exercises import EXERCISES
from fmnist_helpers.metrics import get_num_correct
from fmnist_helpers.runs import RunBuilder, RunManager

pytestmark = pytest.mark.notebook

QUICK_BATCHES = PRESETS["quick"]["max_batches"]
RUN_KEYS = {"run", "lr", "batch_size", "shuffle", "steps", "loss", "accuracy", "validation_accuracy",
            "run_duration"}
EXERCISES_07 = sorted(key for key in EXERCISES if key.startswith("07."))


def test_07_quick_run_ranks_on_validation(quick_run):
    out_dir = quick_run("07")
    metrics = load_metrics(out_dir)
    assert metrics["num_runs"] == 2 and len(metrics["runs"]) == 2
    assert (metrics["train_size"], metrics["validation_size"]) == (50_000, 10_000)
    assert metrics["inline_runs_match_package"] is True

    results = pd.read_csv(metrics["results_csv"])
    assert Path(metrics["results_csv"]).is_relative_to(out_dir)
    assert results["run"].tolist() == [1, 2] and results["epoch"].tolist() == [1, 1]
    # the first two runs of the default grid: lr 0.01, batch 100, shuffled and in a fixed order
    assert results["lr"].tolist() == [0.01, 0.01] and results["batch_size"].tolist() == [100, 100]
    assert results["shuffle"].tolist() == [True, False]
    # 50 batches of Adam at lr 0.01 already classify well above chance (0.1)
    assert results["validation_accuracy"].between(0.4, 0.95).all()
    assert "test_accuracy" not in results.columns  # nothing is chosen with the test set

    assert all(set(r) == RUN_KEYS for r in metrics["runs"])  # no per-run test accuracy
    best = max(metrics["runs"], key=lambda r: r["validation_accuracy"])
    assert metrics["best_validation_accuracy"] == pytest.approx(best["validation_accuracy"])
    assert metrics["best_run"] == {k: best[k] for k in ("run", "lr", "batch_size", "shuffle")}
    assert all(r["steps"] == QUICK_BATCHES for r in metrics["runs"])
    assert results["validation_accuracy"].tolist() == pytest.approx(
        [r["validation_accuracy"] for r in metrics["runs"]])

    ranking = pd.read_csv(metrics["ranking_csv"])
    assert ranking["validation_accuracy"].is_monotonic_decreasing
    assert ranking["run"].iloc[0] == metrics["best_run"]["run"]
    assert "test_accuracy" not in ranking.columns


def test_07_chosen_weights_reproduce_validation_and_test_accuracy(quick_run, data_root):
    """The saved weights of the chosen run, measured here on a split made here: the notebook's
    best validation accuracy and its one test accuracy are what those weights score."""
    metrics = load_metrics(quick_run("07"))
    network = Network()
    network.load_state_dict(torch.load(metrics["chosen_weights"], weights_only=True))
    images, labels = load_tensors(train=True, root=data_root)
    _, (val_images, val_labels) = train_validation_split(images, labels, validation_size=10_000, seed=0)
    validation = evaluate(network, TensorBatches(val_images, val_labels, 1000))
    test_images, test_labels = load_tensors(train=False, root=data_root)
    test = evaluate(network, TensorBatches(test_images, test_labels, 1000))
    assert validation.samples == 10_000 and test.samples == 10_000
    assert validation.accuracy == pytest.approx(metrics["best_validation_accuracy"], abs=2e-4)
    assert test.accuracy == pytest.approx(metrics["test_accuracy"], abs=2e-4)
    assert 0.4 < test.accuracy < 0.95


def test_07_tensorboard_runs_log_validation_accuracy(quick_run):
    metrics = load_metrics(quick_run("07"))
    results = pd.read_csv(metrics["results_csv"])
    run_dirs = sorted(p for p in Path(metrics["log_dir"]).iterdir() if p.is_dir())
    assert [p.name for p in run_dirs] == ["01-lr=0.01,batch_size=100,shuffle=True",
                                          "02-lr=0.01,batch_size=100,shuffle=False"]
    for run_dir, expected in zip(run_dirs, results["validation_accuracy"], strict=True):
        events = EventAccumulator(str(run_dir))
        events.Reload()
        (logged,) = events.Scalars("validation_accuracy")
        (hparam,) = events.Scalars("hparam/validation_accuracy")
        assert logged.value == pytest.approx(expected, rel=1e-6)
        assert hparam.value == pytest.approx(expected, rel=1e-6)


def test_07_another_grid_through_papermill(tmp_path, run_quick):
    """An experimenter's grid; lrs as text, the way papermill's ``-p lrs "[0.005]"`` passes it."""
    metrics = load_metrics(run_quick("07", tmp_path, lrs="[0.005]", batch_sizes=[50],
                                     shuffles=[True], epochs=1, validation_size=5000))
    assert metrics["num_runs"] == 1
    assert metrics["best_run"] == {"run": 1, "lr": 0.005, "batch_size": 50, "shuffle": True}
    assert (metrics["train_size"], metrics["validation_size"]) == (55_000, 5_000)
    results = pd.read_csv(metrics["results_csv"])
    assert len(results) == 1 and results["lr"].tolist() == [0.005]
    assert results["batch_size"].tolist() == [50]
    assert metrics["runs"][0]["steps"] == QUICK_BATCHES  # max_batches of the quick preset
    assert metrics["best_validation_accuracy"] == pytest.approx(results["validation_accuracy"][0])


# ------------------------------------------------------------------------ exercises and their checks


# ------------------------------------------- 07's inline classes in step with fmnist_helpers.runs

INLINE_CELLS = ("class RunBuilder", "class RunManager", "def track_loss(self")


def inline_classes() -> dict:
    """Execute the cells of notebook 07 that define the inline ``RunBuilder`` and ``RunManager``."""
    (path,) = select_notebooks("07")
    notebook = nbformat.read(path, as_version=4)
    namespace = {"namedtuple": namedtuple, "product": product, "OrderedDict": OrderedDict,
                 "time": time, "pd": pd, "get_num_correct": get_num_correct}
    found = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.startswith(INLINE_CELLS):
            first_line = cell.source.splitlines()[0]
            exec(compile(cell.source, f"{path.name}:{first_line}", "exec"), namespace)
            found.append(first_line.split("(")[0].rstrip(":"))
    assert found == ["class RunBuilder", "class RunManager", "def track_loss"]
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
    for epoch in range(3):
        for manager in (inline, package):
            manager.begin_epoch()
            for loss, preds, labels in batches[epoch:]:
                if epoch == 2:  # the on_batch hook train_one_epoch calls
                    manager.track_batch(preds, labels, loss.mean())
                else:
                    manager.track_loss(loss.mean(), len(labels))
                    manager.track_num_correct(preds, labels)
        inline.end_epoch(validation_accuracy=0.25 * epoch)
        package.end_epoch(validation_accuracy=0.25 * epoch)
    inline.end_run()
    package.end_run()
    columns = ["run", "epoch", "loss", "accuracy", "validation_accuracy", "lr", "batch_size"]
    frame = inline.results_frame()
    pd.testing.assert_frame_equal(frame[columns], package.results_frame()[columns])
    # the tallies themselves, by hand: epoch 3 holds only the last batch (2 images)
    loss, preds, labels = batches[2]
    assert frame["loss"].iloc[2] == pytest.approx(loss.mean().item())
    assert frame["accuracy"].iloc[2] == pytest.approx(int((preds.argmax(1) == labels).sum()) / 2)
    assert list(frame.columns) == list(package.results_frame().columns)
    assert json.loads((tmp_path / "results.json").read_text())[-1]["epoch"] == 3


test_instructor_checks_all_pass, test_student_copy_runs_and_every_check_gives_its_hint = exercise_tests(
    "07")
