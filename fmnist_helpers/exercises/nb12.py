"""Checks for the exercises of notebook 12 (the accuracy ladder).

Every exercise asks for functions, and every check calls them on inputs it makes itself (layer
sizes, seeded logits, a small seeded network and batch, schedule settings, constant networks and
tiny validation sets). Probes return plain data; judges recompute the expected results with the
package's and PyTorch's own functions (``conv_bn_relu``, ``nn.Linear``, ``F.cross_entropy``,
``predict_with_flip``, ``OneCycleLR``), never with the student's code or the notebook's state.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..augment import predict_with_flip
from ..batches import TensorBatches
from ..models import CapstoneNet, conv_bn_relu
from ..network import count_parameters
from .engine import Check, exercise
from .probing import seeded

PARAMETER_BUDGET = 100_000


# --- plain data from whatever an answer returned --------------------------------------------------

def _number(value: Any) -> Any:
    """A returned number as an int or a float (a one-element tensor too); anything else as its repr,
    which no judge accepts."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return repr(value)[:200]


def _tensor(value: Any) -> torch.Tensor:
    """A returned tensor, detached and on the CPU."""
    return torch.as_tensor(value).detach().cpu()


def _flag(value: Any) -> Any:
    """A returned truth value as a bool (a one-element tensor or a NumPy bool too); else its repr."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if type(value).__name__ in ("bool", "bool_"):  # Python's bool, NumPy's bool_ (numpy.bool in 2.x)
        return bool(value)
    return repr(value)[:200]


def _equal_counts(values: Any, expected: Sequence[int]) -> bool:
    """Whether ``values`` are the numbers ``expected``, one for one."""
    return (isinstance(values, list) and len(values) == len(expected)
            and all(isinstance(v, (int, float)) and v == e for v, e in zip(values, expected, strict=True)))


# --- 12.1 count by hand ---------------------------------------------------------------------------

BLOCK_SIZES = ((1, 16), (16, 32), (32, 64), (64, 64), (3, 7))
"""``(in_channels, out_channels)`` of the conv blocks the check counts."""
HEAD_SIZES = ((64, 10), (96, 10), (64, 5), (7, 3))
"""``(channels, classes)`` of the averaging heads."""
FLATTEN_SIZES = ((64, 7, 7, 10), (32, 14, 14, 10), (48, 5, 3, 4))
"""``(channels, height, width, classes)`` of the flattening heads."""


def _counts(ns: Mapping[str, Any], name: str, sizes: Sequence[tuple[int, ...]]) -> list[Any]:
    return [_number(ns[name](*size)) for size in sizes]


@functools.cache
def _expected_counts(name: str) -> tuple[int, ...]:
    """The parameters of the modules themselves, counted by the package."""
    if name == "block_parameters":
        return tuple(count_parameters(conv_bn_relu(i, o)) for i, o in BLOCK_SIZES)
    if name == "head_parameters":
        return tuple(count_parameters(nn.Linear(c, k)) for c, k in HEAD_SIZES)
    return tuple(count_parameters(nn.Linear(c * h * w, k)) for c, h, w, k in FLATTEN_SIZES)


def _count_check(name: str, sizes: Sequence[tuple[int, ...]], description: str, hint: str) -> Check:
    return Check(description, lambda ns: _counts(ns, name, sizes), hint,
                 judge=lambda data: _equal_counts(data, _expected_counts(name)))


exercise("12.1", "count by hand", needs=["block_parameters", "head_parameters",
                                         "flatten_head_parameters"], checks=[
    _count_check("block_parameters", BLOCK_SIZES,
                 "block_parameters(in, out) is the parameter count of conv_bn_relu(in, out), for five "
                 "channel pairs",
                 "list what each layer of the block learns: nn.Conv2d's and nn.BatchNorm2d's "
                 "documentation name their learnable weights under 'Variables'. This convolution has "
                 "no bias, and batch norm's running statistics are buffers, not parameters"),
    _count_check("head_parameters", HEAD_SIZES,
                 "head_parameters(channels, classes) is the count of an averaging head, for four sizes",
                 "global average pooling leaves one feature per channel; a linear layer learns a weight "
                 "for every pair of input feature and output, and a bias per output"),
    _count_check("flatten_head_parameters", FLATTEN_SIZES,
                 "flatten_head_parameters(channels, height, width, classes) is the count of a linear "
                 "layer on the flattened maps, for three sizes",
                 "flattening keeps every position of every feature map as a feature of its own; the "
                 "linear layer then learns as an averaging head does, on many more features"),
])


# --- 12.2 label smoothing by hand -----------------------------------------------------------------

PLAIN_CASES = ((0.0, 0, 10),)
"""``(smoothing, seed, classes)`` of the losses without smoothing."""
SMOOTHED_CASES = ((0.1, 1, 10), (0.3, 2, 10), (0.2, 3, 4))
LOWEST_CASES = ((0.1, 10), (0.2, 10), (0.1, 4), (0.3, 3))
"""``(smoothing, classes)`` for the smallest loss."""


def _loss_inputs(seed: int, classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded logits of 16 images and their labels."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(16, classes, generator=generator) * 3, torch.randint(0, classes, (16,),
                                                                             generator=generator)


def _losses(ns: Mapping[str, Any], cases: Sequence[tuple[float, int, int]]) -> list[torch.Tensor]:
    return [_tensor(ns["smoothed_cross_entropy"](*_loss_inputs(seed, classes), smoothing))
            for smoothing, seed, classes in cases]


def _same_as_torch(values: list[torch.Tensor], cases: Sequence[tuple[float, int, int]]) -> bool:
    """Whether each value is one number equal to ``F.cross_entropy(..., label_smoothing=...)``."""
    if not isinstance(values, list) or len(values) != len(cases):
        return False
    for value, (smoothing, seed, classes) in zip(values, cases, strict=True):
        expected = F.cross_entropy(*_loss_inputs(seed, classes), label_smoothing=smoothing)
        if not (isinstance(value, torch.Tensor) and value.numel() == 1 and value.is_floating_point()
                and torch.allclose(value.float().reshape(()), expected, atol=1e-5)):
            return False
    return True


@functools.cache
def _lowest_loss(smoothing: float, classes: int) -> float:
    """PyTorch's smoothed loss where the predicted probabilities are the smoothed target itself."""
    target = torch.full((classes,), smoothing / classes, dtype=torch.float64)
    target[0] += 1 - smoothing
    return F.cross_entropy(target.log()[None], torch.tensor([0]), label_smoothing=smoothing).item()


