"""Checks for the exercises of notebook 11 (normalization and batch norm).

The statistics exercises are checked on data the check makes: a loader that creates each batch
when it is read (from a seed), so no tensor holds the whole data set and an answer has to read it
batch by batch; its batches differ in size and level, and its channels in mean and spread. The
judges regenerate the same data and compute the expected statistics with PyTorch's own functions.
The training exercise is checked with a ``train`` and a ``measure`` that the check hands over:
they cost nothing, give known accuracies, and record which part of the data was measured.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .engine import Check, exercise

# --- data the checks make -------------------------------------------------------------------------


@dataclass(frozen=True)
class DataSpec:
    """Batches of ``sizes`` images of ``len(means)`` channels of ``side`` x ``side`` values;
    channel ``c`` has mean about ``means[c]`` and spread ``spreads[c]``, and batch ``i`` is
    shifted by ``step * i``."""

    sizes: tuple[int, ...]
    means: tuple[float, ...]
    spreads: tuple[float, ...]
    side: int = 3
    step: float = 0.2
    seed: int = 11

    def batch(self, index: int) -> torch.Tensor:
        """Batch ``index``, the same every time it is made."""
        generator = torch.Generator().manual_seed(self.seed * 1000 + index)
        shape = (self.sizes[index], len(self.means), self.side, self.side)
        noise = torch.randn(shape, generator=generator)
        mean = torch.tensor(self.means).view(1, -1, 1, 1)
        spread = torch.tensor(self.spreads).view(1, -1, 1, 1)
        return mean + self.step * index + spread * noise

    def everything(self) -> torch.Tensor:
        """All batches as one tensor (for the judges: never handed to an answer)."""
        return torch.cat([self.batch(i) for i in range(len(self.sizes))])


class StreamedBatches:
    """``(images, labels)`` batches made as they are read; ``passes`` counts the batches read in
    each pass over it."""

    def __init__(self, spec: DataSpec) -> None:
        self._spec = spec
        self.passes: list[int] = []

    def __len__(self) -> int:
        return len(self._spec.sizes)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        self.passes.append(0)
        for index, size in enumerate(self._spec.sizes):
            self.passes[-1] += 1
            yield self._spec.batch(index), torch.zeros(size, dtype=torch.long)


GRAY = DataSpec(sizes=(8, 8, 8, 5), means=(0.3,), spreads=(0.35,))
COLOR = DataSpec(sizes=(6, 6, 6, 3), means=(0.2, 0.5, 0.8), spreads=(0.05, 0.3, 0.15), side=4)
TWO_CHANNELS = DataSpec(sizes=(5, 4), means=(-1.0, 2.0), spreads=(0.5, 0.1), side=2, seed=12)


def _close(value: Any, expected: torch.Tensor, tolerance: float = 1e-5) -> bool:
    """Whether ``value`` (a number, a list or a tensor) has ``expected``'s shape and values."""
    value = torch.as_tensor(value, dtype=torch.float64)
    return value.shape == expected.shape and torch.allclose(value, expected.double(), rtol=0,
                                                            atol=tolerance)


