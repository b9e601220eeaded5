"""Where the course lives on disk: the course folder, found from the working directory.

The package may be installed anywhere (``pip install .`` copies it into ``site-packages``), so
nothing here looks at the package's own location. The course folder is the one that holds the
numbered notebooks in ``notebooks/``; kernels start in ``notebooks/`` (JupyterLab, the runner) or
in the course folder (plain papermill), and both find the same folder.
"""

from __future__ import annotations

import os
from pathlib import Path

NOTEBOOK_PATTERN = "[0-9][0-9]_*.ipynb"
"""The file names of the course's notebooks: ``04_training.ipynb``."""


def _holds_notebooks(folder: Path) -> bool:
    return any((folder / "notebooks").glob(NOTEBOOK_PATTERN))


def find_course_dir(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The first of ``start`` (default: the working directory) and its parents with a ``notebooks/``
    folder of numbered notebooks, or ``None`` when there is none.

    >>> find_course_dir("notebooks")  # doctest: +SKIP
    PosixPath('/home/me/fmnist-course')
    """
    folder = Path(start if start is not None else Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        if _holds_notebooks(candidate):
            return candidate
    return None


def course_dir(start: str | os.PathLike[str] | None = None) -> Path:
    """The course folder (see ``find_course_dir``), or the working directory when none is found.

    ``$FMNIST_COURSE`` names it explicitly.
    """
    explicit = os.environ.get("FMNIST_COURSE")
    if explicit:
        return Path(explicit).expanduser().resolve()
    return find_course_dir(start) or Path.cwd().resolve()


def resolve_env_path(value: str) -> Path:
    """An absolute path for a folder named in an environment variable such as ``$FMNIST_DATA``.

    A relative value is taken against the folder the user's command was started in. A kernel's
    working directory is where its notebook lives, not where the user typed ``FMNIST_DATA=../data
    jupyter lab``; ``$PWD`` still names that folder, because a child process inherits it unchanged.
    """
    path = Path(value).expanduser()
    if path.is_absolute():
        return path.resolve()
    started_in = os.environ.get("PWD")
    base = Path(started_in) if started_in and Path(started_in).is_dir() else Path.cwd()
    return (base / path).resolve()
