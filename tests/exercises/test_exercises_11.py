"""The checks of notebook 11's exercises on answers written here: right ones written differently
from the notebook's solutions (every check passes) and plausible wrong ones (the checks they break
fail, the others pass), each judged in the kernel and through the grader's serialized split."""

from __future__ import annotations

import math

import pytest
import torch
from exercise_answers import passes_all, verdicts
from torchvision import transforms

from fmnist_helpers.exercises.nb11 import GRAY, StreamedBatches

# --- 11.1 · two passes ---------------------------------------------------------------------------


def two_passes_with_tensors(loader):
    """Float64 tensors as accumulators; ``torch.sum`` and ``Tensor.pow``."""
    total, count = torch.zeros((), dtype=torch.float64), 0
    for images, _ in loader:
        total += torch.sum(images, dtype=torch.float64)
        count += images.numel()
    mean = total / count
    squares = torch.zeros((), dtype=torch.float64)
    for images, _ in loader:
        squares += (images.double() - mean).pow(2).sum()
    return mean.item(), math.sqrt(squares.item() / (count - 1))


def divided_by_n(loader):
    mean, std = two_passes_with_tensors(loader)
    count = sum(images.numel() for images, _ in loader)  # a third pass, to undo the n - 1
    return mean, std * math.sqrt((count - 1) / count)


def population_std_in_two_passes(loader):
    total = count = 0
    for images, _ in loader:
        total, count = total + images.double().sum().item(), count + images.numel()
    squares = sum(((images.double() - total / count) ** 2).sum().item() for images, _ in loader)
    return total / count, math.sqrt(squares / count)


def averages_of_batch_statistics(loader):
    means, stds = [], []
    for images, _ in loader:
        means.append(images.mean().item())
        stds.append(images.std().item())
    return sum(means) / len(means), sum(stds) / len(stds)


def one_copy_of_everything(loader):
    everything = torch.cat([images for images, _ in loader]).double()
    return everything.mean().item(), everything.std().item()


def test_11_1_tensor_accumulators_pass():
    assert passes_all("11.1", {"two_pass_mean_std": two_passes_with_tensors})


def test_11_1_the_check_data_tells_the_mistakes_apart():
    """The loader's batches differ in size and level, so every shortcut gives other numbers."""
    loader = StreamedBatches(GRAY)
    right, averaged = two_passes_with_tensors(loader), averages_of_batch_statistics(loader)
    assert abs(right[0] - averaged[0]) > 1e-3 and abs(right[1] - averaged[1]) > 1e-3
    assert abs(right[1] - population_std_in_two_passes(loader)[1]) > 1e-4


@pytest.mark.parametrize(("answer", "expected"), [
    (population_std_in_two_passes, [True, False, True]),
    (divided_by_n, [True, False, False]),
    (averages_of_batch_statistics, [False, False, False]),
    (one_copy_of_everything, [True, True, False]),  # a copy of the whole data set, in one pass
    (lambda loader: (0.2860, 0.3530), [False, False, False]),  # the notebook's numbers typed in
])
def test_11_1_wrong_statistics_fail(answer, expected):
    assert verdicts("11.1", {"two_pass_mean_std": answer}) == expected


# --- 11.2 · the fourth combination ---------------------------------------------------------------


def compare_by_comprehension(train, measure, run_seeds):
    accuracy = {(trainset, s): measure(train(trainset, s), trainset, part="validation")
                for trainset in ("unnormalized", "normalized") for s in run_seeds}
    gain = sum(accuracy["normalized", s] for s in run_seeds) - sum(
        accuracy["unnormalized", s] for s in run_seeds)
    return accuracy, gain / len(run_seeds)


def compare_with(part="validation", sign=1, seeds=None, divide_by=None):
    """``compare_by_comprehension`` with one mistake: another part, the gain's sign reversed, the
    notebook's seeds hard-coded, or a fixed number of seeds to divide by."""
    def compare(train, measure, run_seeds):
        run_seeds = seeds or run_seeds
        accuracy = {(trainset, s): measure(train(trainset, s), trainset, part)
                    for trainset in ("unnormalized", "normalized") for s in run_seeds}
        gains = [sign * (accuracy["normalized", s] - accuracy["unnormalized", s]) for s in run_seeds]
        return accuracy, sum(gains) / (divide_by or len(gains))
    return compare


