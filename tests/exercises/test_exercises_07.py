"""Notebook 07's exercise checks on answers written here: right answers written differently from the
notebook's solutions pass every check; plausible wrong ones (a common mistake, a hard-coded result)
fail the checks named in each test. No exercise of 07 chooses anything on data, so none can use the
test set where validation is asked."""

from __future__ import annotations

import pandas as pd
import torch
from exercise_answers import passes_all, verdicts

# --- 07.1 a pivot table --------------------------------------------------------------------------


def pivot_by_groupby(table: pd.DataFrame) -> pd.DataFrame:
    """Each run's last row, then a groupby and unstack instead of pivot_table."""
    final = table.sort_values(["run", "epoch"]).groupby("run").tail(1)
    return final.groupby(["lr", "batch_size"])["validation_accuracy"].mean().unstack("batch_size")


def pivot_of_every_epoch(table: pd.DataFrame) -> pd.DataFrame:
    """The common mistake: averaging every epoch, not only each run's last."""
    return table.pivot_table(index="lr", columns="batch_size", values="validation_accuracy")


def pivot_transposed(table: pd.DataFrame) -> pd.DataFrame:
    """Batch sizes as rows and learning rates as columns."""
    return pivot_by_groupby(table).T


def pivot_typed_in(table: pd.DataFrame) -> pd.DataFrame:
    """The notebook's committed pivot, typed in, whatever the table."""
    return pd.DataFrame({100: [0.8094, 0.8426], 1000: [0.7136, 0.7872]}, index=[0.001, 0.01])


def test_07_1_a_groupby_pivot_passes():
    assert passes_all("07.1", {"make_pivot": pivot_by_groupby})


def test_07_1_averaging_every_epoch_fails_the_values():
    assert verdicts("07.1", {"make_pivot": pivot_of_every_epoch}) == [True, False]


def test_07_1_rows_and_columns_swapped_fail():
    assert verdicts("07.1", {"make_pivot": pivot_transposed}) == [False, False]


def test_07_1_the_instructors_pivot_typed_in_fails():
    assert verdicts("07.1", {"make_pivot": pivot_typed_in}) == [False, False]


# --- 07.2 epoch orders ---------------------------------------------------------------------------


def orders_by_argsort(count: int, epochs: int, seed: int, shuffle: bool) -> list[torch.Tensor]:
    """Random keys sorted, from a generator of its own; the fixed order cloned for every epoch."""
    generator = torch.Generator()
    generator.manual_seed(seed)

    def draw() -> torch.Tensor:
        return torch.argsort(torch.rand(count, generator=generator))

    fixed = draw()
    return [draw() if shuffle and epoch > 0 else fixed.clone() for epoch in range(epochs)]


def orders_in_file_order(count: int, epochs: int, seed: int, shuffle: bool) -> list[torch.Tensor]:
    """The mistake of issue 18: without shuffling, every seed reads the data as stored."""
    generator = torch.Generator().manual_seed(seed)
    if shuffle:
        return [torch.randperm(count, generator=generator) for _ in range(epochs)]
    return [torch.arange(count)] * epochs


def orders_drawn_once(count: int, epochs: int, seed: int, shuffle: bool) -> list[torch.Tensor]:
    """One random order for every epoch, whatever `shuffle` says."""
    return [torch.randperm(count, generator=torch.Generator().manual_seed(seed))] * epochs


def orders_unseeded(count: int, epochs: int, seed: int, shuffle: bool) -> list[torch.Tensor]:
    """The global random state: orders that do not follow the seed."""
    if shuffle:
        return [torch.randperm(count) for _ in range(epochs)]
    return [torch.randperm(count)] * epochs


def orders_typed_in(count: int, epochs: int, seed: int, shuffle: bool) -> list[torch.Tensor]:
    """A hard-coded order that changes every epoch, the same for every seed."""
    return [torch.arange(count).roll(epoch if shuffle else 1) for epoch in range(1, epochs + 1)]


def test_07_2_orders_from_sorted_random_keys_pass():
    assert passes_all("07.2", {"epoch_orders": orders_by_argsort})


def test_07_2_the_stored_order_without_shuffling_fails():
    assert verdicts("07.2", {"epoch_orders": orders_in_file_order}) == [True, False, True, False]


def test_07_2_ignoring_shuffle_fails():
    assert verdicts("07.2", {"epoch_orders": orders_drawn_once}) == [True, True, False, True]


def test_07_2_orders_that_ignore_the_seed_fail():
    assert verdicts("07.2", {"epoch_orders": orders_unseeded}) == [True, True, True, False]


def test_07_2_hard_coded_orders_fail():
    assert verdicts("07.2", {"epoch_orders": orders_typed_in}) == [True, True, True, False]


# --- 07.3 sorted data ----------------------------------------------------------------------------


def sort_by_stable_sort(images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`Tensor.sort` gives the sorted labels and the order at once."""
    sorted_labels, order = labels.sort(stable=True)
    return images[order], sorted_labels


def count_by_loop(network: torch.nn.Module, batches) -> int:
    """A set of predicted classes, filled batch by batch without get_all_preds."""
    seen: set[int] = set()
    with torch.no_grad():
        for images, _ in batches:
            seen.update(network(images).argmax(dim=1).tolist())
    return len(seen)


SORTED = {"sort_by_label": sort_by_stable_sort, "count_classes": count_by_loop}


def test_07_3_a_sort_and_a_loop_pass():
    assert passes_all("07.3", SORTED)


def test_07_3_sorting_only_the_labels_fails():
    labels_only = {**SORTED, "sort_by_label": lambda images, labels: (images, labels.sort().values)}
    assert verdicts("07.3", labels_only) == [False, True, True]


def test_07_3_sorting_by_class_descending_fails():
    descending = {**SORTED, "sort_by_label": lambda images, labels: (
        images[labels.argsort(descending=True)], labels[labels.argsort(descending=True)])}
    assert verdicts("07.3", descending) == [True, False, True]


def test_07_3_counting_the_labels_fails():
    def count_labels(network, batches):
        return torch.cat([labels for _, labels in batches]).unique().numel()

    assert verdicts("07.3", {**SORTED, "count_classes": count_labels}) == [True, True, False]


def test_07_3_counting_the_first_batch_or_the_wrong_dimension_fails():
    def first_batch(network, batches):
        images, _ = next(iter(batches))
        return network(images).argmax(dim=1).unique().numel()

    def wrong_dimension(network, batches):
        return len({int(i) for images, _ in batches for i in network(images).argmax(dim=0)})

    assert verdicts("07.3", {**SORTED, "count_classes": first_batch}) == [True, True, False]
    assert verdicts("07.3", {**SORTED, "count_classes": wrong_dimension}) == [True, True, False]


def test_07_3_the_instructors_count_typed_in_fails():
    assert verdicts("07.3", {**SORTED, "count_classes": lambda network, batches: 1}) == [True, True, False]