def _lowest_right(values: Any) -> bool:
    return (isinstance(values, list) and len(values) == len(LOWEST_CASES)
            and all(isinstance(v, float | int) and math.isclose(v, _lowest_loss(*case), rel_tol=1e-4)
                    for v, case in zip(values, LOWEST_CASES, strict=True)))


exercise("12.2", "label smoothing by hand", needs=["smoothed_cross_entropy", "lowest_smoothed_loss"],
         checks=[
    Check("with smoothing 0 it is the plain cross-entropy, a mean over the batch",
          lambda ns: _losses(ns, PLAIN_CASES),
          "with smoothing 0 the target is one-hot and the loss is the ordinary cross-entropy; reduce "
          "over the classes of each image first, then average over the images (not a sum)",
          judge=lambda data: _same_as_torch(data, PLAIN_CASES)),
    Check("with smoothing 0.1 and 0.3 (10 classes) and 0.2 (4 classes) it equals PyTorch's "
          "label-smoothed cross-entropy",
          lambda ns: _losses(ns, SMOOTHED_CASES),
          "label smoothing takes the share given by smoothing away from the true class and spreads it evenly "
          "over all the classes, the true class included, so each target still sums to 1 (the "
          "section on rung 6 prints one); the number of classes comes from the logits",
          judge=lambda data: _same_as_torch(data, SMOOTHED_CASES), points=2),
    Check("lowest_smoothed_loss(smoothing, classes) is the smallest value the loss can take, for four "
          "settings",
          lambda ns: [_number(ns["lowest_smoothed_loss"](*case)) for case in LOWEST_CASES],
          "a cross-entropy is smallest when the predicted probabilities equal the target, and there "
          "it is the target's entropy; build the smoothed target for the given number of classes",
          judge=_lowest_right),
])


# --- 12.3 up, down, left, right -------------------------------------------------------------------

