"""Counting correct predictions and collecting predictions over a whole loader."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in eval mode for the ``with`` block (batch norm uses its running statistics,
    dropout is off), then back in the mode it was in, whatever happens inside."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def get_num_correct(preds: torch.Tensor, labels: torch.Tensor) -> int:
    """Number of rows of ``preds`` (logits ``[N, C]``) whose argmax equals ``labels`` (``[N]``).

    >>> get_num_correct(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1]))
    1
    """
    return preds.argmax(dim=1).eq(labels).sum().item()


@torch.no_grad()
def get_all_preds(
    model: nn.Module,
    loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Concatenate ``model``'s outputs for every batch of ``loader``, in loader order, on the CPU.

    The model runs in eval mode (batch norm uses its running statistics, dropout is off) and is
    put back in the mode it was in. ``device`` defaults to the device of the model's parameters.
    Gradients are not tracked.
    """
    if device is None:
        device = next(model.parameters()).device
    with eval_mode(model):
        outputs = [model(images.to(device)).cpu() for images, _ in loader]
    return torch.cat(outputs, dim=0)
