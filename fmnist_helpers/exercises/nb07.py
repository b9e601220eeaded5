"""Checks for the exercises of notebook 07 (hyperparameter runs).

Every check calls the student's function on inputs it makes itself (a sweep table, a few small
sets of images, a tiny network whose predictions it knows), and its judge recomputes the expected
answer from the same inputs. Nothing here reads the notebook's own sweep or trusts its numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from itertools import product
from typing import Any

import pandas as pd
import torch
from torch import nn

from .engine import Check, exercise

# -- 07.1 a pivot table ---------------------------------------------------------------------------

SWEEP_LRS, SWEEP_BATCH_SIZES, SWEEP_EPOCHS = (0.03, 0.01, 0.001), (64, 512), 3


@lru_cache(maxsize=1)
def _sweep_table() -> pd.DataFrame:
    """A sweep's ``results.csv`` as the check makes it: 3 learning rates × 2 batch sizes × shuffle,
    3 epochs per run, with seeded accuracies that rise from epoch to epoch."""
    generator = torch.Generator().manual_seed(701)
    rows = []
    grid = product(SWEEP_LRS, SWEEP_BATCH_SIZES, (True, False))
    for run, (lr, batch_size, shuffle) in enumerate(grid, start=1):
        start = 0.5 + 0.3 * float(torch.rand(1, generator=generator))
        for epoch in range(1, SWEEP_EPOCHS + 1):
            accuracy = round(start + 0.04 * epoch + 0.01 * float(torch.rand(1, generator=generator)), 4)
            rows.append({"run": run, "epoch": epoch, "loss": round(2.0 - accuracy, 4),
                         "accuracy": round(accuracy - 0.02, 4), "validation_accuracy": accuracy,
                         "epoch_duration": 1.0, "run_duration": float(epoch), "lr": lr,
                         "batch_size": batch_size, "shuffle": shuffle})
    return pd.DataFrame(rows)


def _expected_pivot() -> dict[tuple[float, int], float]:
    """The mean final-epoch validation accuracy of every (learning rate, batch size) of the table."""
    table = _sweep_table()
    final = table.sort_values(["run", "epoch"]).groupby("run").tail(1)
    means = final.groupby(["lr", "batch_size"])["validation_accuracy"].mean()
    return {(float(lr), int(size)): float(mean) for (lr, size), mean in means.items()}


def _pivot_probe(ns: Mapping[str, Any]) -> dict[str, Any]:
    """``make_pivot`` on the check's table, as plain lists: its index, columns and values."""
    pivot = ns["make_pivot"](_sweep_table().copy())
    return {"index": [float(v) for v in pivot.index], "columns": [int(v) for v in pivot.columns],
            "values": torch.tensor(pivot.to_numpy(dtype=float), dtype=torch.float64)}


def _pivot_shape(data: dict[str, Any]) -> bool:
    return (sorted(data["index"]) == sorted(SWEEP_LRS)
            and sorted(data["columns"]) == sorted(SWEEP_BATCH_SIZES)
            and tuple(data["values"].shape) == (len(SWEEP_LRS), len(SWEEP_BATCH_SIZES)))


def _pivot_values(data: dict[str, Any]) -> bool:
    if not _pivot_shape(data):
        return False
    expected = _expected_pivot()
    return all(abs(float(data["values"][i, j]) - expected[lr, size]) < 1e-9
               for i, lr in enumerate(data["index"]) for j, size in enumerate(data["columns"]))


exercise("07.1", "a pivot table", needs=["make_pivot"], checks=[
    Check("on a sweep table of the check's own, `make_pivot` gives one row per learning rate and "
          "one column per batch size",
          _pivot_probe,
          "Return a DataFrame whose index holds the learning rates and whose columns hold the batch "
          "sizes of the table it is given (pandas' pivot tables take an index and columns).",
          judge=_pivot_shape),
    Check("each cell is the mean final-epoch validation accuracy of that learning rate and batch "
          "size, over the shuffled and the fixed-order run",
          _pivot_probe,
          "Keep only each run's last epoch before averaging (earlier epochs are not the result of "
          "a run), and average the validation accuracy over the runs that share a learning rate "
          "and a batch size.",
          judge=_pivot_values, points=2),
])


