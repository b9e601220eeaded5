"""Checks for the exercises of notebook 11 (normalization and batch norm).

The expected statistics are computed from the notebook's own data (``mean_tensor``, ``color``,
``results``), never written here; the training exercise is checked by ranges and consistency.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from .engine import Check, between, exercise

INPUTS = ("unnormalized", "normalized")


# --- 11.1 two passes ------------------------------------------------------------------------------

def _near(ns: Mapping[str, Any], answer: str, reference: str, tolerance: float = 1e-4) -> bool:
    value, expected = ns[answer], float(ns[reference])
    return between(value, expected - tolerance, expected + tolerance)


exercise("11.1", "two passes", needs=["two_pass_mean", "two_pass_std"], checks=[
    Check("two_pass_mean is a float equal to the whole-tensor mean (to 1e-4)",
          lambda ns: _near(ns, "two_pass_mean", "mean_tensor"),
          "add up every pixel value (in float64) and divide by how many values there are, "
          "60,000 x 28 x 28; make it a Python float with .item()"),
    Check("two_pass_std is a float equal to the whole-tensor standard deviation (to 1e-4)",
          lambda ns: _near(ns, "two_pass_std", "std_tensor"),
          "in the second pass add up (x - two_pass_mean)**2 over every value, divide by the count "
          "minus one, and take the square root"),
])


# --- 11.2 the fourth combination ------------------------------------------------------------------

def _expected_keys(ns: Mapping[str, Any]) -> set[tuple[str, int]]:
    return {(name, s) for name in INPUTS for s in (ns["seed"], ns["seed"] + 1)}


def _accuracies(ns: Mapping[str, Any]) -> bool:
    accuracy = ns["bn_accuracy"]
    return (set(accuracy) == _expected_keys(ns)
            and all(between(float(a), 0.3, 1.0) for a in accuracy.values()))


def _bn_gain(ns: Mapping[str, Any]) -> bool:
    accuracy, seeds = ns["bn_accuracy"], (ns["seed"], ns["seed"] + 1)
    expected = sum(accuracy["normalized", s] - accuracy["unnormalized", s] for s in seeds) / 2
    return math.isclose(float(ns["bn_gain"]), expected, abs_tol=1e-9)


def _plain_gain(ns: Mapping[str, Any]) -> bool:
    results = ns["results"]
    first = results[(results["epoch"] == 1) & (results["network"] == "plain")].set_index("trainset")
    expected = (first.loc["normalized", "validation_accuracy"]
                - first.loc["unnormalized", "validation_accuracy"])
    return math.isclose(float(ns["plain_gain"]), float(expected), abs_tol=1e-9)


exercise("11.2", "the fourth combination", needs=["bn_accuracy", "bn_gain", "plain_gain"], checks=[
    Check("bn_accuracy has a validation accuracy for both inputs and both seeds, well above chance",
          _accuracies,
          "key bn_accuracy by (trainset, run_seed) for trainset in 'unnormalized', 'normalized' and "
          "run_seed in seed, seed + 1; train with train_run(Run(trainset, 'batchnorm'), "
          "exercise_manager, epochs=1, run_seed=run_seed) and measure with accuracy_on(..., "
          "'validation')"),
    Check("bn_gain is normalized minus unnormalized, averaged over the two seeds",
          _bn_gain,
          "for each seed take bn_accuracy['normalized', s] - bn_accuracy['unnormalized', s], then the "
          "mean of the two differences"),
    Check("plain_gain is the plain Network's first-epoch validation gain (runs 2 and 1)",
          _plain_gain,
          "in results, take the rows with epoch 1 and network 'plain', and subtract the unnormalized "
          "run's validation_accuracy from the normalized run's"),
])


# --- 11.3 more channels ---------------------------------------------------------------------------

def _per_channel(ns: Mapping[str, Any], answer: str, statistic: str) -> bool:
    color = ns["color"].double()
    expected = color.mean(dim=(0, 2, 3)) if statistic == "mean" else color.std(dim=(0, 2, 3))
    value = torch.as_tensor(ns[answer], dtype=torch.float64).flatten()
    return value.shape == (3,) and torch.allclose(value, expected, atol=1e-4)


def _standardized(ns: Mapping[str, Any]) -> bool:
    normalized, color = ns["normalized_color"], ns["color"]
    if not isinstance(normalized, torch.Tensor) or normalized.shape != color.shape:
        return False
    means = normalized.double().mean(dim=(0, 2, 3))
    stds = normalized.double().std(dim=(0, 2, 3))
    return bool(means.abs().max() < 1e-3 and (stds - 1).abs().max() < 1e-3)


exercise("11.3", "more channels", needs=["channel_mean", "channel_std", "normalized_color"], checks=[
    Check("channel_mean holds the 3 channel means",
          lambda ns: _per_channel(ns, "channel_mean", "mean"),
          "sum each batch over dimensions 0, 2 and 3 (images, rows, columns) so that one sum per "
          "channel remains, and divide by the number of values per channel"),
    Check("channel_std holds the 3 channel standard deviations",
          lambda ns: _per_channel(ns, "channel_std", "std"),
          "accumulate the sum of squares per channel too: var = mean of squares - square of mean "
          "(times n / (n - 1)), then the square root"),
    Check("normalized_color has every channel centred on 0 with a spread of 1",
          _standardized,
          "transforms.Normalize takes one mean and one std per channel, as lists: "
          "channel_mean.tolist(), channel_std.tolist(); apply it to color"),
])
