"""Checks for the exercises of notebook 03 (the forward pass).

The probes call the student's functions on inputs the checks make (seeds, images, logits,
networks); the judges recompute the expected results from the same seeds and inputs with
PyTorch's own functions (``Network`` built after ``torch.manual_seed``, ``F.log_softmax``,
``F.softmax`` and ``topk``). Nothing here moves the notebook's random number generator.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any
from unittest import mock

import torch
import torch.nn.functional as F
from torch import nn

from ..data import CLASSES
from ..network import Network
from .engine import Check, exercise
from .probing import plain_tensor, seeded

# -- 03.1 ------------------------------------------------------------------------------------------

ACCURACY_SEEDS = (7, 2, 12)
ACCURACY_IMAGES = 300
TOLERANCE = 1.5 / ACCURACY_IMAGES  # one image: scoring in batches may flip a near-tie


def _scoring_set() -> tuple[torch.Tensor, torch.Tensor]:
    """Images and labels the check makes: noise images, labels skewed towards the later classes
    (so networks that favour different classes get different accuracies)."""
    generator = torch.Generator().manual_seed(11)
    images = torch.rand(ACCURACY_IMAGES, 1, 28, 28, generator=generator)
    weights = torch.arange(1, len(CLASSES) + 1, dtype=torch.float)
    labels = torch.multinomial(weights, ACCURACY_IMAGES, replacement=True, generator=generator)
    return images, labels


def _student_accuracies(ns: Mapping[str, Any]) -> list[float]:
    images, labels = _scoring_set()
    accuracies = []
    for seed in ACCURACY_SEEDS:
        with seeded(1000 + seed):  # whatever the notebook drew last: the function seeds itself
            accuracies.append(float(ns["accuracy_for_seed"](seed, images.clone(), labels.clone())))
    return accuracies


@functools.cache
def _expected_accuracy(seed: int) -> float:
    """The accuracy of ``Network()`` built right after ``torch.manual_seed(seed)`` on the check's set."""
    images, labels = _scoring_set()
    with seeded(seed):
        network = Network()
    with torch.no_grad():
        return network(images).argmax(dim=1).eq(labels).sum().item() / len(labels)


def _fractions(data: list[float]) -> bool:
    """Every accuracy is a fraction of the images: in [0, 1], a whole number of them."""
    return all(0.0 <= a <= 1.0 and abs(a * ACCURACY_IMAGES - round(a * ACCURACY_IMAGES)) < 1e-3
               for a in data)


exercise("03.1", "Untrained accuracy for any seed", needs=["accuracy_for_seed"], checks=[
    Check("accuracy_for_seed returns a fraction of the images it is given (between 0 and 1)",
          _student_accuracies,
          "an accuracy is the number of correct predictions divided by the number of images, not a "
          "count or a percentage",
          judge=_fractions),
    Check("it is the accuracy of an untrained fh.Network() built right after seeding with the seed it is "
          "given, for seeds and images the check picks",
          _student_accuracies,
          "inside the function, seed with the seed it is given right before building a new untrained "
          "network (not the notebook's network), then score the images and labels it is given "
          "(not test_images)",
          judge=lambda data: len(data) == len(ACCURACY_SEEDS) and all(
              abs(a - _expected_accuracy(seed)) <= TOLERANCE
              for a, seed in zip(data, ACCURACY_SEEDS, strict=True)),
          points=2),
])


# -- 03.2 ------------------------------------------------------------------------------------------

def _ordinary_logits() -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    return [10 * torch.randn(6, 10, generator=generator), torch.randn(4, 3, generator=generator)]


def _shifted_logits() -> torch.Tensor:
    """Ordinary logits with a large constant added to each row (+500 and -500 alternately)."""
    logits = torch.randn(4, 10, generator=torch.Generator().manual_seed(8))
    return logits + torch.tensor([[500.0], [-500.0], [500.0], [-500.0]])


def _extreme_logits() -> torch.Tensor:
    return torch.tensor([[1000.0, 0.0, -1000.0], [-1000.0, -1001.0, -1002.0]])


