"""What the commands write: stamped folders for runs and sweeps (``runs/20261128-163000``, never
reused), and files replaced whole (a reader never sees half a table)."""

from __future__ import annotations

import errno
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .catalog import CourseError

if TYPE_CHECKING:
    import pandas as pd


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
    try:
        write(partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)  # what a full disk left of it


def write_text_atomically(path: Path, text: str) -> None:
    """``path.write_text(text)``, atomically (see ``write_atomically``)."""
    write_atomically(path, lambda partial: partial.write_text(text))


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """``table`` as ``path`` (no index), atomically."""
    write_atomically(path, lambda partial: table.to_csv(partial, index=False))


def disk_advice(error: OSError) -> str:
    """What to do about ``error``, for the end of a message: the disk is full, the folder is not
    writable, or nothing to add."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return " (the disk is full: free some space there, or choose a folder on another disk)"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return " (choose another folder, or fix its permissions)"
    return ""
