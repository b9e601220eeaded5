"""Normalization and data augmentation on whole batches of in-memory tensors, plus flip
test-time augmentation (notebook 12).

Everything works on ``[N, C, H, W]`` batches on whatever device they live on, without a loop over
images; every random choice takes a ``torch.Generator``, so an augmented run repeats exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .train import Batches, Evaluation, evaluate

FASHION_MNIST_MEAN = 0.2860
"""Mean of Fashion-MNIST's 60,000 training images' pixel values in [0, 1] (notebook 11)."""
FASHION_MNIST_STD = 0.3530
"""Their standard deviation (notebook 11)."""


def normalize(images: torch.Tensor, mean: float = FASHION_MNIST_MEAN,
              std: float = FASHION_MNIST_STD) -> torch.Tensor:
    """``(images - mean) / std``: what ``transforms.Normalize((mean,), (std,))`` does, for a batch.

    >>> normalize(torch.tensor([0.0, 1.0]))
    tensor([-0.8102,  2.0227])
    """
    return (images - mean) / std


BACKGROUND = normalize(torch.tensor(0.0)).item()
"""A black pixel (0.0) after ``normalize``: what padding should add around normalized images."""


def _random(generator: torch.Generator | None, device: torch.device, draw) -> torch.Tensor:
    """Draw on the generator's device (or ``device`` without one), returned on ``device``."""
    where = generator.device if generator is not None else device
    return draw(where).to(device)


def random_crop(images: torch.Tensor, padding: int, generator: torch.Generator | None = None,
                fill: float = 0.0) -> torch.Tensor:
    """Pad each image of ``[N, C, H, W]`` by ``padding`` pixels of value ``fill`` on every side and
    cut an ``H x W`` window at a random place, its own for each image.

    Each image is shifted by up to ``padding`` pixels up or down and left or right; what moves out
    is lost, what moves in is ``fill`` (``BACKGROUND`` for normalized images). ``padding=0`` returns
    ``images`` unchanged. One ``F.pad`` and one indexing gather, no loop over images.
    """
    if padding < 0:
        raise ValueError(f"padding must be 0 or more, got {padding}")
    if padding == 0:
        return images
    n, c, h, w = images.shape
    device = images.device
    padded = F.pad(images, (padding, padding, padding, padding), value=fill)
    offsets = _random(generator, device,
                      lambda where: torch.randint(0, 2 * padding + 1, (2, n), generator=generator,
                                                  device=where))
    rows = offsets[0].view(n, 1, 1, 1) + torch.arange(h, device=device).view(1, 1, h, 1)
    cols = offsets[1].view(n, 1, 1, 1) + torch.arange(w, device=device).view(1, 1, 1, w)
    batch = torch.arange(n, device=device).view(n, 1, 1, 1)
    channel = torch.arange(c, device=device).view(1, c, 1, 1)
    return padded[batch, channel, rows, cols]


def random_hflip(images: torch.Tensor, generator: torch.Generator | None = None,
                 p: float = 0.5) -> torch.Tensor:
    """Mirror each image of ``[N, C, H, W]`` left-right with probability ``p``, independently."""
    flip = _random(generator, images.device,
                   lambda where: torch.rand(images.shape[0], generator=generator, device=where) < p)
    return torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images)


@dataclass
class Augment:
    """A batch transform for ``train_one_epoch(..., augment=...)``: a random crop with ``padding``,
    then (if ``hflip``) a random horizontal flip, drawn from ``generator``.

    >>> augment = Augment(padding=2, generator=torch.Generator().manual_seed(1))
    >>> augment(torch.rand(8, 1, 28, 28)).shape  # what train_one_epoch(..., augment=augment) trains on
    torch.Size([8, 1, 28, 28])
    """

    padding: int = 2
    hflip: bool = True
    fill: float = BACKGROUND
    generator: torch.Generator | None = None

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        images = random_crop(images, self.padding, self.generator, self.fill)
        return random_hflip(images, self.generator) if self.hflip else images


@torch.no_grad()
def predict_with_flip(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Flip test-time augmentation: the mean of ``model``'s logits for ``images`` and for their
    mirror images. Call it in eval mode (``evaluate_with_flip`` does)."""
    return (model(images) + model(images.flip(-1))) / 2


def evaluate_with_flip(
    model: nn.Module,
    batches: Batches,
    *,
    device: torch.device | str | None = None,
    max_batches: int | None = None,
) -> Evaluation:
    """``fh.evaluate`` with flip test-time augmentation: each image is classified by the mean of
    the logits for it and for its mirror image (eval mode, the mode restored afterwards)."""
    return evaluate(model, batches, device=device, max_batches=max_batches, predict=predict_with_flip)
