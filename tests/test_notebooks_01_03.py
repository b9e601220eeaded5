"""Notebooks 01-03 (data ETL, building the network, the forward pass) under papermill.

Each notebook runs once with the quick preset (``quick_run``); the tests check the ``metrics.json``
it writes against values computed here (the quick preset's ``max_batches``, the data set's sizes),
and that the ``Network`` class notebook 02 builds inline is the same as ``fmnist_helpers.Network``.
Refused parameters are in ``test_refused_inputs.py``.
"""

from __future__ import annotations

import math

import nbformat
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fmnist_helpers import Network, count_parameters, load_metrics
from fmnist_helpers.course.catalog import PRESETS, select_notebooks

pytestmark = pytest.mark.notebook
QUICK_BATCHES = PRESETS["quick"]["max_batches"]

PACKAGE_SHAPES = {name: list(p.shape) for name, p in Network().named_parameters()}


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
    for name in ("class_balance.png", "image_grid.png"):
        assert (out_dir / name).stat().st_size > 1000


# --- 02 · building the network -------------------------------------------------------------------

def test_02_quick_run_metrics_match_package(quick_run):
    metrics = load_metrics(quick_run("02"))
    assert metrics["parameter_count"] == 32998 == count_parameters(Network())
    assert metrics["layer_parameter_counts"] == {
        "conv1": 156, "conv2": 1812, "fc1": 23160, "fc2": 7260, "out": 610}
    assert metrics["network_repr"] == str(Network())
    assert metrics["parameter_shapes"] == PACKAGE_SHAPES
    assert metrics["output_shape"] == [1, 10]
    assert metrics["matches_package"] is True


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

def test_03_quick_run_untrained_network_is_near_chance(quick_run):
    metrics = load_metrics(quick_run("03"))
    # the quick preset scores max_batches test batches of eval_batch_size (1000): all 10000 images
    expected_images = min(10000, QUICK_BATCHES * 1000)
    assert metrics["provenance"]["parameters"]["eval_batch_size"] == 1000
    assert metrics["num_evaluated"] == expected_images
    assert sum(metrics["predicted_class_counts"]) == expected_images
    assert 0.02 <= metrics["untrained_accuracy"] <= 0.25
    assert metrics["untrained_accuracy"] == pytest.approx(metrics["num_correct"] / expected_images)
    # random weights: probabilities near 1/10 each, so the loss is near ln 10
    assert metrics["untrained_loss"] == pytest.approx(math.log(10), abs=0.2)
    assert sum(metrics["mean_probabilities"]) == pytest.approx(1.0, abs=1e-4)
    assert all(0.05 < p < 0.2 for p in metrics["mean_probabilities"])
    assert metrics["single_image"]["logits_shape"] == [1, 10]
    assert metrics["single_image"]["label"] == 9
    assert metrics["single_image"]["probability_sum"] == pytest.approx(1.0, abs=1e-5)
    assert metrics["batch_shape"] == [10, 1, 28, 28]
    assert 0 <= metrics["batch_num_correct"] <= 10
