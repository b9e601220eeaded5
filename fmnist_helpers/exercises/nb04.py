"""Checks for the exercises of notebook 04 (training).

Training results vary with the machine (thread count, device), so the checks test properties of
the answers against the notebook's own reference run (``adam_loss``, ``adam_accuracy`` from the
``short_run`` scaffolding) rather than fixed values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from .engine import Check, between, exercise


def _far_above(value: Any, threshold: float) -> bool:
    """Whether a loss is far above ``threshold``: larger, or not even a finite number."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and (
        not math.isfinite(value) or value > threshold)


def _adam_steps(optimizer: torch.optim.Optimizer) -> set[int]:
    """The step counts Adam keeps per parameter (one number when every weight took each step)."""
    return {int(state["step"]) for state in optimizer.state_dict()["state"].values()}


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    pairs = list(zip(a.parameters(), b.parameters(), strict=True))
    return bool(pairs) and all(torch.equal(x.detach().cpu(), y.detach().cpu()) for x, y in pairs)


def _steps_trained(ns: Mapping[str, Any]) -> int:
    """Batches the notebook's main run trained on: every epoch's batches."""
    return ns["metrics"]["batches_per_epoch"] * ns["metrics"]["epochs"]


exercise(
    "04.1", "Plain SGD", needs=["sgd_loss", "sgd_accuracy"],
    checks=[
        Check("sgd_accuracy is a test accuracy, a fraction between 0 and 1",
              lambda ns: between(ns["sgd_accuracy"], 0, 1),
              "sgd_accuracy should be the second number short_run returns (the test accuracy), "
              "a fraction between 0 and 1."),
        Check("sgd_loss is a mean loss per image, a positive number",
              lambda ns: between(ns["sgd_loss"], 0, 1e6),
              "sgd_loss should be the first number short_run returns: the mean training loss."),
        Check("with the same steps, plain SGD ends behind Adam (higher loss, lower accuracy)",
              lambda ns: ns["sgd_loss"] > ns["adam_loss"] and ns["sgd_accuracy"] < ns["adam_accuracy"],
              "Your run does not end behind Adam's reference run. Train through short_run, so both "
              "start from the same weights and batches, with optim.SGD and the learning rate the "
              "exercise gives."),
    ],
)

exercise(
    "04.2", "A learning rate that is too large", needs=["big_lr_loss", "big_lr_accuracy"],
    checks=[
        Check("big_lr_accuracy is at chance level: the network learned nothing useful",
              lambda ns: between(ns["big_lr_accuracy"], 0, 0.2),
              "With the learning rate the exercise gives, the test accuracy should end near "
              "chance. Did you train Adam (not SGD) through short_run with that learning rate?"),
        Check("the mean training loss is far above Adam's at lr=0.01 and above an untrained "
              "network's ln 10",
              lambda ns: _far_above(ns["big_lr_loss"], max(math.log(10), ns["adam_loss"])),
              "big_lr_loss should be the mean training loss short_run returns for Adam with the "
              "large learning rate; it should not look like a network that learns."),
    ],
)

exercise(
    "04.3", "Resuming training", needs=["checkpoint", "resumed", "resumed_optimizer", "identical"],
    checks=[
        Check("the checkpoint holds the keys epoch, model and optimizer",
              lambda ns: {"epoch", "model", "optimizer"} <= set(ns["checkpoint"]),
              "checkpoint should be the dict you loaded back, with the keys \"epoch\", \"model\" "
              "and \"optimizer\"."),
        Check("the checkpoint keeps Adam's state: both running averages for all 10 weight tensors",
              lambda ns: len(ns["checkpoint"]["optimizer"]["state"]) == 10 and all(
                  {"exp_avg", "exp_avg_sq", "step"} <= set(state)
                  for state in ns["checkpoint"]["optimizer"]["state"].values()),
              "Save optimizer.state_dict() (not a new optimizer's) under \"optimizer\": after "
              "training it holds Adam's running averages for every weight tensor."),
        Check("resumed_optimizer continued from the checkpoint: both optimizers count the same "
              "steps, more than the training run took",
              lambda ns: _adam_steps(ns["optimizer"]) == _adam_steps(ns["resumed_optimizer"])
              and len(_adam_steps(ns["optimizer"])) == 1
              and min(_adam_steps(ns["optimizer"])) > _steps_trained(ns),
              "Load the checkpoint's optimizer state into resumed_optimizer, then take one step "
              "with each optimizer (network with optimizer, resumed with resumed_optimizer) on the "
              "same batch."),
        Check("after that step their weights are identical, and identical says so",
              lambda ns: ns["identical"] is True and _same_weights(ns["network"], ns["resumed"]),
              "The two networks should end with equal weights: load both state_dicts from the "
              "checkpoint, step both on the same images and labels, then compare with torch.equal."),
    ],
)
