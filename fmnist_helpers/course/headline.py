"""A notebook's headline results: the few numbers of its ``metrics.json`` a table should show."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..results import not_finite

KEY_METRICS = ("best_validation_accuracy", "test_accuracy", "bn_test_accuracy", "best_test_accuracy",
               "chosen", "preprocessed_accuracy", "naive_accuracy",
               "best_run", "parameter_count", "seconds_per_epoch", "untrained_accuracy",
               "in_memory_over_floor", "in_memory_speedup", "mean", "std", "allclose", "device",
               "trained_weights")
"""Metrics a report shows first when a notebook's ``metrics.json`` has them, best first."""


def headline_metric(names: Iterable[str]) -> str | None:
    """The first of ``KEY_METRICS`` among ``names`` (a sweep plots it), or None."""
    present = set(names)
    return next((name for name in KEY_METRICS if name in present), None)


def _summarise(value: Any) -> Any:
    if isinstance(value, dict):
        if value and all(isinstance(v, bool) for v in value.values()):
            return all(value.values())
        return ", ".join(f"{k}={v}" for k, v in value.items() if not isinstance(v, (dict, list)))
    if isinstance(value, list) and value and all(isinstance(v, (int, float)) for v in value):
        return round(sum(value) / len(value), 3)  # e.g. seconds per epoch: their mean
    return value


def key_metrics(out_dir: Path, limit: int = 4) -> dict[str, Any]:
    """Up to ``limit`` headline results from ``out_dir/metrics.json`` (empty if there is none).

    ``KEY_METRICS`` come first, then other numbers; dicts and lists of numbers are summarised.
    """
    path = out_dir / "metrics.json"
    try:
        data = {k: v for k, v in json.loads(path.read_text()).items() if k != "provenance"}
    except (OSError, ValueError):
        return {}
    warning = diverged_warning(data)
    chosen = [k for k in KEY_METRICS if k in data]
    chosen += [k for k, v in data.items()
               if k not in chosen and isinstance(v, (int, float)) and not isinstance(v, bool)]
    headline = {k: _summarise(data[k]) for k in chosen[: limit - bool(warning)]}
    return {"warning": warning, **headline} if warning else headline


def diverged_warning(metrics: dict[str, Any]) -> str:
    """A warning when a notebook's metrics hold NaN or infinite values (listed by ``save_metrics``
    under ``"not_finite"``, or bare in an older file): a run can finish "ok" with a loss that
    diverged and chance accuracy. Empty when every number is finite."""
    places = list(metrics.get("not_finite") or []) or not_finite(metrics)
    if not places:
        return ""
    shown = ", ".join(places[:3]) + (f" and {len(places) - 3} more" if len(places) > 3 else "")
    return (f"not a finite number (NaN or infinity) in {shown}: the training diverged; try a "
            "smaller lr")
