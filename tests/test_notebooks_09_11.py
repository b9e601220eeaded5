"""Notebooks 09 (GPU, device-agnostic code), 10 (nn.Sequential), 11 (normalization, batch norm).

Each runs once with the quick preset under papermill; the tests read its ``metrics.json``, its
result files and the exercise checks its check cells displayed. The student copy of each runs once
too: every error is a stub's ``NotImplementedError`` and every check fails with a hint.
Refused parameters are in ``test_refused_inputs.py``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import torch
from notebook_checks import cell_outputs_text, check_results, executed, exercise_tests

from fmnist_helpers import load_metrics
from fmnist_helpers.exercises import EXERCISES

pytestmark = pytest.mark.notebook

SEQUENTIAL_WAYS = ("positional", "OrderedDict", "add_module")
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EXERCISE_KEYS = {number: {key for key in EXERCISES if key.startswith(f"{number}.")}
                 for number in ("09", "10", "11")}


def assert_instructor_checks_pass(out_dir, number: str) -> None:
    results = check_results(executed(out_dir / "executed.ipynb"))
    assert results, "no exercise check was displayed"
    assert {r["exercise"] for r in results} == EXERCISE_KEYS[number]
    assert len(EXERCISE_KEYS[number]) == 3
    failed = [r for r in results if not r["passed"]]
    assert not failed, failed


# --- 09 GPU and device-agnostic code -------------------------------------------------------------

def test_09_quick_run_reports_device_and_timings(quick_run):
    metrics = load_metrics(quick_run("09"))
    assert metrics["cuda_available"] is torch.cuda.is_available()
    if not torch.cuda.is_available():
        assert metrics["device"] == "cpu"
        assert list(metrics["timings"]) == ["cpu"]
        assert metrics["copy_to_cuda_seconds"] == {}
    else:
        assert metrics["device"].startswith("cuda")
        assert set(metrics["timings"]) == {"cpu", metrics["device"]}
        assert set(metrics["copy_to_cuda_seconds"]) == {"pageable", "pinned"}
    for device, timing in metrics["timings"].items():
        # the quick preset times 20 batches of each kind on every device
        assert timing["train_batches"] == 20 and timing["infer_batches"] == 20, device
        assert timing["train_seconds"] > 0 and timing["infer_seconds"] > 0, device
    assert metrics["provenance"]["parameters"]["timing_batches"] == 20


def test_09_quick_run_saves_weights_timing_table_and_plot(quick_run):
    out_dir = quick_run("09")
    state = torch.load(out_dir / "network_weights.pt", map_location="cpu")
    assert state["conv1.weight"].shape == (6, 1, 5, 5) and state["conv1.weight"].device.type == "cpu"
    with open(out_dir / "timings.csv") as table:
        rows = list(csv.DictReader(table))
    assert rows[0]["device"] == "cpu" and int(rows[0]["train batches"]) == 20
    # one row per timed device: the CPU, plus the notebook's device when that is a GPU
    assert [row["device"] for row in rows] == list(load_metrics(out_dir)["timings"])
    assert (out_dir / "throughput.png").stat().st_size > 1000


def test_09_the_package_loop_gives_the_hand_written_loops_numbers(quick_run):
    """The notebook says train_one_epoch repeats its hand-written device-agnostic loop on the CPU."""
    notebook = executed(quick_run("09") / "executed.ipynb")
    texts = [o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    by_hand = next(t for t in texts if t.startswith("50 steps on"))
    package = next(t for t in texts if t.startswith("train_one_epoch, 50 steps on"))
    assert by_hand.split(":", 1)[0] == package.split(":", 1)[0].removeprefix("train_one_epoch, ")
    if load_metrics(quick_run("09"))["device"] == "cpu":
        assert by_hand.split(":", 1)[1] == package.split(":", 1)[1]


# --- 10 nn.Sequential ----------------------------------------------------------------------------

def test_10_quick_run_sequential_models_match_network(quick_run):
    metrics = load_metrics(quick_run("10"))
    assert metrics["allclose"] == {way: True for way in SEQUENTIAL_WAYS}
    assert metrics["parameter_counts"] == {"Network": 32998, **{way: 32998 for way in SEQUENTIAL_WAYS}}
    assert metrics["test_images"] == 10000
    assert metrics["same_test_predictions"] == {way: 10000 for way in SEQUENTIAL_WAYS}
    for way in SEQUENTIAL_WAYS:
        assert metrics["max_abs_difference"][way] == 0.0  # the prose says "not just small but zero"


# --- 11 normalization and batch norm -------------------------------------------------------------

def test_11_quick_run_mean_and_std(quick_run):
    metrics = load_metrics(quick_run("11"))
    for way in ("tensor", "loader"):
        assert metrics[f"mean_{way}"] == pytest.approx(0.2860, abs=1e-4)
        assert metrics[f"std_{way}"] == pytest.approx(0.3530, abs=1e-4)
    # averaging per-image standard deviations underestimates the spread
    assert metrics["mean_of_image_stds"] < metrics["std_loader"] - 0.02
    assert metrics["mean_of_batch_stds"] == pytest.approx(0.3530, abs=1e-3)
    assert metrics["normalized_train_mean"] == pytest.approx(0.0, abs=1e-4)
    assert metrics["normalized_train_std"] == pytest.approx(1.0, abs=1e-4)
    # the test set, normalized with the training statistics, is close to but not exactly standard
    assert metrics["normalized_test_mean"] == pytest.approx(0.0, abs=0.01)
    assert metrics["normalized_test_std"] == pytest.approx(1.0, abs=0.01)


def test_11_quick_run_three_runs_chosen_on_validation(quick_run):
    metrics = load_metrics(quick_run("11"))
    assert (metrics["train_images"], metrics["validation_images"]) == (50_000, 10_000)
    runs = metrics["runs"]
    assert [(r["trainset"], r["network"]) for r in runs] == [
        ("unnormalized", "plain"), ("normalized", "plain"), ("normalized", "batchnorm")]
    for run in runs:
        assert run["epochs"] == 1  # the quick preset
        assert 0 < run["accuracy"] <= 1 and run["loss"] > 0
        # 50 batches of training are far better than chance (0.1) on the validation split
        assert run["validation_accuracy"] > 0.5
        assert "test_accuracy" not in run  # the runs choose; only the final network meets the test set
    best = max(runs, key=lambda r: r["validation_accuracy"])
    assert metrics["chosen_run"] == {"trainset": best["trainset"], "network": best["network"]}
    # after 50 batches, batch norm is well ahead of the same network without it
    assert runs[2]["validation_accuracy"] > runs[1]["validation_accuracy"] + 0.03


def test_11_quick_run_retrains_the_chosen_run_on_all_images_and_tests_it_once(quick_run):
    metrics = load_metrics(quick_run("11"))
    final, chosen = metrics["final"], metrics["chosen_run"]
    assert {"trainset": final["trainset"], "network": final["network"]} == chosen
    assert (final["train_images"], final["epochs"]) == (60_000, 1)
    validation = next(r["validation_accuracy"] for r in metrics["runs"]
                      if (r["trainset"], r["network"]) == (chosen["trainset"], chosen["network"]))
    # the same 50 batches' worth of training, drawn from all 60,000 images: about as good on the
    # test set as the chosen run was on the validation split (two samples of 10,000 images)
    assert final["test_accuracy"] == pytest.approx(validation, abs=0.05)
    if chosen["network"] == "batchnorm":
        assert metrics["bn_test_accuracy"] == final["test_accuracy"]
    else:  # the batch-norm network was trained on all the images too, for the report
        assert metrics["bn_test_accuracy"] > 0.5


def test_11_quick_run_writes_results(quick_run):
    out_dir = quick_run("11")
    assert (out_dir / "comparison.png").stat().st_size > 1000
    with open(out_dir / "final_results.csv") as table:
        final = list(csv.DictReader(table))
    assert len(final) == 3 and "validation_accuracy" in final[0] and "test_accuracy" not in final[0]
    accuracies = [float(row["validation_accuracy"]) for row in final]
    assert accuracies == sorted(accuracies, reverse=True)  # ranked on validation
    assert len((out_dir / "runs" / "results.csv").read_text().splitlines()) == 1 + 3  # 3 runs x 1 epoch
    # the final training: the chosen run (and the batch-norm one when it was not chosen), 1 epoch each,
    # with no validation column (every training image is trained on)
    with open(out_dir / "final" / "results.csv") as table:
        final_epochs = list(csv.DictReader(table))
    chosen_batchnorm = load_metrics(out_dir)["chosen_run"]["network"] == "batchnorm"
    assert len(final_epochs) == (1 if chosen_batchnorm else 2)
    assert "validation_accuracy" not in final_epochs[0]
    # exercise 2: the batch-norm network on both inputs with two seeds, one epoch each
    assert len((out_dir / "exercise_2" / "results.csv").read_text().splitlines()) == 1 + 4


# --- what the committed notebooks' prose says about their own outputs ----------------------------

def committed(name: str):
    return executed(NOTEBOOKS / name)


def test_09_committed_prose_matches_its_outputs():
    notebook = committed("09_gpu_device_agnostic.ipynb")
    by_hand = cell_outputs_text(notebook, "for step, (batch_images, batch_labels) in enumerate(loader)")
    package = cell_outputs_text(notebook, "result = train_one_epoch(network, loader")
    assert by_hand.startswith("50 steps on ") and package.startswith("train_one_epoch, 50 steps on ")
    if by_hand.startswith("50 steps on cpu:"):
        # "On the CPU the two cells print the same numbers."
        assert by_hand.split(":", 1)[1] == package.split(":", 1)[1]


def test_10_committed_prose_matches_its_outputs():
    text = cell_outputs_text(committed("10_sequential_models.ipynb"), "max_abs_difference = {")
    # "The cell above shows the differences are not just small but zero here"
    assert re.findall(r"largest absolute difference: (\S+)", text) == ["0", "0", "0"]


def test_11_committed_prose_matches_its_outputs():
    """'Reading the results' describes the committed run; re-executing it must not contradict it."""
    notebook = committed("11_normalization_batchnorm.ipynb")
    text = cell_outputs_text(notebook, "shown_epochs = sorted(")
    lines = text.strip().splitlines()
    gains = [[float(g) for g in re.findall(r"([+-]\d\.\d{4}) after epoch", line)] for line in lines[:2]]
    # input normalization: "only a fraction of a percent"
    assert all(abs(g) < 0.01 for g in gains[0])
    # after the last epoch the three runs differ by "a fraction of a percent"
    last = [0.0, gains[0][-1], gains[0][-1] + gains[1][-1]]  # plain raw, plain normalized, batch norm
    assert max(last) - min(last) < 0.01
    batchnorm = "batchnorm network on normalized input"
    # "In the first epoch it has the lowest training loss of the three, yet after that epoch the
    # lowest validation accuracy" ... "after the last epoch ... the highest validation accuracy"
    assert lines[2].startswith(f"epoch 1: lowest training loss: {batchnorm}; after it, "
                               f"validation accuracy lowest: {batchnorm},")
    assert lines[3].endswith(f"highest: {batchnorm}")
    chosen = cell_outputs_text(notebook, "chosen = final.iloc[0]")
    assert chosen.startswith("chosen on validation: the batchnorm network on normalized input")
    # the chosen configuration, trained on all 60,000 images, measured on the test set once
    tested = cell_outputs_text(notebook, "final_test = {run: accuracy_on(")
    assert tested.startswith("the batchnorm network on normalized input, trained on all 60,000 "
                             "training images: test accuracy ")
    assert "reported only" not in tested  # batch norm was chosen: one network met the test set


test_instructor_checks_all_pass, test_student_copy_runs_and_every_check_gives_its_hint = exercise_tests(
    "09", "10", "11")
