"""Checks for the exercises of notebook 05 (analysis).

The expected answers depend on the weights 04 trained, so every check recomputes them from the
notebook's own scaffolding (``cm``, ``test_labels``, ``predicted``, ``test_preds``, ``wrong``)
instead of comparing with stored values.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from .engine import Check, exercise


def _matrix(ns: Mapping[str, Any]) -> np.ndarray:
    return np.asarray(ns["cm_normalized"], dtype=float)


def _indices(ns: Mapping[str, Any]) -> list[int]:
    return [int(i) for i in torch.as_tensor(ns["most_confident_wrong"]).flatten()]


def _confidence(ns: Mapping[str, Any]) -> torch.Tensor:
    return ns["test_preds"].softmax(dim=1).max(dim=1).values


def _most_confident_first(ns: Mapping[str, Any]) -> bool:
    confidence = _confidence(ns)[_indices(ns)].tolist()
    return all(a >= b for a, b in itertools.pairwise(confidence))


def _top_confident_mistakes(ns: Mapping[str, Any]) -> set[int]:
    wrong = torch.as_tensor(ns["wrong"])
    order = _confidence(ns)[wrong].argsort(descending=True)[:10]
    return {int(i) for i in wrong[order]}


def _lowest_precision(ns: Mapping[str, Any]) -> str:
    from sklearn.metrics import precision_score  # imported here: 1 s that other notebooks skip

    precision = precision_score(ns["test_labels"], ns["predicted"], average=None,
                                labels=list(range(len(ns["CLASSES"]))), zero_division=0)
    return ns["CLASSES"][int(np.argmin(precision))]


exercise(
    "05.1", "Normalised confusion matrix", needs=["cm_normalized"],
    checks=[
        Check("cm_normalized is a 10 × 10 matrix",
              lambda ns: _matrix(ns).shape == (10, 10),
              "cm_normalized should be the matrix plot_confusion_matrix returns (its first value)."),
        Check("each row sums to 1: the fractions of one true class",
              lambda ns: np.allclose(_matrix(ns).sum(axis=1), 1.0),
              "Normalise over the true classes (the rows): which value of `normalize` does that?"),
        Check("its diagonal is the per-class accuracy",
              lambda ns: np.allclose(np.diag(_matrix(ns)), np.diag(ns["cm"]) / ns["cm"].sum(axis=1)),
              "Use the test labels and the predictions the notebook computed (test_labels, "
              "predicted), in that order: rows are true classes."),
    ],
)

exercise(
    "05.2", "Confidently wrong", needs=["most_confident_wrong"],
    checks=[
        Check("most_confident_wrong holds 10 test-set indices",
              lambda ns: len(_indices(ns)) == 10 and all(0 <= i < len(ns["test_preds"])
                                                         for i in _indices(ns)),
              "most_confident_wrong should be a tensor of 10 indices into the test set."),
        Check("every one of them is a misclassified image",
              lambda ns: set(_indices(ns)) <= {int(i) for i in torch.as_tensor(ns["wrong"])},
              "Pick the images among `wrong` (the misclassified test images), not among all."),
        Check("they are the 10 mistakes with the highest softmax probability, most confident first",
              lambda ns: set(_indices(ns)) == _top_confident_mistakes(ns) and _most_confident_first(ns),
              "Confidence is the largest softmax probability of an image's logits (test_preds); "
              "sort the misclassified images by it, highest first, and keep 10."),
    ],
)

exercise(
    "05.3", "Precision and recall", needs=["lowest_precision_class"],
    checks=[
        Check("lowest_precision_class is one of the class names",
              lambda ns: ns["lowest_precision_class"] in ns["CLASSES"],
              "Store the class's name as it appears in CLASSES (for example \"Trouser\"), not its "
              "index."),
        Check("it is the class with the lowest precision on the test set",
              lambda ns: ns["lowest_precision_class"] == _lowest_precision(ns),
              "Read the precision column of the report (not recall), computed from test_labels "
              "and predicted, and take the smallest."),
    ],
)
