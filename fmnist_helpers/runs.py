"""Hyperparameter runs: ``RunBuilder`` makes the runs, ``RunManager`` times, logs and tabulates them."""

from __future__ import annotations

import json
import time
from collections import OrderedDict, namedtuple
from collections.abc import Iterable, Mapping, Sequence
from itertools import product
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn
from torch.utils.tensorboard import SummaryWriter
from torchvision.utils import make_grid

from .metrics import get_num_correct


class RunBuilder:
    """Turn ``{"lr": [0.01, 0.001], "batch_size": [100, 1000]}`` into every combination."""

    @staticmethod
    def get_runs(params: Mapping[str, Sequence[Any]]) -> list[tuple]:
        """One named tuple ``Run(lr=..., batch_size=...)`` per combination, in ``itertools.product`` order."""
        for name, values in params.items():
            if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
                raise ValueError(f"params[{name!r}] must be a list of values, got {values!r}")
            if len(list(values)) == 0:
                raise ValueError(f"params[{name!r}] is empty: give at least one value")
        Run = namedtuple("Run", list(params.keys()))
        return [Run(*values) for values in product(*params.values())]


def run_name(run: tuple) -> str:
    """A folder-safe name that shows a run's parameters, e.g. ``lr=0.01,batch_size=100``."""
    return ",".join(f"{k}={v}" for k, v in run._asdict().items()).replace("/", "_").replace(" ", "")


HPARAM_METRICS = ("loss", "accuracy", "validation_accuracy", "test_accuracy")
"""Columns of a run's last epoch that ``end_run`` records in TensorBoard's HParams tab."""


def _hparam_value(value: Any) -> int | float | str | bool:
    return value if isinstance(value, (int, float, str, bool)) else str(value)


