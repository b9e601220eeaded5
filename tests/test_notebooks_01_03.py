"""Notebooks 01-03 (data ETL, building the network, the forward pass) under papermill.

Each notebook runs once with the quick preset (``quick_run``); the tests check the ``metrics.json``
it writes against values known independently (the data set's published sizes, the layer
arithmetic, an untrained network scored here), the claims the prose makes about the outputs, the
exercises' checks on the instructor notebook and on the student copy (the checks on answers written by
hand are in ``tests/exercises/test_exercises_01.py`` to ``_03.py``), and that the ``Network`` class
notebook 02 builds inline is the same as ``fmnist_helpers.Network``. Refused parameters are in
``test_refused_inputs.py``.
"""

from __future__ import annotations

import math

import nbformat
import pytest
import torch
import torch.nn.functional as F
from notebook_checks import exercise_tests
from torch import nn

from fmnist_helpers import (
    Network,
    count_parameters,
    evaluate,
    load_metrics,
    load_tensors,
)
from fmnist_helpers.batches import TensorBatches
from fmnist_helpers.course.catalog import PRESETS, select_notebooks
from fmnist_helpers.diagrams import NETWORK_STEPS
from fmnist_helpers.exercises import EXERCISES

pytestmark = pytest.mark.notebook
QUICK_BATCHES = PRESETS["quick"]["max_batches"]

PACKAGE_SHAPES = {name: list(p.shape) for name, p in Network().named_parameters()}


def _exercise_keys(number: str) -> set[str]:
    return {key for key in EXERCISES if key.startswith(f"{number}.")}


# --- 01 · data ETL -------------------------------------------------------------------------------

def test_01_quick_run_metrics(quick_run):
    metrics = load_metrics(quick_run("01"))
    assert metrics["train_size"] == 60000
    assert metrics["test_size"] == 10000
    assert metrics["class_counts"] == [6000] * 10
    assert metrics["test_class_counts"] == [1000] * 10
    assert metrics["sample_shape"] == [1, 28, 28]
    assert metrics["sample_label"] == 9  # the first training image is an ankle boot
    assert metrics["batch_images_shape"] == [10, 1, 28, 28]
    assert metrics["batch_labels_shape"] == [10]
    assert metrics["pixel_range"] == [0.0, 1.0]
    assert metrics["batches_per_epoch"] == 60  # 60000 / the default batch_size 1000
    # the quick preset limits the pass over the loader to max_batches batches of 1000 (of 60)
    assert metrics["provenance"]["parameters"]["max_batches"] == QUICK_BATCHES
    assert metrics["batches_seen"] == min(QUICK_BATCHES, 60)
    assert metrics["images_seen"] == 1000 * min(QUICK_BATCHES, 60)
    assert metrics["classes"][9] == "Ankle boot"


def test_01_writes_figures(quick_run):
    out_dir = quick_run("01")
    for name in ("class_balance.png", "image_grid.png", "nchw_batch.png"):
        assert (out_dir / name).stat().st_size > 1000


# --- 02 · building the network -------------------------------------------------------------------

def test_02_quick_run_metrics_match_package(quick_run):
    metrics = load_metrics(quick_run("02"))
    assert metrics["parameter_count"] == 32998 == count_parameters(Network())
    assert metrics["layer_parameter_counts"] == {
        "conv1": 156, "conv2": 1812, "fc1": 23160, "fc2": 7260, "out": 610}
    # the prose says fc1 alone holds most of the parameters
    assert metrics["layer_parameter_counts"]["fc1"] > metrics["parameter_count"] / 2
    assert metrics["network_repr"] == str(Network())
    assert metrics["parameter_shapes"] == PACKAGE_SHAPES
    assert metrics["output_shape"] == [1, 10]
    assert metrics["matches_package"] is True


def test_02_recorded_steps_are_the_drawn_shapes(quick_run):
    """The steps the notebook records (and draws) are 28 -> 24 -> 12 -> 8 -> 4 -> 192 -> 120 -> 60 -> 10."""
    out_dir = quick_run("02")
    steps = [(name, tuple(shape)) for name, shape in load_metrics(out_dir)["forward_steps"]]
    assert steps == list(NETWORK_STEPS)
    assert (out_dir / "network_shapes.png").stat().st_size > 1000


def _inline_network_class() -> type[nn.Module]:
    """Execute the last ``class Network`` cell of the committed notebook 02; return the class."""
    (path,) = select_notebooks("02")
    notebook = nbformat.read(path, as_version=4)
    sources = [c.source for c in notebook.cells
               if c.cell_type == "code" and c.source.startswith("class Network(nn.Module):")]
    assert len(sources) >= 2, "notebook 02 should build Network in steps"
    namespace = {"torch": torch, "nn": nn, "F": F, "seed": 0}
    exec(compile(sources[-1], f"{path.name}: final Network cell", "exec"), namespace)
    return namespace["Network"]