def _flip_setup() -> tuple[nn.Module, torch.Tensor]:
    """A small seeded network (a convolution, then a linear layer) in eval mode, and 8 images."""
    with seeded(1203):
        model = nn.Sequential(nn.Conv2d(1, 4, 5), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 24 * 24, 10))
    images = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(1204))
    return model.eval(), images


VIEWS: dict[str, Callable[[nn.Module, torch.Tensor], torch.Tensor]] = {
    "mirrored_logits": lambda model, images: model(images.flip(-1)),
    "upside_down_logits": lambda model, images: model(images.flip(-2)),
    "flip_tta_logits": predict_with_flip,
}
"""The expected logits of each answer function."""


def _view_logits(ns: Mapping[str, Any], name: str) -> torch.Tensor:
    model, images = _flip_setup()
    with torch.no_grad():  # as fh.evaluate calls it
        return _tensor(ns[name](model, images))


@functools.cache
def _expected_view(name: str) -> torch.Tensor:
    model, images = _flip_setup()
    with torch.no_grad():
        return VIEWS[name](model, images)


def _same_logits(data: Any, name: str) -> bool:
    expected = _expected_view(name)
    return (isinstance(data, torch.Tensor) and data.shape == expected.shape and data.is_floating_point()
            and torch.allclose(data.float(), expected, rtol=1e-4, atol=1e-5))


def _view_check(name: str, description: str, hint: str) -> Check:
    return Check(description, lambda ns: _view_logits(ns, name), hint,
                 judge=lambda data: _same_logits(data, name))


exercise("12.3", "up, down, left, right",
         needs=["mirrored_logits", "upside_down_logits", "flip_tta_logits"], checks=[
    _view_check("mirrored_logits",
                "mirrored_logits gives a small network's logits for its images mirrored left-right",
                "mirroring reverses the order of the pixels in each row: which dimension of a batch "
                "[N, 1, 28, 28] runs from left to right? (torch.flip's documentation)"),
    _view_check("upside_down_logits",
                "upside_down_logits gives its logits for the images turned upside down",
                "turning an image upside down reverses the order of its rows: which dimension runs "
                "from top to bottom? (The batch and channel dimensions are not the ones to reverse.)"),
    _view_check("flip_tta_logits",
                "flip_tta_logits gives the mean of its logits for the images and their mirror images",
                "flip TTA asks the network about both views of each image, as it is and mirrored, and "
                "averages the two sets of logits (rung 7)"),
])


# --- 12.4 read the schedule -----------------------------------------------------------------------

NOTEBOOK_SCHEDULE = (0.01, 1000, 0.25)
"""``(max_lr, total_steps, pct_start)`` as the exercise's cell uses them."""
OTHER_SCHEDULES = ((0.1, 60, 0.4), (0.002, 9, 0.5), (0.03, 250, 0.1))


def _rates(ns: Mapping[str, Any], settings: tuple[float, int, float]) -> list[Any]:
    return [_number(rate) for rate in ns["one_cycle_rates"](*settings)]


