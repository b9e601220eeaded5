"""Checks for the exercises of notebook 06 (TensorBoard).

Each check reads the event files the answer wrote (under the notebook's ``log_root`` and
``log_dir``) with its own ``EventAccumulator``, and compares them with the answer's results.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .engine import Check, exercise

WEIGHTS = ("conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight", "out.weight")


def _read(folder: Path) -> Any:
    """Every event of the run in ``folder`` (nothing sampled away)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    return accumulator


def _values(folder: Path, tag: str) -> list[float]:
    accumulator = _read(folder)
    if tag not in accumulator.Tags()["scalars"]:
        return []
    return [e.value for e in accumulator.Scalars(tag)]


def _lr_runs_logged(ns: Mapping[str, Any]) -> bool:
    return all(len(_values(ns["log_root"] / f"exercise-lr={lr}", "Batch Loss")) == ns["exercise_batches"]
               for lr in (0.01, 0.001))


def _last10_match(ns: Mapping[str, Any]) -> bool:
    answer = dict(ns["last10_loss"])
    return all(math.isclose(float(answer[lr]),
                            float(np.mean(_values(ns["log_root"] / f"exercise-lr={lr}", "Batch Loss")[-10:])),
                            rel_tol=1e-5)
               for lr in (0.01, 0.001))


def _norms(ns: Mapping[str, Any]) -> dict[str, float]:
    return {str(k): float(v) for k, v in dict(ns["mean_grad_norms"]).items()}


def _norms_logged(ns: Mapping[str, Any]) -> bool:
    folder = ns["log_root"] / "exercise-grad-norms"
    return all(len(_values(folder, f"grad norm/{name}")) == ns["exercise_batches"] for name in WEIGHTS)


def _norms_match(ns: Mapping[str, Any]) -> bool:
    folder = ns["log_root"] / "exercise-grad-norms"
    norms = _norms(ns)
    return all(math.isclose(norms[name], float(np.mean(_values(folder, f"grad norm/{name}"))),
                            rel_tol=1e-5) for name in WEIGHTS)


exercise(
    "06.1", "Two runs side by side", needs=["last10_loss"],
    checks=[
        Check("last10_loss has one entry per learning rate, 0.01 and 0.001",
              lambda ns: set(dict(ns["last10_loss"])) == {0.01, 0.001},
              "last10_loss should be a dict keyed by the two learning rates (the numbers 0.01 "
              "and 0.001)."),
        Check("both runs wrote every batch's Batch Loss to their own folder under log_root",
              _lr_runs_logged,
              "Call short_run(log_root / f\"exercise-lr={lr}\", lr) once for each learning rate, "
              "so each run writes exercise_batches Batch Loss events to its folder."),
        Check("each value is the mean Batch Loss of its run's last 10 batches, as read back",
              _last10_match,
              "Read each run's folder back with EventAccumulator, take the values of its "
              "\"Batch Loss\" events, and average the last 10."),
    ],
)

exercise(
    "06.2", "A figure in TensorBoard", needs=["image_tags"],
    checks=[
        Check("the run folder log_dir now holds an image tagged \"confusion matrix\"",
              lambda ns: "confusion matrix" in _read(ns["log_dir"]).Tags()["images"],
              "Write the figure with add_figure(\"confusion matrix\", fig, ...) using a "
              "SummaryWriter whose log_dir is the notebook's log_dir."),
        Check("image_tags is what EventAccumulator reads back: the grid and the figure",
              lambda ns: {"images", "confusion matrix"} <= set(ns["image_tags"]),
              "After writing, read log_dir back with a new EventAccumulator (Reload() first) and "
              "store its Tags()[\"images\"]."),
    ],
)

exercise(
    "06.3", "Gradient norms as scalars", needs=["mean_grad_norms"],
    checks=[
        Check("mean_grad_norms has one entry per weight tensor (conv1.weight ... out.weight)",
              lambda ns: set(_norms(ns)) == set(WEIGHTS),
              "Key the means by the weight's name as named_parameters() gives it, for the five "
              "names ending in \"weight\"."),
        Check("every mean norm is a positive number",
              lambda ns: all(math.isfinite(v) and v > 0 for v in _norms(ns).values()),
              "A gradient's norm is param.grad.norm(): positive, and finite for this network."),
        Check("every batch's norms were logged as grad norm/<name> in exercise-grad-norms",
              _norms_logged,
              "Pass an on_batch function to short_run(log_root / \"exercise-grad-norms\", lr, "
              "on_batch=...) that calls run_writer.add_scalar(f\"grad norm/{name}\", ..., step)."),
        Check("the means are the means of the logged norms",
              _norms_match,
              "Average the values of each \"grad norm/<name>\" tag you read back from the folder."),
    ],
)
