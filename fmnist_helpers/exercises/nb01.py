"""Checks for the exercises of notebook 01 (data ETL).

The expected values are stored as hashes (``answer_hash``), never in plain text; properties that a
correct answer must have (sizes, labels, the images themselves) are tested against the notebook's
own ``train_set`` and ``test_set``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..data import CLASSES
from .engine import Check, exercise, matches


def _counts(ns: Mapping[str, Any]) -> list[int]:
    return [int(count) for count in ns["test_counts"]]


exercise("01.1", "Is the test set balanced?", needs=["test_counts", "test_balanced"], checks=[
    Check("test_counts has one count per class, adding up to every test image",
          lambda ns: len(_counts(ns)) == len(CLASSES) and sum(_counts(ns)) == len(ns["test_set"]),
          "test_counts needs 10 numbers (one per class, in label order) that add up to len(test_set); "
          "count the labels in test_set.targets"),
    Check("test_counts are the test set's class counts",
          lambda ns: matches(_counts(ns), "55792253574ebe84"),
          "the counts are not the test set's: use test_set.targets (not train_set's) and bincount()"),
    Check("test_balanced says rightly whether every class has as many test images",
          lambda ns: bool(ns["test_balanced"]) == (len(set(_counts(ns))) == 1)
          and matches(bool(ns["test_balanced"]), "3cbc87c7681f34db"),
          "test_balanced should say whether every class has the same number of test images"),
])

exercise("01.2", "Batches of 64", needs=["num_batches_64", "last_batch_size_64", "num_batches_drop_last"],
         checks=[
    Check("the batches add up to the whole training set",
          lambda ns: (int(ns["num_batches_64"]) - 1) * 64 + int(ns["last_batch_size_64"])
          == len(ns["train_set"]) and 0 < int(ns["last_batch_size_64"]) <= 64,
          "(num_batches_64 - 1) full batches of 64 plus the last batch should hold all training images"),
    Check("num_batches_64 is the number of batches per epoch",
          lambda ns: matches(int(ns["num_batches_64"]), "64e57b786e920607"),
          "divide len(train_set) by 64 and round up (an incomplete last batch still counts), or take "
          "len() of a DataLoader with batch_size=64"),
    Check("last_batch_size_64 is the size of the last batch",
          lambda ns: matches(int(ns["last_batch_size_64"]), "69c43f7c19bd23fa"),
          "the last batch holds what is left over after the full batches of 64 (think of divmod)"),
    Check("num_batches_drop_last is the number of batches with drop_last=True",
          lambda ns: matches(int(ns["num_batches_drop_last"]), "a9cd14e5ee4a60a7"),
          "with drop_last=True the loader leaves out an incomplete last batch; check with len()"),
])


def _bag_label() -> int:
    return CLASSES.index("Bag")


def _bag_images_are_the_dataset_items(ns: Mapping[str, Any]) -> bool:
    images, indices = ns["bag_images"], [int(i) for i in ns["bag_indices"]]
    if not isinstance(images, torch.Tensor) or tuple(images.shape) != (len(indices), 1, 28, 28):
        return False
    return all(torch.equal(images[k], ns["train_set"][i][0]) for k, i in enumerate(indices))


exercise("01.3", "The first ten bags", needs=["bag_indices", "bag_images"], checks=[
    Check("bag_indices holds ten indices of Bag images",
          lambda ns: len(ns["bag_indices"]) == 10
          and all(int(ns["train_set"].targets[int(i)]) == _bag_label() for i in ns["bag_indices"]),
          "bag_indices needs 10 positions i in the training set whose label train_set.targets[i] is the "
          "class 'Bag' (fh.CLASSES.index('Bag'))"),
    Check("they are the first ten bags of the file",
          lambda ns: matches([int(i) for i in ns["bag_indices"]], "11c8fe3ddd13f98c"),
          "take the first ten matches, in file order (nonzero() lists them in order)"),
    Check("bag_images are those images, transformed, as one [10, 1, 28, 28] tensor",
          _bag_images_are_the_dataset_items,
          "read each image with train_set[i] (it applies ToTensor) and torch.stack them, in the order "
          "of bag_indices"),
])
