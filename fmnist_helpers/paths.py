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

ASIDE_SUFFIX = ".new.ipynb"
"""A newer student copy written beside one a student edited (``04_training.new.ipynb``): not a
notebook of the course."""


def numbered_notebooks(folder: str | os.PathLike[str]) -> list[Path]:
    """The notebooks ``NN_topic.ipynb`` in ``folder``, in order (``*.new.ipynb`` left out)."""
    return sorted(path for path in Path(folder).glob(NOTEBOOK_PATTERN)
                  if not path.name.endswith(ASIDE_SUFFIX))


def _holds_notebooks(folder: Path) -> bool:
    return bool(numbered_notebooks(folder / "notebooks"))


def find_course_dir(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The first of ``start`` (default: the working directory) and its parents with a ``notebooks/``
    folder of numbered notebooks, or ``None`` when there is none: from ``notebooks/`` itself, or
    from ``student/``, the folder above it.
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


def outputs_dir(start: str | os.PathLike[str] | None = None) -> Path:
    """Where notebooks running in ``start`` (default: the working directory, which is a kernel's
    notebook folder) keep their results: ``outputs/`` in the course folder, or ``outputs/`` in
    ``start`` itself when it is another folder of course notebooks (``student/``, a copy), so a
    student's run never replaces the results the instructor's notebooks read: from ``student/``,
    ``student/outputs``; from ``notebooks/``, ``outputs`` beside it.
    """
    here = Path(start if start is not None else Path.cwd()).resolve()
    course = course_dir(here)
    if here != course / "notebooks" and numbered_notebooks(here):
        return here / "outputs"
    return course / "outputs"


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
