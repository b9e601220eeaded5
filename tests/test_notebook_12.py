"""Notebook 12 (the accuracy ladder): one quick run, its student copy, and its committed outputs.

The quick preset trains every rung and the final recipe on 50 batches of one epoch, so the tests
check structure, counts and consistency there: the rows, the yardstick and every keep or drop
replayed from the recorded accuracies. The accuracy goal (>= 0.93 with fewer than 100,000
parameters), the committed ladder's decisions and the search behind the final model's epochs and
learning rate (``results/capstone_search.*``) are checked on the committed results.
"""

from __future__ import annotations

import csv
import json
import math
import re
import statistics
from pathlib import Path

import pytest
import torch
from notebook_checks import cell_outputs_text, executed, exercise_tests
from test_capstone_search import load_script

from fmnist_helpers import (
    TensorBatches,
    evaluate,
    evaluate_with_flip,
    load_metrics,
    load_tensors,
    normalize,
)
from fmnist_helpers.exercises import EXERCISES
from fmnist_helpers.recipes import NETWORKS

pytestmark = pytest.mark.notebook

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "12_accuracy_ladder.ipynb"
EXERCISE_KEYS = {key for key in EXERCISES if key.startswith("12.")}
RUNGS = [
    "Network (notebook 04)",
    "normalized input (part of rung 2)",
    "+ normalized input, batch norm",
    "CapstoneNet, 3 convs (part of rung 3)",
    "+ CapstoneNet (5 convs, GAP)",
    "+ augmentation (crop, flip)",
    "+ one-cycle schedule",
    "+ label smoothing",
    "+ flip TTA (no training)",
]
PARAMETERS = {"Network (notebook 04)": 32_998, "normalized input (part of rung 2)": 32_998,
              "+ normalized input, batch norm": 33_250, "CapstoneNet, 3 convs (part of rung 3)": 24_058,
              "+ CapstoneNet (5 convs, GAP)": 70_330}


def replay_decisions(ladder: list[dict], noise: dict) -> list[tuple[float | None, float | None, str]]:
    """Rule 3 applied again to the ladder's accuracies: each row's change from the rung the ladder
    stood on, the yardstick measured on that rung's network (2·√2·sd over its seeds), the decision."""
    stand_on, measured_on, replayed = None, None, []
    for row in ladder:
        if stand_on is None:
            change, yardstick, decision = None, None, "start"
        else:
            change = row["validation_accuracy"] - stand_on["validation_accuracy"]
            yardstick = 2 * math.sqrt(2) * statistics.stdev(noise[measured_on].values())
            decision = "part" if "(part of" in row["name"] else "kept" if change > yardstick else "dropped"
        replayed.append((change, yardstick, decision))
        if decision in ("start", "kept"):
            if stand_on is None or row["parameters"] != stand_on["parameters"] or row["name"] in noise:
                measured_on = row["name"] if row["name"] in noise else measured_on
            stand_on = row
    return replayed


def check_ladder(metrics: dict) -> None:
    """The ladder's rows, the yardsticks and every decision follow from the recorded accuracies."""
    ladder, noise = metrics["ladder"], metrics["noise"]
    assert [row["name"] for row in ladder] == RUNGS
    for row in ladder:
        if row["name"] in PARAMETERS:
            assert row["parameters"] == PARAMETERS[row["name"]], row
        else:  # these rungs change the training, not the network the ladder stands on
            assert row["parameters"] in (33_250, 70_330), row
    # the yardstick is measured on rung 1 and again on each kept rung that brings a new network
    kept_networks = [row["name"] for row in ladder if row["decision"] in ("start", "kept")
                     and row["name"] in ("Network (notebook 04)", "+ normalized input, batch norm",
                                         "+ CapstoneNet (5 convs, GAP)")]
    assert list(noise) == kept_networks
    assert all(len(accuracies) == 3 for accuracies in noise.values())
    replayed = replay_decisions(ladder, noise)
    assert [row["decision"] for row in ladder] == [decision for _, _, decision in replayed]
    for row, (change, yardstick, _) in zip(ladder, replayed, strict=True):
        assert row["change"] == (None if change is None else pytest.approx(change))
        assert row["yardstick"] == (None if yardstick is None else pytest.approx(yardstick))
    assert metrics["flip_tta"] == (ladder[-1]["decision"] == "kept")
    # the final recipe: the recipe the ladder stands on, with the search's augmentation
    assert metrics["final_recipe"] == {**metrics["ladder_recipe"], "augment": True}


