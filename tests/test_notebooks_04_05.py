"""Notebooks 04 (training) and 05 (analysis): quick papermill runs and bad input.

The quick preset trains 04 for one epoch of ``max_batches`` batches; 05 then evaluates those weights on the
full test set. The values asserted come from the notebooks' ``metrics.json``.
"""

from __future__ import annotations

import math

import pytest
import torch

from fmnist_helpers import Network, load_metrics
from fmnist_helpers.course.catalog import PRESETS, select_notebooks
from fmnist_helpers.course.execute import run_notebook

QUICK_BATCHES = PRESETS["quick"]["max_batches"]

pytestmark = pytest.mark.notebook


def test_04_quick_run_trains_and_saves(quick_run):
    out_dir = quick_run("04")
    metrics = load_metrics(out_dir)
    # 50 Adam steps of 100 images from seed 0 give about 0.7 on the 10000 test images (chance: 0.1)
    assert 0.6 < metrics["test_accuracy"] < 0.8
    assert 0.2 < metrics["train_accuracy"] < 0.8  # running accuracy during the epoch, early steps included
    assert metrics["epochs"] == 1
    assert metrics["batches_per_epoch"] == QUICK_BATCHES
    (row,) = metrics["history"]
    assert row["epoch"] == 1 and row["samples"] == QUICK_BATCHES * 100
    assert row["test_accuracy"] == metrics["test_accuracy"]
    assert row["train_accuracy"] == pytest.approx(row["total_correct"] / row["samples"])
    assert 0 < row["train_loss"] < math.log(10)  # below an untrained network's ~2.303
    assert len(metrics["seconds_per_epoch"]) == 1 and metrics["total_seconds"] > 0
    assert metrics["provenance"]["parameters"]["max_batches"] == QUICK_BATCHES

    network = Network()
    state = torch.load(out_dir / "model.pt", map_location="cpu")
    network.load_state_dict(state)  # raises if any name or shape differs
    assert state["conv1.weight"].shape == (6, 1, 5, 5)
    assert (out_dir / "history.csv").read_text().startswith("epoch,total_correct,total_loss")
    assert (out_dir / "curves.png").stat().st_size > 10_000


def test_05_quick_run_matches_04(quick_run):
    trained = load_metrics(quick_run("04"))
    metrics = load_metrics(quick_run("05"))
    assert metrics["train04_test_accuracy"] == trained["test_accuracy"]
    assert metrics["test_accuracy"] == pytest.approx(trained["test_accuracy"], abs=0.001)
    assert 0.5 < metrics["train_accuracy"] < 0.9

    matrix = torch.tensor(metrics["confusion_matrix"])
    assert matrix.shape == (10, 10)
    assert metrics["confusion_total"] == 10000 == int(matrix.sum())
    assert matrix.sum(dim=1).tolist() == [1000] * 10  # the test set is balanced
    assert int(matrix.diagonal().sum()) / 10000 == pytest.approx(metrics["test_accuracy"])

    per_class = metrics["per_class_accuracy"]
    assert len(per_class) == 10 and "Shirt" in per_class
    assert all(0.0 <= value <= 1.0 for value in per_class.values())
    assert sum(per_class.values()) / 10 == pytest.approx(metrics["test_accuracy"])

    confused = metrics["most_confused"]
    assert len(confused) == 10
    counts = [pair["count"] for pair in confused]
    assert counts == sorted(counts, reverse=True) and counts[0] > 0
    assert all(pair["true"] != pair["predicted"] for pair in confused)
    assert metrics["misclassified"] == 10000 - int(matrix.diagonal().sum())


def test_05_without_weights_says_run_04_first(tmp_path, data_root):
    empty = tmp_path / "no_training_here"
    empty.mkdir()
    (path,) = select_notebooks("05")
    result = run_notebook(path, tmp_path, {"train_dir": str(empty), "data_root": str(data_root),
                                           "out_dir": str(tmp_path / "out"), "show_progress": False})
    assert result.status == "failed" and "FileNotFoundError" in result.error
    assert "04" in result.error and "model.pt" in result.error and str(empty) in result.error
