"""``fmnist-course refresh``: re-execute the committed notebooks in place, with clean metadata."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor

from ..progress import tqdm
from ..results import default_out_dir, load_metrics
from .catalog import CourseError, default_notebooks_dir, select_notebooks
from .environment import KERNEL_DISPLAY_NAME, KERNEL_NAME
from .execute import NotebookResult, run_notebook
from .readme import record_notebook

CLEAN_METADATA = ClearMetadataPreprocessor(
    clear_cell_metadata=True, clear_notebook_metadata=True,
    preserve_cell_metadata_mask={"tags"},
    preserve_nb_metadata_mask={"kernelspec", "language_info"})
"""Keeps only what JupyterLab itself stores: tags, the kernel spec and the language info."""


def clean_metadata(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop run-specific metadata (papermill's, timings, widget state) from ``notebook`` and store
    the kernel spec exactly as JupyterLab writes it (opening the notebook then changes nothing)."""
    notebook, _ = CLEAN_METADATA.preprocess(notebook, {})
    notebook.metadata["kernelspec"] = {"display_name": KERNEL_DISPLAY_NAME, "language": "python",
                                       "name": KERNEL_NAME}
    for cell in notebook.cells:  # the preprocessor leaves markdown cells alone
        cell.metadata = {k: v for k, v in cell.metadata.items() if k == "tags"}
    return notebook


def refresh_notebook(path: Path, timeout: float = 3600) -> NotebookResult:
    """Execute ``path`` top to bottom with its own defaults and, if every cell ran, save it in place
    and record its seconds and ``metrics.json`` in ``results/notebooks.json`` (the README's numbers).

    Progress bars are switched off (``TQDM_DISABLE=1``): committed outputs hold no bar timings.
    A notebook that fails is left as it was.
    """
    previous = os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"
    try:
        with tempfile.TemporaryDirectory() as scratch:
            executed = Path(scratch) / path.name
            result = run_notebook(path, Path(scratch), {}, executed, timeout)
            if result.status == "ok":
                notebook = clean_metadata(nbformat.read(executed, as_version=4))
                nbformat.write(notebook, path)
                metrics = load_metrics(default_out_dir(path.stem))
                provenance = metrics.pop("provenance")
                metrics["measured_on"] = {k: provenance[k] for k in ("date", "cpu", "cpu_count", "gpu")}
                record_notebook(path.stem, result.seconds, metrics)
    finally:
        if previous is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = previous
    return result


def refresh_notebooks(only: str | Sequence[str] | None = None,
                      notebooks_dir: Path | None = None) -> list[NotebookResult]:
    """Refresh the selected notebooks (all by default) in order; stop at the first that fails."""
    results = []
    for path in tqdm(select_notebooks(only, notebooks_dir or default_notebooks_dir()),
                     desc="refresh", unit="nb"):
        result = refresh_notebook(path)
        results.append(result)
        print(f"{path.name}: {result.status}, {result.seconds} s {result.error}", flush=True)
        if result.status != "ok":
            raise CourseError(f"{path.name} failed and was left unchanged: {result.error}")
    return results
