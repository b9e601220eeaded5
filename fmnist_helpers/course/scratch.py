"""Scratch folders in the system's temporary folder, named after the process that made them.

A task's folder (``fmnist-course-<pid>-…``), a kernel's socket folder with its connection file and
keys (``fmnist-kernel-<pid>-…``) and a grading kernel spec (``fmnist-spec-<pid>-…``) are removed by
their process when it ends. A process killed on the spot (``kill -9`` of a Dask worker, a sweep
stopped while its workers were busy) cannot do that, so the commands remove, before and after they
run, every such folder whose process is gone.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

PREFIXES = ("fmnist-course-", "fmnist-kernel-", "fmnist-spec-")
_NAME = re.compile(rf"^({'|'.join(map(re.escape, PREFIXES))})(\d+)-")


def scratch_prefix(kind: str) -> str:
    """``mkdtemp``'s prefix for a scratch folder of this process: ``"fmnist-kernel-4711-"``."""
    if kind not in PREFIXES:
        raise ValueError(f"kind must be one of {', '.join(PREFIXES)}, got {kind!r}")
    return f"{kind}{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def remove_orphaned_scratch(folder: Path | None = None) -> list[Path]:
    """Remove the scratch folders in ``folder`` (default: the system's temporary folder) whose
    process is gone; return them."""
    folder = Path(folder or tempfile.gettempdir())
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _NAME.match(entry.name)
        if match and not _alive(int(match.group(2))) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed
