"""Notebook 08's exercise checks on answers written here: right answers written differently from the
notebook's solutions pass every check; plausible wrong ones (a common mistake, a hard-coded result,
the test set where the training set is asked) fail the checks named in each test. No check reads a
clock, so none of these verdicts depends on how busy the machine is."""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from exercise_answers import passes_all, verdicts
from torch.utils.data import DataLoader, TensorDataset
from torchvision import transforms

from fmnist_helpers import load_fashion_mnist

# --- 08.1 expensive data work --------------------------------------------------------------------


def augmented(data_root, transform, train: bool = True) -> dict[str, Any]:
    return {"augmented_set": load_fashion_mnist(train=train, root=data_root, transform=transform)}


TENSOR_FIRST = transforms.Compose([  # the random transforms on the tensor, after ToTensor()
    transforms.ToTensor(),
    transforms.RandomAffine(degrees=20, translate=(0.1, 0.1)),
    transforms.RandomPerspective(distortion_scale=0.4, p=1.0),
])


def test_08_1_random_transforms_after_to_tensor_pass(data_root):
    assert passes_all("08.1", augmented(data_root, TENSOR_FIRST), str(data_root))


def test_08_1_no_augmentation_fails(data_root):
    plain = augmented(data_root, transforms.ToTensor())
    assert verdicts("08.1", plain, str(data_root)) == [True, False]


def test_08_1_the_test_set_fails(data_root):
    assert verdicts("08.1", augmented(data_root, TENSOR_FIRST, train=False), str(data_root)) == [False, True]


def test_08_1_pil_images_without_to_tensor_fail(data_root):
    no_tensor = augmented(data_root, transforms.RandomAffine(degrees=15, translate=(0.1, 0.1)))
    assert verdicts("08.1", no_tensor, str(data_root)) == [False, False]


# --- 08.2 threads against workers ----------------------------------------------------------------


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def with_threads_by_context(threads: int, work: Callable[[], Any]) -> Any:
    with torch_threads(threads):
        return work()


def with_threads_never_restored(threads, work):
    torch.set_num_threads(threads)
    return work()


def with_threads_back_to_one(threads, work):
    """Puts back the notebook's default of one thread instead of the setting it found."""
    torch.set_num_threads(threads)
    try:
        return work()
    finally:
        torch.set_num_threads(1)


def with_threads_not_on_error(threads, work):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    result = work()
    torch.set_num_threads(before)
    return result


def with_threads_hiding_errors(threads, work):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return work()
    except Exception:
        return None
    finally:
        torch.set_num_threads(before)


def with_threads_dropping_the_result(threads, work):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        work()
    finally:
        torch.set_num_threads(before)


def test_08_2_a_context_manager_passes():
    before = torch.get_num_threads()
    assert passes_all("08.2", {"with_threads": with_threads_by_context})
    assert torch.get_num_threads() == before  # the checks leave the setting as they found it


@pytest.mark.parametrize(("answer", "expected"), [
    (with_threads_never_restored, [True, False, False]),
    (with_threads_back_to_one, [True, False, False]),
    (with_threads_not_on_error, [True, True, False]),
    (with_threads_hiding_errors, [True, True, False]),
    (with_threads_dropping_the_result, [False, True, True]),
])
def test_08_2_wrong_answers_fail(answer, expected):
    before = torch.get_num_threads()
    assert verdicts("08.2", {"with_threads": answer}) == expected
    assert torch.get_num_threads() == before


# --- 08.3 start-up every epoch -------------------------------------------------------------------
# The answers use a small set of their own, where the notebook's use train_set and exercise_batches.

SMALL_SET = TensorDataset(torch.rand(120, 1, 28, 28), torch.randint(0, 10, (120,)))
BATCHES = 2


