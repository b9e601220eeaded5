"""Checks for the exercises of notebook 10 (building networks with ``nn.Sequential``).

The probes call the answer's models and functions on inputs the check makes (models with seeded
weights, random images) under ``torch.no_grad()``; the judges rebuild the expected models from the
same seeds and compute the expected outputs themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..network import Network
from .engine import Check, exercise
from .probing import seeded

POSITIONS = {"conv1": "0", "conv2": "3", "fc1": "7", "fc2": "9", "out": "11"}  # Network -> positional


def _images(count: int, seed: int = 10) -> torch.Tensor:
    return torch.rand(count, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def _positional_sequential() -> nn.Sequential:
    """The course's ``Network`` as a positional ``Sequential`` (notebook 10's ``sequential1``)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 12, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(start_dim=1),
        nn.Linear(192, 120), nn.ReLU(), nn.Linear(120, 60), nn.ReLU(), nn.Linear(60, 10),
    )


def _seeded(build, seed: int) -> nn.Module:
    """``build()`` with the initial weights that ``seed`` gives; the global generator is untouched."""
    with seeded(seed):
        return build()


def _weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's ``state_dict`` as plain detached tensors."""
    return {key: tensor.detach().clone() for key, tensor in model.state_dict().items()}


def _architecture(model: nn.Module) -> dict[str, Any]:
    """A model's class, its children's names and classes, and its weights' shapes."""
    return {"class": type(model).__name__,
            "children": [[name, type(child).__name__] for name, child in model.named_children()],
            "shapes": [[key, list(tensor.shape)] for key, tensor in model.state_dict().items()]}


