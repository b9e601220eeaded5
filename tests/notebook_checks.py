"""Reading executed notebooks in tests: errors, exercise check results, cell outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat

from fmnist_helpers.course.tampering import displayed_results
from fmnist_helpers.course.student import STUB
from fmnist_helpers.exercises import EXERCISES


def executed(path: Path) -> nbformat.NotebookNode:
    """An executed notebook (``out_dir / "executed.ipynb"`` of a quick run)."""
    return nbformat.read(path, as_version=4)


def errors(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """``(cell source, error name)`` for every cell that raised."""
    return [(cell.source, output.ename) for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.get("outputs", []) if output.output_type == "error"]


def only_stubs_raised(notebook: nbformat.NotebookNode) -> bool:
    """Whether every cell that raised holds a stub and raised ``NotImplementedError``."""
    stub_line = STUB.splitlines()[-1].strip()
    return all(stub_line in source and name == "NotImplementedError"
               for source, name in errors(notebook))


def check_results(notebook: nbformat.NotebookNode) -> list[dict[str, Any]]:
    """Every exercise check the notebook's check cells displayed."""
    return displayed_results(notebook)


def assert_student_copy_fails_with_hints(notebook: nbformat.NotebookNode,
                                         exercise_keys: set[str]) -> None:
    """A student copy ran with only its stubs raising, and every check of ``exercise_keys`` failed
    with its own hint or asked for its exercise first."""
    assert only_stubs_raised(notebook)
    results = check_results(notebook)
    assert {r["exercise"] for r in results} == exercise_keys
    for result in results:
        assert not result["passed"], result
        exercise = EXERCISES[result["exercise"]]
        (check,) = [c for c in exercise.checks if c.description == result["check"]]
        assert (result["message"].startswith(check.hint)
                or result["message"].startswith(f"finish exercise {exercise.number} first")), result


def cell_outputs_text(notebook: nbformat.NotebookNode, first_line: str) -> str:
    """All text and HTML output of the code cells whose source contains ``first_line``."""
    texts = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and first_line in cell.source:
            for output in cell.get("outputs", []):
                texts.append(output.get("text", ""))
                texts.extend(str(v) for k, v in output.get("data", {}).items() if k.startswith("text/"))
    return "\n".join(texts)