@functools.cache
def _reference_rates(max_lr: float, total_steps: int, pct_start: float) -> tuple[float, ...]:
    """The rate OneCycleLR sets for each step, read from an optimizer before each scheduler step."""
    optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=max_lr)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=total_steps,
                                                    pct_start=pct_start)
    rates = []
    for _ in range(total_steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return tuple(rates)


def _same_rates(data: Any, settings: Sequence[tuple[float, int, float]]) -> bool:
    if not isinstance(data, list) or len(data) != len(settings):
        return False
    for rates, setting in zip(data, settings, strict=True):
        expected = _reference_rates(*setting)
        if len(rates) != len(expected) or not all(
                isinstance(r, float | int) and math.isclose(r, e, rel_tol=1e-6, abs_tol=1e-12)
                for r, e in zip(rates, expected, strict=True)):
            return False
    return True


ALL_SCHEDULES = (NOTEBOOK_SCHEDULE, *OTHER_SCHEDULES)

exercise("12.4", "read the schedule", needs=["one_cycle_rates"], checks=[
    Check("one_cycle_rates(max_lr, total_steps, pct_start) returns one rate per step, for four settings",
          lambda ns: [len(list(ns["one_cycle_rates"](*settings))) for settings in ALL_SCHEDULES],
          "record one rate per training step, as many as total_steps, each the rate that step uses",
          judge=lambda data: data == [steps for _, steps, _ in ALL_SCHEDULES]),
    Check("its rates are OneCycleLR's for max_lr 0.01, 1000 steps and pct_start 0.25",
          lambda ns: [_rates(ns, NOTEBOOK_SCHEDULE)],
          "the rate a step uses is the optimizer's learning rate before the scheduler moves on to the "
          "next step: read it there, once per step (rung 5 draws this curve)",
          judge=lambda data: _same_rates(data, [NOTEBOOK_SCHEDULE]), points=2),
    Check("and for other settings the check picks (max_lr, total_steps and pct_start)",
          lambda ns: [_rates(ns, settings) for settings in OTHER_SCHEDULES],
          "build the schedule from the function's arguments, not from the notebook's lr or fixed "
          "numbers",
          judge=lambda data: _same_rates(data, OTHER_SCHEDULES)),
])


# --- 12.5 a rung of your own ----------------------------------------------------------------------

KEEP_CASES = {"data": (((60, 40), 0.0), ((35, 65), 0.0)), "margin": (((55, 45), 0.2), ((55, 45), 0.05))}
"""``((images of class 0, images of class 1), margin)`` of the validation sets ``keep_rung`` is asked
about: the new network always predicts class 0, the old one class 1."""


def _constant_network(label: int) -> nn.Module:
    """A network that predicts class ``label`` for every image."""
    with seeded(0):
        model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].bias.copy_(F.one_hot(torch.tensor(label), 10).float())
    return model


def _validation(counts: tuple[int, int]) -> TensorBatches:
    """Random images labelled ``counts[0]`` times 0, then ``counts[1]`` times 1, in batches of 32."""
    labels = torch.tensor([0] * counts[0] + [1] * counts[1])
    images = torch.randn(len(labels), 1, 28, 28, generator=torch.Generator().manual_seed(sum(counts)))
    return TensorBatches(images, labels, 32)


def _keep_answers(ns: Mapping[str, Any], kind: str) -> list[Any]:
    return [_flag(ns["keep_rung"](_constant_network(0), _constant_network(1), _validation(counts), margin))
            for counts, margin in KEEP_CASES[kind]]


def _keep_expected(kind: str) -> list[bool]:
    """Whether class 0's share beats class 1's by more than the margin, in each case."""
    return [(zeros - ones) / (zeros + ones) > margin for (zeros, ones), margin in KEEP_CASES[kind]]


def _my_network_outputs(ns: Mapping[str, Any]) -> dict[str, Any]:
    model = ns["make_my_network"]()
    images = torch.randn(3, 1, 28, 28, generator=torch.Generator().manual_seed(5))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        shape = list(model(images).shape)
    model.train(was_training)
    return {"parameters": sum(p.numel() for p in model.parameters()), "shape": shape}


def _within_budget(data: Any) -> bool:
    return count_parameters(CapstoneNet()) < data["parameters"] < PARAMETER_BUDGET


exercise("12.5", "a rung of your own", needs=["make_my_network", "keep_rung"], checks=[
    Check("make_my_network() builds a network with more parameters than CapstoneNet and fewer than "
          "100,000",
          _my_network_outputs,
          "widen a stage of CapstoneNet (its stages argument) or add a layer; exercise 1's functions "
          "tell you what each layer costs",
          judge=_within_budget),
    Check("its network maps a batch [3, 1, 28, 28] to logits [3, 10]",
          _my_network_outputs,
          "the network takes a batch of 1 x 28 x 28 images and gives 10 logits per image",
          judge=lambda data: data["shape"] == [3, 10]),
    Check("keep_rung decides on the validation batches it is given (two sets that disagree)",
          lambda ns: _keep_answers(ns, "data"),
          "measure both networks on the batches passed in: they are the validation split, the only "
          "data that may choose; the test set measures the final model once and never chooses",
          judge=lambda data: data == _keep_expected("data"), points=2),
    Check("keep_rung keeps the new network only when it gains more than margin",
          lambda ns: _keep_answers(ns, "margin"),
          "a gain no larger than margin could be a single seed's noise: such a rung is dropped; a "
          "larger one is kept",
          judge=lambda data: data == _keep_expected("margin")),
])