def _outputs(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(images).detach()


# --- 10.1 same seed instead of copying ------------------------------------------------------------

def _same_weights_judge(data: dict[str, list[torch.Tensor]]) -> bool:
    expected = list(_weights(_seeded(Network, 50)).values())
    return all(len(data[name]) == len(expected)
               and all(torch.equal(got, want) for got, want in zip(data[name], expected, strict=True))
               for name in ("network_a", "sequential_a"))


def _linear_pair(bias_change: float) -> tuple[nn.Linear, nn.Linear]:
    """Two Linear layers with outputs near 5; the second's bias moved by ``bias_change``."""
    first = _seeded(lambda: nn.Linear(4, 3), 101)
    second = _seeded(lambda: nn.Linear(4, 3), 101)
    with torch.no_grad():
        first.bias.add_(5.0)
        second.bias.add_(5.0 + bias_change)
    return first, second


BIAS_CHANGES = (0.0, 1e-6, 1e-2)
"""The pairs ``same_outputs`` is asked about: identical, different in the last bits, different."""


def _same_outputs_probe(ns: Mapping[str, Any]) -> list[Any]:
    inputs = torch.rand(6, 4, generator=torch.Generator().manual_seed(102))
    answers = []
    for change in BIAS_CHANGES:
        with torch.no_grad():
            answer = ns["same_outputs"](*_linear_pair(change), inputs)
        is_bool_tensor = isinstance(answer, torch.Tensor) and answer.dtype == torch.bool
        answers.append(bool(answer) if is_bool_tensor and answer.numel() == 1 else answer)
    return answers




exercise("10.1", "same seed instead of copying",
         needs=["network_a", "sequential_a", "same_outputs"], checks=[
    Check("sequential_a is the positional Sequential: the 12 modules of sequential1, in order",
          lambda ns: _architecture(ns["sequential_a"]),
          judge=lambda data: data == _architecture(_seeded(_positional_sequential, 0)),
          hint="build sequential_a the way sequential1 was built (way 1): the same modules in the "
               "same order, named by position"),
    Check("network_a and sequential_a both start from the weights that seed 50 gives, layer for "
          "layer",
          lambda ns: {name: list(_weights(ns[name]).values()) for name in ("network_a", "sequential_a")},
          judge=_same_weights_judge, points=2,
          hint="every layer draws its initial weights from PyTorch's global random number "
               "generator when it is created: seed it with 50 right before building each of the two "
               "models, and create nothing else in between"),
    Check("same_outputs says True for two models with the same outputs, even when they differ in "
          "the last bits, and False otherwise",
          _same_outputs_probe, judge=lambda data: data == [True, True, False],
          hint="floating-point results can differ in their last bits, so compare the two models' "
               "outputs within a tolerance (the section on whether the four models compute the "
               "same function shows how), and return a Python bool"),
])


# --- 10.2 make_mlp --------------------------------------------------------------------------------

SIZE_LISTS = ([256, 128], [], [64, 32, 16])


def _expected_names(sizes: list[int]) -> list[str]:
    layers = [name for i in range(1, len(sizes) + 1) for name in (f"fc{i}", f"relu{i}")]
    return ["flatten", *layers, "out"]


def _expected_shapes(sizes: list[int]) -> list[list[Any]]:
    features = [28 * 28, *sizes, 10]
    names = [f"fc{i}" for i in range(1, len(sizes) + 1)] + ["out"]
    return [entry for name, n_in, n_out in zip(names, features[:-1], features[1:], strict=True)
            for entry in ([f"{name}.weight", [n_out, n_in]], [f"{name}.bias", [n_out]])]


def _forward_probe(ns: Mapping[str, Any]) -> dict[str, Any]:
    model = ns["make_mlp"]([32, 16])
    return {"weights": _weights(model), "outputs": _outputs(model, _images(3))}


def _forward_judge(data: dict[str, Any]) -> bool:
    weights, x = data["weights"], _images(3).flatten(start_dim=1)
    for i in (1, 2):
        x = F.relu(F.linear(x, weights[f"fc{i}.weight"], weights[f"fc{i}.bias"]))
    expected = F.linear(x, weights["out.weight"], weights["out.bias"])
    return data["outputs"].shape == expected.shape and torch.allclose(data["outputs"], expected)


exercise("10.2", "a network built by a loop", needs=["make_mlp"], checks=[
    Check("its modules are named flatten, fc1, relu1, fc2, relu2, ..., out, for any list of sizes",
          lambda ns: [[name for name, _ in ns["make_mlp"](sizes).named_children()]
                      for sizes in SIZE_LISTS],
          judge=lambda data: data == [_expected_names(sizes) for sizes in SIZE_LISTS],
          hint="give each module its name when you add it: the numbers count the hidden layers "
               "from 1, with flatten first and out last, and no fc or relu when the list is empty"),
    Check("each Linear takes the previous layer's size and gives its own, for any list (even an "
          "empty one)",
          lambda ns: [[[key, list(t.shape)] for key, t in ns["make_mlp"](sizes).state_dict().items()]
                      for sizes in SIZE_LISTS],
          judge=lambda data: data == [_expected_shapes(sizes) for sizes in SIZE_LISTS], points=2,
          hint="keep the current number of features in a variable: the first Linear gets one input "
               "per pixel, each later one the size of the layer before, and the last Linear maps "
               "to the 10 classes"),
    Check("it computes Linear then ReLU for each hidden size on the flattened images, then the "
          "last Linear: 10 scores per image",
          _forward_probe, judge=_forward_judge,
          hint="the modules run in the order you add them: flatten, then a Linear followed by its "
               "ReLU for each hidden size, then the output layer without an activation"),
])


# --- 10.3 and back again --------------------------------------------------------------------------

def _source() -> nn.Sequential:
    """The check's positional Sequential: weights of its own, unlike the notebook's sequential1."""
    return _seeded(_positional_sequential, 103)


def _converted(ns: Mapping[str, Any]) -> nn.Module:
    return ns["to_network"](_source())


def _class_probe(ns: Mapping[str, Any]) -> list[str]:
    model = _converted(ns)
    return [type(model).__name__, type(model).__module__]


def _copied_judge(data: dict[str, torch.Tensor]) -> bool:
    source = _weights(_source())
    expected = {f"{name}.{part}": source[f"{index}.{part}"]
                for name, index in POSITIONS.items() for part in ("weight", "bias")}
    return set(data) == set(expected) and all(torch.equal(data[key], expected[key]) for key in expected)


exercise("10.3", "and back again", needs=["to_network"], checks=[
    Check("to_network returns a Network",
          _class_probe,
          judge=lambda data: data == [Network.__name__, Network.__module__],
          hint="the function builds a new Network and gives it back, with the Sequential's "
               "weights loaded into it"),
    Check("every weight and bias of the Network equals the matching layer of the Sequential it "
          "was given",
          lambda ns: _weights(_converted(ns)), judge=_copied_judge, points=2,
          hint="name_to_index goes from a Network name to a position; here you need the other "
               "direction, from position to name. Rename every key of the given Sequential's "
               "state_dict that way before loading it (use the Sequential you are given, not "
               "sequential1)"),
    Check("the Network computes the same outputs as the Sequential it was given",
          lambda ns: _outputs(_converted(ns), _images(5)),
          judge=lambda data: torch.allclose(data, _outputs(_source(), _images(5))),
          hint="once all ten tensors are copied to the right layers, the two models compute the "
               "same function"),
])
