"""A stand-in course and a class of submissions for the grader's tests (seconds, no data, no torch).

``write_course(root)`` writes the instructor's ``notebooks/90_first.ipynb`` (exercises 90.1 and
90.2: a solution region inside scaffolding) and ``91_second.ipynb`` (91.1: a whole-cell solution).
``write_submissions(root, notebooks)`` writes ``submissions/<student>/``, one student per case:

- ``alice``: both notebooks solved (the instructor's own);
- ``bob``: 90.1 solved, 90.2 wrong; 91 solved;
- ``carol``: the untouched student copies (``fmnist-course student``);
- ``dave``: 90 cut off halfway (not JSON); 91 solved;
- ``erin``: 90.1 solved, then an endless loop in 90.2; 91 solved;
- ``frank``: 90 solved; 91 missing.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from fmnist_helpers.course.student import student_copy

PARAMETERS = '''\
from typing import Optional

show_progress: bool = True  # the quick preset switches it off
out_dir: Optional[str] = None  # where metrics.json goes
'''

SETUP = '''\
import json, pathlib, time
import grading_exercises as ge  # registers exercises 90.1, 90.2 and 91.1
assert show_progress is False, "the grader runs the quick preset"
'''

SQUARES = '''\
squares = []
for i in range(5):
    ### BEGIN SOLUTION
    squares.append(i * i)
    ### END SOLUTION
print(squares)'''


def _notebook(cells: list) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                  "language": "python"}}
    return nb


def first() -> nbformat.NotebookNode:
    """``90_first``: two exercises, answers in solution regions."""
    return _notebook([
        new_markdown_cell("# 90 · A stand-in"),
        new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        new_code_cell(SETUP),
        new_markdown_cell("## Exercises\n1. Set `answer` to six times seven."),
        new_code_cell("### BEGIN SOLUTION\nanswer = 6 * 7\n### END SOLUTION"),
        new_code_cell('ge.check_exercise("90.1", globals())'),
        new_markdown_cell("2. Fill `squares` with the squares of 0 to 4."),
        new_code_cell(SQUARES),
        new_code_cell('ge.check_exercise("90.2", globals())'),
        new_code_cell('pathlib.Path(out_dir, "metrics.json").write_text(json.dumps({"done": 1}))'),
    ])


def second() -> nbformat.NotebookNode:
    """``91_second``: one exercise, a whole-cell answer."""
    return _notebook([
        new_markdown_cell("# 91 · Another stand-in"),
        new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        new_code_cell(SETUP),
        new_markdown_cell("## Exercises\n1. Set `word` to the dataset's name."),
        new_code_cell('word = "Fashion-MNIST"', metadata={"tags": ["solution"]}),
        new_code_cell('ge.check_exercise("91.1", globals())'),
    ])


def write_course(root: Path) -> Path:
    """Write the instructor's stand-in notebooks into ``root/notebooks``; return that folder."""
    folder = root / "notebooks"
    folder.mkdir(parents=True)
    nbformat.write(first(), folder / "90_first.ipynb")
    nbformat.write(second(), folder / "91_second.ipynb")
    return folder


def _edited(notebook: nbformat.NotebookNode, old: str, new: str) -> nbformat.NotebookNode:
    for cell in notebook.cells:
        if old in cell.source:
            cell.source = cell.source.replace(old, new)
            return notebook
    raise ValueError(f"no cell holds {old!r}")


def write_submissions(root: Path) -> Path:
    """Write one folder per student into ``root/submissions``; return that folder."""
    folder = root / "submissions"
    solved = {"90_first": first(), "91_second": second()}
    work = {
        "alice": dict(solved),
        "bob": {"90_first": _edited(first(), "squares.append(i * i)", "squares.append(i + i)"),
                "91_second": second()},
        "carol": {name: student_copy(nb) for name, nb in solved.items()},
        "dave": {"91_second": second()},
        "erin": {"90_first": _edited(first(), "squares.append(i * i)",
                                     "while True:  # waits for ever\n        time.sleep(0.05)"),
                 "91_second": second()},
        "frank": {"90_first": first()},
    }
    for student, notebooks in work.items():
        (folder / student).mkdir(parents=True)
        for name, notebook in notebooks.items():
            nbformat.write(notebook, folder / student / f"{name}.ipynb")
    text = nbformat.writes(first())
    (folder / "dave" / "90_first.ipynb").write_text(text[: len(text) // 2])  # an upload cut off
    return folder
