"""Notebooks 04 (training) and 05 (analysis): quick papermill runs, their exercises, bad input.

The quick preset trains 04 for one epoch of ``max_batches`` batches; 05 then evaluates those weights on the
full test set. The values asserted come from the notebooks' ``metrics.json``. The training loop 04 builds
inline is checked against ``fmnist_helpers.train`` (the version later notebooks import).
"""

from __future__ import annotations

import itertools
import math
import time
from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F
from notebook_checks import check_results, executed, exercise_tests

from fmnist_helpers import (
    EpochResult,
    Evaluation,
    Network,
    TensorBatches,
    evaluate,
    get_num_correct,
    load_metrics,
    tqdm,
    train_one_epoch,
)
from fmnist_helpers.course.catalog import PRESETS, select_notebooks
from fmnist_helpers.course.execute import run_notebook
from fmnist_helpers.exercises import EXERCISES

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
    trained_dir = quick_run("04")
    trained = load_metrics(trained_dir)
    metrics = load_metrics(quick_run("05"))
    # 05 records (and prints) the absolute path of the weights it analysed: 04's model.pt
    assert Path(metrics["trained_weights"]).is_absolute()
    assert Path(metrics["trained_weights"]) == (trained_dir / "model.pt").resolve()
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
    # the prose compares these two counts: footwear is confused within footwear, hardly with clothes
    footwear, garments = [5, 7, 9], [0, 1, 2, 3, 4, 6]
    assert metrics["footwear_garment_confusions"] == int(
        matrix[footwear][:, garments].sum() + matrix[garments][:, footwear].sum())
    assert metrics["within_footwear_confusions"] > metrics["footwear_garment_confusions"]

    shown = executed(quick_run("05") / "executed.ipynb")
    printed = "\n".join(o.get("text", "") for c in shown.cells if c.cell_type == "code"
                        for o in c.outputs)
    assert f"trained weights: {metrics['trained_weights']}" in printed


@pytest.mark.parametrize("number", ["05", "14"])  # both read 04's weights
def test_without_weights_says_run_04_first(number, tmp_path, data_root):
    empty = tmp_path / "no_training_here"
    empty.mkdir()
    (path,) = select_notebooks(number)
    result = run_notebook(path, tmp_path, {"train_dir": str(empty), "data_root": str(data_root),
                                           "out_dir": str(tmp_path / "out"), "show_progress": False})
    assert result.status == "failed" and "FileNotFoundError" in result.error
    assert "04" in result.error and "model.pt" in result.error and str(empty) in result.error


# --- the training loop 04 builds inline is the package's -----------------------------------------

def _inline_loop() -> dict:
    """Execute the last ``def train_one_epoch`` and ``def evaluate`` cells of the committed 04."""
    (path,) = select_notebooks("04")
    cells = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    train_cells = [s for s in cells if s.startswith("def train_one_epoch(")]
    evaluate_cells = [s for s in cells if s.startswith("@torch.no_grad()\ndef evaluate(")]
    assert train_cells and evaluate_cells, "notebook 04 should build train_one_epoch and evaluate"
    namespace = {"torch": torch, "F": F, "itertools": itertools, "time": time, "tqdm": tqdm,
                 "get_num_correct": get_num_correct, "EpochResult": EpochResult,
                 "Evaluation": Evaluation}
    # the evaluate cell also calls it once on the notebook's data: define only the function
    evaluate_source = evaluate_cells[-1].split("\n\n\n")[0]
    for name, source in (("train_one_epoch", train_cells[-1]), ("evaluate", evaluate_source)):
        exec(compile(source, f"{path.name}: {name} cell", "exec"), namespace)
    return namespace


def _seeded_data(count: int = 250) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(count, 1, 28, 28, generator=generator)
    return images, torch.randint(0, 10, (count,), generator=generator)


@pytest.mark.parametrize("max_batches", [None, 2])
def test_04_inline_train_one_epoch_is_the_packages(max_batches):
    """Same seed, same batches (250 images in batches of 100: a short last batch of 50)."""
    inline = _inline_loop()
    images, labels = _seeded_data()
    results, networks = [], []
    for train in (inline["train_one_epoch"], train_one_epoch):
        torch.manual_seed(0)
        network = Network()
        batches = TensorBatches(images, labels, 100, shuffle=True, generator=torch.Generator().manual_seed(1))
        results.append(train(network, batches, torch.optim.Adam(network.parameters(), lr=0.01),
                             max_batches=max_batches))
        networks.append(network)
    ours, package = results
    assert isinstance(ours, EpochResult)
    assert (ours.total_loss, ours.total_correct, ours.samples) == (
        package.total_loss, package.total_correct, package.samples)
    assert ours.samples == (250 if max_batches is None else 200)
    assert all(torch.equal(a, b) for a, b in zip(*(n.parameters() for n in networks), strict=True))
    assert networks[0].training  # trained in training mode


def test_04_inline_evaluate_is_the_packages_and_restores_the_mode():
    inline = _inline_loop()
    images, labels = _seeded_data()
    torch.manual_seed(0)
    network = Network()
    batches = TensorBatches(images, labels, 100)  # a short last batch: the mean is per image
    for mode in (True, False):
        network.train(mode)
        ours = inline["evaluate"](network, batches)
        assert network.training is mode
        assert ours == evaluate(network, batches)
    assert isinstance(ours, Evaluation) and ours.samples == 250
    with torch.no_grad():
        per_image = F.cross_entropy(network(images), labels).item()
    assert ours.loss == pytest.approx(per_image, rel=1e-5)
    assert inline["evaluate"](network, batches, max_batches=1).samples == 100


# --- exercises: instructor notebooks pass every check, student copies run and give hints -------
# (each exercise's checks on right and wrong answers: tests/exercises/test_exercises_04.py, _05.py)

def _exercises_of(number: str) -> set[str]:
    return {key for key in EXERCISES if key.startswith(f"{number}.")}


def _assert_instructor_checks_pass(out_dir: Path, number: str) -> None:
    results = check_results(executed(out_dir / "executed.ipynb"))
    assert results, f"notebook {number} displayed no exercise checks"
    assert {r["exercise"] for r in results} == _exercises_of(number) != set()
    failed = [r for r in results if not r["passed"]]
    assert not failed, failed


test_instructor_checks_all_pass, test_student_copy_runs_and_every_check_gives_its_hint = exercise_tests(
    "04", "05")
