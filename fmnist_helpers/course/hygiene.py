"""A committed notebook is clean: exactly what ``fmnist-course refresh`` writes, checked before a commit.

The convention is docs/design.md's ("How a notebook is built", 10).

``file_problems`` lists what is wrong with one notebook file; ``tests/test_notebook_conventions.py``
asks it about every course notebook, and ``python -m fmnist_helpers.course.hygiene FILE...`` is the
pre-commit hook (``.pre-commit-config.yaml``, also run by ``make lint``). Clean means:

- metadata as ``refresh`` leaves it (``notebook_files.clean_metadata``, and for a numbered notebook
  ``notebook_files.mark_for_nbgrader``): no papermill metadata, timings, widget state or trust
  signature; the kernel spec exactly as JupyterLab writes it, so opening the notebook changes nothing;
- run top to bottom: every code cell has an execution count, ``1, 2, 3, ...`` in order;
- no error output, and no widget output (a saved widget shows "Error displaying widget" when the
  notebook is opened again).

The fix for all of them is to re-execute the notebook: ``fmnist-course refresh --only NN``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat

from .notebook_files import clean_metadata, copy_of, mark_for_nbgrader

WIDGET_MIMETYPE = "application/vnd.jupyter.widget-view+json"
NUMBERED = re.compile(r"^\d\d_")


def notebook_problems(notebook: nbformat.NotebookNode, stem: str) -> list[str]:
    """What keeps ``notebook`` (the file ``<stem>.ipynb``) from being clean; empty when it is."""
    clean = clean_metadata(copy_of(notebook))
    if NUMBERED.match(stem):
        clean = mark_for_nbgrader(clean, stem[:2])
    problems = []
    if clean.metadata != notebook.metadata:
        extra = sorted(set(notebook.metadata) - set(clean.metadata))
        problems.append("notebook metadata differs from what refresh writes"
                        + (f" (remove {', '.join(extra)})" if extra else " (the kernel spec)"))
    code = [(index, cell) for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    for index, (cell, tidy) in enumerate(zip(notebook.cells, clean.cells, strict=True)):
        if cell.metadata != tidy.metadata:
            problems.append(f"cell {index}: metadata {sorted(cell.metadata)}, refresh keeps "
                            f"{sorted(tidy.metadata)}")
    counts = [cell.execution_count for _, cell in code]
    if counts != list(range(1, len(code) + 1)):
        problems.append(f"not run top to bottom: execution counts {counts}")
    for index, cell in code:
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                problems.append(f"cell {index}: an error output ({output.get('ename')})")
            if WIDGET_MIMETYPE in output.get("data", {}):
                problems.append(f"cell {index}: a widget output (shows as an error when reopened)")
    return problems


def file_problems(path: Path) -> list[str]:
    """What keeps the notebook file at ``path`` from being clean (``notebook_problems``), including
    what nbformat drops as it reads a file (a trust ``signature``), which the file still holds."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        notebook = nbformat.reads(text, as_version=4)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return [f"not a readable notebook ({error})"]
    stored = set(json.loads(text).get("metadata", {}))
    dropped = sorted(stored - set(notebook.metadata))
    problems = [f"notebook metadata: remove {', '.join(dropped)}"] if dropped else []
    return problems + notebook_problems(notebook, Path(path).stem)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fmnist_helpers.course.hygiene FILE...``: say what is wrong with each notebook;
    exit 1 if any is not clean."""
    paths = [Path(arg) for arg in (sys.argv[1:] if argv is None else argv)]
    status = 0
    for path in paths:
        problems = file_problems(path)
        for problem in problems:
            print(f"{path}: {problem}")
        if problems and not problems[0].startswith("not a readable"):
            print(f"{path}: re-execute it: fmnist-course refresh --only {path.stem[:2]}")
        status = 1 if problems else status
    return status


if __name__ == "__main__":
    sys.exit(main())
