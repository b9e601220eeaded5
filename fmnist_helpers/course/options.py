"""The options several commands share, each group a small frozen dataclass (``cli`` fills them).

``Folders``: where the notebooks are, where runs go and where the data is (``run``, ``sweep``,
``grade``); ``ClusterOptions``: how notebooks are spread over Dask workers (``sweep``, ``grade``).
Only the standard library is imported here: ``fmnist-course --help`` must start fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .catalog import CourseError, default_notebooks_dir, default_runs_dir

DEFAULT_THREADS = 1
"""Torch threads per notebook. Measured on the 2-core course machine (see the report): two
single-threaded kernels finish a sweep sooner than two kernels of two threads, which fight for
the same cores."""

DEFAULT_TIMEOUT_S = 600.0
"""Seconds one submitted notebook may run in all before it is stopped (an endless loop, say)."""


@dataclass(frozen=True)
class Folders:
    """Where the notebooks are (``--notebooks-dir``), where run and sweep folders are created
    (``--runs-root``) and the data folder asked for (``--data-root``); None: the default."""

    notebooks_dir: Path | None = None
    runs_dir: Path | None = None
    data_root: str | None = None

    def notebooks(self) -> Path:
        """The notebooks' folder, absolute: ``notebooks/`` in the course folder by default."""
        return Path(self.notebooks_dir or default_notebooks_dir()).expanduser().resolve()

    def runs(self) -> Path:
        """The runs' folder, absolute: ``runs/`` in the course folder by default."""
        return Path(self.runs_dir or default_runs_dir()).expanduser().resolve()


@dataclass(frozen=True)
class ClusterOptions:
    """How a sweep or a grading run spreads notebooks over Dask workers: a local cluster of
    ``jobs`` worker processes, or the cluster at ``scheduler``; ``threads`` torch threads per
    notebook (None: torch's default); ``progress``: a progress bar of finished notebooks."""

    jobs: int = 1
    scheduler: str | None = None
    threads: int | None = DEFAULT_THREADS
    progress: bool = True

    def check(self) -> ClusterOptions:
        """These options, or ``CourseError`` naming the one that is out of range."""
        if self.jobs < 1:
            raise CourseError(f"--jobs must be at least 1, got {self.jobs}")
        if self.threads is not None and self.threads < 1:
            raise CourseError(f"--threads must be at least 1, got {self.threads}")
        return self
