"""Checks for the exercises of notebook 06 (TensorBoard).

Every check gives the student's function a folder or a ``SummaryWriter`` of its own, in a
temporary folder: it writes known scalars for a reader to read back, or hands a writer to a
logging function and reads back with its own ``EventAccumulator`` what arrived. The judges
recompute the expected values from the same seeds. Nothing reads the notebook's runs.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..network import Network
from .engine import Check, exercise
from .probing import seeded

SEED = 0
WEIGHTS = ("conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight", "out.weight")
STEP = 7  # the global step the checks pass: not 0, not 1, not the notebook's
FIGURE_PIXELS = 200  # a drawn figure is at least this wide and high; a 10 x 10 matrix is not


def _accumulator(folder: Path) -> Any:
    """Every event of the run in ``folder`` (nothing sampled away)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    return accumulator


def _logged(write: Callable[[Any], None]) -> Any:
    """The events ``write(writer)`` wrote through a ``SummaryWriter`` on a temporary folder."""
    from torch.utils.tensorboard import SummaryWriter

    with tempfile.TemporaryDirectory() as folder:
        with SummaryWriter(log_dir=folder) as writer:
            write(writer)
        return _accumulator(Path(folder))


# -- exercise 1: reading a run back --------------------------------------------------------------

READS = (("Batch Loss", 10), ("Test Loss", 4))
"""(tag, count) of each question the check asks of the reader."""


@functools.lru_cache
def _scalars() -> dict[str, tuple[float, ...]]:
    """Seeded values for two tags: 30 and 12 events, as float32 (what an event file stores)."""
    generator = torch.Generator().manual_seed(SEED)
    return {"Batch Loss": tuple(torch.rand(30, generator=generator).mul(2).tolist()),
            "Test Loss": tuple(torch.rand(12, generator=generator).tolist())}


def _read_back(ns: Mapping[str, Any]) -> list[float]:
    """What ``mean_of_last`` answers for each of ``READS``, from a run the check wrote."""
    from torch.utils.tensorboard import SummaryWriter

    with tempfile.TemporaryDirectory() as folder:
        with SummaryWriter(log_dir=folder) as writer:
            for tag, values in _scalars().items():
                for step, value in enumerate(values, start=1):
                    writer.add_scalar(tag, value, step)
        return [float(ns["mean_of_last"](Path(folder), tag, count)) for tag, count in READS]


def _mean_matches(data: list[float], index: int) -> bool:
    """Whether the answer to question ``index`` of ``READS`` is the mean of those values."""
    tag, count = READS[index]
    return len(data) == len(READS) and bool(
        np.isclose(data[index], np.mean(_scalars()[tag][-count:]), rtol=1e-5))


exercise(
    "06.1", "Two runs side by side", needs=["mean_of_last"],
    checks=[
        Check("for a run the check wrote, it gives the mean of the last 10 values of Batch Loss",
              _read_back,
              "mean_of_last should read the folder it is given (a run the check wrote, not one of "
              "the notebook's), take the values of the tag's events in the order they were logged, "
              "and average the last ones.",
              judge=lambda data: _mean_matches(data, 0), points=2),
        Check("asked for another tag and count (the last 4 values of Test Loss), it answers for them",
              _read_back,
              "Use the tag and the count the function is given, not the ones of this notebook's "
              "exercise.",
              judge=lambda data: _mean_matches(data, 1)),
    ],
)


# -- exercise 2: a figure in TensorBoard ---------------------------------------------------------

