"""The course's notebooks: finding them, their parameters (papermill's inspection), the presets."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..paths import course_dir, numbered_notebooks

if TYPE_CHECKING:  # imported where used: `fmnist-course --help` must start fast
    import pandas as pd

PRESETS: dict[str, dict[str, Any]] = {
    # full: each notebook's own defaults; only progress bars are switched off (they clutter logs)
    "full": {"show_progress": False, "open_tensorboard": False},
    # quick: a smoke test of every notebook in a few seconds of training each
    "quick": {
        "show_progress": False,
        "open_tensorboard": False,
        "epochs": 1,
        "rung_epochs": 1,
        "max_batches": 50,
        "num_runs_limit": 2,
        "timing_batches": 20,
        "num_threads": 1,  # 12 trains with 2 by default; a smoke test may share the cores
    },
}
"""Parameter values each preset passes to every notebook that declares the parameter."""

DEFAULT_THREADS = 1
"""Torch threads per notebook. Measured on the 2-core course machine (see the report): two
single-threaded kernels finish a sweep sooner than two kernels of two threads, which fight for
the same cores."""

DEFAULT_TIMEOUT_S = 600.0
"""Seconds one submitted notebook may run in all before it is stopped (an endless loop, say)."""

OUTPUT_LINKS = {"train_dir": "04"}
"""A parameter that names another notebook's ``out_dir``: set to it when both run together."""


class CourseError(ValueError):
    """A request refused before anything runs (unknown notebook, bad parameter, unusable folder)."""


def default_notebooks_dir() -> Path:
    """``notebooks/`` in the course folder (found from the working directory)."""
    return course_dir() / "notebooks"


def default_runs_dir() -> Path:
    """``runs/`` in the course folder: where run and sweep folders are created."""
    return course_dir() / "runs"


def discover_notebooks(folder: Path | None = None) -> list[Path]:
    """The course's notebooks, ``NN_topic.ipynb``, in order, as absolute paths (a student copy
    written aside, ``NN_topic.new.ipynb``, is not one)."""
    return numbered_notebooks(Path(folder or default_notebooks_dir()).expanduser().resolve())


def notebook_number(path: Path) -> str:
    """``"04"`` for ``04_training.ipynb``."""
    return path.name[:2]


def check_preset(preset: str) -> dict[str, Any]:
    """The values of ``preset``; ``CourseError`` naming the presets for an unknown one."""
    if preset not in PRESETS:
        raise CourseError(f"--preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    return PRESETS[preset]


def select_notebooks(only: str | Sequence[str] | None, folder: Path | None = None) -> list[Path]:
    """Notebooks named by number or name in ``only`` (``"04,05"``), or all when it is empty."""
    notebooks = discover_notebooks(folder)
    if not notebooks:
        raise CourseError(f"no notebooks NN_topic.ipynb in {folder or default_notebooks_dir()}; "
                          "run the command in the course folder or pass --notebooks-dir")
    if not only:
        for path in notebooks:
            check_readable(path)
        return notebooks
    wanted = [w.strip() for w in (only.split(",") if isinstance(only, str) else only) if w.strip()]
    chosen: list[Path] = []
    for name in wanted:
        matches = [p for p in notebooks if name in (notebook_number(p), p.stem, p.name)
                   or (name.isdigit() and notebook_number(p) == name.zfill(2))]
        if not matches:
            known = ", ".join(p.stem for p in notebooks)
            raise CourseError(f"--only: no notebook {name!r}; the notebooks are: {known}")
        chosen += [p for p in matches if p not in chosen]
    for path in chosen:
        check_readable(path)
    return sorted(chosen)


@functools.lru_cache(maxsize=64)
def _problem(path: Path, mtime_ns: int) -> str | None:
    import nbformat

    try:
        nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except (OSError, UnicodeDecodeError, ValueError, nbformat.ValidationError) as error:
        reason = getattr(error, "strerror", None) or str(error).splitlines()[0][:120]
        return reason or type(error).__name__
    return None


def check_readable(path: Path) -> None:
    """``CourseError`` naming ``path`` when it is not a notebook nbformat can read (its JSON cut
    short, say), so that a command refuses before it runs or writes anything."""
    path = Path(path)
    try:
        problem = _problem(path, path.stat().st_mtime_ns)
    except OSError as error:
        problem = error.strerror or str(error)
    if problem is not None:
        raise CourseError(f"{path} is not a readable notebook ({problem}); restore it (git checkout "
                          f"-- {path.name}, in its folder) or move it out of {path.parent}")


@functools.lru_cache(maxsize=64)
def _inspect(path: Path, mtime_ns: int) -> dict[str, dict[str, Any]]:
    import papermill as pm

    return pm.inspect_notebook(str(path))


def notebook_parameters(path: Path) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares, from papermill's inspection of its ``parameters`` cell:
    ``{name: {"name", "inferred_type_name", "default", "help"}}``; for 04's ``epochs``, its type
    ``"int"``, its default as text (``"10"``) and its comment as help. Inspected once per file version.
    """
    path = Path(path).resolve()
    return _inspect(path, path.stat().st_mtime_ns)


def parameters_for(path: Path, preset: str, overrides: Mapping[str, Any], out_dir: Path,
                   data_root: str | None, linked_dirs: Mapping[str, Path]) -> dict[str, Any]:
    """The parameters one notebook gets: preset values and overrides it declares, plus its paths.

    ``out_dir`` is always the run's folder for the notebook (an ``out_dir`` override is refused
    up front); a parameter in ``OUTPUT_LINKS`` names the linked notebook's folder in this run.
    """
    declared = notebook_parameters(path)
    values = {k: v for k, v in check_preset(preset).items() if k in declared}
    values.update({k: v for k, v in overrides.items() if k in declared})
    if "out_dir" in declared:
        values["out_dir"] = str(out_dir)
    if "data_root" in declared and data_root is not None:
        values["data_root"] = data_root
    for name, number in OUTPUT_LINKS.items():
        if name in declared and number in linked_dirs and name not in overrides:
            values[name] = str(linked_dirs[number])
    return values


def list_notebooks(folder: Path | None = None) -> pd.DataFrame:
    """Every notebook with its parameters, their types and defaults."""
    import pandas as pd

    rows = []
    for path in select_notebooks(None, folder):  # refuses an empty folder or an unreadable notebook
        for name, spec in notebook_parameters(path).items():
            rows.append({"notebook": path.stem, "parameter": name,
                         "type": spec.get("inferred_type_name"), "default": spec.get("default"),
                         "help": spec.get("help", "")})
    return pd.DataFrame(rows)
