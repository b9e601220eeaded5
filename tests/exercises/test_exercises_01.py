"""The checks of notebook 01's exercises on answers written here: right ones written differently
from the notebook's solutions (every check passes) and plausible wrong ones (the checks they break
fail, the others pass), each judged in the kernel and through the grader's serialized split."""

from __future__ import annotations

import math
from collections import Counter

import torch
from exercise_answers import passes_all, verdicts
from torch.utils.data import DataLoader

from fmnist_helpers import CLASSES

# --- 01.1 · class counts -------------------------------------------------------------------------


def counted_by_iterating(dataset):
    counts = Counter(label for _, label in dataset)
    return [counts[k] for k in range(len(CLASSES))]


def test_01_1_counting_items_one_by_one_passes():
    answers = {"count_per_class": counted_by_iterating,
               "is_balanced": lambda dataset: min(counted_by_iterating(dataset))
               == max(counted_by_iterating(dataset))}
    assert passes_all("01.1", answers)


def test_01_1_bincount_without_minlength_misses_an_empty_last_class():
    def count_per_class(dataset):
        return dataset.targets.bincount().tolist()

    answers = {"count_per_class": count_per_class,
               "is_balanced": lambda dataset: len(set(count_per_class(dataset))) == 1}
    assert verdicts("01.1", answers) == [False, False]


def test_01_1_counts_in_order_of_appearance_fail():
    def count_per_class(dataset):
        return list(Counter(dataset.targets.tolist()).values())

    answers = {"count_per_class": count_per_class, "is_balanced": lambda dataset: True}
    assert verdicts("01.1", answers) == [False, False]


def test_01_1_the_test_sets_counts_typed_in_fail():
    answers = {"count_per_class": lambda dataset: [1000] * 10, "is_balanced": lambda dataset: True}
    assert verdicts("01.1", answers) == [False, False]


def test_01_1_balance_judged_on_the_size_alone_fails_its_check():
    answers = {"count_per_class": counted_by_iterating, "is_balanced": lambda dataset: len(dataset) % 10 == 0}
    assert verdicts("01.1", answers) == [True, False]


# --- 01.2 · batches ------------------------------------------------------------------------------


def planned_by_a_loader(dataset, batch_size, drop_last=False):
    sizes = [len(batch) for batch in DataLoader(range(len(dataset)), batch_size=batch_size,
                                                drop_last=drop_last)]
    return len(sizes), sizes[-1]


def planned_with_ceil(dataset, batch_size, drop_last=False):
    if drop_last:
        return len(dataset) // batch_size, batch_size
    count = math.ceil(len(dataset) / batch_size)
    return count, len(dataset) - (count - 1) * batch_size


def test_01_2_a_loader_or_ceil_passes():
    assert passes_all("01.2", {"batch_plan": planned_by_a_loader})
    assert passes_all("01.2", {"batch_plan": planned_with_ceil})


def test_01_2_floor_division_and_remainder_fail():
    def batch_plan(dataset, batch_size, drop_last=False):
        return len(dataset) // batch_size, len(dataset) % batch_size

    assert verdicts("01.2", {"batch_plan": batch_plan}) == [False, False, False]


def test_01_2_a_remainder_of_zero_fails_only_the_last_batch_check():
    def batch_plan(dataset, batch_size, drop_last=False):
        full, rest = divmod(len(dataset), batch_size)
        if drop_last:
            return full, batch_size
        return full + (rest > 0), rest

    assert verdicts("01.2", {"batch_plan": batch_plan}) == [True, False, True]


def test_01_2_ignoring_drop_last_fails_its_check():
    def batch_plan(dataset, batch_size, drop_last=False):
        return planned_with_ceil(dataset, batch_size)

    assert verdicts("01.2", {"batch_plan": batch_plan}) == [True, True, False]


def test_01_2_the_instructors_numbers_typed_in_fail():
    def batch_plan(dataset, batch_size, drop_last=False):
        return (937, 64) if drop_last else (938, 32)

    assert verdicts("01.2", {"batch_plan": batch_plan}) == [False, False, False]


# --- 01.3 · the first images of a class ----------------------------------------------------------


def first_by_looping(dataset, label, k=10):
    indices = [i for i, target in enumerate(dataset.targets.tolist()) if target == label][:k]
    return indices, torch.stack([dataset[i][0] for i in indices])


def test_01_3_a_loop_over_the_labels_passes():
    assert passes_all("01.3", {"first_of_class": first_by_looping})


def test_01_3_raw_pixels_fail_the_image_check():
    def first_of_class(dataset, label, k=10):
        indices = torch.where(dataset.targets == label)[0][:k]
        return indices.tolist(), dataset.data[indices]

    assert verdicts("01.3", {"first_of_class": first_of_class}) == [True, False]


def test_01_3_the_last_images_of_the_class_fail():
    def first_of_class(dataset, label, k=10):
        indices = torch.where(dataset.targets == label)[0][-k:].tolist()
        return indices, torch.stack([dataset[i][0] for i in indices])

    assert verdicts("01.3", {"first_of_class": first_of_class}) == [False, False]


def test_01_3_ten_images_whatever_k_fail():
    def first_of_class(dataset, label, k=10):
        return first_by_looping(dataset, label)

    assert verdicts("01.3", {"first_of_class": first_of_class}) == [False, False]


def test_01_3_the_instructors_bag_indices_typed_in_fail():
    def first_of_class(dataset, label, k=10):
        indices = [23, 35, 57, 99, 100, 105, 109, 110, 130, 144][:k]
        return indices, torch.zeros(len(indices), 1, 28, 28)

    assert verdicts("01.3", {"first_of_class": first_of_class}) == [False, False]
