"""Notebook 12's recipes, and training a network with one.

A ``Recipe`` names the ideas a rung of the accuracy ladder switches on (which network, standardized
input, augmentation, the one-cycle schedule, label smoothing); ``TrainingSettings`` holds what every
rung shares (learning rate, batch size, seed, device). ``train_recipe`` trains a fresh network with
both. Notebook 12's ladder and the search that chose its final epochs and learning rate
(``benchmarks/capstone_search.py``) both train through it, so they train the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .augment import BACKGROUND, Augment
from .batches import TensorBatches
from .models import CapstoneNet, make_batchnorm_network
from .network import Network
from .progress import tqdm
from .train import evaluate, train_one_epoch

NETWORKS: dict[str, Callable[[], nn.Module]] = {
    "Network": Network,  # the course's network (notebook 02)
    "batch-norm Network": make_batchnorm_network,  # notebook 11's, with BatchNorm2d and BatchNorm1d
    "CapstoneNet": CapstoneNet,  # notebook 12's: 3x3 convolutions, global average pooling
}
"""The networks a ``Recipe`` can name, each a function that builds a fresh one."""

ONE_CYCLE_WARMUP = 0.25
"""The share of the steps over which the one-cycle schedule rises to its peak (``pct_start``)."""


@dataclass(frozen=True)
class Recipe:
    """The ideas one rung switches on; ``dataclasses.replace`` adds one at a time."""

    network: str = "Network"  # a key of the networks train_recipe is given (NETWORKS by default)
    normalized: bool = False  # standardized input, or ToTensor()'s values in [0, 1]
    augment: bool = False  # random crop with padding and random horizontal flip, per batch
    one_cycle: bool = False  # the one-cycle learning-rate schedule instead of a constant lr
    label_smoothing: float = 0.0  # 0.0: the plain cross-entropy


@dataclass(frozen=True)
class TrainingSettings:
    """What every rung shares: Adam's (peak) learning rate, the batches, the seed and the device."""

    lr: float = 0.01
    batch_size: int = 100
    crop_padding: int = 2  # pixels of padding for augmentation's random crop
    seed: int = 0  # the initial weights, the batch order and the augmentation
    device: torch.device | str = "cpu"
    max_batches: int | None = None  # batches per epoch at most (quick runs); None: all
    show_progress: bool = False


def epoch_steps(count: int, batch_size: int, max_batches: int | None = None) -> int:
    """Training steps in one epoch over ``count`` images: a last batch of one image is left out,
    because batch norm cannot train on a single image.

    >>> epoch_steps(50_000, 100), epoch_steps(50_001, 100), epoch_steps(50_050, 100, max_batches=20)
    (500, 500, 20)
    """
    steps = -(-count // batch_size) - (count % batch_size == 1)
    return steps if max_batches is None else min(steps, max_batches)


def train_recipe(
    recipe: Recipe,
    epochs: int,
    images: torch.Tensor,
    labels: torch.Tensor,
    settings: TrainingSettings,
    validation: TensorBatches | None = None,
    networks: Mapping[str, Callable[[], nn.Module]] = NETWORKS,
) -> tuple[nn.Module, pd.DataFrame]:
    """Train a new ``networks[recipe.network]`` for ``epochs`` epochs on ``images`` (already
    normalized if the recipe says so) and return it with its history, one row per epoch: ``epoch``,
    ``loss``, ``train_accuracy``, ``seconds`` and, if ``validation`` batches are given, the
    ``validation_accuracy`` after the epoch.

    The same seed gives the same initial weights, batch order and augmentation, so two recipes
    differ only in what they switch on. The network is kept in the ``channels_last`` memory format.
    """
    seed, device = settings.seed, settings.device
    torch.manual_seed(seed)  # the same initial weights for the same network
    model = networks[recipe.network]().to(device, memory_format=torch.channels_last)
    order = torch.Generator().manual_seed(seed)  # the same batch order in every rung
    batches = TensorBatches(images, labels, settings.batch_size, shuffle=True, generator=order)
    steps = epoch_steps(len(labels), settings.batch_size, settings.max_batches)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    scheduler = None
    if recipe.one_cycle:
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=settings.lr, total_steps=epochs * steps, pct_start=ONE_CYCLE_WARMUP)
    augment = None
    if recipe.augment:  # the crop pads with black: BACKGROUND after standardizing, 0 before
        augment = Augment(settings.crop_padding, fill=BACKGROUND if recipe.normalized else 0.0,
                          generator=torch.Generator(device).manual_seed(seed + 1))
    loss_fn = partial(F.cross_entropy, label_smoothing=recipe.label_smoothing)
    history = []
    for epoch in tqdm(range(1, epochs + 1), desc="epochs", disable=not settings.show_progress):
        result = train_one_epoch(model, batches, optimizer, device=device, loss_fn=loss_fn,
                                 scheduler=scheduler, augment=augment, max_batches=steps,
                                 show_progress=settings.show_progress)
        row = {"epoch": epoch, "loss": result.loss, "train_accuracy": result.accuracy,
               "seconds": result.seconds}
        if validation is not None:
            row["validation_accuracy"] = evaluate(model, validation, device=device).accuracy
        history.append(row)
    return model, pd.DataFrame(history)
