"""Checks for the exercises of notebook 02 (building the network).

A student's formula is compared with what real PyTorch layers produce, parameter counts with the
layers' own ``numel()``; the few fixed answers are stored as hashes, never in plain text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..network import count_parameters
from .engine import Check, exercise, matches

LAYERS = ("conv1", "conv2", "fc1", "fc2", "out")

# (n, kernel_size, stride, padding) that a conv or pooling layer may meet (padding <= kernel_size / 2)
_SIZE_CASES = ((28, 5, 1, 0), (12, 5, 1, 0), (28, 5, 1, 2), (24, 2, 2, 0), (8, 2, 2, 0), (9, 2, 2, 0),
               (32, 3, 2, 1), (7, 3, 1, 1))


def _formula_matches_pytorch(ns: Mapping[str, Any]) -> bool:
    """``conv_output_size`` gives the side length real ``Conv2d`` and ``max_pool2d`` produce."""
    size = ns["conv_output_size"]
    with torch.no_grad():
        for n, k, s, p in _SIZE_CASES:
            x = torch.zeros(1, 1, n, n)
            conv = nn.Conv2d(1, 1, kernel_size=k, stride=s, padding=p)(x).shape[-1]
            pool = F.max_pool2d(x, kernel_size=k, stride=s, padding=p).shape[-1]
            if int(size(n, k, stride=s, padding=p)) != conv or conv != pool:
                return False
    return True


exercise("02.1", "The output-size formula", needs=["conv_output_size", "side_lengths",
                                                   "padded_fc1_in_features"], checks=[
    Check("conv_output_size agrees with real PyTorch layers (kernel, stride and padding)",
          _formula_matches_pytorch,
          "conv_output_size(n, kernel_size, stride=1, padding=0) should return (n - k + 2p) // s + 1, "
          "an int; try it on conv1 (28 with a 5x5 kernel) and compare with the shapes printed in step 3"),
    Check("side_lengths are the sides after conv1, pool, conv2, pool",
          lambda ns: matches([int(n) for n in ns["side_lengths"]], "6da7a4ca24698028"),
          "side_lengths should list 4 side lengths, each computed from the previous one with "
          "conv_output_size (a pooling layer is a 2x2 kernel with stride 2)"),
    Check("padded_fc1_in_features is what fc1 would need with padding=2 in conv1",
          lambda ns: matches(int(ns["padded_fc1_in_features"]), "ffa06e242a9bf994"),
          "with padding=2, conv1 keeps the 28x28 size; follow the sides through the four layers and "
          "multiply the last side squared by conv2's 12 channels"),
])


def _layer_numel(network: nn.Module, layer: str) -> int:
    return sum(p.numel() for p in getattr(network, layer).parameters())


exercise("02.2", "Parameters counted by hand", needs=["by_hand"], checks=[
    Check("by_hand has one count for each of the five layers",
          lambda ns: set(ns["by_hand"]) == set(LAYERS),
          f"by_hand should be a dict with the keys {', '.join(LAYERS)}"),
    Check("every layer's count equals its numel()",
          lambda ns: all(int(ns["by_hand"][layer]) == _layer_numel(ns["network"], layer)
                         for layer in LAYERS),
          "a conv layer has out_channels * in_channels * k * k weights plus out_channels biases; a "
          "linear layer out_features * in_features weights plus out_features biases"),
    Check("the counts add up to the network's total",
          lambda ns: sum(int(v) for v in ns["by_hand"].values()) == count_parameters(ns["network"]),
          "add up the five layers' counts; compare with fh.count_parameters(network)"),
])


def _wide_output_shape(ns: Mapping[str, Any]) -> bool:
    with torch.no_grad():
        return tuple(ns["WideNetwork"]()(torch.zeros(3, 1, 28, 28)).shape) == (3, 10)


def _fc1_fits_conv2(ns: Mapping[str, Any]) -> bool:
    """fc1 takes exactly what the wider conv layers produce for one image, flattened."""
    wide = ns["WideNetwork"]()
    with torch.no_grad():
        t = F.max_pool2d(F.relu(wide.conv1(torch.zeros(1, 1, 28, 28))), 2, 2)
        t = F.max_pool2d(F.relu(wide.conv2(t)), 2, 2)
    return wide.conv2.out_channels == 24 and wide.fc1.in_features == t.numel()


exercise("02.3", "A wider conv2", needs=["WideNetwork", "wide_parameter_count"], checks=[
    Check("WideNetwork maps a batch [3, 1, 28, 28] to [3, 10]",
          _wide_output_shape,
          "WideNetwork() should build its layers in __init__ and its forward should return the "
          "output layer's result (a batch of 3 images gives 3 rows of 10 scores)"),
    Check("conv2 has 24 filters and fc1 accepts what conv2 now produces",
          _fc1_fits_conv2,
          "with 24 filters, conv2 outputs 24 maps: fc1's in_features and the reshape in forward must "
          "follow (the maps are still 4x4 after pooling)"),
    Check("wide_parameter_count is the wider network's number of parameters",
          lambda ns: int(ns["wide_parameter_count"]) == count_parameters(ns["WideNetwork"]())
          and matches(int(ns["wide_parameter_count"]), "57d2db7628ce15e3"),
          "count the parameters of a WideNetwork() instance (fh.count_parameters or numel())"),
])
