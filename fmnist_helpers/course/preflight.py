"""The one check before a run or a sweep starts: parameters known, typed and allowed, data intact.

Everything a request can get wrong is refused here, once, before any notebook runs, with the same
rules the notebooks' own checking cell applies (``fmnist_helpers.parameters``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..checks import ParameterError
from ..data import DataCorruptError, DataMissingError, DataRootError, ensure_fashion_mnist
from ..parameters import check_parameter, parameter
from .catalog import CourseError, notebook_parameters


def check_values(notebooks: Sequence[Path], values: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
    """Check every candidate value of every ``-p`` parameter against every notebook declaring it.

    Returns the values as the notebooks should get them (a relative folder made absolute, taken
    against the folder the command ran in). Raises ``CourseError`` naming the parameter, the value
    and what is allowed, or what to use instead for a parameter the runner sets itself.
    """
    declared: dict[str, list[tuple[Path, str]]] = {}
    for path in notebooks:
        for name, spec in notebook_parameters(path).items():
            declared.setdefault(name, []).append((path, spec["inferred_type_name"]))
    checked: dict[str, list[Any]] = {}
    for name, candidates in values.items():
        record = parameter(name)
        if record.runner:
            raise CourseError(f"-p {name}: {record.runner}")
        if name not in declared:
            known = ", ".join(sorted(declared))
            raise CourseError(f"-p {name}: no selected notebook has a parameter {name!r}; "
                              f"their parameters are: {known}")
        for value in candidates:
            for path, type_name in declared[name]:
                try:
                    check_parameter(path.stem, name, value, type_name)
                except ParameterError as error:
                    raise CourseError(f"-p {name} {value!r}: {path.name} declares {name}: "
                                      f"{type_name}; {error}") from None
        checked[name] = [str(Path(v).expanduser().resolve()) if record.is_folder and v else v
                         for v in candidates]
    return checked


def check_data(data_root: str | None) -> str:
    """Check (or download) the data once on this machine; return the absolute data root, the one
    value of the ``data_root`` parameter every notebook of the request gets (a worker that lacks
    that folder uses its own: ``worker.run_task``)."""
    try:
        return str(ensure_fashion_mnist(data_root))
    except (DataMissingError, DataCorruptError, DataRootError) as error:
        raise CourseError(str(error)) from None
