"""The in-memory tensor path: batches cut from one tensor by indexing, no per-item work."""

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