# -- 07.2 shuffled or fixed order, over several epochs ---------------------------------------------

ORDER_COUNT, ORDER_EPOCHS = 60, 4


def _orders(ns: Mapping[str, Any], seed: int, shuffle: bool) -> list[torch.Tensor]:
    """``epoch_orders`` for the check's small set, one index tensor per epoch."""
    orders = ns["epoch_orders"](ORDER_COUNT, ORDER_EPOCHS, seed, shuffle)
    return [torch.as_tensor(order).clone() for order in orders]


def _both_orders(ns: Mapping[str, Any]) -> dict[str, list[torch.Tensor]]:
    return {"shuffled": _orders(ns, 5, True), "fixed": _orders(ns, 5, False)}


def _is_permutation(order: torch.Tensor) -> bool:
    return (order.dtype in (torch.int32, torch.int64) and order.dim() == 1
            and torch.equal(order.sort().values, torch.arange(ORDER_COUNT, dtype=order.dtype)))


def _every_epoch_a_permutation(data: dict[str, list[torch.Tensor]]) -> bool:
    return all(len(orders) == ORDER_EPOCHS and all(_is_permutation(o) for o in orders)
               for orders in data.values())


def _fixed_repeats_a_random_order(data: dict[str, list[torch.Tensor]]) -> bool:
    first, *later = data["fixed"]
    return (_every_epoch_a_permutation(data) and all(torch.equal(first, o) for o in later)
            and not torch.equal(first, torch.arange(ORDER_COUNT, dtype=first.dtype)))


def _shuffled_changes_every_epoch(data: dict[str, list[torch.Tensor]]) -> bool:
    orders = data["shuffled"]
    return _every_epoch_a_permutation(data) and all(
        not torch.equal(orders[i], orders[j]) for i in range(len(orders)) for j in range(i))


def _orders_by_seed(ns: Mapping[str, Any]) -> dict[str, list[list[torch.Tensor]]]:
    """For each shuffle setting: the orders of seed 3, of seed 3 again, and of seed 4."""
    return {name: [_orders(ns, s, shuffle) for s in (3, 3, 4)]
            for name, shuffle in (("shuffled", True), ("fixed", False))}


