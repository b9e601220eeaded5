"""``fmnist-course grade``: execute students' notebooks and collect what their check cells say."""

from __future__ import annotations

from typing import Any

import nbformat

from ..exercises import CHECK_MIMETYPE


def read_check_results(notebook: nbformat.NotebookNode) -> list[dict[str, Any]]:
    """Every check result an executed notebook displayed, in order: ``exercise``, ``check``,
    ``passed``, ``message`` (what ``fmnist_helpers.check_exercise`` shows after each exercise)."""
    rows = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            bundle = output.get("data", {}).get(CHECK_MIMETYPE)
            if bundle:
                rows += [dict(row) for row in bundle["results"]]
    return rows