@functools.lru_cache
def _label_sets() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Two seeded sets of 200 labels and predictions, with different mistakes."""
    generator = torch.Generator().manual_seed(SEED)
    sets = []
    for wrong_share in (0.2, 0.6):
        labels = torch.randint(0, 10, (200,), generator=generator)
        predicted = torch.where(torch.rand(200, generator=generator) < wrong_share,
                                torch.randint(0, 10, (200,), generator=generator), labels)
        sets.append((labels.numpy(), predicted.numpy()))
    return tuple(sets)


def _figures(ns: Mapping[str, Any], sets: int) -> list[dict[str, Any]]:
    """For each of the first ``sets`` label sets: the image tags written, and the steps, sizes and
    PNG bytes of the images tagged "confusion matrix" (drawing a figure takes a while: checks that
    need one set ask for one)."""
    found = []
    for labels, predicted in _label_sets()[:sets]:
        accumulator = _logged(lambda writer, labels=labels, predicted=predicted:
                              ns["log_confusion_figure"](writer, labels, predicted, STEP))
        tags = list(accumulator.Tags()["images"])
        events = accumulator.Images("confusion matrix") if "confusion matrix" in tags else []
        found.append({"tags": tags, "steps": [e.step for e in events],
                      "sizes": [(e.width, e.height) for e in events],
                      "png": [torch.frombuffer(bytearray(e.encoded_image_string), dtype=torch.uint8)
                              for e in events]})
    return found


def _one_drawn_figure(found: dict[str, Any]) -> bool:
    return len(found["sizes"]) == 1 and min(found["sizes"][0]) >= FIGURE_PIXELS


exercise(
    "06.2", "A figure in TensorBoard", needs=["log_confusion_figure"],
    checks=[
        Check(f"it writes one image tagged \"confusion matrix\" at the step it is given ({STEP})",
              lambda ns: _figures(ns, sets=1),
              "Write through the writer the function is given, under the tag the exercise names "
              "(spelled exactly so), at the global step it is given.",
              judge=lambda data: [f["steps"] for f in data] == [[STEP]]),
        Check(f"the image is a drawn figure (at least {FIGURE_PIXELS} × {FIGURE_PIXELS} pixels), "
              "not the matrix as pixels",
              lambda ns: _figures(ns, sets=1),
              "Log a matplotlib figure of the confusion matrix (the writer has a method for "
              "figures), not the matrix itself as an image.",
              judge=lambda data: len(data) == 1 and _one_drawn_figure(data[0])),
        Check("the figure shows the labels and predictions it is given: two different sets give "
              "two different pictures",
              lambda ns: _figures(ns, sets=2),
              "The picture should be drawn from the labels and predictions the function is given, "
              "not from the notebook's test set or a saved image.",
              judge=lambda data: len(data) == 2 and all(len(f["png"]) == 1 for f in data)
              and not torch.equal(data[0]["png"][0], data[1]["png"][0])),
    ],
)


# -- exercise 3: gradient norms as scalars -------------------------------------------------------

def _network_with_gradients() -> Network:
    """A seeded network after one backward pass on a seeded batch (global generators untouched)."""
    generator = torch.Generator().manual_seed(SEED)
    images = torch.rand(32, 1, 28, 28, generator=generator)
    labels = torch.randint(0, 10, (32,), generator=generator)
    with seeded(SEED):
        network = Network()
    F.cross_entropy(network(images), labels).backward()
    return network


def _norm_events(ns: Mapping[str, Any]) -> dict[str, list[tuple[int, float]]]:
    """``(step, value)`` of every scalar ``log_grad_norms`` wrote for the check's network, by tag."""
    network = _network_with_gradients()
    accumulator = _logged(lambda writer: ns["log_grad_norms"](writer, network, STEP))
    return {tag: [(e.step, e.value) for e in accumulator.Scalars(tag)]
            for tag in accumulator.Tags()["scalars"]}


@functools.lru_cache
def _expected_norms() -> dict[str, float]:
    network = _network_with_gradients()
    return {f"grad norm/{name}": float(p.grad.norm()) for name, p in network.named_parameters()
            if name in WEIGHTS}


def _norms_match(data: dict[str, list[tuple[int, float]]]) -> bool:
    expected = _expected_norms()
    return all(len(data.get(tag, [])) == 1 and np.isclose(data[tag][0][1], value, rtol=1e-5)
               for tag, value in expected.items())


exercise(
    "06.3", "Gradient norms as scalars", needs=["log_grad_norms"],
    checks=[
        Check("it logs one scalar per weight tensor, tagged grad norm/<name>, and nothing for "
              "the biases",
              _norm_events,
              "One tag per weight tensor, named after the parameter as named_parameters() calls "
              "it, behind the section name the exercise gives; leave out the biases.",
              judge=lambda data: set(data) == set(_expected_norms())),
        Check("each value is the norm of that weight's gradient",
              _norm_events,
              "Log the norm of each weight's gradient (what backward() stored in .grad), not of "
              "the weight itself, and as a plain number.",
              judge=_norms_match, points=2),
        Check("each value is logged at the step the function is given",
              _norm_events,
              "Use the step number the function receives as the global step (the check passes "
              "one of its own), not a counter of your own.",
              judge=lambda data: bool(data) and all([s for s, _ in events] == [STEP]
                                                    for events in data.values())),
    ],
)