def _same_orders(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def _seed_decides(data: dict[str, list[list[torch.Tensor]]]) -> bool:
    return all(_same_orders(first, again) and not _same_orders(first, other)
               for first, again, other in data.values())


exercise("07.2", "is the shuffle difference real?", needs=["epoch_orders"], checks=[
    Check("every epoch visits each image exactly once", _both_orders,
          "Return a list with one order per epoch; each order holds every index from 0 to "
          "count - 1 once (a permutation), as an integer tensor.",
          judge=_every_epoch_a_permutation),
    Check("without shuffling, every epoch repeats one order, and that order is a random one",
          _both_orders,
          "With shuffle=False, draw one random permutation (the run's fixed order) and use it for "
          "every epoch. Counting 0, 1, 2, ... is not the run's own order: every seed would share "
          "it.",
          judge=_fixed_repeats_a_random_order, points=2),
    Check("with shuffling, every epoch gets a new order", _both_orders,
          "With shuffle=True, draw a fresh permutation for each epoch, from the same random "
          "number generator.",
          judge=_shuffled_changes_every_epoch, points=2),
    Check("the seed decides the orders: the same seed gives the same orders, another seed others",
          _orders_by_seed,
          "Draw from a random number generator of your own, made inside the function and seeded "
          "with the run's seed (torch's Generator class), not from the global random state.",
          judge=_seed_decides),
])


# -- 07.3 sorted data ---------------------------------------------------------------------------------

SORT_COUNT = 60


@lru_cache(maxsize=1)
def _unsorted_set() -> tuple[torch.Tensor, torch.Tensor]:
    """The check's own small training set: random images, labels in random order."""
    generator = torch.Generator().manual_seed(703)
    images = torch.rand(SORT_COUNT, 1, 28, 28, generator=generator)
    labels = torch.randint(0, 10, (SORT_COUNT,), generator=generator)
    return images, labels


def _sort_probe(ns: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    images, labels = _unsorted_set()
    out_images, out_labels = ns["sort_by_label"](images.clone(), labels.clone())
    return {"images": torch.as_tensor(out_images).clone(), "labels": torch.as_tensor(out_labels).clone()}


def _source_rows(out_images: torch.Tensor) -> list[int] | None:
    """Which row of the check's set each returned image is (None if one is not from the set)."""
    images, _ = _unsorted_set()
    where = {images[i].numpy().tobytes(): i for i in range(SORT_COUNT)}
    rows = [where.get(image.numpy().tobytes()) for image in out_images]
    return None if None in rows else rows


def _pairs_kept(data: dict[str, torch.Tensor]) -> bool:
    images, labels = _unsorted_set()
    out_images, out_labels = data["images"], data["labels"]
    if out_images.shape != images.shape or out_labels.shape != labels.shape:
        return False
    rows = _source_rows(out_images.to(images.dtype))
    return (rows is not None and sorted(rows) == list(range(SORT_COUNT))
            and out_labels.tolist() == labels[rows].tolist())


def _labels_ascending(data: dict[str, torch.Tensor]) -> bool:
    out_labels = data["labels"]
    return (out_labels.shape == (SORT_COUNT,) and bool((out_labels[1:] >= out_labels[:-1]).all())
            and sorted(out_labels.tolist()) == sorted(_unsorted_set()[1].tolist()))


# Each scene: the class the tiny network predicts for every image, batch by batch. The first
# batch alone holds fewer classes than all of them, and the labels hold more classes than both.
CLASS_SCENES = ([[2, 2, 5], [5, 7, 2], [9, 9, 2]], [[4, 4, 4], [4, 4, 4]])


def _scene(predicted: list[list[int]]) -> tuple[nn.Module, list[tuple[torch.Tensor, torch.Tensor]]]:
    """A linear network that predicts class c for an image whose only lit pixel is pixel c, and
    batches of such images that make it predict ``predicted``; the labels hold more classes."""
    network = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
    with torch.no_grad():
        network[1].weight.zero_()
        network[1].bias.zero_()
        network[1].weight[torch.arange(10), torch.arange(10)] = 1.0
    batches = []
    for offset, classes in enumerate(predicted):
        images = torch.zeros(len(classes), 1, 28, 28)
        images.view(len(classes), -1)[torch.arange(len(classes)), torch.tensor(classes)] = 1.0
        labels = (torch.arange(len(classes)) * 3 + offset) % 10
        batches.append((images, labels))
    return network, batches


def _count_probe(ns: Mapping[str, Any]) -> list[Any]:
    counts = []
    for predicted in CLASS_SCENES:
        network, batches = _scene(predicted)
        count = ns["count_classes"](network, batches)
        counts.append(count.item() if isinstance(count, torch.Tensor) else count)
    return counts


def _counts_right(data: list[Any]) -> bool:
    expected = [len({c for batch in scene for c in batch}) for scene in CLASS_SCENES]
    return (len(data) == len(expected) and all(isinstance(c, int) and not isinstance(c, bool)
                                               for c in data) and data == expected)


exercise("07.3", "sorted data", needs=["sort_by_label", "count_classes"], checks=[
    Check("`sort_by_label` keeps every image with its own label", _sort_probe,
          "Reorder the images and the labels with one and the same order of indices, so that no "
          "image is separated from its label and none is lost or repeated.",
          judge=_pairs_kept),
    Check("`sort_by_label` puts the labels in increasing order", _sort_probe,
          "The order of indices should sort the labels from class 0 up to class 9 (look for a "
          "torch function that returns the indices that would sort a tensor).",
          judge=_labels_ascending, points=2),
    Check("`count_classes` counts the different classes a network predicts over all the batches",
          _count_probe,
          "Count the predicted classes (the network's highest output per image), not the labels, "
          "over every batch, and return a Python int.",
          judge=_counts_right, points=2),
])