def _outputs(ns: Mapping[str, Any], inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    return [plain_tensor(ns["stable_log_softmax"](z.clone())) for z in inputs]


def _matches_pytorch(data: list[torch.Tensor], inputs: list[torch.Tensor], atol: float) -> bool:
    """Each output has its input's shape, is finite and is ``F.log_softmax`` of it along the rows."""
    return len(data) == len(inputs) and all(
        out.shape == z.shape and bool(torch.isfinite(out).all())
        and torch.allclose(out.double(), F.log_softmax(z.double(), dim=1), atol=atol)
        for out, z in zip(data, inputs, strict=True))


def _without_log_softmax(ns: Mapping[str, Any]) -> list[torch.Tensor]:
    """The outputs while PyTorch's own log_softmax is not available."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("log_softmax is switched off for this check")

    with (mock.patch.object(F, "log_softmax", refuse), mock.patch.object(torch, "log_softmax", refuse),
          mock.patch.object(torch.Tensor, "log_softmax", refuse),
          mock.patch.object(torch.special, "log_softmax", refuse)):
        return _outputs(ns, _ordinary_logits())


def _probe_on(inputs: Callable[[], list[torch.Tensor]]) -> Callable[[Mapping[str, Any]], list[torch.Tensor]]:
    """A probe: the student's outputs on the ``inputs`` the check makes."""
    return lambda ns: _outputs(ns, inputs())


def _judge_on(inputs: Callable[[], list[torch.Tensor]], atol: float) -> Callable[[list[torch.Tensor]], bool]:
    """A judge: the outputs are ``F.log_softmax`` of the same ``inputs``."""
    return lambda data: _matches_pytorch(data, inputs(), atol)


exercise("03.2", "A numerically stable log_softmax", needs=["stable_log_softmax"], checks=[
    Check("stable_log_softmax matches F.log_softmax on ordinary logits (one row per image)",
          _probe_on(_ordinary_logits),
          "stable_log_softmax should return, for each row of logits separately, the log of its softmax "
          "probabilities, with the same shape as its input (reduce along the classes, dimension 1, and "
          "keep that dimension so the shapes line up)",
          judge=_judge_on(_ordinary_logits, atol=1e-5), points=2),
    Check("stable_log_softmax gives the same answer when a large constant is added to a row",
          _probe_on(lambda: [_shifted_logits()]),
          "softmax does not change when the same constant is added to every logit of a row (the cell "
          "shows it): choose, for each row on its own, a constant that moves its logits to where "
          "exponentiating neither overflows nor turns every value into 0",
          judge=_judge_on(lambda: [_shifted_logits()], atol=1e-3)),
    Check("stable_log_softmax stays finite and exact on extreme logits such as [1000, 0, -1000]",
          _probe_on(lambda: [_extreme_logits()]),
          "the log of a probability that underflowed to 0 is -inf: do not compute the softmax first; "
          "work with the shifted logits and take the log only of their sum of exponentials (the "
          "log-sum-exp trick)",
          judge=_judge_on(lambda: [_extreme_logits()], atol=1e-4)),
    Check("stable_log_softmax is written by hand (it works without PyTorch's log_softmax)",
          _without_log_softmax,
          "build it from max, exp, sum and log rather than calling a log_softmax",
          judge=_judge_on(_ordinary_logits, atol=1e-4)),
])


# -- 03.3 ------------------------------------------------------------------------------------------

def _top3_cases() -> list[tuple[nn.Module, torch.Tensor]]:
    """The (network, image) pairs the check gives: an untrained ``Network`` and a sharper linear
    model, each with a noise image ``[1, 28, 28]``."""
    generator = torch.Generator().manual_seed(21)
    with seeded(5):
        network = Network()
        linear = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, len(CLASSES)))
    with torch.no_grad():
        linear[1].weight.mul_(30)
    return [(network, torch.rand(1, 28, 28, generator=generator)),
            (linear, torch.rand(1, 28, 28, generator=generator))]


def _probabilities(values: Any) -> list[float]:
    if isinstance(values, torch.Tensor):
        return [float(v) for v in values.detach().flatten()]
    return [float(v) for v in values]


def _student_top3(ns: Mapping[str, Any]) -> list[dict[str, list[Any]]]:
    answers = []
    for network, image in _top3_cases():
        names, probabilities = ns["top3"](network, image)
        answers.append({"names": [str(name) for name in names],
                        "probabilities": _probabilities(probabilities)})
    return answers


@functools.cache
def _expected_top3() -> tuple[tuple[tuple[str, ...], tuple[float, ...]], ...]:
    expected = []
    for network, image in _top3_cases():
        with torch.no_grad():
            top = F.softmax(network(image.unsqueeze(0)), dim=1).topk(3, dim=1)
        expected.append((tuple(CLASSES[k] for k in top.indices[0].tolist()), tuple(top.values[0].tolist())))
    return tuple(expected)


def _well_formed(data: list[dict[str, list[Any]]]) -> bool:
    """Three known class names and three probabilities in [0, 1], largest first, per case."""
    return all(len(a["names"]) == 3 and all(name in CLASSES for name in a["names"])
               and len(a["probabilities"]) == 3 and all(0.0 <= p <= 1.0 for p in a["probabilities"])
               and a["probabilities"] == sorted(a["probabilities"], reverse=True) for a in data)


def _top3_right(data: list[dict[str, list[Any]]]) -> bool:
    return len(data) == len(_expected_top3()) and all(
        tuple(a["names"]) == names
        and all(math.isclose(p, q, abs_tol=1e-5) for p, q in zip(a["probabilities"], values, strict=True))
        for a, (names, values) in zip(data, _expected_top3(), strict=True))


exercise("03.3", "The three most likely classes", needs=["top3"], checks=[
    Check("top3 gives three class names and three probabilities, most likely first",
          _student_top3,
          "top3 should return two lists: 3 names from fh.CLASSES and their 3 probabilities (numbers "
          "between 0 and 1, not logits), largest first (topk sorts them)",
          judge=_well_formed),
    Check("they are the three most likely classes of the network and image the check gives",
          _student_top3,
          "use the network and the image passed to top3 (not the notebook's network or test image); "
          "the network expects a batch, and softmax must run over the classes of that one image",
          judge=_top3_right, points=2),
])
