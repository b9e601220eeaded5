"""Checks for the exercises of notebook 02 (building the network).

The probes call the student's functions on sizes the checks choose (or build the student's
``WideNetwork``); the judges compare with what real PyTorch layers produce: the sides of their
outputs, their parameters' ``numel()``, and a forward pass written here with ``torch.nn.functional``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from unittest import mock

import torch
import torch.nn.functional as F
from torch import nn

from .engine import Check, exercise
from .probing import plain_tensor, seeded

T = TypeVar("T")


def _keeps_rng(function: Callable[..., T]) -> Callable[..., T]:
    """``function`` run without moving torch's random numbers: building a layer draws its initial
    weights, and a judge that runs in the student's kernel must not change what the notebook draws."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        with torch.random.fork_rng(devices=[]):
            return function(*args, **kwargs)

    return wrapper

# -- 02.1 ------------------------------------------------------------------------------------------

# (n, kernel_size, stride, padding) that a conv or pooling layer may meet (padding <= kernel_size / 2)
SIZE_CASES = ((28, 5, 1, 0), (12, 5, 1, 0), (28, 5, 1, 2), (24, 2, 2, 0), (8, 2, 2, 0), (9, 2, 2, 0),
              (32, 3, 2, 1), (7, 3, 1, 1))
# (image side n, conv1's padding) for the whole network; None: the default padding
NETWORK_CASES = ((28, None), (28, 2), (32, 0), (36, 1), (20, 0))


def _number(value: Any) -> float:
    """A side length or count as a float (so the judge sees 4.5 where a formula divides exactly)."""
    return float(value)


def _sizes(ns: Mapping[str, Any]) -> list[float]:
    size = ns["conv_output_size"]
    defaults = [_number(size(28, 5))]  # stride 1, no padding
    return defaults + [_number(size(n, k, stride=s, padding=p)) for n, k, s, p in SIZE_CASES]


@functools.cache
@_keeps_rng
def _pytorch_size(n: int, kernel_size: int, stride: int, padding: int) -> int:
    """The side that ``Conv2d`` gives (and ``max_pool2d``, which must agree) for an ``n`` x ``n`` input."""
    x = torch.zeros(1, 1, n, n)
    with torch.no_grad():
        conv = nn.Conv2d(1, 1, kernel_size, stride=stride, padding=padding)(x).shape[-1]
        pool = F.max_pool2d(x, kernel_size, stride=stride, padding=padding).shape[-1]
    assert conv == pool, (n, kernel_size, stride, padding)
    return conv


def _sizes_right(data: list[float]) -> bool:
    expected = [_pytorch_size(28, 5, 1, 0)] + [_pytorch_size(*case) for case in SIZE_CASES]
    return data == expected


def _padding_options(padding: int | None) -> dict[str, int]:
    return {} if padding is None else {"conv1_padding": padding}


def _side_lengths(ns: Mapping[str, Any]) -> list[list[float]]:
    return [[_number(side) for side in ns["side_lengths"](n, **_padding_options(p))]
            for n, p in NETWORK_CASES]


def _fc1_in_features(ns: Mapping[str, Any]) -> list[float]:
    return [_number(ns["fc1_in_features"](n, **_padding_options(p))) for n, p in NETWORK_CASES]


@functools.cache
@_keeps_rng
def _network_maps(n: int, conv1_padding: int) -> tuple[tuple[int, ...], ...]:
    """The shapes ``[C, H, W]`` of one ``n`` x ``n`` image after the course network's conv1, pool,
    conv2 and pool, with ``conv1_padding`` in conv1, from real layers."""
    conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=conv1_padding)
    conv2 = nn.Conv2d(6, 12, kernel_size=5)
    t, shapes = torch.zeros(1, 1, n, n), []
    with torch.no_grad():
        for step in (conv1, lambda x: F.max_pool2d(x, 2, 2), conv2, lambda x: F.max_pool2d(x, 2, 2)):
            t = step(t)
            shapes.append(tuple(t.shape[1:]))
    return tuple(shapes)


