"""Re-execute the committed notebooks in place with their defaults, keeping clean metadata."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from .progress import progress
from .runner import select_notebooks

KEPT_NOTEBOOK_METADATA = ("kernelspec", "language_info")
KEPT_CELL_METADATA = ("tags",)


def clean_metadata(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop run-specific metadata (timings, widget state, papermill's) from a notebook, in place."""
    notebook.metadata = nbformat.from_dict(
        {k: v for k, v in notebook.metadata.items() if k in KEPT_NOTEBOOK_METADATA})
    for cell in notebook.cells:
        cell.metadata = nbformat.from_dict(
            {k: v for k, v in cell.metadata.items() if k in KEPT_CELL_METADATA})
    return notebook


def refresh_notebook(path: Path, timeout: int = 1800) -> float:
    """Execute ``path`` top to bottom with its own parameters and save it; return the seconds."""
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    # Progress bars become ipywidgets without saved state: noise in a committed notebook.
    previous = os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"
    try:
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        if previous is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = previous
    nbformat.write(clean_metadata(notebook), path)
    return time.perf_counter() - start


def refresh_notebooks(only: str | Sequence[str] | None = None) -> dict[str, float]:
    """Refresh the selected notebooks (all by default) in order; return seconds per notebook."""
    seconds = {}
    for path in progress(select_notebooks(only), desc="refresh", unit="nb"):
        seconds[path.stem] = round(refresh_notebook(path), 1)
        print(f"{path.name}: {seconds[path.stem]} s", flush=True)
    return seconds
