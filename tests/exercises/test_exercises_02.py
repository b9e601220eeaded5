"""The checks of notebook 02's exercises on answers written here: right ones written differently
from the notebook's solutions (every check passes) and plausible wrong ones (the checks they break
fail, the others pass), each judged in the kernel and through the grader's serialized split."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from exercise_answers import passes_all, verdicts
from torch import nn

from fmnist_helpers import Network
from fmnist_helpers.exercises import EXERCISES, nb02, run_checks

# --- 02.1 · the output-size formula --------------------------------------------------------------


def positions(n, kernel_size, stride=1, padding=0):
    """The number of places a window fits, counted rather than computed."""
    return len(range(0, n + 2 * padding - kernel_size + 1, stride))


def sides_by_layers(n, conv1_padding=0):
    steps = [(5, 1, conv1_padding), (2, 2, 0), (5, 1, 0), (2, 2, 0)]
    sides = [n]
    for kernel_size, stride, padding in steps:
        sides.append(positions(sides[-1], kernel_size, stride, padding))
    return sides[1:]


def features_from_real_layers(n, conv1_padding=0):
    network = Network()
    network.conv1.padding = (conv1_padding, conv1_padding)
    with torch.no_grad():
        t = F.max_pool2d(network.conv1(torch.zeros(1, 1, n, n)), 2)
        return F.max_pool2d(network.conv2(t), 2).numel()


def test_02_1_counted_positions_and_real_layers_pass():
    answers = {"conv_output_size": positions, "side_lengths": sides_by_layers,
               "fc1_in_features": features_from_real_layers}
    assert passes_all("02.1", answers)
    def floored(n, k, stride=1, padding=0):
        return math.floor((n + 2 * padding - k) / stride) + 1

    floor = {"conv_output_size": floored, "side_lengths": sides_by_layers,
             "fc1_in_features": lambda n, conv1_padding=0: 12 * sides_by_layers(n, conv1_padding)[-1] ** 2}
    assert passes_all("02.1", floor)


def test_02_1_a_formula_without_padding_fails_with_its_hints():
    def no_padding(n, kernel_size, stride=1, padding=0):
        return (n - kernel_size) // stride + 1

    def side_lengths(n, conv1_padding=0):
        sides = [no_padding(n, 5, padding=conv1_padding)]
        for kernel_size, stride in [(2, 2), (5, 1), (2, 2)]:
            sides.append(no_padding(sides[-1], kernel_size, stride))
        return sides

    answers = {"conv_output_size": no_padding, "side_lengths": side_lengths,
               "fc1_in_features": lambda n, conv1_padding=0: 12 * side_lengths(n, conv1_padding)[-1] ** 2}
    assert verdicts("02.1", answers) == [False, False, False]
    hints = [check.hint for check in EXERCISES["02.1"].checks]
    assert [r.message for r in run_checks("02.1", answers).results] == hints


def test_02_1_true_division_fails():
    def divided(n, kernel_size, stride=1, padding=0):
        return (n - kernel_size + 2 * padding) / stride + 1

    answers = {"conv_output_size": divided, "side_lengths": sides_by_layers,
               "fc1_in_features": features_from_real_layers}
    assert verdicts("02.1", answers) == [False, True, True]


def test_02_1_the_instructors_numbers_typed_in_fail():
    answers = {"conv_output_size": positions, "side_lengths": lambda n, conv1_padding=0: [24, 12, 8, 4],
               "fc1_in_features": lambda n, conv1_padding=0: 300 if conv1_padding else 192}
    assert verdicts("02.1", answers) == [True, False, False]


def test_02_1_forgetting_conv2s_channels_fails_the_fc1_check():
    answers = {"conv_output_size": positions, "side_lengths": sides_by_layers,
               "fc1_in_features": lambda n, conv1_padding=0: sides_by_layers(n, conv1_padding)[-1] ** 2}
    assert verdicts("02.1", answers) == [True, True, False]


# --- 02.2 · parameters counted by hand -----------------------------------------------------------


def test_02_2_counts_factored_differently_pass():
    answers = {"linear_parameters": lambda i, o: (i + 1) * o,
               "conv_parameters": lambda i, o, k: o * (i * k ** 2 + 1)}
    assert passes_all("02.2", answers)


def test_02_2_forgetting_the_biases_fails():
    answers = {"linear_parameters": lambda i, o: i * o, "conv_parameters": lambda i, o, k: i * o * k * k}
    assert verdicts("02.2", answers) == [False, False, False]


def test_02_2_a_conv_count_without_input_channels_fails():
    answers = {"linear_parameters": lambda i, o: (i + 1) * o,
               "conv_parameters": lambda i, o, k: o * k * k + o}
    assert verdicts("02.2", answers) == [True, False, False]


def test_02_2_the_course_networks_counts_typed_in_fail():
    linear = {(192, 120): 23160, (120, 60): 7260, (60, 10): 610}
    conv = {(1, 6, 5): 156, (6, 12, 5): 1812}
    answers = {"linear_parameters": lambda i, o: linear[i, o],
               "conv_parameters": lambda i, o, k: conv[i, o, k]}
    assert verdicts("02.2", answers) == [False, False, False]


def test_02_2_asking_built_layers_fails_the_by_hand_check():
    def numel(layer):
        return sum(p.numel() for p in layer.parameters())

    answers = {"linear_parameters": lambda i, o: numel(nn.Linear(i, o)),
               "conv_parameters": lambda i, o, k: numel(nn.Conv2d(i, o, k))}
    assert verdicts("02.2", answers) == [True, True, False]


# --- 02.3 · a wider conv2 ------------------------------------------------------------------------


def wide_network_class(filters=24, fc1_inputs=None, flatten_to=None, relu_after_fc1=True):
    """A variant of the wider network; the defaults are a right answer written differently."""

    class WideNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, filters, 5)
            self.fc1 = nn.Linear(fc1_inputs or self.conv2.out_channels * 16, 120)
            self.fc2 = nn.Linear(120, 60)
            self.out = nn.Linear(60, 10)

        def forward(self, t):
            t = F.max_pool2d(self.conv1(t).relu(), 2)
            t = F.max_pool2d(self.conv2(t).relu(), 2)
            t = t.reshape(-1, flatten_to) if flatten_to else torch.flatten(t, 1)
            t = self.fc1(t)
            t = F.relu(t) if relu_after_fc1 else t
            return self.out(F.relu(self.fc2(t)))

    return WideNetwork


def test_02_3_a_network_written_differently_passes():
    assert passes_all("02.3", {"WideNetwork": wide_network_class()})


def test_02_3_fc1_left_at_192_inputs_fails():
    assert verdicts("02.3", {"WideNetwork": wide_network_class(fc1_inputs=192)}) == [False, False, False]


def test_02_3_the_reshape_left_at_192_values_fails():
    wide = wide_network_class(flatten_to=192)
    assert verdicts("02.3", {"WideNetwork": wide}) == [False, True, False]


def test_02_3_a_missing_relu_fails_the_forward_check():
    assert verdicts("02.3", {"WideNetwork": wide_network_class(relu_after_fc1=False)}) == [True, True, False]


def test_02_3_the_course_network_unchanged_fails():
    assert verdicts("02.3", {"WideNetwork": Network}) == [True, False, False]


def test_02_checks_leave_the_notebooks_random_numbers_alone():
    """A check cell must not change what the notebook's next random draw is (the judges build layers)."""
    for value in vars(nb02).values():
        if hasattr(value, "cache_clear"):
            value.cache_clear()
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    run_checks("02.3", {"WideNetwork": wide_network_class()})
    run_checks("02.2", {"linear_parameters": lambda i, o: 0, "conv_parameters": lambda i, o, k: 0})
    assert torch.equal(torch.rand(3), expected)