def _sides_right(data: list[list[float]]) -> bool:
    return data == [[shape[-1] for shape in _network_maps(n, p or 0)] for n, p in NETWORK_CASES]


def _features_right(data: list[float]) -> bool:
    expected = [torch.Size(_network_maps(n, p or 0)[-1]).numel() for n, p in NETWORK_CASES]
    return data == expected


exercise("02.1", "The output-size formula", needs=["conv_output_size", "side_lengths", "fc1_in_features"],
         checks=[
    Check("conv_output_size agrees with real PyTorch layers (kernel, stride and padding)",
          _sizes,
          "count the positions where a window of k values fits in a row of n values with p zeros added "
          "at each end, when the window moves s values at a time (a window that does not fit is "
          "dropped, and the result is a whole number); the Shape section of the nn.Conv2d "
          "documentation states the rule, and step 3 gives the case without padding and stride",
          judge=_sizes_right, points=2),
    Check("side_lengths gives the sides after conv1, pool, conv2 and pool for image sizes and conv1 "
          "paddings the check picks",
          _side_lengths,
          "side_lengths should return 4 sides, each computed from the previous one with "
          "conv_output_size; conv1's padding is an argument (only conv1 gets it), and a pooling layer "
          "is a 2x2 window moving 2 values at a time",
          judge=_sides_right),
    Check("fc1_in_features is the number of values fc1 receives per image for those sizes",
          _fc1_in_features,
          "fc1 receives conv2's maps flattened: every channel of conv2 contributes one map of the last "
          "side length squared",
          judge=_features_right),
])


# -- 02.2 ------------------------------------------------------------------------------------------

LINEAR_CASES = ((192, 120), (60, 10), (3, 7), (1, 1))  # (in_features, out_features)
CONV_CASES = ((1, 6, 5), (6, 12, 5), (3, 8, 3), (4, 2, 1))  # (in_channels, out_channels, kernel_size)


def _counts(ns: Mapping[str, Any], name: str, cases: tuple[tuple[int, ...], ...]) -> list[float]:
    return [_number(ns[name](*sizes)) for sizes in cases]


def _numel(layer: nn.Module) -> int:
    return sum(p.numel() for p in layer.parameters())


@functools.cache
@_keeps_rng
def _linear_numel(in_features: int, out_features: int) -> int:
    return _numel(nn.Linear(in_features, out_features))


@functools.cache
@_keeps_rng
def _conv_numel(in_channels: int, out_channels: int, kernel_size: int) -> int:
    return _numel(nn.Conv2d(in_channels, out_channels, kernel_size))


def _without_layers(ns: Mapping[str, Any]) -> list[float]:
    """Both counts for one size each while ``nn.Linear`` and ``nn.Conv2d`` cannot be built."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("building layers is switched off for this check")

    with mock.patch.object(nn, "Linear", refuse), mock.patch.object(nn, "Conv2d", refuse):
        return _counts(ns, "linear_parameters", LINEAR_CASES[2:3]) + _counts(
            ns, "conv_parameters", CONV_CASES[2:3])


exercise("02.2", "Parameters counted by hand", needs=["conv_parameters", "linear_parameters"], checks=[
    Check("linear_parameters equals the numel() of real nn.Linear layers of sizes the check picks",
          lambda ns: _counts(ns, "linear_parameters", LINEAR_CASES),
          "a linear layer's weight holds one number for every pair of an input and an output, and its "
          "bias one number per output; step 2 printed the shapes of fc1's weight and bias",
          judge=lambda data: data == [_linear_numel(*sizes) for sizes in LINEAR_CASES]),
    Check("conv_parameters equals the numel() of real nn.Conv2d layers of sizes the check picks",
          lambda ns: _counts(ns, "conv_parameters", CONV_CASES),
          "a conv layer has one filter per output channel, and each filter covers every input channel "
          "with a k x k window; add one bias per output channel (step 2 printed conv2's shapes)",
          judge=lambda data: data == [_conv_numel(*sizes) for sizes in CONV_CASES]),
    Check("both are counted by hand (they work without building a layer)",
          _without_layers,
          "compute the counts from the sizes with arithmetic rather than building a layer and asking "
          "it",
          judge=lambda data: data == [_linear_numel(*LINEAR_CASES[2]), _conv_numel(*CONV_CASES[2])]),
])


# -- 02.3 ------------------------------------------------------------------------------------------

WIDE_FILTERS = 24


@functools.cache
@_keeps_rng
def _wide_shapes() -> dict[str, list[int]]:
    """The parameter shapes of the course network with ``WIDE_FILTERS`` filters in conv2."""
    flattened = WIDE_FILTERS * _network_maps(28, 0)[-1][-1] ** 2
    layers = {"conv1": nn.Conv2d(1, 6, 5), "conv2": nn.Conv2d(6, WIDE_FILTERS, 5),
              "fc1": nn.Linear(flattened, 120), "fc2": nn.Linear(120, 60), "out": nn.Linear(60, 10)}
    return {f"{name}.{kind}": list(p.shape) for name, layer in layers.items()
            for kind, p in layer.named_parameters()}


def _wide_network(ns: Mapping[str, Any], seed: int = 0) -> nn.Module:
    """A ``WideNetwork()`` built from ``seed`` without moving the notebook's random numbers."""
    with seeded(seed):
        return ns["WideNetwork"]()


