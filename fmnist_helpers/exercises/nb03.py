"""Checks for the exercises of notebook 03 (the forward pass).

Results that depend on random weights are recomputed here from the same seeds (without touching
the notebook's random number generators) and compared; a hand-written ``log_softmax`` is compared
with PyTorch's on ordinary and extreme logits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from unittest import mock

import torch
import torch.nn.functional as F

from ..data import CLASSES, load_tensors
from ..network import Network
from .engine import Check, between, exercise

SEEDS = range(5)
FIRST_TEST_IMAGES = 2000
TOLERANCE = 2 / FIRST_TEST_IMAGES  # two images: batching may flip a near-tie, another seed moves more


def _accuracies(ns: Mapping[str, Any]) -> list[float]:
    return [float(a) for a in ns["seed_accuracies"]]


def _untrained_accuracies(data_root: Any) -> list[float]:
    """Test accuracy on the first 2,000 test images of an untrained ``Network`` per seed."""
    images, labels = load_tensors(train=False, root=data_root)
    images, labels = images[:FIRST_TEST_IMAGES], labels[:FIRST_TEST_IMAGES]
    accuracies = []
    for seed in SEEDS:
        with torch.random.fork_rng(devices=[]):  # leave the notebook's generator where it was
            torch.manual_seed(seed)
            network = Network()
        with torch.no_grad():
            correct = network(images).argmax(dim=1).eq(labels).sum().item()
        accuracies.append(correct / len(labels))
    return accuracies


exercise("03.1", "Untrained accuracy for five seeds", needs=["seed_accuracies"], checks=[
    Check("seed_accuracies holds five accuracies between 0 and 1",
          lambda ns: len(_accuracies(ns)) == len(SEEDS)
          and all(between(a, 0.0, 1.0) for a in _accuracies(ns)),
          "seed_accuracies should be a list of 5 fractions (correct / images), for seeds 0 to 4 in order"),
    Check("every accuracy is near chance, as an untrained network's should be",
          lambda ns: all(between(a, 0.0, 0.3) for a in _accuracies(ns)),
          "untrained networks score near 0.1 here; check that you count correct predictions with "
          "argmax(dim=1) and divide by the number of images"),
    Check("they are the accuracies of Network() built after torch.manual_seed(seed)",
          lambda ns: all(abs(a - b) <= TOLERANCE for a, b in
                         zip(_accuracies(ns), _untrained_accuracies(ns.get("data_root")), strict=True)),
          "for each seed call torch.manual_seed(seed) right before fh.Network(), and score the first "
          "2,000 test images (test_images[:2000])"),
])

EXTREME = torch.tensor([[1000.0, 0.0, -1000.0]])


def _random_logits() -> torch.Tensor:
    return 10 * torch.randn(6, 10, generator=torch.Generator().manual_seed(3))


def _close_to_pytorch(ns: Mapping[str, Any], z: torch.Tensor) -> bool:
    mine = ns["stable_log_softmax"](z)
    return tuple(mine.shape) == tuple(z.shape) and torch.allclose(mine, F.log_softmax(z, dim=1), atol=1e-5)


def _without_log_softmax(ns: Mapping[str, Any]) -> bool:
    """The function works when PyTorch's own log_softmax is not available."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("log_softmax is switched off for this check")

    with (mock.patch.object(F, "log_softmax", refuse), mock.patch.object(torch, "log_softmax", refuse),
          mock.patch.object(torch.Tensor, "log_softmax", refuse)):
        return torch.isfinite(ns["stable_log_softmax"](EXTREME)).all().item()


exercise("03.2", "A numerically stable log_softmax", needs=["shift_difference", "stable_log_softmax"],
         checks=[
    Check("shift_difference shows that softmax ignores a constant added to every logit",
          lambda ns: between(float(ns["shift_difference"]), 0.0, 1e-3),
          "shift_difference should be the largest absolute difference between softmax(z) and "
          "softmax(z + c) for the logits z and a constant c (say 10 or 100; a huge c loses precision "
          "in float32): it should come out (almost) 0"),
    Check("stable_log_softmax matches F.log_softmax on ordinary logits",
          lambda ns: _close_to_pytorch(ns, _random_logits()) and _close_to_pytorch(ns, ns["preds"]),
          "stable_log_softmax(z) should return z - max - log(sum(exp(z - max))) along dim=1, with the "
          "same shape as z (keepdim=True keeps the shapes aligned)"),
    Check("stable_log_softmax stays finite and exact on the extreme logits [1000, 0, -1000]",
          lambda ns: _close_to_pytorch(ns, EXTREME),
          "subtract each row's maximum before exp(): then nothing overflows and no probability "
          "underflows to 0 before the log"),
    Check("stable_log_softmax is written by hand (it works without PyTorch's log_softmax)",
          _without_log_softmax,
          "build it from max, exp, sum and log rather than calling log_softmax"),
])


def _network_top3(ns: Mapping[str, Any]) -> tuple[list[str], list[float]]:
    image, _ = ns["test_set"][0]
    with torch.no_grad():
        top = F.softmax(ns["network"](image.unsqueeze(0)), dim=1).topk(3, dim=1)
    return [CLASSES[k] for k in top.indices[0].tolist()], top.values[0].tolist()


def _descending_probabilities(ns: Mapping[str, Any]) -> bool:
    probabilities = [float(p) for p in ns["top3_probabilities"]]
    return (len(probabilities) == 3 and all(between(p, 0.0, 1.0) for p in probabilities)
            and probabilities == sorted(probabilities, reverse=True))


exercise("03.3", "The three most likely classes", needs=["top3_classes", "top3_probabilities"], checks=[
    Check("three class names and three probabilities, most likely first",
          lambda ns: len(ns["top3_classes"]) == 3 and all(name in CLASSES for name in ns["top3_classes"])
          and _descending_probabilities(ns),
          "top3_classes should hold 3 names from fh.CLASSES and top3_probabilities their 3 softmax "
          "probabilities, largest first (topk sorts them)"),
    Check("they are the untrained network's top three for the first test image",
          lambda ns: list(ns["top3_classes"]) == _network_top3(ns)[0]
          and all(math.isclose(float(p), q, abs_tol=1e-4)
                  for p, q in zip(ns["top3_probabilities"], _network_top3(ns)[1], strict=True)),
          "use test_set[0], network (not a new one), softmax over dim=1 and topk(3, dim=1); turn the "
          "indices into names with fh.CLASSES"),
])
