"""Where a notebook writes its results, and the provenance stored with them."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
import torchvision

from .paths import outputs_dir


def default_out_dir(notebook: str) -> Path:
    """Where a notebook writes when no ``out_dir`` is given (and where 05 looks for 04's weights):
    ``outputs/<notebook>`` in the course, or in the folder of student copies the kernel runs in
    (``student/outputs/<notebook>``; see ``paths.outputs_dir``)."""
    return outputs_dir() / notebook


def resolve_out_dir(out_dir: str | os.PathLike[str] | None, notebook: str) -> Path:
    """Return ``out_dir`` as an absolute folder (created), or ``default_out_dir(notebook)`` when it
    is ``None`` or ``""``."""
    path = Path(out_dir).expanduser() if out_dir not in (None, "") else default_out_dir(notebook)
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance(seed: int | None = None, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """What produced a result: date, platform, CPU/GPU, Python/torch/torchvision, seed, parameters."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "gpu": gpu,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "seed": seed,
        "parameters": parameters or {},
    }


def jsonable(value: Any) -> Any:
    """``value`` with tensors, paths and NumPy scalars turned into what JSON can hold."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, (Path, torch.device)):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    return value


def not_finite(value: Any, where: str = "") -> list[str]:
    """Where ``value`` (JSON-like, as ``jsonable`` gives) holds NaN or an infinity:
    ``["loss", "epochs[3].loss"]``."""
    if isinstance(value, float) and not math.isfinite(value):
        return [where]
    if isinstance(value, dict):
        return [w for k, v in value.items() for w in not_finite(v, f"{where}.{k}" if where else str(k))]
    if isinstance(value, list):
        return [w for i, v in enumerate(value) for w in not_finite(v, f"{where}[{i}]")]
    return []


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_or_none(v) for v in value]
    return value


def save_metrics(
    out_dir: str | os.PathLike[str],
    metrics: dict[str, Any],
    parameters: dict[str, Any] | None = None,
    seed: int | None = None,
) -> Path:
    """Write ``metrics`` plus a ``provenance`` block to ``out_dir/metrics.json``; return its path.

    The file is strict JSON: a NaN or infinite value (a loss that diverged) is written as ``null``
    and its place listed under ``"not_finite"``, which run reports and sweeps show as a warning.
    A notebook calls ``setup.save_metrics(metrics)`` (``start.NotebookSetup``), which passes the
    parameters and seed it started with; the run report reads the seed back from the provenance.
    """
    path = Path(out_dir) / "metrics.json"
    values = jsonable(metrics)
    record = {**_finite_or_none(values), "provenance": jsonable(provenance(seed, parameters))}
    places = not_finite(values)
    if places:
        record["not_finite"] = places
    path.write_text(json.dumps(record, indent=2, allow_nan=False) + "\n")
    return path


def load_metrics(out_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``out_dir/metrics.json``."""
    return json.loads((Path(out_dir) / "metrics.json").read_text())
