"""Checks for the exercises of notebook 09 (GPUs and device-agnostic code).

The probes call the student's functions on small inputs and on the ``meta`` device, which every
PyTorch build has, so they run the same on a machine with or without a GPU. Exercise 3 is checked
without timing anything: its probe hands the answer a fake clock and a model that records every
call, and the judge reads what happened in which order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..network import Network
from .engine import Check, exercise
from .probing import seeded

META = torch.device("meta")


def _describe(value: Any, device: str | None = None) -> Any:
    """``value``'s structure as plain data: containers by type, tensors by device, shape and dtype
    (``device`` replaces every tensor's device: what the judge expects after a move)."""
    if isinstance(value, torch.Tensor):
        return ["tensor", device or value.device.type, list(value.shape), str(value.dtype)]
    if isinstance(value, dict):
        return ["dict", {str(key): _describe(item, device) for key, item in value.items()}]
    if isinstance(value, (list, tuple)):
        return [type(value).__name__, [_describe(item, device) for item in value]]
    if value is None or isinstance(value, (bool, int, float, str)):
        return ["value", value]
    return ["other", type(value).__name__]


def _seeded_network(seed: int) -> Network:
    """A ``Network`` with the initial weights that ``seed`` gives, the global generator untouched."""
    with seeded(seed):
        return Network()


def _images(count: int, seed: int) -> torch.Tensor:
    return torch.rand(count, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


# --- 09.1 to_device -------------------------------------------------------------------------------

def _single_tensor() -> torch.Tensor:
    return torch.arange(3.0)


def _pair() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.zeros(2, 1), torch.arange(2)


def _nested() -> dict[str, Any]:
    return {"x": torch.zeros(2), "y": [torch.ones(1), 7, (torch.zeros(3, 2), None)], "name": "batch"}


def _moved_probe(make_input):
    """A probe: ``to_device`` on the check's input, moved to ``meta``, described."""
    return lambda ns: _describe(ns["to_device"](make_input(), "meta"))


def _moved_judge(make_input):
    """A judge: the description is the input's own, every tensor on ``meta``."""
    return lambda data: data == _describe(make_input(), "meta")


exercise("09.1", "a helper for any batch", needs=["to_device"], checks=[
    Check("a single tensor comes back on the device",
          _moved_probe(_single_tensor), judge=_moved_judge(_single_tensor),
          hint="a tensor's to() does not change the tensor: it returns a new one on the device, and "
               "that new tensor is what the function must give back"),
    Check("a tuple of tensors comes back as a tuple, every tensor moved",
          _moved_probe(_pair), judge=_moved_judge(_pair),
          hint="a tuple must come back as a tuple, not a list: build a new container of the same "
               "type as the one you were given, from the moved items"),
    Check("dicts, lists and tuples are walked into at any depth; other values come back unchanged",
          _moved_probe(_nested), judge=_moved_judge(_nested), points=2,
          hint="a container can hold containers: let the function call itself on each item (for a "
               "dict, on each value, keeping the keys), and give back anything that is not a tensor "
               "or a container as it is"),
])


# --- 09.2 predict_batches -------------------------------------------------------------------------

def _batches(count: int, size: int = 4) -> list[tuple[torch.Tensor, torch.Tensor]]:
    images = _images(count * size, seed=9)
    return [(chunk, torch.zeros(len(chunk), dtype=torch.long)) for chunk in images.split(size)]


def _on_meta_probe(ns: Mapping[str, Any]) -> dict[str, Any]:
    network = _seeded_network(91).to(META)
    outputs = ns["predict_batches"](network, _batches(3), META)
    return {"outputs": [_describe(out) for out in outputs],
            "network_on": sorted({p.device.type for p in network.parameters()})}


def _on_meta_judge(data: dict[str, Any]) -> bool:
    expected = ["tensor", "meta", [4, 10], "torch.float32"]
    return data["outputs"] == [expected] * 3 and data["network_on"] == ["meta"]


def _on_cpu_probe(ns: Mapping[str, Any]) -> list[torch.Tensor]:
    with torch.no_grad():
        outputs = ns["predict_batches"](_seeded_network(92), _batches(2), torch.device("cpu"))
    return [out.detach() for out in outputs]


def _on_cpu_judge(data: list[torch.Tensor]) -> bool:
    network = _seeded_network(92)
    with torch.no_grad():
        expected = [network(images) for images, _ in _batches(2)]
    return len(data) == len(expected) and all(
        out.shape == exp.shape and torch.allclose(out, exp)
        for out, exp in zip(data, expected, strict=True))


exercise("09.2", "find the bug without a GPU", needs=["predict_batches"], checks=[
    Check("a network on meta gets every batch on meta: one output per batch, shape [4, 10]",
          _on_meta_probe, judge=_on_meta_judge, points=2,
          hint="a tensor's to() leaves the tensor where it was: what does the buggy line do with "
               "the moved tensor it gets back? Keep it, and collect one output per batch"),
    Check("on the CPU it returns the network's own outputs, batch by batch, in order",
          _on_cpu_probe, judge=_on_cpu_judge,
          hint="give back what the network computes for each batch, in the order of the batches, "
               "without changing the network or its outputs"),
])


# --- 09.3 inference_seconds -----------------------------------------------------------------------

TIMED_IMAGES, TIMED_SIZE = 10, 4
CLOCK_READINGS = (5.0, 7.25, 11.0, 18.5)  # what the fake clock says at its 1st, 2nd, ... call


class _RecordingModel(nn.Module):
    """A model without weights that writes every call into ``events``: the batch's size and
    device, and whether it ran in train mode and with gradients."""

    def __init__(self, events: list[list[Any]]) -> None:
        super().__init__()
        self.events = events

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.events.append(["forward", len(images), images.device.type, self.training,
                            torch.is_grad_enabled()])
        return torch.zeros(len(images), 10, device=images.device)


def _timing_probe(ns: Mapping[str, Any]) -> dict[str, Any]:
    """``inference_seconds`` with a recording model and a fake clock, on ``meta``."""
    events: list[list[Any]] = []
    readings = iter(CLOCK_READINGS)

    def clock() -> float:
        events.append(["clock"])
        return next(readings)

    with torch.enable_grad():  # an answer must switch gradients off itself
        seconds = ns["inference_seconds"](_RecordingModel(events), _images(TIMED_IMAGES, seed=93),
                                          TIMED_SIZE, META, clock=clock)
    return {"seconds": float(seconds), "events": events}


def _clocked(data: dict[str, Any]) -> tuple[list[list[Any]], list[list[Any]], list[list[Any]]]:
    """The events before the clock started, between its two readings, and after the second."""
    events = data["events"]
    ticks = [i for i, event in enumerate(events) if event == ["clock"]]
    if len(ticks) != 2:
        return events, [], []
    return events[:ticks[0]], events[ticks[0] + 1:ticks[1]], events[ticks[1] + 1:]


def _judge_clock(data: dict[str, Any]) -> bool:
    before, timed, after = _clocked(data)
    clock_calls = sum(event == ["clock"] for event in data["events"])
    return (clock_calls == 2 and len(before) == 1 and before[0][0] == "forward" and timed
            and not after and data["seconds"] == CLOCK_READINGS[1] - CLOCK_READINGS[0])


def _judge_batches(data: dict[str, Any]) -> bool:
    _, timed, _ = _clocked(data)
    expected = [len(chunk) for chunk in torch.arange(TIMED_IMAGES).split(TIMED_SIZE)]
    return ([event[1] for event in timed] == expected
            and all(event[2] == "meta" for event in data["events"] if event[0] == "forward"))


def _judge_inference_mode(data: dict[str, Any]) -> bool:
    forwards = [event for event in data["events"] if event[0] == "forward"]
    return bool(forwards) and all(not training and not grad for *_, training, grad in forwards)


exercise("09.3", "batch size and throughput", needs=["inference_seconds"], checks=[
    Check("one warm-up batch, then the clock read once before and once after the timed loop; the "
          "answer is the difference of the two readings",
          _timing_probe, judge=_judge_clock, points=2,
          hint="the check gives your function its own clock: read time only through the clock "
               "argument, run one batch before the first reading (the warm-up), take the second "
               "reading right after the loop, and return the second minus the first"),
    Check("the timed loop runs every image once, in batches of the given size, on the device",
          _timing_probe, judge=_judge_batches,
          hint="split the images into consecutive batches of the given size (the last one may be "
               "smaller) and move each batch to the device before the model sees it"),
    Check("every batch runs in eval mode and without gradients",
          _timing_probe, judge=_judge_inference_mode,
          hint="inference needs neither training behaviour nor a computation graph: see "
               "Module.eval and torch.no_grad in PyTorch's documentation"),
])
