"""The training loop notebook 04 builds step by step: one epoch of training, and an evaluation.

Notebooks 06, 07, 11 and 12 and the benchmark import these, so every notebook trains the same way:
losses are summed per image (a short last batch counts for what it holds), the model is in
training mode while it learns and in eval mode while it is measured.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .metrics import eval_mode, get_num_correct
from .progress import tqdm

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]
"""A ``DataLoader``, ``TensorBatches`` or any iterable of ``(images, labels)``."""


@dataclass
class EpochResult:
    """Totals of one training epoch, counted while the weights changed."""

    total_loss: float  # the sum of every image's loss
    total_correct: int
    samples: int
    seconds: float

    @property
    def loss(self) -> float:
        """Mean loss per image."""
        return self.total_loss / max(self.samples, 1)

    @property
    def accuracy(self) -> float:
        """Fraction of images classified correctly during the epoch."""
        return self.total_correct / max(self.samples, 1)


@dataclass
class Evaluation:
    """A model's mean cross-entropy and accuracy on a data set."""

    loss: float
    accuracy: float
    correct: int
    samples: int


def _count(batches: Batches, max_batches: int | None) -> int | None:
    total = len(batches) if isinstance(batches, Sized) else None
    if max_batches is None:
        return total
    return max_batches if total is None else min(max_batches, total)


def train_one_epoch(
    model: nn.Module,
    batches: Batches,
    optimizer: torch.optim.Optimizer,
    *,
    device: torch.device | str | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
    max_batches: int | None = None,
    show_progress: bool = False,
    on_batch: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], None] | None = None,
) -> EpochResult:
    """Train ``model`` on one pass over ``batches`` (the first ``max_batches`` if given).

    Each batch: forward pass, ``loss_fn`` (a batch mean), ``zero_grad``, ``backward``, ``step``,
    then ``scheduler.step()`` if given (a per-batch schedule such as ``OneCycleLR``). ``augment``
    transforms each image batch on ``device`` first. ``on_batch(preds, labels, loss)`` is called
    after each step (``RunManager`` and TensorBoard logging use it). Notebook 04 builds it step by
    step; its ``EpochResult`` holds the mean loss, the accuracy and the counts of the pass.
    """
    if device is None:
        device = next(model.parameters()).device
    model.train()
    count = _count(batches, max_batches)
    total_loss, total_correct, samples = 0.0, 0, 0
    start = time.perf_counter()
    bar = tqdm(itertools.islice(batches, count), total=count, desc="batches", leave=False,
               disable=not show_progress)
    for images, labels in bar:
        images, labels = images.to(device), labels.to(device)
        if augment is not None:
            images = augment(images)
        preds = model(images)
        loss = loss_fn(preds, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total_loss += loss.item() * len(labels)
        total_correct += get_num_correct(preds, labels)
        samples += len(labels)
        if on_batch is not None:
            on_batch(preds, labels, loss)
    return EpochResult(total_loss, total_correct, samples, time.perf_counter() - start)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    batches: Batches,
    *,
    device: torch.device | str | None = None,
    max_batches: int | None = None,
    predict: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
) -> Evaluation:
    """Mean cross-entropy and accuracy of ``model`` over ``batches``, without tracking gradients.

    The model is measured in eval mode (batch norm uses its running statistics) and put back in
    the mode it was in. ``predict(model, images)`` gives the logits (default: ``model(images)``;
    flip test-time augmentation passes its own). For 04's trained network on the test set it
    gives ``Evaluation(loss=0.36..., accuracy=0.8773, correct=8773, samples=10000)``.
    """
    if device is None:
        device = next(model.parameters()).device
    total_loss, correct, samples = 0.0, 0, 0
    with eval_mode(model):
        for images, labels in itertools.islice(batches, _count(batches, max_batches)):
            images, labels = images.to(device), labels.to(device)
            preds = model(images) if predict is None else predict(model, images)
            total_loss += F.cross_entropy(preds, labels, reduction="sum").item()
            correct += get_num_correct(preds, labels)
            samples += len(labels)
    return Evaluation(total_loss / max(samples, 1), correct / max(samples, 1), correct, samples)