def test_12_quick_run_final_model_and_timings(quick_run):
    metrics = load_metrics(quick_run("12"))
    assert metrics["parameter_count"] in (33_250, 70_330)
    # 50 batches of the final recipe are far better than chance (0.1) on 10,000 test images
    assert metrics["test_images"] == 10_000 and 0.5 < metrics["test_accuracy"] <= 1.0
    assert 0.5 < metrics["final_validation_accuracy"] <= 1.0
    assert (metrics["epochs"], metrics["rung_epochs"]) == (1, 1)  # the quick preset
    assert len(metrics["seconds_per_epoch"]) == 1 and metrics["seconds_per_epoch"][0] > 0
    assert metrics["training_minutes"] == pytest.approx(sum(metrics["seconds_per_epoch"]) / 60)
    assert metrics["torch_threads"] == 1  # the quick preset's num_threads
    assert set(metrics["thread_seconds_per_epoch"]) == {"1", "2"}
    assert all(s > 0 for s in metrics["thread_seconds_per_epoch"].values())
    assert metrics["contiguous_seconds_per_epoch"] > 0
    # validated on 50,000 / 10,000, then trained on all 60,000 training images
    assert (metrics["final_train_images"], metrics["train_images"], metrics["validation_images"]) == (
        60_000, 50_000, 10_000)
    assert metrics["multiply_adds"] == {"Network": 232_440, "CapstoneNet": 5_532_544}
    history = metrics["final_history"]
    assert history["epoch"] == [1] and "validation_accuracy" not in history
    assert metrics["provenance"]["parameters"]["max_batches"] == 50


def test_12_quick_run_ladder_rows(quick_run):
    metrics = load_metrics(quick_run("12"))
    check_ladder(metrics)
    ladder = metrics["ladder"]
    for row in ladder[:-1]:
        assert 0.3 < row["validation_accuracy"] <= 1.0 and row["minutes"] > 0, row
    assert ladder[-1]["minutes"] == 0.0  # flip TTA trains nothing
    with open(quick_run("12") / "ladder.csv") as table:
        rows = list(csv.DictReader(table))
    assert [row["rung"] for row in rows] == RUNGS
    assert [row["decision"] for row in rows] == [row["decision"] for row in ladder]
    assert [float(row["validation accuracy"]) for row in rows] == [
        round(row["validation_accuracy"], 4) for row in ladder]


def test_12_quick_run_saves_weights_that_give_the_test_accuracy(quick_run, data_root):
    out_dir = quick_run("12")
    assert (out_dir / "ladder.png").stat().st_size > 1000
    assert (out_dir / "benchmark.png").stat().st_size > 1000
    metrics = load_metrics(out_dir)
    model = NETWORKS[metrics["final_recipe"]["network"]]()
    model.load_state_dict(torch.load(out_dir / "capstone_weights.pt", map_location="cpu"))
    images, labels = load_tensors(train=False, root=data_root)
    batches = TensorBatches(normalize(images), labels, 1000)
    result = (evaluate_with_flip if metrics["flip_tta"] else evaluate)(model, batches)
    # the saved weights are the measured model (float rounding may move an image or two)
    assert result.accuracy == pytest.approx(metrics["test_accuracy"], abs=5e-4)