def short_epochs_with_enumerate(persistent, epochs=3, worker_init_fn=None):
    loader = DataLoader(SMALL_SET, batch_size=20, shuffle=True, num_workers=2,
                        persistent_workers=persistent, worker_init_fn=worker_init_fn)
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        for count, _batch in enumerate(loader, start=1):
            if count == BATCHES:
                break
        seconds.append(time.perf_counter() - start)
    return seconds


def short_epochs_new_loader_each_epoch(persistent, epochs=3, worker_init_fn=None):
    seconds = []
    for _ in range(epochs):
        loader = DataLoader(SMALL_SET, batch_size=20, num_workers=2, persistent_workers=persistent,
                            worker_init_fn=worker_init_fn)
        start = time.perf_counter()
        for _batch in itertools.islice(loader, BATCHES):
            pass
        seconds.append(time.perf_counter() - start)
    return seconds


def _seconds_per_short_epoch(loader, epochs):
    """The right timing loop, for wrong answers that differ only in the loader they build."""
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        for _batch in itertools.islice(loader, BATCHES):
            pass
        seconds.append(time.perf_counter() - start)
    return seconds


def short_epochs_without_init(persistent, epochs=3, worker_init_fn=None):
    loader = DataLoader(SMALL_SET, batch_size=20, num_workers=2, persistent_workers=persistent)
    return _seconds_per_short_epoch(loader, epochs)


def short_epochs_one_worker(persistent, epochs=3, worker_init_fn=None):
    loader = DataLoader(SMALL_SET, batch_size=20, num_workers=1, persistent_workers=persistent,
                        worker_init_fn=worker_init_fn)
    return _seconds_per_short_epoch(loader, epochs)


def short_epochs_typed_in(persistent, epochs=3, worker_init_fn=None):
    """The notebook's committed times, typed in."""
    return [0.146, 0.082, 0.087] if persistent else [0.160, 0.183, 0.170]


def test_08_3_an_enumerate_loop_passes():
    assert passes_all("08.3", {"time_short_epochs": short_epochs_with_enumerate})


@pytest.mark.parametrize(("answer", "expected"), [
    (short_epochs_new_loader_each_epoch, [True, False, True]),
    (short_epochs_without_init, [False, False, True]),
    (short_epochs_one_worker, [False, False, True]),
    (short_epochs_typed_in, [False, False, False]),
])
def test_08_3_wrong_answers_fail(answer, expected):
    assert verdicts("08.3", {"time_short_epochs": answer}) == expected


# --- 08.4 augmentation on the in-memory path -----------------------------------------------------


def flip_by_bernoulli(images: torch.Tensor) -> torch.Tensor:
    """A Bernoulli mask and an assignment into a copy."""
    out = images.clone()
    chosen = torch.bernoulli(torch.full((len(images),), 0.5)).bool()
    out[chosen] = images[chosen].flip(3)
    return out


def test_08_4_a_bernoulli_mask_passes():
    assert passes_all("08.4", {"flip_half": flip_by_bernoulli})


def test_08_4_flipping_every_image_fails():
    assert verdicts("08.4", {"flip_half": lambda images: images.flip(-1)}) == [True, True, False, False]


def test_08_4_flipping_upside_down_fails():
    def upside_down(images):
        flip = torch.rand(len(images)) < 0.5
        return torch.where(flip[:, None, None, None], images.flip(-2), images)

    assert verdicts("08.4", {"flip_half": upside_down}) == [True, False, False, False]


def test_08_4_a_mask_per_pixel_fails():
    def per_pixel(images):
        return torch.where(torch.rand_like(images) < 0.5, images.flip(-1), images)

    assert verdicts("08.4", {"flip_half": per_pixel}) == [True, False, False, False]


def test_08_4_one_mask_for_every_call_fails():
    fixed = torch.rand(400, generator=torch.Generator().manual_seed(1)) < 0.5

    def same_half(images):
        return torch.where(fixed[:, None, None, None], images.flip(-1), images)

    assert verdicts("08.4", {"flip_half": same_half}) == [True, True, True, False]
