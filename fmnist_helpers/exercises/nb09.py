"""Checks for the exercises of notebook 09 (GPUs and device-agnostic code).

The checks call the student's functions on small tensors and the ``meta`` device, which every
PyTorch build has, so they run the same on a machine with or without a GPU.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from ..network import Network
from .engine import Check, between, exercise


def _on_meta(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and value.device.type == "meta"


# --- 09.1 to_device -------------------------------------------------------------------------------

def _moves_a_tensor(ns: Mapping[str, Any]) -> bool:
    moved = ns["to_device"](torch.arange(3.0), "meta")
    return _on_meta(moved) and moved.shape == (3,)


def _keeps_a_tuple(ns: Mapping[str, Any]) -> bool:
    moved = ns["to_device"]((torch.zeros(2, 1), torch.arange(2)), "meta")
    return isinstance(moved, tuple) and len(moved) == 2 and all(_on_meta(t) for t in moved)


def _walks_nested_containers(ns: Mapping[str, Any]) -> bool:
    moved = ns["to_device"]({"x": torch.zeros(2), "y": [torch.ones(1), 7], "name": "batch"}, "meta")
    return (isinstance(moved, dict) and set(moved) == {"x", "y", "name"} and _on_meta(moved["x"])
            and isinstance(moved["y"], list) and _on_meta(moved["y"][0]) and moved["y"][1] == 7
            and moved["name"] == "batch")


exercise("09.1", "a helper for any batch", needs=["to_device"], checks=[
    Check("a single tensor comes back on the device",
          _moves_a_tensor,
          "to_device(torch.arange(3.0), 'meta') should return a tensor on meta: a tensor's to() "
          "returns the moved copy, so return that copy"),
    Check("a tuple of tensors comes back as a tuple, every tensor moved",
          _keeps_a_tuple,
          "for a tuple, build the same kind of container from the moved items (type(batch)(...))"),
    Check("dicts and lists are walked into at any depth; other values come back unchanged",
          _walks_nested_containers,
          "call to_device on every value of a dict or list (the function can call itself), and "
          "return anything that is not a tensor, a list, a tuple or a dict as it is"),
])


# --- 09.2 predict_batches -------------------------------------------------------------------------

def _batches(count: int = 3, size: int = 4) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(9)
    return [(torch.rand(size, 1, 28, 28, generator=generator), torch.zeros(size, dtype=torch.long))
            for _ in range(count)]


def _runs_on_meta(ns: Mapping[str, Any]) -> bool:
    network = Network().to("meta")
    outputs = ns["predict_batches"](network, _batches(), torch.device("meta"))
    return len(outputs) == 3 and all(_on_meta(out) and out.shape == (4, 10) for out in outputs)


def _same_outputs_on_cpu(ns: Mapping[str, Any]) -> bool:
    network, batches = Network(), _batches(count=2)
    with torch.no_grad():
        outputs = ns["predict_batches"](network, batches, torch.device("cpu"))
        expected = [network(images) for images, _ in batches]
    return len(outputs) == 2 and all(torch.allclose(out, exp)
                                     for out, exp in zip(outputs, expected, strict=True))


exercise("09.2", "find the bug without a GPU", needs=["predict_batches"], checks=[
    Check("a network on meta gets every batch on meta: one output per batch, shape [4, 10]",
          _runs_on_meta,
          "the buggy line throws the moved batch away: keep what to() returns "
          "(batch_images = batch_images.to(on)) and collect one output per batch in a list"),
    Check("on the CPU it returns the network's own outputs, batch by batch",
          _same_outputs_on_cpu,
          "return network(images) for every batch, in order, without changing the network"),
])


# --- 09.3 inference_seconds -----------------------------------------------------------------------

def _both_sizes_timed(ns: Mapping[str, Any]) -> bool:
    timed = ns["seconds_by_batch_size"]
    return set(timed) == {100, 1000} and all(between(s, 1e-5, 600) for s in timed.values())


def _another_size_works(ns: Mapping[str, Any]) -> bool:
    seconds = ns["inference_seconds"](torch.device("cpu"), 5000)
    return isinstance(seconds, float) and math.isfinite(seconds) and 0 < seconds < 600


exercise("09.3", "batch size and throughput", needs=["inference_seconds", "seconds_by_batch_size"],
         checks=[
    Check("seconds_by_batch_size has a positive time for batches of 100 and of 1000",
          _both_sizes_timed,
          "inference_seconds should return the elapsed seconds as a float "
          "(time.perf_counter() after the loop minus before it)"),
    Check("inference_seconds works for another batch size on the CPU",
          _another_size_works,
          "inference_seconds(torch.device('cpu'), 5000) should run the whole test set in two "
          "batches and return a positive number of seconds"),
])