def test_12_exercise_3_measures_the_augmentation_rung(quick_run):
    """The answer prose of exercise 3: its "as they are" line repeats the augmentation rung's row."""
    text = cell_outputs_text(executed(quick_run("12") / "executed.ipynb"), "flipped_model = ")
    match = re.search(r"as they are\s+(0\.\d{4})", text)
    assert match, text
    ladder = load_metrics(quick_run("12"))["ladder"]
    row = next(row for row in ladder if row["name"] == "+ augmentation (crop, flip)")
    assert float(match[1]) == round(row["validation_accuracy"], 4)


# --- the committed notebook, executed with the default parameters ---------------------------------

def committed_text(first_line: str) -> str:
    return cell_outputs_text(executed(NOTEBOOK), first_line)


def committed_metrics() -> dict:
    return json.loads((REPO / "results" / "notebooks.json").read_text())["12_accuracy_ladder"]["metrics"]


def test_12_committed_run_reaches_the_goal():
    """Fewer than 100,000 parameters and test accuracy >= 0.93 with the defaults."""
    text = committed_text("test_images, test_labels = load_tensors")
    match = re.search(r"test accuracy (0\.\d{4}) \(([\d,]+) of 10,000 images.*?\); ([\d,]+) parameters",
                      text)
    assert match, text
    accuracy, parameters = float(match[1]), int(match[3].replace(",", ""))
    assert accuracy >= 0.93 and parameters < 100_000
    assert int(match[2].replace(",", "")) == round(accuracy * 10_000)
    assert committed_metrics()["test_accuracy"] == pytest.approx(accuracy, abs=5e-5)


def test_12_committed_ladder_decisions_follow_the_yardstick():
    """Every rung's keep or drop in the committed run is traceable to its validation figure."""
    check_ladder(committed_metrics())


def search_results() -> dict:
    return json.loads((REPO / "results" / "capstone_search.json").read_text())


def test_12_defaults_are_the_search_choice():
    """The final model's epochs and peak learning rate (the parameters' defaults) are the recorded
    search's choice, and the search trained the recipe the committed ladder stands on."""
    search = search_results()
    defaults = executed(NOTEBOOK).cells[1].source
    chosen = search["chosen"]
    assert re.search(rf"^epochs: int = {chosen['epochs']}\b", defaults, re.M), defaults
    assert re.search(rf"^final_lr: float = {chosen['lr']}\b", defaults, re.M), defaults
    metrics = committed_metrics()
    assert (metrics["epochs"], metrics["final_lr"]) == (chosen["epochs"], chosen["lr"])
    assert chosen["augment"] is True  # the notebook's final recipe switches augmentation on
    ladder_recipe = committed_metrics()["ladder_recipe"]
    assert {**ladder_recipe, "augment": None} == {**search["recipe"], "augment": None}


def test_12_search_table_in_the_notebook_is_the_committed_one():
    """The notebook's markdown table of the search is results/capstone_search.csv, row by row."""
    with open(REPO / "results" / "capstone_search.csv") as table:
        rows = list(csv.DictReader(table))
    cell = next(c.source for c in executed(NOTEBOOK).cells if c.source.startswith("## The search"))
    shown = [line.split("|")[1:-1] for line in cell.splitlines() if re.match(r"^\| \d", line)]
    assert [[field.strip().strip("*") for field in line[:5]] for line in shown] == [
        [row["epochs"], row["lr"], "yes" if row["augment"] == "True" else "no", row["seed"],
         f"{float(row['validation_accuracy']):.4f}"] for row in rows]


def test_12_search_choice_follows_its_rule():
    search = search_results()
    module = load_script()
    yardstick = module.yardstick(search["reference_seeds"]["accuracies"])
    assert search["yardstick"] == pytest.approx(yardstick, abs=1e-4)
    first_seed = search["provenance"]["seed"]
    single_seed = [row for row in search["rows"] if row["seed"] == first_seed]
    assert search["chosen"] == module.choose(single_seed, yardstick)


test_instructor_checks_all_pass, test_student_copy_runs_and_every_check_gives_its_hint = exercise_tests(
    "12")
