"""The checks of notebook 09's exercises on answers written here: right ones written differently
from the notebook's solutions (every check passes) and plausible wrong ones (the checks they break
fail, the others pass), each judged in the kernel and through the grader's serialized split."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
import torch
from exercise_answers import passes_all, verdicts

# --- 09.1 · a helper for any batch ---------------------------------------------------------------


def to_device_by_kind(batch, on):
    """Each kind of container spelled out, ``Mapping`` for dicts, ``device=`` by keyword."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device=on)
    if isinstance(batch, Mapping):
        return {key: to_device_by_kind(value, on) for key, value in batch.items()}
    if isinstance(batch, tuple):
        return tuple(to_device_by_kind(value, on) for value in batch)
    if isinstance(batch, list):
        return [to_device_by_kind(value, on) for value in batch]
    return batch


def tuples_become_lists(batch, on):
    if isinstance(batch, torch.Tensor):
        return batch.to(on)
    if isinstance(batch, dict):
        return {key: tuples_become_lists(value, on) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        return [tuples_become_lists(value, on) for value in batch]
    return batch


def top_level_only(batch, on):
    if isinstance(batch, torch.Tensor):
        return batch.to(on)
    if isinstance(batch, dict):
        return {key: value.to(on) if isinstance(value, torch.Tensor) else value
                for key, value in batch.items()}
    return type(batch)(value.to(on) if isinstance(value, torch.Tensor) else value for value in batch)


def result_thrown_away(batch, on):
    if isinstance(batch, torch.Tensor):
        batch.to(on)  # the classic bug: the moved copy is lost
    return batch


def test_09_1_each_kind_spelled_out_passes():
    assert passes_all("09.1", {"to_device": to_device_by_kind})


@pytest.mark.parametrize(("answer", "expected"), [
    (tuples_become_lists, [True, False, False]),
    (top_level_only, [True, True, False]),
    (result_thrown_away, [False, False, False]),
])
def test_09_1_wrong_helpers_fail(answer, expected):
    assert verdicts("09.1", {"to_device": answer}) == expected


# --- 09.2 · find the bug without a GPU -----------------------------------------------------------


def predict_in_one_line(network, batches, on):
    return [network(images.to(on)) for images, _ in batches]


def the_buggy_loop(network, batches, on):
    outputs = []
    for batch_images, _ in batches:
        batch_images.to(on)
        outputs.append(network(batch_images))
    return outputs


def only_the_last_batch(network, batches, on):
    for batch_images, _ in batches:
        preds = network(batch_images.to(on))
    return [preds]


def predicted_classes(network, batches, on):
    return [network(images.to(on)).argmax(dim=1) for images, _ in batches]


def test_09_2_a_list_comprehension_passes():
    assert passes_all("09.2", {"predict_batches": predict_in_one_line})


@pytest.mark.parametrize(("answer", "expected"), [
    (the_buggy_loop, [False, True]),  # on the CPU the bug does not show
    (only_the_last_batch, [False, False]),
    (predicted_classes, [False, False]),
])
def test_09_2_wrong_loops_fail(answer, expected):
    assert verdicts("09.2", {"predict_batches": answer}) == expected


# --- 09.3 · batch size and throughput ------------------------------------------------------------


def synchronize(on):
    if on.type == "cuda":
        torch.cuda.synchronize(on)


def seconds_by_index(model, images, size, on, clock=None):
    """Slices by index, the warm-up on the first slice, inference_mode instead of no_grad."""
    model.eval().to(on)
    with torch.inference_mode():
        model(images[:size].to(on))
        synchronize(on)
        started = clock()
        for first in range(0, len(images), size):
            model(images[first:first + size].to(on))
        synchronize(on)
        stopped = clock()
    return stopped - started


def warm_up_timed_too(model, images, size, on, clock=None):
    model.to(on).eval()
    with torch.no_grad():
        start = clock()
        model(images[:size].to(on))
        for batch in images.split(size):
            model(batch.to(on))
        return clock() - start


def own_clock(model, images, size, on, clock=None):
    import time

    model.to(on).eval()
    with torch.no_grad():
        model(images[:size].to(on))
        start = time.perf_counter()
        for batch in images.split(size):
            model(batch.to(on))
        return time.perf_counter() - start


def train_mode_with_gradients(model, images, size, on, clock=None):
    model.to(on)
    model(images[:size].to(on))
    start = clock()
    for batch in images.split(size):
        model(batch.to(on))
    return clock() - start


def batches_left_behind(model, images, size, on, clock=None):
    model.to(on).eval()
    with torch.no_grad():
        model(images[:size])
        start = clock()
        for batch in images.split(size):
            model(batch)
        return clock() - start


def test_09_3_an_index_loop_with_inference_mode_passes():
    assert passes_all("09.3", {"inference_seconds": seconds_by_index})


@pytest.mark.parametrize(("answer", "expected"), [
    (warm_up_timed_too, [False, False, True]),
    (own_clock, [False, False, True]),
    (train_mode_with_gradients, [True, True, False]),
    (batches_left_behind, [True, False, True]),
    (lambda model, images, size, on, clock=None: 0.179, [False, False, False]),  # the printed time
])
def test_09_3_wrong_timings_fail(answer, expected):
    assert verdicts("09.3", {"inference_seconds": answer}) == expected
