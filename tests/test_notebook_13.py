"""Notebook 13 (generalization): one quick run, its student copy, and its committed outputs.

The quick preset trains every run for one epoch of the small subset, so the quick-run tests check
structure, counts and the consistency of what the notebook computed (the seed spread, the
verdicts, the choice, the learning curve's reuse of the baseline runs); the claims its prose makes
about overfitting are checked on the committed notebook, which ran with the default parameters.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from notebook_checks import cell_outputs_text, executed, exercise_tests

from fmnist_helpers import load_metrics

pytestmark = pytest.mark.notebook

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "13_generalization.ipynb"
CONFIGURATIONS = ["baseline", "weight decay", "dropout", "early stopping", "augmentation"]
SEEDS = [0, 1, 2]
SIZES = [1000, 2000, 5000, 15000, 50000]


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def sample_sd(values: list[float]) -> float:
    center = mean(values)
    return math.sqrt(sum((v - center) ** 2 for v in values) / (len(values) - 1))


def test_13_quick_run_data_and_runs(quick_run):
    metrics = load_metrics(quick_run("13"))
    assert (metrics["pool_images"], metrics["subset_size"], metrics["monitor_images"],
            metrics["comparison_images"], metrics["test_images"]) == (50_000, 2000, 5000, 5000, 10_000)
    assert metrics["run_seeds"] == SEEDS
    assert metrics["steps_per_run"] == 32  # the quick preset: one epoch of 2,000 images in batches of 64
    history = metrics["overfitting"]["history"]
    assert history["epoch"] == [1] and set(history) == {"epoch", "train_loss", "train_accuracy",
                                                         "val_loss", "val_accuracy"}
    assert metrics["overfitting"]["best_loss_epoch"] == metrics["overfitting"]["best_accuracy_epoch"] == 1
    assert metrics["early_stopping"] == {"patience": 5, "best_epochs": [1, 1, 1], "stop_epochs": [None] * 3}
    provenance = metrics["provenance"]["parameters"]
    assert (provenance["epochs"], provenance["max_batches"]) == (1, 50)


def test_13_quick_run_remedies_per_seed(quick_run):
    metrics = load_metrics(quick_run("13"))
    remedies = metrics["remedies"]
    assert list(remedies) == CONFIGURATIONS
    for name, result in remedies.items():
        assert len(result["accuracy"]) == len(result["loss"]) == 3, name
        # 32 batches of the subset: well above chance (0.1), well below a trained network
        assert all(0.3 < a < 0.9 for a in result["accuracy"]), (name, result)
        assert all(0.3 < loss < 2.3 for loss in result["loss"]), (name, result)
    # after one epoch the best epoch is the last, so early stopping keeps the baseline's weights
    assert remedies["early stopping"] == remedies["baseline"]
    # every remedy starts from the same weights and batches, so none repeats the baseline exactly
    for name in ("weight decay", "dropout", "augmentation"):
        assert remedies[name]["accuracy"] != remedies["baseline"]["accuracy"], name


def test_13_quick_run_learning_curve_reuses_the_baseline(quick_run):
    metrics = load_metrics(quick_run("13"))
    rows = metrics["learning_curve"]
    assert [(row["size"], row["seed"]) for row in rows] == [(n, s) for n in SIZES for s in SEEDS]
    assert all(0.3 < row["validation_accuracy"] < 0.95 and 0.3 < row["train_accuracy"] <= 1.0
               for row in rows)
    at_subset = [row["validation_accuracy"] for row in rows if row["size"] == 2000]
    assert at_subset == metrics["remedies"]["baseline"]["accuracy"]


def test_13_quick_run_spread_verdicts_and_choice_are_consistent(quick_run):
    metrics = load_metrics(quick_run("13"))
    remedies = metrics["remedies"]
    for metric in ("accuracy", "loss"):
        pooled = math.sqrt(mean([sample_sd(remedies[c][metric]) ** 2 for c in CONFIGURATIONS]))
        assert metrics["seed_spread"][metric] == pytest.approx(pooled)
        assert metrics["margin"][metric] == pytest.approx(2 * pooled * math.sqrt(2 / 3))
        for name in CONFIGURATIONS[1:]:
            change = mean(remedies[name][metric]) - mean(remedies["baseline"][metric])
            if abs(change) <= metrics["margin"][metric]:
                expected = "within the noise"
            else:
                expected = "better" if (change > 0) == (metric == "accuracy") else "worse"
            assert metrics["verdicts"][name][metric] == expected, (name, metric, change)
    said = {c: set(metrics["verdicts"][c].values()) for c in CONFIGURATIONS[1:]}
    adopted = [c for c in CONFIGURATIONS[1:] if "better" in said[c] and "worse" not in said[c]]
    assert metrics["adopted"] == adopted
    expected_choice = max(adopted, key=lambda c: mean(remedies[c]["accuracy"]), default="baseline")
    assert metrics["chosen"] == expected_choice
    per_seed, losses = metrics["test_accuracy_per_seed"], metrics["test_loss_per_seed"]
    assert len(per_seed) == len(losses) == 3
    assert all(0.3 < a < 0.9 for a in per_seed) and all(0.3 < loss < 2.3 for loss in losses)
    assert metrics["test_accuracy"] == pytest.approx(mean(per_seed))
    assert metrics["test_accuracy_sd"] == pytest.approx(sample_sd(per_seed))
    assert metrics["test_loss"] == pytest.approx(mean(losses))


def test_13_quick_run_lr_range_test(quick_run):
    found = load_metrics(quick_run("13"))["lr_range_test"]
    rates, losses = found["lr"], found["loss"]
    assert len(rates) == len(losses) == 100
    assert rates[0] == pytest.approx(1e-5) and rates[-1] == pytest.approx(10.0)
    ratios = {round(b / a, 9) for a, b in zip(rates, rates[1:], strict=False)}
    assert len(ratios) == 1  # the same factor after every batch
    assert found["lr_at_minimum"] in rates and found["lr_steepest"] in rates
    assert found["lr_suggested"] == pytest.approx(found["lr_at_minimum"] / 10)
    assert found["lr_steepest"] <= found["lr_at_minimum"]
    assert losses[0] == pytest.approx(math.log(10), abs=0.3)  # an untrained network guesses


def test_13_quick_run_saves_the_figures(quick_run):
    out_dir = quick_run("13")
    for name in ("overfitting", "learning_curve", "remedies", "lr_range_test"):
        assert (out_dir / f"{name}.png").stat().st_size > 1000, name


# --- the committed notebook, executed with the default parameters ---------------------------------

def committed_text(first_line: str) -> str:
    return cell_outputs_text(executed(NOTEBOOK), first_line)


def test_13_committed_run_shows_overfitting():
    """The prose of section 1: the validation loss turns back up and training runs ahead."""
    text = committed_text("shown_seed = run_seeds[0]")
    loss = re.search(r"validation loss: lowest (\d\.\d+) after epoch (\d+), (\d\.\d+) after the last", text)
    gap = re.search(r"training batches (\d\.\d+), validation (\d\.\d+) \(gap \+(\d\.\d+)\)", text)
    assert loss and gap, text
    assert float(loss[3]) > 1.2 * float(loss[1]) and int(loss[2]) < 30
    assert float(gap[3]) > 0.05


def test_13_committed_choice_follows_the_printed_verdicts():
    table = committed_text("def verdict(change")
    rows = {name: re.search(rf"^{name}\s+-?\d\.\d+\s+([a-z ]+?)\s+-?\d\.\d+\s+([a-z ]+?)\s*$", table, re.M)
            for name in CONFIGURATIONS[1:]}
    assert all(rows.values()), table
    adopted = [name for name, row in rows.items() if "better" in row.groups() and "worse" not in row.groups()]
    chosen = re.search(r"chosen on validation: ([a-z ]+)$", committed_text("adopted = "), re.M)
    assert chosen, "no choice printed"
    assert (chosen[1] in adopted) if adopted else chosen[1] == "baseline"


test_instructor_checks_all_pass, test_student_copy_runs_and_every_check_gives_its_hint = exercise_tests(
    "13")
