"""Notebook 12 (the accuracy ladder): one quick run, its student copy, and its committed outputs.

The quick preset trains every rung and the final model on 50 batches of one epoch, so the tests
check structure, counts and consistency there; the accuracy goal (>= 0.93 with fewer than 100,000
parameters) is checked on the committed notebook, which ran with the default parameters.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import torch
from notebook_checks import cell_outputs_text, executed, exercise_tests

from fmnist_helpers import (
    CapstoneNet,
    TensorBatches,
    evaluate,
    evaluate_with_flip,
    load_metrics,
    load_tensors,
    normalize,
)
from fmnist_helpers.exercises import EXERCISES

pytestmark = pytest.mark.notebook

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "12_accuracy_ladder.ipynb"
EXERCISE_KEYS = {key for key in EXERCISES if key.startswith("12.")}
RUNGS = [
    ("Network (notebook 04)", 32_998),
    ("+ normalized input, batch norm", 33_250),
    ("+ CapstoneNet (3x3 convs, GAP)", 70_330),
    ("+ augmentation (crop, flip)", 70_330),
    ("+ one-cycle schedule", 70_330),
    ("+ label smoothing", 70_330),
    ("+ flip TTA (no training)", 70_330),
]


def test_12_quick_run_final_model_and_timings(quick_run):
    metrics = load_metrics(quick_run("12"))
    assert metrics["parameter_count"] == 70_330 < 100_000
    # 50 batches of the whole recipe are far better than chance (0.1) on 10,000 test images
    assert metrics["test_images"] == 10_000 and 0.5 < metrics["test_accuracy"] <= 1.0
    assert (metrics["epochs"], metrics["rung_epochs"]) == (1, 1)  # the quick preset
    assert len(metrics["seconds_per_epoch"]) == 1 and metrics["seconds_per_epoch"][0] > 0
    assert metrics["training_minutes"] == pytest.approx(sum(metrics["seconds_per_epoch"]) / 60)
    assert metrics["torch_threads"] == 1  # the quick preset's num_threads
    assert set(metrics["thread_seconds_per_epoch"]) == {"1", "2"}
    assert all(s > 0 for s in metrics["thread_seconds_per_epoch"].values())
    # the final model trains on all 60,000 training images after the choices on 50,000 / 10,000
    assert (metrics["final_train_images"], metrics["train_images"], metrics["validation_images"]) == (
        60_000, 50_000, 10_000)
    assert metrics["multiply_adds"] == {"Network": 232_440, "CapstoneNet": 5_532_544}
    history = metrics["final_history"]
    assert history["epoch"] == [1] and "validation_accuracy" not in history
    assert metrics["provenance"]["parameters"]["max_batches"] == 50


def test_12_quick_run_ladder_rows(quick_run):
    metrics = load_metrics(quick_run("12"))
    ladder = metrics["ladder"]
    assert [(row["name"], row["parameters"]) for row in ladder] == RUNGS
    for row in ladder[:-1]:
        assert 0.3 < row["validation_accuracy"] <= 1.0 and row["minutes"] > 0, row
    assert ladder[-1]["minutes"] == 0.0  # flip TTA trains nothing
    # TTA is used for the final model exactly when it beat rung 6 on validation
    assert metrics["flip_tta"] == (ladder[-1]["validation_accuracy"] > ladder[-2]["validation_accuracy"])
    with open(quick_run("12") / "ladder.csv") as table:
        rows = list(csv.DictReader(table))
    assert [row["rung"] for row in rows] == [name for name, _ in RUNGS]
    assert [float(row["validation accuracy"]) for row in rows] == [
        round(row["validation_accuracy"], 4) for row in ladder]
    changes = [float(row["change"]) for row in rows[1:]]
    expected = [round(b["validation_accuracy"] - a["validation_accuracy"], 4)
                for a, b in zip(ladder, ladder[1:], strict=False)]
    assert changes == pytest.approx(expected, abs=1e-4)


def test_12_quick_run_saves_weights_that_give_the_test_accuracy(quick_run, data_root):
    out_dir = quick_run("12")
    assert (out_dir / "ladder.png").stat().st_size > 1000
    assert (out_dir / "benchmark.png").stat().st_size > 1000
    metrics = load_metrics(out_dir)
    model = CapstoneNet()
    model.load_state_dict(torch.load(out_dir / "capstone_weights.pt", map_location="cpu"))
    images, labels = load_tensors(train=False, root=data_root)
    batches = TensorBatches(normalize(images), labels, 1000)
    result = (evaluate_with_flip if metrics["flip_tta"] else evaluate)(model, batches)
    # the saved weights are the measured model (float rounding may move an image or two)
    assert result.accuracy == pytest.approx(metrics["test_accuracy"], abs=5e-4)


# --- the committed notebook, executed with the default parameters ---------------------------------

def committed_text(first_line: str) -> str:
    return cell_outputs_text(executed(NOTEBOOK), first_line)


def test_12_committed_run_reaches_the_goal():
    """Issue 12: fewer than 100,000 parameters and test accuracy >= 0.93 with the defaults."""
    text = committed_text("test_result = measure(final_model")
    match = re.search(r"test accuracy (0\.\d{4}) \(([\d,]+) of 10,000 images.*?\); ([\d,]+) parameters",
                      text)
    assert match, text
    accuracy, parameters = float(match[1]), int(match[3].replace(",", ""))
    assert accuracy >= 0.93 and parameters < 100_000
    assert int(match[2].replace(",", "")) == round(accuracy * 10_000)


def test_12_exercise_3_flip_tta_repeats_rung_7(quick_run):
    """The answer prose of exercise 3: the student's flip TTA measures what rung 7 measured."""
    text = cell_outputs_text(executed(quick_run("12") / "executed.ipynb"), "def flip_tta_logits")
    match = re.search(r"flip TTA\s+(0\.\d{4})", text)
    assert match, text
    tta_row = load_metrics(quick_run("12"))["ladder"][-1]
    assert tta_row["name"] == "+ flip TTA (no training)"
    assert float(match[1]) == round(tta_row["validation_accuracy"], 4)


test_instructor_checks_all_pass, test_student_copy_runs_and_every_check_gives_its_hint = exercise_tests(
    "12")
