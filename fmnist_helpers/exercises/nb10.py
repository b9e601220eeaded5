"""Checks for the exercises of notebook 10 (building networks with ``nn.Sequential``).

The checks build fresh inputs and read the answer's models; they never switch gradients on or off
(the notebook runs without gradients, so the models are called under ``torch.no_grad()`` here).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..network import Network, count_parameters
from .engine import Check, exercise, matches

NETWORK_PARAMETERS = 32_998  # notebook 02 counts them; notebook 10 prints the count again
POSITIONS = {"conv1": "0", "conv2": "3", "fc1": "7", "fc2": "9", "out": "11"}  # Network -> sequential1


def _images(count: int = 8) -> torch.Tensor:
    return torch.rand(count, 1, 28, 28, generator=torch.Generator().manual_seed(10))


# --- 10.1 same seed instead of copying ------------------------------------------------------------

def _is_the_positional_network(ns: Mapping[str, Any]) -> bool:
    model = ns["sequential_a"]
    return (isinstance(model, nn.Sequential) and len(model) == 12
            and count_parameters(model) == NETWORK_PARAMETERS)


def _same_initial_weights(ns: Mapping[str, Any]) -> bool:
    a = list(ns["network_a"].state_dict().values())
    b = list(ns["sequential_a"].state_dict().values())
    return len(a) == len(b) == 10 and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def _reported_true(ns: Mapping[str, Any]) -> bool:
    with torch.no_grad():
        same = torch.allclose(ns["network_a"](_images()), ns["sequential_a"](_images()))
    return ns["same_without_copying"] is True and same


exercise("10.1", "same seed instead of copying",
         needs=["network_a", "sequential_a", "same_without_copying"], checks=[
    Check("sequential_a is the positional Sequential: 12 modules, 32,998 parameters",
          _is_the_positional_network,
          "build sequential_a like sequential1: conv, ReLU, pool, conv, ReLU, pool, Flatten, then "
          "Linear and ReLU twice and a last Linear (12 modules)"),
    Check("network_a and sequential_a start from the very same weights, layer for layer",
          _same_initial_weights,
          "call torch.manual_seed(50) right before building each model, with nothing created in "
          "between"),
    Check("same_without_copying is True, and the outputs really agree",
          _reported_true,
          "set same_without_copying = torch.allclose(network_a(images), sequential_a(images)); "
          "if it is False, the seeds or the layer order differ"),
])


# --- 10.2 make_mlp --------------------------------------------------------------------------------

def _names(model: nn.Module) -> list[str]:
    return [name for name, _ in model.named_children()]


def _named_layers(ns: Mapping[str, Any]) -> bool:
    return _names(ns["make_mlp"]([256, 128])) == ["flatten", "fc1", "relu1", "fc2", "relu2", "out"]


def _parameter_count(ns: Mapping[str, Any]) -> bool:
    return matches(count_parameters(ns["make_mlp"]([256, 128])), "1a39efed50eba092", decimals=0)


def _any_sizes(ns: Mapping[str, Any]) -> bool:
    make_mlp = ns["make_mlp"]
    with torch.no_grad():
        shallow, deep = make_mlp([]), make_mlp([64, 32, 16])
        shapes_ok = shallow(_images(2)).shape == (2, 10) and deep(_images(3)).shape == (3, 10)
    return _names(shallow) == ["flatten", "out"] and len(deep) == 8 and shapes_ok


exercise("10.2", "a network built by a loop", needs=["make_mlp"], checks=[
    Check("make_mlp([256, 128]) names its modules flatten, fc1, relu1, fc2, relu2, out",
          _named_layers,
          "add_module(f'fc{i}', ...) and add_module(f'relu{i}', ...) inside the loop, counting from "
          "1 (enumerate(hidden_sizes, start=1)); 'flatten' first and 'out' last"),
    Check("make_mlp([256, 128]) has the right number of parameters",
          _parameter_count,
          "each Linear takes the previous layer's size as in_features: 28 * 28 = 784 for the first, "
          "then each hidden size in turn"),
    Check("it works for any list of sizes, even an empty one, and outputs 10 scores per image",
          _any_sizes,
          "keep the current number of features in a variable that each new Linear updates, and add "
          "the final Linear(features, 10) after the loop"),
])


# --- 10.3 and back again --------------------------------------------------------------------------

def _is_a_network(ns: Mapping[str, Any]) -> bool:
    return isinstance(ns["network_b"], Network)


def _weights_copied(ns: Mapping[str, Any]) -> bool:
    network_b, sequential1 = ns["network_b"], ns["sequential1"]
    return all(torch.equal(getattr(network_b, name).weight, sequential1[int(index)].weight)
               and torch.equal(getattr(network_b, name).bias, sequential1[int(index)].bias)
               for name, index in POSITIONS.items())


def _same_function(ns: Mapping[str, Any]) -> bool:
    with torch.no_grad():
        return torch.allclose(ns["network_b"](_images()), ns["sequential1"](_images()))


exercise("10.3", "and back again", needs=["network_b"], checks=[
    Check("network_b is a Network", _is_a_network,
          "create network_b = Network() and load the renamed weights into it"),
    Check("every weight and bias of network_b equals the matching layer of sequential1",
          _weights_copied,
          "invert the mapping ({index: name for name, index in name_to_index.items()}) and rename "
          "each key '0.weight' -> 'conv1.weight' before load_state_dict"),
    Check("network_b computes the same outputs as sequential1", _same_function,
          "once all ten tensors are copied, the two models compute the same function"),
])
