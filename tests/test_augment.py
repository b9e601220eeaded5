"""Augmentation on batched tensors (notebook 12): shapes, labels, flips, crops, reproducibility."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fmnist_helpers import TensorBatches, evaluate
from fmnist_helpers.augment import (
    BACKGROUND,
    FASHION_MNIST_MEAN,
    FASHION_MNIST_STD,
    Augment,
    evaluate_with_flip,
    normalize,
    predict_with_flip,
    random_crop,
    random_hflip,
)


def shifted(image: torch.Tensor, dy: int, dx: int, fill: float) -> torch.Tensor:
    """``image`` [C, H, W] moved down by ``dy`` and right by ``dx``, uncovered pixels ``fill``."""
    _, h, w = image.shape
    p = max(abs(dy), abs(dx))
    padded = F.pad(image, (p, p, p, p), value=fill)
    return padded[:, p - dy:p - dy + h, p - dx:p - dx + w]


def images(count: int = 16, channels: int = 1, seed: int = 0) -> torch.Tensor:
    return torch.rand(count, channels, 28, 28, generator=torch.Generator().manual_seed(seed))


def test_normalize_uses_the_training_statistics():
    assert (FASHION_MNIST_MEAN, FASHION_MNIST_STD) == (0.2860, 0.3530)
    x = torch.tensor([0.0, FASHION_MNIST_MEAN, 1.0])
    assert torch.allclose(normalize(x), torch.tensor([-0.2860 / 0.3530, 0.0, 0.7140 / 0.3530]))
    assert round(BACKGROUND, 4) == -0.8102  # a black pixel, normalized
    assert torch.allclose(normalize(x, mean=0.5, std=0.5), torch.tensor([-1.0, (0.2860 - 0.5) / 0.5, 1.0]))


def test_random_crop_only_shifts_by_at_most_the_padding():
    generator = torch.Generator().manual_seed(0)
    x = images(64, channels=3)
    for padding in (1, 2, 4):
        out = random_crop(x, padding, generator, fill=-1.0)
        assert out.shape == x.shape and out.dtype == x.dtype
        seen = set()
        for i in range(len(x)):
            found = [(dy, dx) for dy in range(-padding, padding + 1) for dx in range(-padding, padding + 1)
                     if torch.equal(out[i], shifted(x[i], dy, dx, -1.0))]
            assert len(found) == 1, (padding, i, found)  # exactly one shift within the padding
            seen.add(found[0])
        assert len(seen) > (2 * padding + 1) ** 2 // 2  # each image draws its own shift


def test_random_crop_fills_with_the_background_and_zero_padding_is_identity():
    x = torch.ones(200, 1, 28, 28)
    out = random_crop(x, 2, torch.Generator().manual_seed(0), fill=BACKGROUND)
    values = out.unique()
    assert len(values) == 2 and values[1] == 1.0 and values[0].item() == pytest.approx(BACKGROUND)
    assert (out == 1.0).flatten(1).sum(1).min() >= 26 * 26  # at most 2 rows and 2 columns lost
    assert random_crop(x, 0) is x
    with pytest.raises(ValueError, match="padding"):
        random_crop(x, -1)


def test_a_flip_is_a_flip():
    x = images(2000)
    out = random_hflip(x, torch.Generator().manual_seed(0))
    mirrored = (out == x.flip(-1)).flatten(1).all(1)
    same = (out == x).flatten(1).all(1)
    assert bool((mirrored ^ same).all())  # each image is either mirrored left-right or untouched
    assert 900 < int(mirrored.sum()) < 1100  # about half
    assert torch.equal(x[0].flip(-1)[0, :, 0], x[0][0, :, -1])  # the first column was the last
    assert torch.equal(random_hflip(x, p=1.0), x.flip(-1))
    assert torch.equal(random_hflip(x, p=0.0), x)


def test_augment_keeps_shapes_and_labels_and_repeats_with_a_generator():
    x, y = images(100), torch.arange(100) % 10
    first = Augment(padding=2, generator=torch.Generator().manual_seed(5))
    second = Augment(padding=2, generator=torch.Generator().manual_seed(5))
    batches = TensorBatches(x, y, 25)
    for (bx, by), (cx, cy) in zip(batches, batches, strict=True):
        a, b = first(bx), second(cx)
        assert a.shape == bx.shape and torch.equal(by, cy)  # labels are never touched
        assert torch.equal(a, b)  # the same generator seed, the same augmentation
    other = Augment(padding=2, generator=torch.Generator().manual_seed(6))(x)
    assert not torch.equal(other, Augment(padding=2, generator=torch.Generator().manual_seed(5))(x))
    # without a flip, each augmented image is a shifted copy: its pixel sum cannot grow
    crop_only = Augment(padding=2, hflip=False, fill=0.0, generator=torch.Generator().manual_seed(0))(x)
    assert (crop_only.sum(dim=(1, 2, 3)) <= x.sum(dim=(1, 2, 3)) + 1e-4).all()


def test_flip_test_time_augmentation():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
    x, y = images(50), torch.arange(50) % 10
    expected = (model(x) + model(x.flip(-1))) / 2
    assert torch.allclose(predict_with_flip(model, x), expected)
    result = evaluate_with_flip(model, TensorBatches(x, y, 20))
    assert result.samples == 50
    assert result.correct == int((expected.argmax(1) == y).sum())
    assert result.loss == pytest.approx(F.cross_entropy(expected, y).item(), rel=1e-5)
    # a model that cannot tell an image from its mirror image gains nothing from flips
    symmetric = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1, 10))
    assert evaluate_with_flip(symmetric, TensorBatches(x, y, 20)).accuracy == pytest.approx(
        evaluate(symmetric, TensorBatches(x, y, 20)).accuracy)


def test_evaluate_with_flip_restores_the_mode_and_uses_eval_mode():
    model = nn.Sequential(nn.Flatten(), nn.BatchNorm1d(28 * 28), nn.Linear(28 * 28, 10))
    model.train()
    before = model[1].running_mean.clone()
    evaluate_with_flip(model, TensorBatches(images(30), torch.zeros(30, dtype=torch.long), 10),
                       max_batches=2)
    assert model.training and torch.equal(model[1].running_mean, before)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_augment_on_cuda_with_either_generator():
    x = images(64).cuda()
    on_device = Augment(generator=torch.Generator("cuda").manual_seed(0))(x)
    again = Augment(generator=torch.Generator("cuda").manual_seed(0))(x)
    assert on_device.device.type == "cuda" and torch.equal(on_device, again)
    # a CPU generator draws on the CPU and gives the same augmentation as on CPU images
    from_cpu = Augment(generator=torch.Generator().manual_seed(0))(x)
    assert torch.equal(from_cpu.cpu(), Augment(generator=torch.Generator().manual_seed(0))(x.cpu()))
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10)).cuda()
    result = evaluate_with_flip(model, TensorBatches(x, (torch.arange(64) % 10).cuda(), 32))
    assert result.samples == 64