def _per_channel(data: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each channel's mean and sample standard deviation, over images, rows and columns."""
    data = data.double()
    return data.mean(dim=(0, 2, 3)), data.std(dim=(0, 2, 3))


# --- 11.1 two passes ------------------------------------------------------------------------------

def _two_pass_probe(ns: Mapping[str, Any]) -> dict[str, Any]:
    loader = StreamedBatches(GRAY)
    mean, std = ns["two_pass_mean_std"](loader)
    return {"mean": float(mean), "std": float(std), "passes": loader.passes}


def _gray_statistic(name: str) -> torch.Tensor:
    data = GRAY.everything().double()
    return data.mean() if name == "mean" else data.std()


exercise("11.1", "two passes", needs=["two_pass_mean_std"], checks=[
    Check("the mean of every value of a loader the check makes, batch by batch (its batches "
          "differ in size and level)",
          _two_pass_probe, judge=lambda data: _close(data["mean"], _gray_statistic("mean")),
          hint="the mean of the data set is the sum of all its values divided by how many there "
               "are; a mean of batch means is not that when the batches differ in size. Read "
               "everything from the loader you are given"),
    Check("the sample standard deviation (dividing by the count minus one) of the same values",
          _two_pass_probe, judge=lambda data: _close(data["std"], _gray_statistic("std")), points=2,
          hint="in the second pass, add up the squared deviations of every value from the mean of "
               "the whole data set; divide by the number of values minus one and take the square "
               "root (an average of per-batch standard deviations is not it)"),
    Check("it reads the loader in exactly two passes, every batch each time",
          _two_pass_probe, judge=lambda data: data["passes"] == [len(GRAY.sizes)] * 2,
          hint="go over the loader twice: once for the mean, once for the squared deviations from "
               "it, without keeping the batches or a copy of the data in between"),
])


# --- 11.2 the fourth combination ------------------------------------------------------------------

INPUTS = ("unnormalized", "normalized")
CHECK_SEEDS = (3, 8, 13)  # not the notebook's seeds, and three of them


def _accuracy(trainset: str, run_seed: int, part: str) -> float:
    """The accuracy the check's ``measure`` reports: made up, but different for every input, seed
    and part."""
    index = INPUTS.index(trainset)
    code = (7 * run_seed + 3 * index + (5 + 4 * index) * (part == "test")) % 11
    return 0.70 + 0.02 * code


@dataclass(frozen=True)
class _TrainedModel:
    """What the check's ``train`` returns: a model that remembers what it was trained on."""

    trainset: str
    run_seed: int


def _compare_probe(ns: Mapping[str, Any]) -> dict[str, Any]:
    trained: list[list[Any]] = []
    measured: list[list[Any]] = []

    def train(trainset: str, run_seed: int) -> _TrainedModel:
        trained.append([trainset, run_seed])
        return _TrainedModel(trainset, run_seed)

    def measure(model: _TrainedModel, trainset: str, part: str) -> float:
        measured.append([trainset, part])
        if model.trainset != trainset:  # a model measured on the other input's images
            return 0.1
        return _accuracy(trainset, model.run_seed, part)

    accuracy, gain = ns["compare_inputs"](train, measure, CHECK_SEEDS)
    table = [[str(key[0]), int(key[1]), float(value)] for key, value in accuracy.items()]
    return {"accuracy": sorted(table), "gain": float(gain), "trained": sorted(trained),
            "measured": measured}


def _expected_accuracies() -> list[list[Any]]:
    return sorted([trainset, s, _accuracy(trainset, s, "validation")]
                  for trainset in INPUTS for s in CHECK_SEEDS)


def _judge_accuracies(data: dict[str, Any]) -> bool:
    expected = _expected_accuracies()
    return (data["trained"] == [row[:2] for row in expected]
            and len(data["accuracy"]) == len(expected)
            and all(got[:2] == want[:2] and abs(got[2] - want[2]) < 1e-12
                    for got, want in zip(data["accuracy"], expected, strict=True)))


def _judge_gain(data: dict[str, Any]) -> bool:
    gains = [_accuracy("normalized", s, "validation") - _accuracy("unnormalized", s, "validation")
             for s in CHECK_SEEDS]
    return abs(data["gain"] - sum(gains) / len(gains)) < 1e-9


exercise("11.2", "the fourth combination", needs=["compare_inputs"], checks=[
    Check("one model trained per input and seed, and its accuracy measured on the input it was "
          "trained on, for the seeds it is given",
          _compare_probe, judge=_judge_accuracies, points=2,
          hint="loop over both inputs and over the seeds you are given (the check gives others than "
               "the notebook); train once per pair, measure that model on the same input, and key "
               "the result by the pair, input first"),
    Check("the gain is normalized minus unnormalized, averaged over the seeds",
          _compare_probe, judge=_judge_gain,
          hint="for each seed, subtract the unnormalized input's accuracy from the normalized "
               "input's; then average these differences over however many seeds there are"),
    Check("every accuracy is measured on the validation part, never on the test set",
          _compare_probe,
          judge=lambda data: bool(data["measured"])
          and all(part == "validation" for _, part in data["measured"]),
          hint="comparing two inputs is a choice: make it on the validation split of the training "
               "set, and keep the test set for one final measurement of the chosen model"),
])


# --- 11.3 more channels ---------------------------------------------------------------------------

def _stats_probe(spec: DataSpec):
    """A probe: ``channel_stats`` on a loader of ``spec``'s data, as two float64 tensors."""
    def probe(ns: Mapping[str, Any]) -> list[torch.Tensor]:
        mean, std = ns["channel_stats"](StreamedBatches(spec))
        return [torch.as_tensor(mean, dtype=torch.float64).detach(),
                torch.as_tensor(std, dtype=torch.float64).detach()]
    return probe


def _stats_judge(spec: DataSpec, which: Sequence[int]):
    """A judge: the probed statistics ``which`` (0 mean, 1 std) are ``spec``'s, channel by channel."""
    def judge(data: list[torch.Tensor]) -> bool:
        expected = _per_channel(spec.everything())
        return all(_close(data[i], expected[i]) for i in which)
    return judge


def _normalized_probe(ns: Mapping[str, Any]) -> torch.Tensor:
    transform = ns["channel_normalizer"](StreamedBatches(COLOR))
    return torch.as_tensor(transform(COLOR.everything())).detach()


def _judge_standardized(data: torch.Tensor) -> bool:
    mean, std = _per_channel(data)
    channels = len(COLOR.means)
    return (data.shape == COLOR.everything().shape
            and _close(mean, torch.zeros(channels), 1e-4) and _close(std, torch.ones(channels), 1e-4))


exercise("11.3", "more channels", needs=["channel_stats", "channel_normalizer"], checks=[
    Check("channel_stats gives each channel's own mean, on 3-channel data whose channels differ",
          _stats_probe(COLOR), judge=_stats_judge(COLOR, [0]), points=2,
          hint="one mean per channel: add up each batch over every dimension except the channel "
               "one, so that one sum per channel remains, and divide by the number of values in "
               "each channel"),
    Check("channel_stats gives each channel's sample standard deviation",
          _stats_probe(COLOR), judge=_stats_judge(COLOR, [1]),
          hint="accumulate each channel's sum of squares as well; the variance is the mean of the "
               "squares minus the square of the mean, scaled to divide by the count minus one "
               "(way 2 in the notebook, per channel)"),
    Check("channel_stats works for any number of channels (2 here)",
          _stats_probe(TWO_CHANNELS), judge=_stats_judge(TWO_CHANNELS, [0, 1]),
          hint="take the number of channels from the batches themselves rather than writing 3"),
    Check("channel_normalizer's transform centres every channel on 0 with a spread of 1",
          _normalized_probe, judge=_judge_standardized,
          hint="transforms.Normalize takes one mean and one standard deviation per channel, as "
               "sequences of numbers: build it from the loader's channel statistics"),
])
