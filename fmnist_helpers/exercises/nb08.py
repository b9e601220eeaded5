"""Checks for the exercises of notebook 08 (data loading speed).

Timings depend on the machine and its load, so the checks test what was measured (every
configuration, positive times) and properties that hold on any machine: a random augmentation
differs between two fetches of the same item, an augmented item costs more than a plain one, a
worker started once is not started again, a random flip is a flip.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import torch

from .engine import Check, exercise


def _positive_seconds(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


def _random_augmentation(ns: Mapping[str, Any]) -> bool:
    dataset = ns["augmented_set"]
    first, second = dataset[0][0], dataset[0][0]
    return (isinstance(first, torch.Tensor) and tuple(first.shape) == (1, 28, 28)
            and not torch.equal(first, second))


def _augmentation_costs_more(ns: Mapping[str, Any]) -> bool:
    return _positive_seconds(ns["augmented_us"]) and ns["augmented_us"] > ns["per_item_s"] * 1e6


def _augmented_timings(ns: Mapping[str, Any]) -> bool:
    timings = ns["augmented_seconds"]
    return set(timings) == {0, 1, 2} and all(_positive_seconds(s) for s in timings.values())


exercise("08.1", "expensive data work", needs=["augmented_set", "augmented_us", "augmented_seconds"],
         checks=[
    Check("`augmented_set` gives a 1×28×28 tensor that changes each time the same item is fetched",
          _random_augmentation,
          "Give `load_fashion_mnist` a `transform=` that applies the random transforms first and "
          "`ToTensor()` last, with `p=1.0` so that every item is distorted."),
    Check("an augmented item takes longer to make than a plain `ToTensor()` item", _augmentation_costs_more,
          "Time many items of `augmented_set` (a loop over `augmented_set[i]`) and store the mean "
          "time per item in microseconds in `augmented_us`."),
    Check("training on the augmented set was timed with 0, 1 and 2 workers", _augmented_timings,
          "Make `augmented_seconds` a dict {workers: seconds} for 0, 1 and 2 workers, with "
          "`time_training(per_item_loader(batch_size, workers, augmented_set))`."),
])


def _thread_grid(ns: Mapping[str, Any]) -> bool:
    expected = {(threads, workers) for threads in {1, os.cpu_count() or 1} for workers in (0, 2)}
    return set(ns["thread_timings"]) == expected


def _thread_seconds(ns: Mapping[str, Any]) -> bool:
    timings = ns["thread_timings"]
    return bool(timings) and all(_positive_seconds(s) for s in timings.values())


exercise("08.2", "threads against workers", needs=["thread_timings"], checks=[
    Check("timed with one thread and with one thread per core, each with 0 and 2 workers",
          _thread_grid,
          "Key `thread_timings` by (threads, workers): threads 1 and `os.cpu_count()` (set with "
          "`torch.set_num_threads`), workers 0 and 2."),
    Check("every measurement is a positive number of seconds", _thread_seconds,
          "Store what `time_training(...)` returns (seconds) for every combination."),
])


def _short_epochs_measured(ns: Mapping[str, Any]) -> bool:
    seconds = ns["epoch_seconds"]
    return (set(seconds) == {False, True}
            and all(len(v) == 3 and all(_positive_seconds(s) for s in v) for v in seconds.values()))


def _persistent_start_once(ns: Mapping[str, Any]) -> bool:
    first, *later = ns["epoch_seconds"][True]
    return bool(later) and min(later) < first


exercise("08.3", "start-up every epoch", needs=["epoch_seconds"], checks=[
    Check("three short epochs timed with and without persistent workers", _short_epochs_measured,
          "`time_short_epochs` should return a list with the seconds of each epoch: start the clock "
          "before each epoch's loop over `itertools.islice(loader, exercise_batches)`."),
    Check("with persistent workers, a later epoch is faster than the first (no new start-up)",
          _persistent_start_once,
          "Make one `DataLoader` with `num_workers=2` and `persistent_workers=persistent` before the "
          "epochs, and iterate over that same loader in every epoch."),
])


def _flip_shape(ns: Mapping[str, Any]) -> bool:
    batch = torch.rand(8, 1, 28, 28)
    out = ns["flip_half"](batch)
    return isinstance(out, torch.Tensor) and out.shape == batch.shape


def _flipped_or_kept(ns: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Which images of a random batch ``flip_half`` flipped, twice; None if one was changed otherwise."""
    batch = torch.rand(1000, 1, 28, 28)  # random images: none equals its own mirror image
    masks = []
    for _ in range(2):
        out = ns["flip_half"](batch)
        kept = (out == batch).flatten(1).all(dim=1)
        flipped = (out == batch.flip(-1)).flatten(1).all(dim=1)
        if not bool((kept | flipped).all()):
            return None
        masks.append(flipped)
    return masks[0], masks[1]


def _each_flipped_or_kept(ns: Mapping[str, Any]) -> bool:
    return _flipped_or_kept(ns) is not None


def _about_half(ns: Mapping[str, Any]) -> bool:
    masks = _flipped_or_kept(ns)
    return masks is not None and all(0.4 <= float(m.float().mean()) <= 0.6 for m in masks)


def _new_draw_each_call(ns: Mapping[str, Any]) -> bool:
    masks = _flipped_or_kept(ns)
    return masks is not None and not torch.equal(masks[0], masks[1])


exercise("08.4", "augmentation on the in-memory path", needs=["flip_half"], checks=[
    Check("`flip_half` returns a batch of the same shape", _flip_shape,
          "Return a tensor shaped like the batch you were given: [N, 1, 28, 28]."),
    Check("every image comes back unchanged or mirrored left to right", _each_flipped_or_kept,
          "Flip along the last dimension (the width): `images_batch.flip(-1)`, and choose per image "
          "between the flipped and the original one."),
    Check("about half of the images are flipped", _about_half,
          "Draw one random number per image (`torch.rand(len(images_batch))`) and flip where it is "
          "below 0.5."),
    Check("each call flips a new random half", _new_draw_each_call,
          "Draw the random choice inside `flip_half`, every time it is called."),
])
