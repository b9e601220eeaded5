"""Checks for the exercises of notebook 08 (data loading speed).

Timings depend on the machine and its load, so no check compares seconds. The checks test what the
code does: a random augmentation differs between two fetches of the same item and keeps the
training labels, a thread setting is applied and put back, workers started once are not started
again (counted by a ``worker_init_fn`` the check passes in), a random flip is a flip.
"""

from __future__ import annotations

import functools
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from ..data import load_fashion_mnist
from .engine import Check, exercise, reference_data_root

# -- 08.1 expensive data work ---------------------------------------------------------------------

ITEMS = (0, 7, 123, 4567)


@functools.lru_cache(maxsize=4)
def _training_labels(root: str | None) -> torch.Tensor:
    """The training split's labels, from the judge's own copy of the data."""
    return load_fashion_mnist(train=True, root=root, download=False).targets.clone()


def _items_probe(ns: Mapping[str, Any]) -> dict[str, Any]:
    """Four items of ``augmented_set``: their images and labels."""
    dataset = ns["augmented_set"]
    items = [dataset[i] for i in ITEMS]
    return {"images": [torch.as_tensor(image).clone() for image, _ in items],
            "labels": [int(label) for _, label in items]}


def _items_right(data: dict[str, Any]) -> bool:
    expected = _training_labels(reference_data_root())[list(ITEMS)].tolist()
    return data["labels"] == expected and all(
        image.dtype == torch.float32 and tuple(image.shape) == (1, 28, 28)
        and float(image.min()) >= 0.0 and float(image.max()) <= 1.0 for image in data["images"])


def _fetched_twice(ns: Mapping[str, Any]) -> list[torch.Tensor]:
    dataset = ns["augmented_set"]
    return [torch.as_tensor(dataset[3][0]).clone() for _ in range(2)]


def _differ(data: list[torch.Tensor]) -> bool:
    first, second = data
    return first.shape == second.shape and not torch.equal(first, second)


exercise("08.1", "expensive data work", needs=["augmented_set"], checks=[
    Check("an item of `augmented_set` is a 1×28×28 float tensor in [0, 1] with its training label",
          _items_probe,
          "Compose the random transforms first and the conversion to a tensor last, and build the "
          "set on the training split, so that item i is training image i with its own label.",
          judge=_items_right),
    Check("fetching the same item twice gives two different images: a new distortion each time",
          _fetched_twice,
          "Use random transforms that always apply (where a transform has a probability p, set it "
          "to 1), so that every fetch of an item draws a new distortion.",
          judge=_differ, points=2),
])


# -- 08.2 threads against workers -----------------------------------------------------------------

class _ProbeError(Exception):
    """Raised by the check's own work, to see whether the thread setting survives an error."""


def _fail() -> None:
    raise _ProbeError("the check's work failed on purpose")


def _threads_during(ns: Mapping[str, Any]) -> list[Any]:
    """What ``torch.get_num_threads()`` says inside the work, for 1, 2 and 3 threads."""
    before = torch.get_num_threads()
    try:
        return [ns["with_threads"](threads, torch.get_num_threads) for threads in (1, 2, 3)]
    finally:
        torch.set_num_threads(before)


def _threads_after(ns: Mapping[str, Any], work: Callable[[], Any]) -> dict[str, Any]:
    """The setting before and after ``with_threads(1, work)``, from a setting no default gives,
    and whether an error in ``work`` came out of ``with_threads``."""
    saved = torch.get_num_threads()
    before = (os.cpu_count() or 1) + 2
    torch.set_num_threads(before)
    raised = False
    try:
        ns["with_threads"](1, work)
    except _ProbeError:
        raised = True
    finally:
        after = torch.get_num_threads()
        torch.set_num_threads(saved)
    return {"before": before, "after": after, "raised": raised}


def _threads_asked(data: list[Any]) -> bool:
    return data == [1, 2, 3]


def _restored(data: dict[str, Any]) -> bool:
    return data["after"] == data["before"] and not data["raised"]


def _restored_after_error(data: dict[str, Any]) -> bool:
    return data["after"] == data["before"] and data["raised"]


exercise("08.2", "threads against workers", needs=["with_threads"], checks=[
    Check("`with_threads` runs the work with the number of threads asked for and returns its result",
          _threads_during,
          "Change torch's thread setting (torch.set_num_threads has a documentation page) before "
          "calling the work, and give back whatever the work returned.",
          judge=_threads_asked, points=2),
    Check("afterwards the thread setting is the one from before the call",
          lambda ns: _threads_after(ns, lambda: None),
          "Read the setting as it was before you change it, and set it back once the work is done: "
          "the rest of the notebook expects its own setting.",
          judge=_restored),
    Check("when the work raises, the setting is still put back and the error still comes out",
          lambda ns: _threads_after(ns, _fail),
          "Put the setting back in the finally part of a try statement, which runs whether the "
          "work raised or not, and do not catch the work's error.",
          judge=_restored_after_error),
])


# -- 08.3 start-up every epoch ------------------------------------------------------------------------

def _note_worker_start(folder: str, worker_id: int) -> None:
    """A ``worker_init_fn``: leave a file for every worker process that starts."""
    Path(folder, f"{worker_id}-{os.getpid()}-{os.urandom(4).hex()}").touch()