def the_printed_results(train, measure, run_seeds):
    accuracy = {("unnormalized", 0): 0.86, ("unnormalized", 1): 0.838,
                ("normalized", 0): 0.783, ("normalized", 1): 0.8592}
    return accuracy, -0.0279


def test_11_2_a_dict_comprehension_passes():
    assert passes_all("11.2", {"compare_inputs": compare_by_comprehension})


@pytest.mark.parametrize(("answer", "expected"), [
    (compare_with(part="test"), [False, False, False]),  # compared on the test set
    (compare_with(sign=-1), [True, False, True]),
    (compare_with(seeds=(0, 1)), [False, False, True]),
    (compare_with(divide_by=2), [True, False, True]),
    (the_printed_results, [False, False, False]),
])
def test_11_2_wrong_comparisons_fail(answer, expected):
    assert verdicts("11.2", {"compare_inputs": answer}) == expected


# --- 11.3 · more channels ------------------------------------------------------------------------


def stats_channels_first(loader):
    """Each batch reshaped to [channels, values]; plain sums in float64."""
    sums = squares = None
    count = 0
    for images, _ in loader:
        values = images.double().transpose(0, 1).reshape(images.shape[1], -1)
        sums = values.sum(dim=1) if sums is None else sums + values.sum(dim=1)
        squares = (values**2).sum(dim=1) if squares is None else squares + (values**2).sum(dim=1)
        count += values.shape[1]
    mean = sums / count
    return mean, torch.sqrt((squares - count * mean**2) / (count - 1))


def normalizer_by_hand(loader):
    mean, std = stats_channels_first(loader)
    return lambda images: (images - mean.view(-1, 1, 1).float()) / std.view(-1, 1, 1).float()


def whole_tensor_stats(loader):
    everything = torch.cat([images for images, _ in loader]).double()
    return everything.mean().repeat(everything.shape[1]), everything.std().repeat(everything.shape[1])


def population_std(loader):
    mean, std = stats_channels_first(loader)
    count = sum(images.shape[0] * images.shape[2] * images.shape[3] for images, _ in loader)
    return mean, std * math.sqrt((count - 1) / count)


def three_channels_written_in(loader):
    sums, squares, count = torch.zeros(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64), 0
    for images, _ in loader:
        sums += images.double().sum(dim=(0, 2, 3))
        squares += (images.double() ** 2).sum(dim=(0, 2, 3))
        count += images[:, 0].numel()
    mean = sums / count
    return mean, ((squares / count - mean**2) * count / (count - 1)).sqrt()


def normalizer_from(stats):
    def normalizer(loader):
        mean, std = stats(loader)
        return transforms.Normalize(mean.tolist(), std.tolist())
    return normalizer


def printed_values(loader):
    return torch.tensor([0.2863, 0.3568, 0.7137]), torch.tensor([0.354, 0.3988, 0.354])


def test_11_3_channels_first_sums_and_a_hand_written_normalizer_pass():
    assert passes_all("11.3", {"channel_stats": stats_channels_first,
                               "channel_normalizer": normalizer_by_hand})


@pytest.mark.parametrize(("stats", "expected"), [
    (whole_tensor_stats, [False, False, False, False]),
    (population_std, [True, False, False, False]),
    (three_channels_written_in, [True, True, False, True]),
    (printed_values, [False, False, False, False]),  # the notebook's numbers typed in
])
def test_11_3_wrong_statistics_fail(stats, expected):
    answers = {"channel_stats": stats, "channel_normalizer": normalizer_from(stats)}
    assert verdicts("11.3", answers) == expected


def test_11_3_a_normalizer_with_one_mean_for_all_channels_fails():
    def one_mean(loader):
        everything = torch.cat([images for images, _ in loader])
        return transforms.Normalize([everything.mean().item()], [everything.std().item()])

    answers = {"channel_stats": stats_channels_first, "channel_normalizer": one_mean}
    assert verdicts("11.3", answers) == [True, True, True, False]
