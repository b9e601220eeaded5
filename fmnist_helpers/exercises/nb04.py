"""Checks for the exercises of notebook 04 (training).

Every check calls the student's code on a network and a few batches it makes itself: a
``Network`` from a fixed seed and ``BATCHES`` small batches of seeded random images (training on
noise is enough to tell one optimizer's steps from another's). The judge repeats the same run
with PyTorch's own optimizer and compares the weights. Nothing reads the notebook's state, and the
notebook's random number generators are left as they were.
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn, optim

from ..network import Network
from .engine import Check, exercise
from .probing import seeded

SEED = 0
BATCHES, BATCH_SIZE = 4, 32
WEIGHT_TENSORS = 10  # Network's parameter tensors: a weight and a bias for each of its 5 layers
SAVED_EPOCH = 3  # the epoch the check's checkpoint records
RESUME_LR = 0.01  # the learning rate of the run the check interrupts and resumes

Batch = tuple[torch.Tensor, torch.Tensor]
MakeOptimizer = Callable[[Iterator[nn.Parameter]], optim.Optimizer]


# -- the check's own small training run ----------------------------------------------------------

@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Compute with one thread, so that the sandbox and the judge's process sum in the same order."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _batches() -> list[Batch]:
    """``BATCHES`` batches of ``BATCH_SIZE`` seeded random images and labels."""
    generator = torch.Generator().manual_seed(SEED)
    images = torch.rand(BATCHES * BATCH_SIZE, 1, 28, 28, generator=generator)
    labels = torch.randint(0, 10, (BATCHES * BATCH_SIZE,), generator=generator)
    return list(zip(images.split(BATCH_SIZE), labels.split(BATCH_SIZE), strict=True))


def _seeded_network() -> Network:
    """A ``Network`` with the weights seed ``SEED`` gives, on the CPU (global generators untouched)."""
    with seeded(SEED):
        return Network()


def _train(network: nn.Module, optimizer: optim.Optimizer, batches: Sequence[Batch]) -> None:
    """The five lines of a training step, once per batch, on the network's device."""
    device = next(network.parameters()).device
    with _one_thread():
        for images, labels in batches:
            loss = F.cross_entropy(network(images.to(device)), labels.to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def _weights(network: nn.Module) -> list[torch.Tensor]:
    """Copies of the network's parameters, on the CPU."""
    return [p.detach().cpu().clone() for p in network.parameters()]


def _trained_with(make_optimizer: MakeOptimizer) -> list[torch.Tensor]:
    """The weights of the seeded network after one step per batch with ``make_optimizer``'s optimizer."""
    network = _seeded_network()
    _train(network, make_optimizer(network.parameters()), _batches())
    return _weights(network)


def _same_weights(answer: Sequence[torch.Tensor], expected: Sequence[torch.Tensor]) -> bool:
    """Equal up to the last bits (a GPU or another thread count sums in another order)."""
    return len(answer) == len(expected) and all(
        a.shape == e.shape and torch.allclose(a, e, rtol=1e-3, atol=1e-5)
        for a, e in zip(answer, expected, strict=True))


# -- exercises 1 and 2: a function that builds the optimizer --------------------------------------

def _plain(value: Any) -> Any:
    """An optimizer setting as plain data: numbers, text, booleans, None and tuples of them."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value if isinstance(value, (bool, int, float, str, type(None))) else repr(value)


def _settings(optimizer: optim.Optimizer) -> dict[str, Any]:
    """The optimizer's class name and the settings of each parameter group (without the tensors)."""
    return {"kind": type(optimizer).__name__,
            "groups": [{k: _plain(v) for k, v in group.items() if k != "params"}
                       for group in optimizer.param_groups]}


def _parameters_covered(make_optimizer: MakeOptimizer) -> dict[str, int]:
    """How many of the parameters it was given the optimizer updates, and how many it holds in all."""
    network = _seeded_network()
    optimizer = make_optimizer(network.parameters())
    own = {id(p) for p in network.parameters()}
    held = [p for group in optimizer.param_groups for p in group["params"]]
    return {"own": sum(id(p) in own for p in held), "held": len(held)}


REFERENCES: dict[str, MakeOptimizer] = {
    "sgd": lambda parameters: optim.SGD(parameters, lr=0.1),
    "big_lr": lambda parameters: optim.Adam(parameters, lr=1.0),
}
"""The optimizer each of exercises 1 and 2 asks for, built by PyTorch's own class."""


@functools.lru_cache
def _reference_weights(name: str) -> tuple[torch.Tensor, ...]:
    return tuple(_trained_with(REFERENCES[name]))


def _reference_settings(name: str) -> dict[str, Any]:
    return _settings(REFERENCES[name](_seeded_network().parameters()))


def _optimizer_checks(answer: str, name: str, setting_text: str, setting_hint: str,
                      steps_text: str) -> list[Check]:
    """The three checks of a function ``answer(parameters)`` that should build ``REFERENCES[name]``."""
    return [
        Check("it builds an optimizer over exactly the parameters it is given",
              lambda ns: _parameters_covered(ns[answer]),
              f"{answer} should build its optimizer from its own argument: the check calls it with "
              "the parameters of a network of its own, not the notebook's network.",
              judge=lambda data: data == {"own": WEIGHT_TENSORS, "held": WEIGHT_TENSORS}),
        Check(setting_text,
              lambda ns: _settings(ns[answer](_seeded_network().parameters())),
              setting_hint,
              judge=lambda data: data == _reference_settings(name)),
        Check(steps_text,
              lambda ns: _trained_with(ns[answer]),
              "Trained from the same seed on the same batches, your optimizer moves the weights "
              "differently from the one the exercise asks for. Which optimizer, which learning "
              "rate, and did you change any other setting?",
              judge=lambda data: _same_weights(data, _reference_weights(name)), points=2),
    ]


exercise(
    "04.1", "Plain SGD", needs=["make_sgd"],
    checks=_optimizer_checks(
        "make_sgd", "sgd",
        "it is plain SGD at learning rate 0.1, every other setting at its default",
        "Plain stochastic gradient descent is the optimizer named after it in torch.optim "
        "(not Adam). Give it the learning rate the exercise states and nothing else: no momentum, "
        "no weight decay.",
        "trained with it, the check's seeded network takes the same steps as with plain SGD at "
        "learning rate 0.1"),
)

exercise(
    "04.2", "A learning rate that is too large", needs=["make_big_lr_adam"],
    checks=_optimizer_checks(
        "make_big_lr_adam", "big_lr",
        "it is Adam at learning rate 1.0, every other setting at its default",
        "This exercise keeps the optimizer of the notebook's run (Adam, not SGD) and changes only "
        "its learning rate, to the value the exercise states.",
        "trained with it, the check's seeded network takes the same steps as with Adam at "
        "learning rate 1.0"),
)


# -- exercise 3: saving a checkpoint and resuming from it -----------------------------------------

def _interrupted_run() -> tuple[Network, optim.Optimizer]:
    """The check's run, stopped before its last batch: a seeded network after all but one step."""
    network = _seeded_network()
    optimizer = optim.Adam(network.parameters(), lr=RESUME_LR)
    _train(network, optimizer, _batches()[:-1])
    return network, optimizer


@contextlib.contextmanager
def _saved_checkpoint(ns: Mapping[str, Any]) -> Iterator[Path]:
    """The student's ``save_checkpoint`` of the interrupted run, in a temporary file."""
    network, optimizer = _interrupted_run()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "checkpoint.pt"
        ns["save_checkpoint"](path, network, optimizer, SAVED_EPOCH)
        yield path


def _checkpoint_contents(ns: Mapping[str, Any]) -> dict[str, Any]:
    """The keys, the epoch and how many tensors have both of Adam's running averages in the file."""
    with _saved_checkpoint(ns) as path:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    optimizer = saved.get("optimizer")
    state = optimizer.get("state", {}) if isinstance(optimizer, dict) else {}
    averaged = sum({"exp_avg", "exp_avg_sq"} <= set(s) for s in state.values() if isinstance(s, dict))
    return {"keys": sorted(str(k) for k in saved), "epoch": _plain(saved.get("epoch")),
            "averaged": averaged}


def _resumed(ns: Mapping[str, Any], extra_step: bool) -> dict[str, Any]:
    """The epoch and weights ``resume`` gives back, after one more step on the last batch if asked."""
    with _saved_checkpoint(ns) as path:
        network, optimizer, epoch = ns["resume"](path)
    if extra_step:
        _train(network, optimizer, _batches()[-1:])
    return {"epoch": _plain(epoch), "weights": _weights(network)}


@functools.lru_cache
def _uninterrupted() -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """The weights of the check's run when it was interrupted, and one step later without a break."""
    network, optimizer = _interrupted_run()
    before = tuple(_weights(network))
    _train(network, optimizer, _batches()[-1:])
    return before, tuple(_weights(network))


exercise(
    "04.3", "Resuming training", needs=["save_checkpoint", "resume"],
    checks=[
        Check("save_checkpoint writes the epoch, the model's state and Adam's state (its running "
              "averages for all 10 weight tensors)",
              _checkpoint_contents,
              "The file should hold a dict with the keys the exercise names: the epoch it is given, "
              "the network's state and the state of the optimizer passed in (it holds Adam's "
              "running averages). Save those states, not whole objects: torch.load reads plain "
              "tensors back safely.",
              judge=lambda data: ({"epoch", "model", "optimizer"} <= set(data["keys"])
                                  and data["epoch"] == SAVED_EPOCH
                                  and data["averaged"] == WEIGHT_TENSORS)),
        Check("resume gives back the saved epoch and a network with the saved weights",
              lambda ns: _resumed(ns, extra_step=False),
              "resume should read the file it is given and return a new network holding the saved "
              "weights, a new Adam optimizer and the saved epoch, in that order.",
              judge=lambda data: (data["epoch"] == SAVED_EPOCH
                                  and _same_weights(data["weights"], _uninterrupted()[0]))),
        Check("one more step after resuming gives exactly the step the run would have taken "
              "without the break",
              lambda ns: _resumed(ns, extra_step=True),
              "After resuming, the next step differs from the one the uninterrupted run takes. A "
              "fresh Adam starts its running averages and step count from zero: the resumed "
              "optimizer needs the saved optimizer state loaded into it.",
              judge=lambda data: _same_weights(data["weights"], _uninterrupted()[1]), points=2),
    ],
)
