"""Checks for the exercises of notebook 05 (analysis).

Each exercise asks for a function of labels and predictions (or logits). The checks call it on
small label sets of their own, built so that the common slips give a different answer (columns
for rows, the largest logit for the largest probability, recall for precision), and the judges
recompute the expected result with torch from the same inputs. Nothing depends on the weights 04
trained or on the notebook's variables.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch

from ..data import CLASSES
from .engine import Check, exercise

SEED = 0
CONFIDENT_K = 7  # not the notebook's 10: an answer must use the k it is given


# -- shared: the check's labels and predictions, and their confusion matrix -----------------------

@functools.lru_cache
def _noisy_predictions() -> tuple[np.ndarray, np.ndarray]:
    """400 labels, 40 of each class in a seeded order, and predictions with a third of them wrong."""
    generator = torch.Generator().manual_seed(SEED)
    labels = torch.arange(10).repeat(40)[torch.randperm(400, generator=generator)]
    predicted = labels.clone()
    noisy = torch.rand(400, generator=generator) < 0.35
    predicted[noisy] = torch.randint(0, 10, (int(noisy.sum()),), generator=generator)
    return labels.numpy(), predicted.numpy()


def _confusion(labels: Iterable[int], predicted: Iterable[int]) -> torch.Tensor:
    """Counts: rows are true classes, columns predicted ones."""
    pairs = torch.as_tensor(np.asarray(labels)) * 10 + torch.as_tensor(np.asarray(predicted))
    return torch.bincount(pairs, minlength=100).reshape(10, 10).double()


def _as_matrix(value: Any) -> torch.Tensor:
    return torch.as_tensor(np.asarray(value, dtype=np.float64))


# -- exercise 1: the normalised confusion matrix -------------------------------------------------

def _normalized_answer(ns: Mapping[str, Any]) -> torch.Tensor:
    return _as_matrix(ns["normalized_confusion"](*_noisy_predictions()))


def _normalized_reference() -> torch.Tensor:
    counts = _confusion(*_noisy_predictions())
    return counts / counts.sum(dim=1, keepdim=True)


exercise(
    "05.1", "Normalised confusion matrix", needs=["normalized_confusion"],
    checks=[
        Check("it returns a 10 × 10 matrix",
              _normalized_answer,
              "normalized_confusion should return the matrix itself (10 rows, 10 columns), for "
              "any labels and predictions it is given, not only the notebook's.",
              judge=lambda data: tuple(data.shape) == (10, 10)),
        Check("each row sums to 1: the fractions of one true class",
              _normalized_answer,
              "Each row should hold fractions of its true class. The confusion_matrix page of "
              "scikit-learn says which option normalises over the true labels (the rows).",
              judge=lambda data: bool(torch.allclose(data.sum(dim=1), torch.ones(10, dtype=data.dtype)))),
        Check("it equals the check's own matrix for its labels and predictions (rows true, "
              "columns predicted)",
              _normalized_answer,
              "For the check's labels and predictions your matrix is not the expected one. Are "
              "the rows the true classes (the labels come first), and is the matrix computed "
              "from the arguments, not from the notebook's variables?",
              judge=lambda data: tuple(data.shape) == (10, 10)
              and bool(torch.allclose(data, _normalized_reference())), points=2),
    ],
)


# -- exercise 2: the most confident mistakes -----------------------------------------------------

@functools.lru_cache
def _logits_and_labels() -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded logits for 300 images and their labels. Most are mistakes (10 classes), but every
    other one of the 40 most confident images is right, as with a trained network, so that the
    most confident images overall are not the most confident mistakes."""
    generator = torch.Generator().manual_seed(SEED)
    logits = 3 * torch.randn(300, 10, generator=generator)
    labels = torch.randint(0, 10, (300,), generator=generator)
    confidence, predicted = logits.softmax(dim=1).max(dim=1)
    right = confidence.argsort(descending=True)[:40:2]
    labels[right] = predicted[right]
    return logits, labels


def _confident_answer(ns: Mapping[str, Any]) -> torch.Tensor:
    logits, labels = _logits_and_labels()
    indices = ns["most_confident_mistakes"](logits.clone(), labels.clone(), CONFIDENT_K)
    return torch.tensor([int(i) for i in indices], dtype=torch.long)


@functools.lru_cache
def _mistakes_by_confidence() -> tuple[int, ...]:
    """The misclassified images, the one with the highest softmax probability first."""
    logits, labels = _logits_and_labels()
    confidence, predicted = logits.softmax(dim=1).max(dim=1)
    wrong = torch.nonzero(predicted != labels).flatten()
    return tuple(int(i) for i in wrong[confidence[wrong].argsort(descending=True)])


exercise(
    "05.2", "Confidently wrong", needs=["most_confident_mistakes"],
    checks=[
        Check(f"asked for k={CONFIDENT_K}, it returns {CONFIDENT_K} indices of misclassified images",
              _confident_answer,
              "Return k indices (k is an argument), each of an image whose predicted class, the "
              "largest logit, differs from its label: pick among the mistakes only.",
              judge=lambda data: len(data) == CONFIDENT_K
              and set(data.tolist()) <= set(_mistakes_by_confidence())),
        Check("they are the mistakes with the highest softmax probability, most confident first",
              _confident_answer,
              "Confidence is the largest softmax probability of an image's logits, not the largest "
              "logit itself. Sort the mistakes by it from the highest down and keep the first k.",
              judge=lambda data: data.tolist() == list(_mistakes_by_confidence()[:CONFIDENT_K]),
              points=2),
    ],
)


# -- exercise 3: the class with the lowest precision ---------------------------------------------

PRECISION_CASES = ((6, 4), (8, 5))
"""(the class with the lowest precision, the class with the lowest recall) of each check set."""


@functools.lru_cache
def _precision_case(low_precision: int, low_recall: int) -> tuple[np.ndarray, np.ndarray]:
    """100 labels per class and predictions where eight images of every other class are called
    ``low_precision``, and 40 of ``low_recall``'s images are called something else."""
    labels = torch.arange(10).repeat_interleave(100)
    predicted = labels.clone()
    others = [c for c in range(10) if c not in (low_precision, low_recall)]
    for position, other in enumerate(others):
        predicted[other * 100: other * 100 + 8] = low_precision
        start = low_recall * 100 + 5 * position
        predicted[start: start + 5] = other
    return labels.numpy(), predicted.numpy()


def _precision_answers(ns: Mapping[str, Any]) -> list[str]:
    answers = [ns["lowest_precision_class"](*_precision_case(*case)) for case in PRECISION_CASES]
    return [a if isinstance(a, str) else repr(a) for a in answers]


def _lowest_precision(labels: np.ndarray, predicted: np.ndarray) -> str:
    counts = _confusion(labels, predicted)
    return CLASSES[int((counts.diagonal() / counts.sum(dim=0)).argmin())]


exercise(
    "05.3", "Precision and recall", needs=["lowest_precision_class"],
    checks=[
        Check("it returns a class name",
              _precision_answers,
              "Return the class's name as it is written in CLASSES, not its index.",
              judge=lambda data: all(name in CLASSES for name in data)),
        Check("it is the class with the lowest precision, for two label sets of the check's",
              _precision_answers,
              "Precision is read down a column of the confusion matrix: of the images called X, "
              "the fraction that are X. Recall (the per-class accuracy) is read along a row. Work "
              "from the labels and predictions the function is given.",
              judge=lambda data: data == [_lowest_precision(*_precision_case(*case))
                                          for case in PRECISION_CASES], points=2),
    ],
)
