"""Checks for the exercises of notebook 01 (data ETL).

Every exercise asks for a function of a dataset. The probes call it on small stand-in datasets
that the checks make (``LabelledImages``: random images with labels the check chooses, read like
``FashionMNIST`` with ``ToTensor``); the judges rebuild the same datasets and compute the expected
counts, batch sizes and images themselves (batch sizes with PyTorch's own ``DataLoader``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from ..data import CLASSES
from .engine import Check, exercise
from .probing import plain_tensor


class LabelledImages(Dataset):
    """A stand-in for ``FashionMNIST(..., transform=ToTensor())``: ``data`` (uint8 ``[n, 28, 28]``),
    ``targets`` (int64 ``[n]``), ``classes``; an item is ``(float image [1, 28, 28] in [0, 1],
    int label)``."""

    def __init__(self, labels: Sequence[int], seed: int = 0) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.targets = torch.as_tensor(list(labels), dtype=torch.int64)
        self.data = torch.randint(0, 256, (len(self.targets), 28, 28), dtype=torch.uint8,
                                  generator=generator)
        self.classes = list(CLASSES)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.data[index].float().div(255).unsqueeze(0), int(self.targets[index])


def shuffled_labels(counts: Sequence[int], seed: int) -> list[int]:
    """``counts[k]`` labels ``k`` for every class ``k``, in an order shuffled by ``seed``."""
    labels = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts))
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    return labels[order].tolist()


# -- 01.1 ------------------------------------------------------------------------------------------

# class counts of the check's datasets: skewed (50 images, its last class empty), balanced, balanced but
# for an empty last class
SKEWED = (7, 2, 4, 5, 1, 9, 3, 6, 13, 0)
BALANCED = (3,) * 10
ONE_EMPTY = (4,) * 9 + (0,)
COUNT_CASES = (SKEWED, BALANCED, ONE_EMPTY)


def _count_dataset(counts: Sequence[int]) -> LabelledImages:
    return LabelledImages(shuffled_labels(counts, seed=sum(counts)), seed=1)


def _count_per_class(ns: Mapping[str, Any]) -> list[list[int]]:
    return [[int(c) for c in ns["count_per_class"](_count_dataset(counts))] for counts in COUNT_CASES]


def _is_balanced(ns: Mapping[str, Any]) -> list[bool]:
    return [bool(ns["is_balanced"](_count_dataset(counts))) for counts in COUNT_CASES]


exercise("01.1", "Is the test set balanced?", needs=["count_per_class", "is_balanced"], checks=[
    Check("count_per_class counts the images of every class, in label order, on datasets the check "
          "makes (one skewed, with an empty class)",
          _count_per_class,
          "count_per_class should return 10 numbers, one per class in label order, counted from the "
          "labels of the dataset it is given (not from train_set or test_set); a class without images "
          "still needs its 0 (the documentation of torch.bincount says how to ask for a fixed number of "
          "counts)",
          judge=lambda data: data == [list(counts) for counts in COUNT_CASES], points=2),
    Check("is_balanced tells a balanced dataset from a skewed one and from one with an empty class",
          _is_balanced,
          "is_balanced should be True only when all ten classes have the same number of images; a "
          "class with no images makes a dataset unbalanced",
          judge=lambda data: data == [len(set(counts)) == 1 for counts in COUNT_CASES]),
])


# -- 01.2 ------------------------------------------------------------------------------------------

# (dataset size, batch_size) pairs the check picks: an incomplete last batch, a size that divides
# evenly, a dataset smaller than one batch, a small batch size
PLAIN_CASES = ((1000, 64), (960, 64), (5, 10), (100, 7))
DROP_LAST_CASES = ((1000, 64), (960, 64), (100, 7))


def _batch_plans(ns: Mapping[str, Any], cases: Sequence[tuple[int, int]], **options: bool) -> list[list[int]]:
    """``[number of batches, size of the last batch]`` from the student's ``batch_plan`` per case."""
    plans = []
    for size, batch_size in cases:
        dataset = LabelledImages([i % 10 for i in range(size)])
        plans.append([int(v) for v in ns["batch_plan"](dataset, batch_size, **options)])
    return plans


@functools.cache
def _loader_plan(size: int, batch_size: int, drop_last: bool) -> tuple[int, int]:
    """What a ``DataLoader`` does: its number of batches and the size of its last one."""
    sizes = [len(indices) for indices in
             DataLoader(range(size), batch_size=batch_size, drop_last=drop_last).batch_sampler]
    return len(sizes), sizes[-1]


