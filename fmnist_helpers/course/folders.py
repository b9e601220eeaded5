"""What the commands write: stamped folders for runs and sweeps (``runs/20261128-163000``, never
reused), and files replaced whole (a reader never sees half a table)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from .catalog import CourseError


def new_stamped_dir(root: Path, prefix: str = "") -> Path:
    """Create and return a new folder ``root/<prefix><YYYYmmdd-HHMMSS>[-n]``.

    The name is claimed by creating it (``mkdir`` fails if it exists), so two runs started in the
    same second get different folders. A ``root`` that cannot be created or written raises a
    ``CourseError`` naming it.
    """
    stamp = f"{prefix}{datetime.now():%Y%m%d-%H%M%S}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        for n in range(1, 1000):
            candidate = root / (stamp if n == 1 else f"{stamp}-{n}")
            try:
                candidate.mkdir()
                return candidate
            except FileExistsError:
                continue
    except OSError as error:
        raise CourseError(f"cannot create a run folder in {root}: {error.strerror}; choose a "
                          "writable folder with --runs-root") from None
    raise CourseError(f"cannot create a run folder in {root}: 999 folders named {stamp} exist")


def write_atomically(path: Path, write: Callable[[Path], Any]) -> None:
    """Write ``path`` through ``write(temporary path)``, then rename it into place: a reader sees the
    old file or the new one, never half of one. Sweeps and grading save every table this way."""
    partial = path.with_name(path.name + ".partial")
    write(partial)
    partial.replace(path)


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """``table`` as ``path`` (no index), atomically."""
    write_atomically(path, lambda partial: table.to_csv(partial, index=False))
