"""Reading executed notebooks in tests: errors, exercise check results, cell outputs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from fmnist_helpers.course.notebook_files import RAISES_TAG
from fmnist_helpers.course.student import STUB
from fmnist_helpers.course.tampering import displayed_results
from fmnist_helpers.exercises import EXERCISES


def executed(path: Path) -> nbformat.NotebookNode:
    """An executed notebook (``out_dir / "executed.ipynb"`` of a quick run)."""
    return nbformat.read(path, as_version=4)


def errors(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """``(cell source, error name)`` for every cell that raised."""
    return [(cell.source, output.ename) for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.get("outputs", []) if output.output_type == "error"]


def untagged_raising_cells(notebook: nbformat.NotebookNode) -> list[str]:
    """The first lines of the cells that raised without the ``raises-exception`` tag: each would
    stop JupyterLab's Run All (and nbclient) there, before the check cells after it."""
    return [cell.source.splitlines()[0] for cell in notebook.cells if cell.cell_type == "code"
            and any(o.output_type == "error" for o in cell.get("outputs", []))
            and RAISES_TAG not in cell.metadata.get("tags", [])]


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
    """A student copy ran with only its stubs raising, each tagged so that Run All goes on past it,
    and every check of ``exercise_keys`` failed with its own hint or asked for its exercise first."""
    assert only_stubs_raised(notebook)
    assert not untagged_raising_cells(notebook)
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


def exercise_keys(number: str) -> set[str]:
    """The registered exercises of notebook ``number``."""
    return {key for key in EXERCISES if key.startswith(f"{number}.")}


def exercise_tests(*numbers: str) -> tuple[Callable[..., None], Callable[..., None]]:
    """The two tests of every notebook with exercises, parametrized over ``numbers``: the
    instructor's answers pass every check; the student copy runs with only its stubs raising (each
    tagged ``raises-exception``) and every check showing its hint. A test file binds them to
    ``test_...`` names, so the notebook's quick run is shared with the file's other tests
    (``--dist loadfile``)."""

    @pytest.mark.parametrize("number", numbers)
    def instructor_checks_all_pass(quick_run: Callable[[str], Path], number: str) -> None:
        results = check_results(executed(quick_run(number) / "executed.ipynb"))
        assert results, f"notebook {number} displayed no exercise checks"
        assert {r["exercise"] for r in results} == exercise_keys(number) != set()
        failed = [(r["exercise"], r["check"], r["message"]) for r in results if not r["passed"]]
        assert not failed, failed

    @pytest.mark.parametrize("number", numbers)
    def student_copy_fails_with_hints(student_run: Callable[[str], nbformat.NotebookNode],
                                      number: str) -> None:
        assert_student_copy_fails_with_hints(student_run(number), exercise_keys(number))

    return instructor_checks_all_pass, student_copy_fails_with_hints
