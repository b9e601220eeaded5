"""Write quick-parameter copies of the notebooks for nbval (``make test`` runs this first).

nbval re-executes a notebook and compares the cells tagged ``nbval-check-output`` with their
committed outputs. Those cells print deterministic facts (lengths, counts, shapes, the network),
which do not depend on how long a notebook trains, so the copies get papermill's quick parameters
in an ``injected-parameters`` cell and keep every committed output. The copies run in parallel
(``pytest -n 2``), so 05 cannot wait for 04's copy to train: it analyses a ``Network`` saved here
from the seed alone (none of its checked outputs depends on how well the weights were trained).
Each copy ends with its last checked cell: what runs after it cannot change a checked output, and
the quick runs and student copies execute every notebook to its end anyway.
Usage: ``python tests/nbval_copies.py build/nbval``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
import torch
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from fmnist_helpers import Network, set_seed
from fmnist_helpers.course.catalog import discover_notebooks, notebook_number, parameters_for
from fmnist_helpers.parameters import OUTPUT_LINKS

CHECKED = "nbval-check-output"


def last_checked_cell(notebook: nbformat.NotebookNode) -> int:
    """The index of the last cell whose output nbval compares."""
    checked = [i for i, cell in enumerate(notebook.cells) if CHECKED in cell.metadata.get("tags", [])]
    if not checked:
        raise ValueError("a course notebook without any nbval-check-output cell")
    return checked[-1]


def write_copies(target: Path) -> list[Path]:
    """Write one quick copy per notebook into ``target`` (emptied first); return their paths."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    written = []
    notebooks = discover_notebooks()
    out_dirs = {notebook_number(p): (target / "out" / p.stem).resolve() for p in notebooks}
    weights = (target / "seed_weights").resolve()  # what 05 analyses (see above)
    weights.mkdir()
    set_seed(0)
    torch.save(Network().state_dict(), weights / "model.pt")
    for path in notebooks:
        values = parameters_for(path, "quick", {}, out_dirs[notebook_number(path)], None,
                                {number: weights for number in OUTPUT_LINKS.values()})
        notebook = load_notebook_node(str(path))  # adds the metadata papermill's injection expects
        # papermill's own injection, so the copies match what `fmnist-course run` executes
        notebook = parameterize_notebook(notebook, values, report_mode=False)
        notebook.metadata.pop("papermill", None)
        notebook.cells = notebook.cells[: last_checked_cell(notebook) + 1]
        copy = target / path.name
        nbformat.write(notebook, copy)
        written.append(copy)
    return written


if __name__ == "__main__":
    paths = write_copies(Path(sys.argv[1] if len(sys.argv) > 1 else "build/nbval"))
    print(f"wrote {len(paths)} quick notebook copies for nbval")