def _images(count: int) -> torch.Tensor:
    return torch.rand(count, 1, 28, 28, generator=torch.Generator().manual_seed(4))


def _output_shape(ns: Mapping[str, Any]) -> list[int]:
    with torch.no_grad():
        return list(_wide_network(ns)(_images(3)).shape)


def _parameter_shapes(ns: Mapping[str, Any]) -> dict[str, list[int]]:
    return {name: list(p.shape) for name, p in _wide_network(ns).named_parameters()}


def _forward(ns: Mapping[str, Any]) -> dict[str, Any]:
    """The network's weights and its output for a batch of images the check makes."""
    network = _wide_network(ns, seed=1)
    with torch.no_grad():
        output = network(_images(5))
    return {"state": {k: plain_tensor(v) for k, v in network.state_dict().items()},
            "output": plain_tensor(output)}


def _expected_output(state: Mapping[str, torch.Tensor], images: torch.Tensor) -> torch.Tensor:
    """The course network's forward pass, in functions, with the weights in ``state``."""
    t = F.max_pool2d(F.relu(F.conv2d(images, state["conv1.weight"], state["conv1.bias"])), 2, 2)
    t = F.max_pool2d(F.relu(F.conv2d(t, state["conv2.weight"], state["conv2.bias"])), 2, 2)
    t = F.relu(F.linear(t.flatten(1), state["fc1.weight"], state["fc1.bias"]))
    t = F.relu(F.linear(t, state["fc2.weight"], state["fc2.bias"]))
    return F.linear(t, state["out.weight"], state["out.bias"])


def _forward_right(data: Mapping[str, Any]) -> bool:
    state, output = data["state"], data["output"]
    if {k: list(v.shape) for k, v in state.items()} != _wide_shapes():
        return False
    expected = _expected_output(state, _images(5))
    return output.shape == expected.shape and torch.allclose(output, expected, atol=1e-5)


exercise("02.3", "A wider conv2", needs=["WideNetwork"], checks=[
    Check("WideNetwork maps a batch [3, 1, 28, 28] to [3, 10]",
          _output_shape,
          "WideNetwork() should build its layers in __init__ and its forward should return the "
          "output layer's result (a batch of 3 images gives 3 rows of 10 scores)",
          judge=lambda data: data == [3, 10]),
    Check("its layers are Network's, with 24 filters in conv2 and fc1 sized for what conv2 now gives",
          _parameter_shapes,
          "keep Network's layers and their names; with 24 filters, conv2 gives 24 maps per image, and "
          "the first linear layer must take all of their values (the maps keep their size)",
          judge=lambda data: data == _wide_shapes()),
    Check("its forward computes what Network's does, with the wider layers",
          _forward,
          "forward should apply the same steps as Network's, in the same order; the flattening must "
          "follow the new number of maps too, or the images of a batch get mixed up",
          judge=_forward_right, points=2),
])
