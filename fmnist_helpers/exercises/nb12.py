"""Checks for the exercises of notebook 12 (the accuracy ladder).

Counts are compared with hashes of the expected values; everything that depends on training is
recomputed from the notebook's own objects (its rung networks, validation images and ladder), so
nothing here holds an expected accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from ..batches import TensorBatches
from ..models import CapstoneNet
from ..network import count_parameters
from ..train import evaluate
from .engine import Check, between, exercise, matches

LADDER_RUNGS = 7  # six trained rungs and the flip-TTA row, before any rung of exercise 5
RUNG_6 = "+ label smoothing"


# --- 12.1 count by hand ---------------------------------------------------------------------------

def _count(ns: Mapping[str, Any], name: str, digest: str) -> bool:
    value = ns[name]
    return isinstance(value, int) and not isinstance(value, bool) and matches(value, digest)


exercise("12.1", "count by hand", needs=["block_parameters", "head_parameters",
                                         "flatten_head_parameters"], checks=[
    Check("block_parameters is the parameter count of conv_bn_relu(32, 64)",
          lambda ns: _count(ns, "block_parameters", "89af38dd8047f4a1"),
          "a 3x3 convolution from 32 to 64 channels has 3 * 3 * 32 weights per output channel and no "
          "bias; BatchNorm2d(64) learns a gamma and a beta per channel (its running statistics are "
          "buffers, not parameters)"),
    Check("head_parameters is the parameter count of CapstoneNet's head",
          lambda ns: _count(ns, "head_parameters", "cee33c2ffd09ef7c"),
          "the head is a Linear layer from the 64 averaged feature maps to 10 classes: a weight per "
          "pair, plus one bias per class"),
    Check("flatten_head_parameters is the count of a linear layer from the flattened 64 x 7 x 7 maps",
          lambda ns: _count(ns, "flatten_head_parameters", "9706f80942192689"),
          "flattening gives 64 * 7 * 7 features per image; a Linear layer to 10 classes has a weight "
          "per feature and class, plus 10 biases"),
])


# --- 12.2 label smoothing by hand -----------------------------------------------------------------

def _same_as_torch(ns: Mapping[str, Any], smoothing: float, seed: int) -> bool:
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(16, 10, generator=generator) * 3
    labels = torch.randint(0, 10, (16,), generator=generator)
    value = ns["smoothed_cross_entropy"](logits, labels, smoothing)
    expected = F.cross_entropy(logits, labels, label_smoothing=smoothing)
    return isinstance(value, torch.Tensor) and value.numel() == 1 and torch.allclose(
        value.float().reshape(()), expected, atol=1e-5)


exercise("12.2", "label smoothing by hand", needs=["smoothed_cross_entropy", "lowest_smoothed_loss"],
         checks=[
    Check("with smoothing 0 it is the plain cross-entropy (a batch mean)",
          lambda ns: _same_as_torch(ns, 0.0, 0),
          "take -(targets * F.log_softmax(logits, dim=1)).sum(dim=1), then the mean over the batch; "
          "with smoothing 0 the targets are one-hot (F.one_hot(labels, 10).float())"),
    Check("with smoothing 0.1 and 0.3 it equals F.cross_entropy(..., label_smoothing=...)",
          lambda ns: _same_as_torch(ns, 0.1, 1) and _same_as_torch(ns, 0.3, 2),
          "the smoothed target is one_hot * (1 - smoothing) + smoothing / number of classes: every "
          "class gets smoothing / 10, the true class also gets 1 - smoothing"),
    Check("lowest_smoothed_loss is the smallest loss possible with smoothing 0.1 (to 3 decimals)",
          lambda ns: between(ns["lowest_smoothed_loss"], 0.0, 10.0)
          and matches(ns["lowest_smoothed_loss"], "9b1356fe79c71f53"),
          "the cross-entropy between a target and a prediction is smallest when the predicted "
          "probabilities equal the target; compute -(target * target.log()).sum() for the smoothed "
          "target of one image"),
])


# --- 12.3 up, down, left, right -------------------------------------------------------------------

def _flipped_accuracy(ns: Mapping[str, Any], dim: int) -> float:
    images = ns["val_norm"].flip(dim)
    return evaluate(ns["rung_models"][RUNG_6], TensorBatches(images, ns["val_y"], 1000)).accuracy


def _flip_check(ns: Mapping[str, Any], name: str, dim: int) -> bool:
    value = ns[name]
    return between(value, 0.0, 1.0) and math.isclose(value, _flipped_accuracy(ns, dim), abs_tol=1e-4)


exercise("12.3", "up, down, left, right", needs=["hflip_accuracy", "vflip_accuracy"], checks=[
    Check("hflip_accuracy is rung 6's accuracy on the validation images mirrored left-right",
          lambda ns: _flip_check(ns, "hflip_accuracy", -1),
          "mirror left-right along the last dimension (width): val_norm.flip(-1); measure "
          "rung_models['+ label smoothing'] with fh.evaluate on TensorBatches of the flipped images "
          "and val_y, and keep .accuracy"),
    Check("vflip_accuracy is its accuracy on the validation images turned upside down",
          lambda ns: _flip_check(ns, "vflip_accuracy", -2),
          "turning an image upside down flips its rows: the height is dimension -2 of [N, 1, 28, 28]"),
])


# --- 12.4 read the schedule -----------------------------------------------------------------------

def _reference_schedule(lr: float) -> list[float]:
    optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=1000,
                                                    pct_start=0.25)
    rates = []
    for _ in range(1000):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def _schedule(ns: Mapping[str, Any]) -> bool:
    rates = [float(r) for r in ns["schedule_lrs"]]
    return len(rates) == 1000 and all(math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)
                                      for a, b in zip(rates, _reference_schedule(ns["lr"]), strict=True))


def _peak(ns: Mapping[str, Any]) -> bool:
    rates = _reference_schedule(ns["lr"])
    return ns["peak_step"] == rates.index(max(rates))


def _ratios(ns: Mapping[str, Any]) -> bool:
    rates, lr = _reference_schedule(ns["lr"]), ns["lr"]
    return (math.isclose(float(ns["start_ratio"]), lr / rates[0], rel_tol=1e-6)
            and math.isclose(float(ns["end_ratio"]), lr / rates[-1], rel_tol=1e-6))


exercise("12.4", "read the schedule", needs=["schedule_lrs", "peak_step", "start_ratio", "end_ratio"],
         checks=[
    Check("schedule_lrs holds the learning rate of each of the 1000 steps",
          _schedule,
          "build OneCycleLR(optimizer, max_lr=lr, total_steps=1000, pct_start=0.25); in a loop of "
          "1000 steps append optimizer.param_groups[0]['lr'] first, then call optimizer.step() and "
          "scheduler.step()"),
    Check("peak_step is the index of the largest learning rate",
          _peak,
          "schedule_lrs.index(max(schedule_lrs)) gives the first step with the largest rate"),
    Check("start_ratio and end_ratio are lr divided by the first and by the last rate",
          _ratios,
          "divide lr by schedule_lrs[0] and by schedule_lrs[-1]"),
])


# --- 12.5 a rung of your own ----------------------------------------------------------------------

def _own_rows(ns: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(ns["ladder_rows"])[LADDER_RUNGS:]


def _recorded(ns: Mapping[str, Any]) -> bool:
    return any(row["parameters"] == ns["my_rung_parameters"]
               and math.isclose(row["validation accuracy"], ns["my_rung_accuracy"], abs_tol=1e-9)
               for row in _own_rows(ns))


def _budget(ns: Mapping[str, Any]) -> bool:
    value = ns["my_rung_parameters"]
    return isinstance(value, int) and count_parameters(CapstoneNet()) < value < 100_000


exercise("12.5", "a rung of your own", needs=["my_rung_parameters", "my_rung_accuracy"], checks=[
    Check("a new rung was climbed after the ladder, and my_rung_* are its row's values",
          _recorded,
          "call climb(name, replace(recipe, network=your_key)) once, after adding your network to "
          "NETWORKS; then read ladder_rows[-1]['parameters'] and ladder_rows[-1]['validation accuracy']"),
    Check("the new network has more parameters than CapstoneNet and fewer than 100,000",
          _budget,
          "widen some stage of CapstoneNet(stages=...) (the default is ((16,), (32, 32), (64, 64))); "
          "a 3x3 layer from c_in to c_out costs 9 * c_in * c_out + 2 * c_out parameters"),
    Check("my_rung_accuracy is a validation accuracy: a fraction between 0 and 1",
          lambda ns: between(ns["my_rung_accuracy"], 0.0, 1.0),
          "store the accuracy as a fraction (the 'validation accuracy' of the row), not a count or a "
          "percentage"),
])
