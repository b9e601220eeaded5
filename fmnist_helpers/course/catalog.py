"""The course's notebooks: finding them, their parameters (papermill's inspection), the presets.

What each parameter is (its rule, whether the runner sets it, which notebook's outputs it names,
its preset values) is in ``fmnist_helpers.parameters.PARAMETERS``; this module reads it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..parameters import PRESETS, parameter
from ..paths import course_dir, numbered_notebooks

if TYPE_CHECKING:  # imported where used: `fmnist-course --help` must start fast
    import pandas as pd


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
    """The parameters one notebook gets: the preset's values and the overrides it declares; the
    values the runner sets itself (``Parameter.runner``: ``out_dir``, the notebook's folder in the
    run; ``data_root``, the data folder checked on this machine, when one is given); and for a
    parameter naming an earlier notebook's outputs (``Parameter.links_to``), that notebook's
    folder in ``linked_dirs`` (keyed by its number; see ``links.resolve_links``) unless an override
    names one. An override of a parameter the runner sets is refused up front (``preflight``).
    """
    declared = notebook_parameters(path)
    owned = {"out_dir": str(out_dir), "data_root": data_root}
    values = {k: v for k, v in check_preset(preset).items() if k in declared}
    values.update({k: v for k, v in overrides.items() if k in declared})
    for name in declared:
        record = parameter(name)
        if record.runner and owned[name] is not None:
            values[name] = owned[name]
        elif record.links_to in linked_dirs and name not in overrides:
            values[name] = str(linked_dirs[record.links_to])
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
