"""``train_one_epoch`` and ``evaluate``: totals weighted per image, and the model's mode."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fmnist_helpers import TensorBatches, evaluate, get_all_preds, train_one_epoch


def _data(count=10, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(count, 4, generator=generator), torch.randint(0, 3, (count,), generator=generator)


class Recorder(nn.Module):
    """A linear model that records whether it ran in training mode."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 3)
        self.modes = []

    def forward(self, x):
        self.modes.append(self.training)
        return self.linear(x)


def test_one_epoch_sums_per_image_losses_and_counts(tmp_path):
    torch.manual_seed(0)
    model = Recorder()
    images, labels = _data(10)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batches = TensorBatches(images, labels, batch_size=4)  # 4 + 4 + 2: a short last batch
    seen = []
    result = train_one_epoch(model, batches, torch.optim.SGD(model.parameters(), lr=0.0),
                             on_batch=lambda preds, y, loss: seen.append(len(y)))
    assert seen == [4, 4, 2] and result.samples == 10
    expected = sum(F.cross_entropy(model.linear(x), y).item() * len(y) for x, y in batches)
    assert result.total_loss == pytest.approx(expected, rel=1e-6)  # lr 0: weights unchanged
    assert result.loss == pytest.approx(expected / 10, rel=1e-6)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert model.modes == [True, True, True]


def test_one_epoch_stops_after_max_batches_and_steps_the_schedule():
    model = Recorder()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    result = train_one_epoch(model, TensorBatches(*_data(10), batch_size=2), optimizer,
                             scheduler=schedule, max_batches=3, augment=lambda x: x * 0)
    assert result.samples == 6 and optimizer.param_groups[0]["lr"] == 0.125  # stepped per batch
    assert 0 <= result.accuracy <= 1


def test_evaluate_uses_eval_mode_and_restores_the_mode():
    model = Recorder()
    images, labels = _data(9)
    model.train()
    result = evaluate(model, TensorBatches(images, labels, batch_size=4))
    assert model.modes == [False, False, False] and model.training
    with torch.no_grad():
        logits = model.linear(images)
    assert result.samples == 9
    assert result.correct == int(logits.argmax(1).eq(labels).sum())
    assert result.loss == pytest.approx(F.cross_entropy(logits, labels).item(), rel=1e-6)
    model.eval()
    evaluate(model, TensorBatches(images, labels, batch_size=4))
    assert not model.training


def test_batch_norm_is_measured_with_its_running_statistics():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Linear(4, 3))
    images, labels = _data(8)
    train_one_epoch(model, TensorBatches(images, labels, 4), torch.optim.SGD(model.parameters(), 0.1))
    model.train()
    running_mean = model[1].running_mean.clone()
    evaluate(model, TensorBatches(images, labels, 4))
    assert torch.equal(model[1].running_mean, running_mean)  # eval mode: statistics untouched
    preds = get_all_preds(model, TensorBatches(images, labels, 4))
    assert model.training and torch.equal(model[1].running_mean, running_mean)
    model.eval()
    with torch.no_grad():
        assert torch.allclose(preds, model(images))
