"""The in-memory tensor path: batches cut from one tensor by indexing, and a seeded split."""

from __future__ import annotations

from collections.abc import Iterator

import torch


class TensorBatches:
    """Iterate over ``(images, labels)`` batches of tensors already in memory.

    A drop-in for a ``DataLoader`` in training loops: ``len()`` is the number of batches and each
    pass reshuffles when ``shuffle`` is true (with ``generator`` for reproducible orders).
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
    ) -> None:
        if len(images) != len(labels):
            raise ValueError(f"images ({len(images)}) and labels ({len(labels)}) differ in length")
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.generator = batch_size, shuffle, generator

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        count = len(self.labels)
        if self.shuffle:
            order = torch.randperm(count, generator=self.generator)
            for index in order.split(self.batch_size):
                yield self.images[index], self.labels[index]
        else:
            for start in range(0, count, self.batch_size):
                stop = start + self.batch_size
                yield self.images[start:stop], self.labels[start:stop]


def train_validation_split(
    images: torch.Tensor,
    labels: torch.Tensor,
    validation_size: int = 10_000,
    seed: int = 0,
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Split a training set in two by a seeded random order: ``(train, validation)`` pairs.

    Hyperparameters are chosen on the validation part, so the test set measures the chosen model
    once, on images nothing was tuned on. The same ``seed`` always gives the same split.

    >>> images, labels = torch.zeros(100, 1, 28, 28), torch.arange(100) % 10
    >>> (train_x, train_y), (val_x, val_y) = train_validation_split(images, labels, 20)
    >>> len(train_y), len(val_y)
    (80, 20)
    """
    if not 0 < validation_size < len(labels):
        raise ValueError(f"validation_size must be between 1 and {len(labels) - 1}, "
                         f"got {validation_size}")
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    train, validation = order[validation_size:], order[:validation_size]
    return (images[train], labels[train]), (images[validation], labels[validation])
