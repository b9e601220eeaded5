"""Notebook 05's exercise checks on answers written here: right answers written differently from
the notebook's solutions pass every check, plausible wrong ones fail the checks named.

Checks of 05.1: [10 × 10, rows sum to 1, the expected matrix]. 05.2: [k mistakes, the most
confident first]. 05.3: [a class name, the lowest precision].
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from exercise_answers import verdicts
from sklearn.metrics import classification_report, confusion_matrix, f1_score, recall_score

from fmnist_helpers import CLASSES


def counted_rows(labels, predicted):
    counts = np.zeros((10, 10))
    np.add.at(counts, (np.asarray(labels), np.asarray(predicted)), 1)
    return counts / counts.sum(axis=1, keepdims=True)


def torch_rows(labels, predicted):
    pairs = torch.as_tensor(labels) * 10 + torch.as_tensor(predicted)
    counts = torch.bincount(pairs, minlength=100).reshape(10, 10).float()
    return counts / counts.sum(dim=1, keepdim=True)


# the instructor's matrix typed in: what any other labels give
_other = np.random.default_rng(1)
TYPED_MATRIX = confusion_matrix(_other.integers(0, 10, 500), _other.integers(0, 10, 500), normalize="true")


@pytest.mark.parametrize("answer", [counted_rows, torch_rows], ids=["numpy counts", "torch bincount"])
def test_05_1_right_answers_pass(answer):
    assert verdicts("05.1", {"normalized_confusion": answer}) == [True, True, True]


@pytest.mark.parametrize(("answer", "expected"), [
    (lambda labels, predicted: confusion_matrix(labels, predicted, normalize="pred"), [True, False, False]),
    (lambda labels, predicted: confusion_matrix(predicted, labels, normalize="true"), [True, True, False]),
    (lambda labels, predicted: confusion_matrix(labels, predicted), [True, False, False]),
    (lambda labels, predicted: TYPED_MATRIX, [True, True, False]),
], ids=["columns normalised", "labels and predictions swapped", "counts", "hard-coded matrix"])
def test_05_1_wrong_answers_fail(answer, expected):
    assert verdicts("05.1", {"normalized_confusion": answer}) == expected


def by_topk(logits, labels, k=10):
    confidence, predicted = F.softmax(logits, dim=1).max(dim=1)
    confidence[predicted == labels] = -1.0  # right answers go last
    return confidence.topk(k).indices


def by_sorted(logits, labels, k=10):
    probabilities = logits.softmax(dim=1).tolist()
    mistakes = [i for i, p in enumerate(probabilities) if p.index(max(p)) != int(labels[i])]
    return sorted(mistakes, key=lambda i: -max(probabilities[i]))[:k]


def largest_logit(logits, labels, k=10):
    confidence, predicted = logits.max(dim=1)
    mistakes = torch.nonzero(predicted != labels).flatten()
    return mistakes[confidence[mistakes].argsort(descending=True)[:k]]


def among_all_images(logits, labels, k=10):
    return logits.softmax(dim=1).max(dim=1).values.argsort(descending=True)[:k]


def least_confident_first(logits, labels, k=10):
    confidence, predicted = logits.softmax(dim=1).max(dim=1)
    mistakes = torch.nonzero(predicted != labels).flatten()
    return mistakes[confidence[mistakes].argsort()[:k]]


@pytest.mark.parametrize("answer", [by_topk, by_sorted], ids=["topk", "python sorted"])
def test_05_2_right_answers_pass(answer):
    assert verdicts("05.2", {"most_confident_mistakes": answer}) == [True, True]


@pytest.mark.parametrize(("answer", "expected"), [
    (largest_logit, [True, False]),
    (among_all_images, [False, False]),
    (least_confident_first, [True, False]),
    (lambda logits, labels, k=10: torch.tensor([4341, 6542, 1968, 2488, 9500, 3107, 7206, 2183, 381, 4243]),
     [False, False]),
    (lambda logits, labels, k=10: by_topk(logits, labels, 10), [False, False]),
], ids=["largest logit", "among all images", "least confident first", "hard-coded indices",
        "k ignored"])
def test_05_2_wrong_answers_fail(answer, expected):
    assert verdicts("05.2", {"most_confident_mistakes": answer}) == expected


def from_columns(labels, predicted):
    counts = confusion_matrix(labels, predicted, labels=range(10))
    return CLASSES[int(np.argmin(counts.diagonal() / counts.sum(axis=0)))]


def from_report(labels, predicted):
    report = classification_report(labels, predicted, target_names=CLASSES, output_dict=True)
    return min(CLASSES, key=lambda name: report[name]["precision"])


@pytest.mark.parametrize("answer", [from_columns, from_report], ids=["columns", "report as a dict"])
def test_05_3_right_answers_pass(answer):
    assert verdicts("05.3", {"lowest_precision_class": answer}) == [True, True]


@pytest.mark.parametrize(("answer", "expected"), [
    (lambda labels, predicted: CLASSES[int(np.argmin(recall_score(labels, predicted, average=None)))],
     [True, False]),
    (lambda labels, predicted: CLASSES[int(np.argmin(f1_score(labels, predicted, average=None)))],
     [True, False]),
    (lambda labels, predicted: int(np.argmin(confusion_matrix(labels, predicted).diagonal()
                                             / confusion_matrix(labels, predicted).sum(axis=0))),
     [False, False]),
    (lambda labels, predicted: "Pullover", [True, False]),
], ids=["lowest recall", "lowest F1", "an index, not a name", "hard-coded name"])
def test_05_3_wrong_answers_fail(answer, expected):
    assert verdicts("05.3", {"lowest_precision_class": answer}) == expected