class RunManager:
    """Track every run and epoch of a sweep: loss, correct count, accuracy, durations.

    Each run gets a TensorBoard writer in ``log_dir/<run number>-<parameters>`` (scalars per epoch,
    weight and gradient histograms, a batch of images and the graph when asked, ``add_hparams`` at
    the end). After every epoch the results table is saved as ``results.csv`` and ``results.json``
    in ``log_dir``, so an interrupted sweep keeps what it finished. In a notebook the table updates
    live under the cell.

    With the course's training loop, ``track_batch`` is the per-batch hook: ``begin_epoch()``,
    then ``train_one_epoch(network, batches, optimizer, on_batch=manager.track_batch)``, then
    ``end_epoch(validation_accuracy=...)`` with ``evaluate``'s accuracy on the validation split
    (notebook 07 shows the whole loop).
    """

    def __init__(self, log_dir: str | Path, live: bool = True, log_histograms: bool = True,
                 log_graph: bool = False) -> None:
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.live, self.log_histograms, self.log_graph = live, log_histograms, log_graph
        self.results: list[OrderedDict[str, Any]] = []
        self.run_params: tuple | None = None
        self.run_count = 0
        self.run_start = 0.0
        self.network: nn.Module | None = None
        self.writer: SummaryWriter | None = None
        self.epoch_count = 0
        self._display = None
        self._reset_epoch()

    def _reset_epoch(self) -> None:
        self.epoch_loss, self.epoch_num_correct, self.epoch_samples = 0.0, 0, 0
        self.epoch_start = time.perf_counter()

    @property
    def run_dir(self) -> Path:
        """The current run's TensorBoard folder."""
        assert self.run_params is not None, "begin_run() first"
        return self.log_dir / f"{self.run_count:02d}-{run_name(self.run_params)}"

    def begin_run(self, run: tuple, network: nn.Module, images: torch.Tensor | None = None) -> None:
        """Start a run; ``images`` (one batch) goes to TensorBoard as a grid (and the graph if asked)."""
        self.run_count += 1
        self.run_params, self.network, self.epoch_count = run, network, 0
        self.run_start = time.perf_counter()
        self.writer = SummaryWriter(log_dir=str(self.run_dir))
        if images is not None:
            self.writer.add_image("images", make_grid(images.detach().cpu()))
            if self.log_graph:
                device = next(network.parameters()).device
                self.writer.add_graph(network, images.to(device))

    def end_run(self) -> None:
        """Close the run: write its hyperparameters with its final metrics, close the writer."""
        assert self.writer is not None and self.run_params is not None, "begin_run() first"
        last = next((r for r in reversed(self.results) if r["run"] == self.run_count), None)
        if last is not None:
            metrics = {f"hparam/{k}": v for k, v in last.items()
                       if k in HPARAM_METRICS and v is not None}
            hparams = {k: _hparam_value(v) for k, v in self.run_params._asdict().items()}
            self.writer.add_hparams(hparams, metrics, run_name=".")
        self.writer.close()
        self.writer = None

    def begin_epoch(self) -> None:
        """Start timing an epoch and zero its loss and correct counts."""
        self.epoch_count += 1
        self._reset_epoch()

    def track_loss(self, loss: torch.Tensor, batch_size: int) -> None:
        """Add a batch's mean ``loss`` weighted by its ``batch_size`` to the epoch's total."""
        self.epoch_loss += loss.item() * batch_size
        self.epoch_samples += batch_size

    def track_num_correct(self, preds: torch.Tensor, labels: torch.Tensor) -> None:
        """Add the batch's number of correct predictions."""
        self.epoch_num_correct += get_num_correct(preds, labels)

    def track_batch(self, preds: torch.Tensor, labels: torch.Tensor, loss: torch.Tensor) -> None:
        """Track one batch: its loss (weighted by its size) and its correct predictions.

        The signature of ``train_one_epoch``'s ``on_batch``: pass ``on_batch=manager.track_batch``.
        """
        self.track_loss(loss, len(labels))
        self.track_num_correct(preds, labels)

    def end_epoch(self, **extra_metrics: float) -> OrderedDict[str, Any]:
        """Close the epoch: log it, append a results row, save CSV/JSON, refresh the live table.

        ``extra_metrics`` (for example ``validation_accuracy=0.88``) become columns of the table.
        """
        assert self.writer is not None and self.network is not None, "begin_run() first"
        epoch_duration = time.perf_counter() - self.epoch_start
        samples = max(self.epoch_samples, 1)
        loss, accuracy = self.epoch_loss / samples, self.epoch_num_correct / samples
        step = self.epoch_count
        self.writer.add_scalar("Loss", loss, step)
        self.writer.add_scalar("Number Correct", self.epoch_num_correct, step)
        self.writer.add_scalar("Accuracy", accuracy, step)
        for name, value in extra_metrics.items():
            self.writer.add_scalar(name, value, step)
        if self.log_histograms:
            for name, param in self.network.named_parameters():
                self.writer.add_histogram(name, param, step)
                if param.grad is not None:
                    self.writer.add_histogram(f"{name}.grad", param.grad, step)
        self.writer.flush()

        row = OrderedDict(run=self.run_count, epoch=step, loss=loss, accuracy=accuracy,
                          **extra_metrics, epoch_duration=epoch_duration,
                          run_duration=time.perf_counter() - self.run_start)
        row.update(self.run_params._asdict())
        self.results.append(row)
        self.save()
        self._show()
        return row

    def results_frame(self) -> pd.DataFrame:
        """All epochs of all runs so far, one row each."""
        return pd.DataFrame(self.results)

    def save(self, stem: str = "results") -> tuple[Path, Path]:
        """Write the results table to ``log_dir/<stem>.csv`` and ``.json``; return both paths."""
        csv_path, json_path = self.log_dir / f"{stem}.csv", self.log_dir / f"{stem}.json"
        self.results_frame().to_csv(csv_path, index=False)
        json_path.write_text(json.dumps(self.results, indent=2, default=str) + "\n")
        return csv_path, json_path

    def _show(self) -> None:
        if not self.live:
            return
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is None:
            return
        frame = self.results_frame()
        if self._display is None:
            self._display = display(frame, display_id=True)
        else:
            self._display.update(frame)