def test_02_inline_network_is_package_network():
    """The notebook's final inline class: same print, names, shapes and outputs as the package's."""
    inline_class = _inline_network_class()
    inline, package = inline_class(), Network()
    assert str(inline) == str(package)
    assert {name: list(p.shape) for name, p in inline.named_parameters()} == PACKAGE_SHAPES
    inline.load_state_dict(package.state_dict())
    images = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(inline(images), package(images))


# --- 03 · the forward pass -----------------------------------------------------------------------

def test_03_quick_run_untrained_network_is_near_chance(quick_run, data_root):
    metrics = load_metrics(quick_run("03"))
    # the quick preset scores max_batches test batches of eval_batch_size (1000): all 10000 images
    expected_images = min(10000, QUICK_BATCHES * 1000)
    assert metrics["provenance"]["parameters"]["eval_batch_size"] == 1000
    assert metrics["num_evaluated"] == expected_images
    assert sum(metrics["predicted_class_counts"]) == expected_images
    # the same untrained network (seed 0), scored here with the package's evaluate
    torch.manual_seed(0)
    images, labels = load_tensors(train=False, root=data_root)
    scored = evaluate(Network(), TensorBatches(images, labels, batch_size=1000), device="cpu")
    assert metrics["untrained_accuracy"] == pytest.approx(scored.accuracy, abs=2 / expected_images)
    assert metrics["untrained_loss"] == pytest.approx(scored.loss, abs=1e-4)
    assert 0.02 <= metrics["untrained_accuracy"] <= 0.25
    # random weights: probabilities near 1/10 each, so the loss is near ln 10
    assert metrics["untrained_loss"] == pytest.approx(math.log(10), abs=0.2)
    assert sum(metrics["mean_probabilities"]) == pytest.approx(1.0, abs=1e-4)
    assert all(0.05 < p < 0.2 for p in metrics["mean_probabilities"])
    assert metrics["single_image"]["logits_shape"] == [1, 10]
    assert metrics["single_image"]["label"] == 9
    assert metrics["single_image"]["probability_sum"] == pytest.approx(1.0, abs=1e-5)
    assert metrics["batch_shape"] == [10, 1, 28, 28]
    assert 0 <= metrics["batch_num_correct"] <= 10


def test_03_claims_about_graph_memory_and_gradients(quick_run):
    metrics = load_metrics(quick_run("03"))
    graph = metrics["graph_bytes"]
    # "far more memory than all the network's weights together"; "under no_grad it keeps nothing"
    assert graph["weights"] == 32998 * 4
    assert graph["tracking"] > 10 * graph["weights"]
    assert graph["no_grad"] == 0
    # "with the extra softmax the gradient is much smaller"
    norms = metrics["gradient_norms"]
    assert 0 < norms["two_softmaxes"] < norms["one_softmax"] / 3


def test_03_claims_about_the_default_initialisation(quick_run):
    """What the prose of 03 says about the activations' spread is what the run measured."""
    metrics = load_metrics(quick_run("03"))
    spreads = metrics["activation_spreads"]
    steps = [s["step"] for s in spreads]
    assert steps == ["input"] + [name for name, _ in NETWORK_STEPS[1:]]
    across = [s["image_to_image"] for s in spreads]
    # "from the input to the logits it falls to a small fraction"
    assert across[-1] < across[0] / 10
    # "does not fall at every single step: the max pooling steps raise it a little"
    pools = [i for i, step in enumerate(steps) if step == "max_pool2d"]
    assert all(across[i] > across[i - 1] for i in pools)
    # "the relu steps cut it the most"
    ratios = [(steps[i], across[i] / across[i - 1]) for i in range(1, len(steps))]
    assert max(r for step, r in ratios if step == "relu") < min(r for step, r in ratios if step != "relu")
    # "the logits' overall spread is many times their image-to-image spread, about the size of the
    # spread between the ten classes' mean logits"
    logits = spreads[-1]
    assert logits["overall"] > 5 * logits["image_to_image"]
    assert metrics["mean_logit_spread"] == pytest.approx(logits["overall"], rel=0.25)
    # "compare the class printed last with the favourite of the bar chart": they are the same
    counts = metrics["predicted_class_counts"]
    assert metrics["largest_mean_logit_class"] == counts.index(max(counts))
    assert max(counts) > 0.9 * sum(counts)  # "nearly all predictions go to one class"


test_instructor_checks_all_pass, test_student_copy_runs_and_every_check_gives_its_hint = exercise_tests(
    "01", "02", "03")
