"""Seconds per training epoch of ``Network`` for four ways of feeding it, test-set inference, and
notebook 12's ``CapstoneNet`` with one and two threads.

Every measurement trains with Adam (lr 0.01) on batches of 100 from the full 60000-image training
set, in one process and one run (``fmnist_helpers.Network`` unless said otherwise):

- ``per_item_workers0``: a ``DataLoader`` over torchvision's FashionMNIST with a per-item
  ``ToTensor()`` transform, ``num_workers=0``;
- ``per_item_workers<K>``: the same with ``K`` worker processes (``--workers``, default 2);
- ``in_memory``: the whole training set as one tensor (``load_tensors``), batches cut by indexing
  (``TensorBatches``), reshuffled every epoch;
- ``compute_floor``: the same training steps on a list of batches made in advance, so no data work
  is timed at all;
- ``inference``: predictions for the 10000 test images in batches of 1000 (in-memory tensors,
  ``torch.no_grad()``), with the ``in_memory`` network;
- ``capstone``: notebook 12's final model, ``CapstoneNet`` (70,330 parameters, ``channels_last``),
  trained like the notebook's augmented rungs (normalized in-memory batches of 100, ``fh.Augment``:
  random crop with padding 2 and horizontal flip per batch, Adam; and label smoothing 0.1, which
  costs no measurable time) with 1 and with 2 torch
  threads, whatever ``--threads`` says.

To make the comparison fair, every configuration first trains a few warm-up batches, then the
configurations take turns epoch by epoch (the order rotates each round, so none is always first)
and the median of ``--epochs`` epochs counts. The number of torch threads is fixed (``--threads``,
default 1) for all of them but ``capstone``; DataLoader workers use one thread each. Timings are
never asserted by the tests; the target for the in-memory path is within 1.15x of the compute floor.

Usage::

    .venv/bin/python benchmarks/epoch_time.py [--data-root DIR] [--epochs N] [--workers K]
        [--threads T] [--max-batches N] [--json PATH]

``--max-batches N`` is a quick mode (the tests use it): every epoch stops after ``N`` batches and
the seconds per epoch are extrapolated to a full epoch (marked ``"extrapolated": true``).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from torchvision import transforms

from fmnist_helpers import (
    Augment,
    CapstoneNet,
    Network,
    TensorBatches,
    count_parameters,
    evaluate,
    load_fashion_mnist,
    load_tensors,
    normalize,
    set_seed,
    train_one_epoch,
)
from fmnist_helpers.results import provenance

BATCH_SIZE = 100
LR = 0.01
TEST_BATCH_SIZE = 1000
FULL_BATCHES = -(-60000 // BATCH_SIZE)  # batches in one epoch of the whole training set
TARGET_RATIO = 1.15  # in-memory path / compute floor
DEFAULT_JSON = Path(__file__).resolve().parent.parent / "results" / "epoch_time.json"  # the README's


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default=None,
                        help="folder that holds FashionMNIST/raw/ (default: $FMNIST_DATA or ./data)")
    parser.add_argument("--epochs", type=int, default=3,
                        help="timed epochs per configuration; the median counts (default 3)")
    parser.add_argument("--workers", type=int, default=2,
                        help="num_workers of the per-item loader with workers (default 2)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for every configuration; 0 keeps torch's default "
                             "(one per core) (default 1)")
    parser.add_argument("--warmup-batches", type=int, default=20,
                        help="untimed training batches per configuration first (default 20)")
    parser.add_argument("--max-batches", type=int, default=None,
                        help="quick mode: stop every epoch after N batches and extrapolate")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and shuffling")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON,
                        help=f"where to write the results (default {DEFAULT_JSON})")
    args = parser.parse_args(argv)
    for name, minimum in (("epochs", 1), ("workers", 1), ("threads", 0), ("warmup_batches", 0)):
        if getattr(args, name) < minimum:
            parser.error(f"--{name.replace('_', '-')} must be at least {minimum}")
    if args.max_batches is not None and args.max_batches < 1:
        parser.error("--max-batches must be at least 1")
    return args


@dataclass
class Config:
    """One way of feeding the training loop, with its own network, optimizer and shuffling."""

    name: str
    description: str
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]]  # iterated once per epoch
    network: nn.Module
    optimizer: torch.optim.Optimizer
    threads: int | None = None  # torch threads for this configuration (None: leave the setting)
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy
    seconds: list[float] = field(default_factory=list)
    batch_counts: list[int] = field(default_factory=list)


def train(config: Config, max_batches: int | None) -> tuple[float, int]:
    """Train ``config`` for one epoch (or ``max_batches``) with the course's ``train_one_epoch``;
    return seconds (starting a loader's workers included) and batches."""
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    result = train_one_epoch(config.network, config.batches, config.optimizer,
                             augment=config.augment, loss_fn=config.loss_fn, max_batches=max_batches)
    return result.seconds, -(-result.samples // BATCH_SIZE)


def take_turns(configs: Sequence[Config], epochs: int, warmup: int, max_batches: int | None) -> None:
    """Train every configuration ``warmup`` untimed batches, then ``epochs`` timed epochs each, taking
    turns epoch by epoch (a different one goes first each round); times go to each ``Config``."""
    if warmup:
        for config in configs:
            train(config, warmup)
    for round_index in range(epochs):
        shift = round_index % len(configs)
        for config in [*configs[shift:], *configs[:shift]]:
            seconds, count = train(config, max_batches)
            config.seconds.append(seconds)
            config.batch_counts.append(count)


def epoch_summary(config: Config) -> dict[str, Any]:
    """``config``'s timed epochs, and their median scaled to a full epoch of 60000 images."""
    count = config.batch_counts[0]
    return {"seconds": config.seconds, "batches": count,
            "seconds_per_epoch": statistics.median(config.seconds) * FULL_BATCHES / count,
            "extrapolated": count < FULL_BATCHES}


def make_configs(args: argparse.Namespace) -> tuple[list[Config], TensorBatches]:
    """The four training configurations (the same initial weights), and the test batches."""
    per_item = load_fashion_mnist(train=True, root=args.data_root, transform=transforms.ToTensor())
    images, labels = load_tensors(train=True, root=args.data_root)
    test_images, test_labels = load_tensors(train=False, root=args.data_root)
    ready = list(itertools.islice(
        TensorBatches(images, labels, BATCH_SIZE, shuffle=True, generator=set_seed(args.seed)),
        args.max_batches))

    def make_batches(name: str, generator: torch.Generator) -> Iterable:
        if name.startswith("per_item_workers"):
            workers = int(name.removeprefix("per_item_workers"))
            return DataLoader(per_item, batch_size=BATCH_SIZE, shuffle=True, num_workers=workers,
                              generator=generator)
        if name == "in_memory":
            return TensorBatches(images, labels, BATCH_SIZE, shuffle=True, generator=generator)
        return ready

    descriptions = {
        "per_item_workers0": "DataLoader, ToTensor() per item, num_workers=0",
        f"per_item_workers{args.workers}":
            f"DataLoader, ToTensor() per item, num_workers={args.workers}",
        "in_memory": "one tensor, batches by indexing (TensorBatches)",
        "compute_floor": "training steps on batches made in advance (no data work)",
    }
    configs = []
    for name, description in descriptions.items():
        generator = set_seed(args.seed)  # also gives every network the same initial weights
        network = Network()
        configs.append(Config(name, description, make_batches(name, generator), network,
                              torch.optim.Adam(network.parameters(), lr=LR)))
    return configs, TensorBatches(test_images, test_labels, TEST_BATCH_SIZE)


CAPSTONE_THREADS = (1, 2)
CAPSTONE_PADDING = 2
CAPSTONE_LABEL_SMOOTHING = 0.1


def measure_capstone(args: argparse.Namespace, warmup: int) -> dict[str, Any]:
    """Seconds per epoch of notebook 12's recipe with 1 and 2 torch threads, taking turns epoch by
    epoch; the median of ``args.epochs`` epochs counts for each. The thread setting is restored."""
    images, labels = load_tensors(train=True, root=args.data_root)
    images = normalize(images)
    smoothed_loss = functools.partial(F.cross_entropy, label_smoothing=CAPSTONE_LABEL_SMOOTHING)
    configs = []
    for threads in CAPSTONE_THREADS:
        generator = set_seed(args.seed)
        model = CapstoneNet().to(memory_format=torch.channels_last)
        configs.append(Config(
            f"capstone_threads{threads}", f"CapstoneNet, {threads} thread(s)",
            TensorBatches(images, labels, BATCH_SIZE, shuffle=True, generator=generator), model,
            torch.optim.Adam(model.parameters(), lr=LR), threads=threads,
            augment=Augment(CAPSTONE_PADDING, generator=torch.Generator().manual_seed(args.seed + 1)),
            loss_fn=smoothed_loss))
    setting = torch.get_num_threads()
    try:
        take_turns(configs, args.epochs, warmup, args.max_batches)
    finally:
        torch.set_num_threads(setting)
    by_threads = {str(threads): epoch_summary(config)
                  for threads, config in zip(CAPSTONE_THREADS, configs, strict=True)}
    one, two = (by_threads[str(t)]["seconds_per_epoch"] for t in CAPSTONE_THREADS)
    return {
        "description": (f"CapstoneNet (notebook 12), channels_last, normalized in-memory batches of "
                        f"{BATCH_SIZE}, random crop (padding {CAPSTONE_PADDING}) and flip, label "
                        f"smoothing {CAPSTONE_LABEL_SMOOTHING}, Adam"),
        "parameters": count_parameters(configs[0].network),
        "train_images": len(labels),
        "threads": by_threads,
        "two_threads_speedup": one / two,
    }


def infer(network: nn.Module, batches: TensorBatches, max_batches: int | None) -> tuple[float, int, int]:
    """Evaluate on the test batches (``evaluate``: eval mode, no gradients); return seconds, images
    seen and correct predictions."""
    start = time.perf_counter()
    result = evaluate(network, batches, max_batches=max_batches)
    return time.perf_counter() - start, result.samples, result.correct


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Measure every configuration; return the results record (also printed as a table)."""
    if args.threads:
        torch.set_num_threads(args.threads)
    configs, test_batches = make_configs(args)
    warmup = args.warmup_batches if args.max_batches is None else min(args.warmup_batches,
                                                                       args.max_batches)
    take_turns(configs, args.epochs, warmup, args.max_batches)

    inference_network = next(c for c in configs if c.name == "in_memory").network
    infer(inference_network, test_batches, 1)  # warm-up
    inference_runs = [infer(inference_network, test_batches, args.max_batches)
                      for _ in range(args.epochs)]

    record: dict[str, Any] = {"configs": {}}
    for config in configs:
        record["configs"][config.name] = {"description": config.description, **epoch_summary(config)}
    floor = record["configs"]["compute_floor"]["seconds_per_epoch"]
    for entry in record["configs"].values():
        entry["ratio_to_floor"] = entry["seconds_per_epoch"] / floor
    by_name = {c.name: c for c in configs}
    paired = [m / f for m, f in zip(by_name["in_memory"].seconds, by_name["compute_floor"].seconds,
                                    strict=True)]
    seen = inference_runs[0][1]
    inference_median = statistics.median(r[0] for r in inference_runs)
    record["inference"] = {
        "description": f"test set, batches of {TEST_BATCH_SIZE}, in-memory tensors, no_grad",
        "seconds": [r[0] for r in inference_runs],
        "images": seen,
        "seconds_for_test_set": inference_median * 10000 / seen,
        "extrapolated": seen < 10000,
        "test_accuracy": inference_runs[0][2] / seen,
    }
    record["capstone"] = measure_capstone(args, warmup)
    ratio = record["configs"]["in_memory"]["ratio_to_floor"]
    record.update({
        "in_memory_over_floor": ratio,
        "in_memory_over_floor_paired_median": statistics.median(paired),
        "per_item_over_in_memory": (record["configs"]["per_item_workers0"]["seconds_per_epoch"]
                                    / record["configs"]["in_memory"]["seconds_per_epoch"]),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio <= TARGET_RATIO,
        "settings": {"batch_size": BATCH_SIZE, "lr": LR, "optimizer": "Adam",
                     "train_images": 60000, "epochs_timed": args.epochs, "warmup_batches": warmup,
                     "max_batches": args.max_batches, "workers": args.workers,
                     "torch_threads": torch.get_num_threads(), "seed": args.seed},
        "provenance": provenance(seed=args.seed, parameters={
            k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}),
    })
    return record


def format_table(record: dict[str, Any]) -> str:
    """The results as a text table: configuration, seconds per epoch, ratio to the floor."""
    lines = [f"{'configuration':22s} {'seconds/epoch':>13s} {'ratio to floor':>14s}  description",
             "-" * 100]
    for name, entry in record["configs"].items():
        mark = "*" if entry["extrapolated"] else " "
        lines.append(f"{name:22s} {entry['seconds_per_epoch']:12.2f}{mark} "
                     f"{entry['ratio_to_floor']:14.2f}  {entry['description']}")
    inference = record["inference"]
    mark = "*" if inference["extrapolated"] else " "
    lines.append(f"{'inference':22s} {inference['seconds_for_test_set']:12.2f}{mark} {'':14s}  "
                 f"{inference['description']} (seconds for 10000 images)")
    capstone = record["capstone"]
    for threads, entry in capstone["threads"].items():
        mark = "*" if entry["extrapolated"] else " "
        lines.append(f"{'capstone_threads' + threads:22s} {entry['seconds_per_epoch']:12.2f}{mark} {'':14s}  "
                     f"{capstone['parameters']:,}-parameter CapstoneNet, augmented, {threads} thread(s)")
    settings = record["settings"]
    lines += ["",
              f"in-memory / compute floor: {record['in_memory_over_floor']:.3f} "
              f"(paired per epoch: {record['in_memory_over_floor_paired_median']:.3f}); target "
              f"<= {record['target_ratio']}: {'met' if record['meets_target'] else 'NOT met'}",
              f"per-item (num_workers=0) / in-memory: {record['per_item_over_in_memory']:.2f}x",
              f"capstone (notebook 12): 2 threads {capstone['two_threads_speedup']:.2f}x as fast as 1",
              f"median of {settings['epochs_timed']} epochs per configuration; torch threads: "
              f"{settings['torch_threads']}; test accuracy after training: "
              f"{inference['test_accuracy']:.4f}"]
    if (any(e["extrapolated"] for e in record["configs"].values()) or inference["extrapolated"]
            or any(e["extrapolated"] for e in capstone["threads"].values())):
        lines.append(f"* extrapolated from {settings['max_batches']} batches per epoch (quick mode)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    record = run(args)
    print(format_table(record))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(record, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":  # DataLoader workers may import this file (spawn): train only here
    sys.exit(main())