def _plans_match(data: list[list[int]], cases: Sequence[tuple[int, int]], drop_last: bool,
                 items: slice) -> bool:
    """Whether ``data`` holds the loader's plans per case (only the fields ``items`` selects)."""
    expected = [list(_loader_plan(size, batch_size, drop_last))[items] for size, batch_size in cases]
    return [list(plan)[items] for plan in data] == expected


exercise("01.2", "Batches of 64", needs=["batch_plan"], checks=[
    Check("the number of batches is a DataLoader's, for dataset sizes and batch sizes the check picks",
          lambda ns: _batch_plans(ns, PLAIN_CASES),
          "an incomplete last batch still counts as a batch; try batch_plan on a dataset smaller than "
          "one batch and on one whose size is a multiple of the batch size, and compare with len() of "
          "a DataLoader",
          judge=lambda data: _plans_match(data, PLAIN_CASES, False, slice(0, 1)), points=2),
    Check("the last batch's size is a DataLoader's, also when the batch size divides the dataset",
          lambda ns: _batch_plans(ns, PLAIN_CASES),
          "the last batch holds what is left after the full batches, and a full batch when nothing is "
          "left over; a DataLoader's batch_sampler lists the batches' indices without reading images",
          judge=lambda data: _plans_match(data, PLAIN_CASES, False, slice(1, 2))),
    Check("with drop_last=True both numbers are a DataLoader's",
          lambda ns: _batch_plans(ns, DROP_LAST_CASES, drop_last=True),
          "with drop_last=True the loader leaves out an incomplete last batch, so every batch it keeps "
          "is full; make batch_plan follow its drop_last argument",
          judge=lambda data: _plans_match(data, DROP_LAST_CASES, True, slice(0, 2))),
])


# -- 01.3 ------------------------------------------------------------------------------------------

# a dataset of 200 images, 20 per class in a shuffled order, and the (label, k) the check asks for
FIRST_CASES = ((8, 10), (3, 4))


def _class_dataset() -> LabelledImages:
    """A fresh copy each time (a student's function may change the dataset it is given)."""
    return LabelledImages(shuffled_labels((20,) * 10, seed=5), seed=2)


def _first_of_class(ns: Mapping[str, Any]) -> list[dict[str, Any]]:
    answers = []
    for label, k in FIRST_CASES:
        indices, images = ns["first_of_class"](_class_dataset(), label, k)
        answers.append({"indices": [int(i) for i in indices], "images": plain_tensor(images)})
    return answers


@functools.cache
def _expected_first(label: int, k: int) -> tuple[list[int], torch.Tensor]:
    """The positions of the first ``k`` images of ``label`` and those items' images, stacked."""
    dataset = _class_dataset()
    indices = (dataset.targets == label).nonzero().flatten()[:k].tolist()
    return indices, torch.stack([dataset[i][0] for i in indices])


def _indices_right(data: list[dict[str, Any]]) -> bool:
    return [answer["indices"] for answer in data] == [_expected_first(*case)[0] for case in FIRST_CASES]


def _images_right(data: list[dict[str, Any]]) -> bool:
    """The images are the dataset's items (transformed) at the expected indices, stacked."""
    return all(answer["images"].dtype == expected.dtype and answer["images"].shape == expected.shape
               and torch.equal(answer["images"], expected)
               for answer, (_, expected) in zip(data, (_expected_first(*c) for c in FIRST_CASES),
                                                strict=True))


exercise("01.3", "The first ten bags", needs=["first_of_class"], checks=[
    Check("the indices are the positions of the first k images of the class, in file order, on a "
          "dataset the check makes",
          _first_of_class,
          "first_of_class should look at the labels of the dataset it is given, keep the positions "
          "where the label is the one asked for, in file order, and return the first k of them (k is "
          "an argument: the check asks for other numbers than 10)",
          judge=_indices_right, points=2),
    Check("the images are those items, transformed, stacked into one [k, 1, 28, 28] tensor",
          _first_of_class,
          "read each image by indexing the dataset (that applies its transform, giving floats in "
          "[0, 1] with a channel axis), not from its raw data, and join them along a new first axis, "
          "in the order of the indices",
          judge=_images_right),
])
