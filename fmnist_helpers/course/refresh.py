"""``fmnist-course refresh``: re-execute the committed notebooks in place, with clean metadata."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import nbformat

from ..progress import tqdm
from ..results import default_out_dir, load_metrics
from .catalog import CourseError, default_notebooks_dir, select_notebooks
from .environment import temporary_environment
from .execute import NotebookResult, Status, run_notebook
from .measured import record_notebook
from .notebook_files import clean_metadata, mark_for_nbgrader


def refresh_notebook(path: Path, timeout: float = 3600) -> NotebookResult:
    """Execute ``path`` top to bottom with its own defaults and, if every cell ran, save it in place
    (clean metadata, nbgrader's marks on its answer cells) and record its seconds and
    ``metrics.json`` in ``results/notebooks.json`` (the README's numbers).

    Progress bars are switched off (``TQDM_DISABLE=1``): committed outputs hold no bar timings.
    A notebook that fails is left as it was.
    """
    with temporary_environment({"TQDM_DISABLE": "1"}), tempfile.TemporaryDirectory() as scratch:
        executed = Path(scratch) / path.name
        result = run_notebook(path, Path(scratch), {}, executed, timeout)
        if result.status == Status.OK:
            notebook = clean_metadata(nbformat.read(executed, as_version=4))
            nbformat.write(mark_for_nbgrader(notebook, path.stem[:2]), path)
            metrics = load_metrics(default_out_dir(path.stem))
            provenance = metrics.pop("provenance")
            metrics["measured_on"] = {k: provenance[k] for k in ("date", "cpu", "cpu_count", "gpu")}
            record_notebook(path.stem, result.seconds, metrics)
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
        if result.status != Status.OK:
            raise CourseError(f"{path.name} failed and was left unchanged: {result.error}")
    return results