def _worker_starts(ns: Mapping[str, Any], persistent: bool, epochs: int) -> dict[str, Any]:
    """Call ``time_short_epochs`` with a ``worker_init_fn`` that counts worker starts; return the
    started workers' ids (sorted) and what the function returned."""
    folder = tempfile.mkdtemp(prefix="fmnist-workers-")
    try:
        seconds = ns["time_short_epochs"](persistent, epochs=epochs,
                                          worker_init_fn=functools.partial(_note_worker_start, folder))
        starts = sorted(int(path.name.split("-")[0]) for path in Path(folder).iterdir())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"starts": starts, "seconds": _plain_numbers(seconds)}


def _plain_numbers(values: Any) -> list[Any]:
    """``values`` as a list of floats where they are numbers (anything else as its text)."""
    try:
        items = list(values)
    except TypeError:
        return [str(values)]
    return [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)
            for v in items]


def _starts_every_epoch(data: dict[str, Any]) -> bool:
    return data["starts"] == [0, 0, 1, 1]  # two epochs, two workers each


def _starts_once(data: dict[str, Any]) -> bool:
    return data["starts"] == [0, 1]  # three epochs, the same two workers


def _one_time_per_epoch(data: dict[str, Any]) -> bool:
    seconds = data["seconds"]
    return len(seconds) == 2 and all(isinstance(s, float) and math.isfinite(s) and s > 0
                                     for s in seconds)


exercise("08.3", "start-up every epoch", needs=["time_short_epochs"], checks=[
    Check("without persistent workers, each of 2 epochs starts the two workers again "
          "(counted with the check's own worker_init_fn)",
          lambda ns: _worker_starts(ns, False, 2),
          "Make a DataLoader with two workers, pass the function's worker_init_fn on to it, and "
          "loop over it once per epoch.",
          judge=_starts_every_epoch),
    Check("with persistent workers, the two workers start once for all 3 epochs",
          lambda ns: _worker_starts(ns, True, 3),
          "Make the loader once, before the epochs, with persistent workers switched on, and loop "
          "over that same loader in every epoch: a new loader starts new workers.",
          judge=_starts_once, points=2),
    Check("it returns one positive number of seconds per epoch",
          lambda ns: _worker_starts(ns, True, 2),
          "Start the clock before each epoch's loop and stop it after; return a list with one "
          "number of seconds per epoch.",
          judge=_one_time_per_epoch),
])


# -- 08.4 augmentation on the in-memory path ---------------------------------------------------------

FLIP_IMAGES = 400


@functools.lru_cache(maxsize=1)
def _flip_input() -> torch.Tensor:
    """The check's batch: random images, none equal to its own mirror image."""
    return torch.rand(FLIP_IMAGES, 1, 28, 28, generator=torch.Generator().manual_seed(804))


def _flip_shape_probe(ns: Mapping[str, Any]) -> list[Any]:
    out = ns["flip_half"](_flip_input().clone())
    return list(out.shape) if isinstance(out, torch.Tensor) else [type(out).__name__]


def _two_calls(ns: Mapping[str, Any]) -> list[torch.Tensor]:
    return [torch.as_tensor(ns["flip_half"](_flip_input().clone())).clone() for _ in range(2)]


def _same_shape(data: list[Any]) -> bool:
    return data == list(_flip_input().shape)


def _flip_masks(data: list[torch.Tensor]) -> list[torch.Tensor] | None:
    """Which images each call flipped; None if an image came back other than kept or mirrored."""
    batch = _flip_input()
    masks = []
    for out in data:
        if out.shape != batch.shape:
            return None
        kept = (out == batch).flatten(1).all(dim=1)
        flipped = (out == batch.flip(-1)).flatten(1).all(dim=1)
        if not bool((kept | flipped).all()):
            return None
        masks.append(flipped)
    return masks


def _each_flipped_or_kept(data: list[torch.Tensor]) -> bool:
    return _flip_masks(data) is not None


def _about_half(data: list[torch.Tensor]) -> bool:
    masks = _flip_masks(data)  # 0.35 to 0.65: six standard deviations of a fair draw of 400
    return masks is not None and all(0.35 <= float(m.float().mean()) <= 0.65 for m in masks)


def _new_draw_each_call(data: list[torch.Tensor]) -> bool:
    masks = _flip_masks(data)
    return masks is not None and not torch.equal(masks[0], masks[1])


exercise("08.4", "augmentation on the in-memory path", needs=["flip_half"], checks=[
    Check("`flip_half` returns a batch of the same shape", _flip_shape_probe,
          "Return one tensor shaped like the batch you were given, [N, 1, 28, 28]: a whole batch "
          "in, a whole batch out.",
          judge=_same_shape),
    Check("every image comes back unchanged or mirrored left to right", _two_calls,
          "Mirroring left to right reverses the width, the last of the four dimensions (see the "
          "documentation of Tensor.flip); each image must come back exactly as it was or exactly "
          "mirrored, nothing in between.",
          judge=_each_flipped_or_kept, points=2),
    Check("about half of the images are flipped", _two_calls,
          "Make one random yes-or-no choice per image, each yes with probability one half, and "
          "mirror only the images where the choice is yes.",
          judge=_about_half),
    Check("each call flips a new random half", _two_calls,
          "Draw the random choices inside the function, on every call, not once outside it.",
          judge=_new_draw_each_call),
])
