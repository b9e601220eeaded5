"""fmnist_helpers.recipes: notebook 12's recipes trained the same way every time.

Tiny tensors and a tiny network keep it fast; what is checked is behaviour: the same seed gives
the same network, the history has a row per epoch, and augmentation pads with black in the
input's own scale.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fmnist_helpers import BACKGROUND, TensorBatches
from fmnist_helpers.recipes import Recipe, TrainingSettings, epoch_steps, train_recipe


class Recorder(nn.Module):
    """A linear classifier that remembers the smallest pixel it was shown while training."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(28 * 28, 10)
        self.smallest = float("inf")

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.smallest = min(self.smallest, images.min().item())
        return self.linear(images.flatten(1))


NETWORKS = {"recorder": Recorder}


@pytest.fixture
def tiny():
    generator = torch.Generator().manual_seed(3)
    images = torch.rand(64, 1, 28, 28, generator=generator) + 0.5  # no black pixel anywhere
    labels = torch.randint(0, 10, (64,), generator=generator)
    return images, labels


def test_the_same_seed_trains_the_same_network_and_another_seed_does_not(tiny):
    settings = TrainingSettings(batch_size=16, seed=1)
    recipe = Recipe("recorder", augment=True, one_cycle=True, label_smoothing=0.1)
    first, _ = train_recipe(recipe, 2, *tiny, settings, networks=NETWORKS)
    again, _ = train_recipe(recipe, 2, *tiny, settings, networks=NETWORKS)
    other, _ = train_recipe(recipe, 2, *tiny, TrainingSettings(batch_size=16, seed=2), networks=NETWORKS)
    assert torch.equal(first.linear.weight, again.linear.weight)
    assert not torch.equal(first.linear.weight, other.linear.weight)


def test_the_history_has_one_row_per_epoch_and_validation_only_when_given(tiny):
    settings = TrainingSettings(batch_size=16)
    _, plain = train_recipe(Recipe("recorder"), 3, *tiny, settings, networks=NETWORKS)
    _, checked = train_recipe(Recipe("recorder"), 3, *tiny, settings, TensorBatches(*tiny, 32), NETWORKS)
    assert list(plain.columns) == ["epoch", "loss", "train_accuracy", "seconds"]
    assert list(checked.columns) == ["epoch", "loss", "train_accuracy", "seconds", "validation_accuracy"]
    assert checked["epoch"].tolist() == [1, 2, 3] and checked["validation_accuracy"].between(0, 1).all()


@pytest.mark.parametrize(("normalized", "black"), [(False, 0.0), (True, BACKGROUND)])
def test_augmentation_pads_with_black_in_the_inputs_scale(tiny, normalized, black):
    model, _ = train_recipe(Recipe("recorder", normalized=normalized, augment=True), 1, *tiny,
                            TrainingSettings(batch_size=16, crop_padding=4), networks=NETWORKS)
    assert model.smallest == pytest.approx(black)


def test_a_last_batch_of_one_image_is_left_out():
    assert epoch_steps(101, 10) == 10 and epoch_steps(102, 10) == 11
    assert epoch_steps(60_000, 100, max_batches=50) == 50
