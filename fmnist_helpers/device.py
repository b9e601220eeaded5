"""Picking the device to compute on."""

from __future__ import annotations

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()


def get_device(requested: str = "auto") -> torch.device:
    """Return a ``torch.device``: for ``"auto"`` cuda, else mps, else cpu.

    A named device (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``) is returned only when it is
    available; otherwise ``ValueError`` says what is available.
    """
    if not isinstance(requested, str):
        raise ValueError(f"device must be a string, one of {DEVICE_CHOICES}, got {requested!r}")
    kind = requested.split(":")[0]
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if kind not in DEVICE_CHOICES[1:]:
        raise ValueError(f"device must be one of {DEVICE_CHOICES} (cuda may name an index, "
                         f"'cuda:0'), got {requested!r}")
    available = ["cpu"]
    if torch.cuda.is_available():
        available += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available():
        available.append("mps")
    if kind == "cuda":
        index = int(requested.split(":")[1]) if ":" in requested else 0
        if index >= torch.cuda.device_count():
            raise ValueError(f"device={requested!r} is not available on this machine; "
                             f"available: {', '.join(available)} (or 'auto')")
    elif kind == "mps" and not _mps_available():
        raise ValueError(f"device={requested!r} is not available on this machine; "
                         f"available: {', '.join(available)} (or 'auto')")
    return torch.device(requested)
