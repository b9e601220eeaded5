"""The checks of notebook 10's exercises on answers written here: right ones written differently
from the notebook's solutions (every check passes) and plausible wrong ones (the checks they break
fail, the others pass), each judged in the kernel and through the grader's serialized split."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from exercise_answers import passes_all, verdicts
from torch import nn

from fmnist_helpers import Network

name_to_index = {"conv1": "0", "conv2": "3", "fc1": "7", "fc2": "9", "out": "11"}  # the notebook's


def positional_layers() -> list[nn.Module]:
    return [nn.Conv2d(1, 6, kernel_size=5), nn.ReLU(), nn.MaxPool2d(kernel_size=2),
            nn.Conv2d(6, 12, kernel_size=5), nn.ReLU(), nn.MaxPool2d(kernel_size=2),
            nn.Flatten(),
            nn.Linear(12 * 4 * 4, 120), nn.ReLU(), nn.Linear(120, 60), nn.ReLU(), nn.Linear(60, 10)]


# --- 10.1 · same seed instead of copying ---------------------------------------------------------


def seeded(build, seed=50):
    torch.random.manual_seed(seed)
    return build()


def largest_difference_below(model_a, model_b, images):
    return (model_a(images) - model_b(images)).abs().max().item() < 1e-4


def same_seed_answers(**changes):
    answers = {"network_a": seeded(Network),
               "sequential_a": seeded(lambda: nn.Sequential(*positional_layers())),
               "same_outputs": largest_difference_below}
    return {**answers, **changes}


def test_10_1_a_list_of_layers_and_a_largest_difference_pass():
    assert passes_all("10.1", same_seed_answers())


@pytest.mark.parametrize(("changes", "expected"), [
    ({"sequential_a": nn.Sequential(*positional_layers())}, [True, False, True]),  # not reseeded
    ({"same_outputs": lambda a, b, images: torch.equal(a(images), b(images))}, [True, True, False]),
    ({"same_outputs": lambda a, b, images: True}, [True, True, False]),  # the printed answer, typed
    ({"sequential_a": seeded(lambda: nn.Sequential(OrderedDict(
        (name, layer) for name, layer in zip("abcdefghijkl", positional_layers(), strict=True))))},
     [False, True, True]),  # named layers, not positions
])
def test_10_1_wrong_answers_fail(changes, expected):
    assert verdicts("10.1", same_seed_answers(**changes)) == expected


# --- 10.2 · a network built by a loop ------------------------------------------------------------


def mlp_from_pairs(hidden_sizes):
    """The named modules collected in a list first, then one OrderedDict."""
    sizes = [28 * 28, *hidden_sizes]
    pairs = [("flatten", nn.Flatten())]
    for i in range(1, len(sizes)):
        pairs += [(f"fc{i}", nn.Linear(sizes[i - 1], sizes[i])), (f"relu{i}", nn.ReLU())]
    pairs.append(("out", nn.Linear(sizes[-1], 10)))
    return nn.Sequential(OrderedDict(pairs))


def counted_from_zero(hidden_sizes):
    model, features = nn.Sequential(), 784
    model.add_module("flatten", nn.Flatten())
    for i, size in enumerate(hidden_sizes):
        model.add_module(f"fc{i}", nn.Linear(features, size))
        model.add_module(f"relu{i}", nn.ReLU())
        features = size
    model.add_module("out", nn.Linear(features, 10))
    return model


def features_never_updated(hidden_sizes):
    model = nn.Sequential()
    model.add_module("flatten", nn.Flatten())
    for i, size in enumerate(hidden_sizes, start=1):
        model.add_module(f"fc{i}", nn.Linear(784, size))
        model.add_module(f"relu{i}", nn.ReLU())
    model.add_module("out", nn.Linear(hidden_sizes[-1] if hidden_sizes else 784, 10))
    return model


def sigmoid_named_relu(hidden_sizes):
    model = mlp_from_pairs(hidden_sizes)
    for i in range(1, len(hidden_sizes) + 1):
        setattr(model, f"relu{i}", nn.Sigmoid())
    return model


def test_10_2_an_ordered_dict_of_pairs_passes():
    assert passes_all("10.2", {"make_mlp": mlp_from_pairs})


@pytest.mark.parametrize(("answer", "expected"), [
    (counted_from_zero, [False, False, False]),
    (features_never_updated, [True, False, False]),
    (sigmoid_named_relu, [True, True, False]),
    (lambda hidden_sizes: mlp_from_pairs([256, 128]), [False, False, True]),  # the printed model
])
def test_10_2_wrong_builders_fail(answer, expected):
    assert verdicts("10.2", {"make_mlp": answer}) == expected


# --- 10.3 · and back again -----------------------------------------------------------------------


def copied_layer_by_layer(sequential):
    network = Network()
    with torch.no_grad():
        for name, index in name_to_index.items():
            source, target = sequential[int(index)], getattr(network, name)
            target.weight.copy_(source.weight)
            target.bias.copy_(source.bias)
    return network


def mapping_not_inverted(sequential):
    renamed = {f"{name_to_index[key.split('.')[0]]}.{key.split('.')[1]}": tensor
               for key, tensor in sequential.state_dict().items()}
    network = Network()
    network.load_state_dict(renamed)
    return network


def weights_only(sequential):
    index_to_name = {index: name for name, index in name_to_index.items()}
    network = Network()
    network.load_state_dict({f"{index_to_name[key.split('.')[0]]}.weight": tensor
                             for key, tensor in sequential.state_dict().items()
                             if key.endswith("weight")}, strict=False)
    return network


NOTEBOOKS_SEQUENTIAL = seeded(lambda: nn.Sequential(*positional_layers()), seed=0)


def test_10_3_copying_layer_by_layer_passes():
    assert passes_all("10.3", {"to_network": copied_layer_by_layer})


@pytest.mark.parametrize(("answer", "expected"), [
    (mapping_not_inverted, [False, False, False]),
    (weights_only, [True, False, False]),
    (lambda sequential: Network(), [True, False, False]),  # nothing loaded
    (lambda sequential: copied_layer_by_layer(NOTEBOOKS_SEQUENTIAL), [True, False, False]),
])
def test_10_3_wrong_conversions_fail(answer, expected):
    assert verdicts("10.3", {"to_network": answer}) == expected
