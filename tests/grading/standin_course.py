"""A stand-in course and a class of submissions for the grader's tests (seconds, no data, no torch).

``write_course(root)`` writes the instructor's ``notebooks/90_first.ipynb`` (exercises 90.1 and
90.2: a solution region inside scaffolding) and ``91_second.ipynb`` (91.1: a whole-cell solution).
``write_submissions(root, notebooks)`` writes ``submissions/<student>/``, one student per case:

- ``alice``: both notebooks solved (the instructor's own);
- ``bob``: 90.1 solved, 90.2 wrong; 91 solved;
- ``carol``: the untouched student copies (``fmnist-course student``);
- ``dave``: 90 cut off halfway (not JSON); 91 solved;
- ``erin``: 90.1 solved, then an endless loop in 90.2; 91 solved;
- ``frank``: 90 solved; 91 missing;

and submissions of 90 that try what a class would try:

- ``gina``: right answers written differently from the instructor's;
- ``hank``: no answers, but a cell displays forged check results;
- ``ivy``: no answers, the check function replaced and the grader's hook unregistered;
- ``jack``: right answers with every check cell deleted;
- ``kate``: right answers, then reads another submission, writes outside its folder and connects
  to a server on 127.0.0.1 (what each attempt gave is printed in its executed copy);
- ``liam``: 90.1 answered, then a memory bomb;
- ``mia``: 90.1 answered, then a fork bomb.
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


FORGED = '''\
from IPython.display import display
display({"text/plain": "Exercise 90.1: 2 of 2 checks pass", ge.engine.CHECK_MIMETYPE: {
    "exercise": "90.1", "title": "six times seven", "results": [
        {"exercise": "90.1", "check": "`answer` is six times seven", "passed": True, "message": "✓"}]}},
        raw=True)'''

PATCHED = '''\
ge.check_exercise = lambda key, ns: print(f"Exercise {key}: every check passes")
ge.engine.run_checks = lambda *args, **kwargs: None
for callback in list(get_ipython().events.callbacks["post_run_cell"]):
    get_ipython().events.unregister("post_run_cell", callback)'''

SNOOP = '''\
import os, socket, pathlib
def attempt(what, action):
    try:
        print(what, "SUCCEEDED:", action())
    except Exception as error:
        print(what, "failed:", type(error).__name__)
attempt("read another submission", lambda: pathlib.Path({other!r}).read_text()[:20])
attempt("list the submissions", lambda: os.listdir({submissions!r}))
attempt("write beside the submissions",
        lambda: pathlib.Path({submissions!r}, "kate-was-here").write_text("x"))
attempt("write to the host's /tmp", lambda: pathlib.Path("/tmp/kate-was-here").write_text("x"))
attempt("connect to 127.0.0.1", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=2).close())
print("uid", os.getuid())'''

MEMORY_BOMB = "hog = bytearray(64 * 2**30)  # 64 GiB at once"

FORK_BOMB = '''\
import os, time
children = 0
for _ in range(3000):  # capped: without the sandbox's limit this must not take the machine down
    if os.fork() == 0:
        time.sleep(3600)  # still there unless the grader kills what the sandbox left
        os._exit(0)
    children += 1'''


def _appended(notebook: nbformat.NotebookNode, source: str, before: str) -> nbformat.NotebookNode:
    index = next(i for i, cell in enumerate(notebook.cells) if before in cell.source)
    notebook.cells.insert(index, new_code_cell(source))
    return notebook


def _without_check_cells(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    notebook.cells = [c for c in notebook.cells if "check_exercise" not in c.source]
    return notebook


def write_submissions(root: Path, port: int = 9) -> Path:
    """Write one folder per student into ``root/submissions``; return that folder. ``port``: the
    test's server on 127.0.0.1 that ``kate`` tries to reach."""
    folder = root / "submissions"
    solved = {"90_first": first(), "91_second": second()}
    snoop = SNOOP.format(other=str(folder / "alice" / "90_first.ipynb"), submissions=str(folder),
                         port=port)
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
        "gina": {"90_first": _edited(_edited(first(), "answer = 6 * 7", "answer = int('4' + '2')"),
                                     "squares.append(i * i)", "squares.append(i ** 2)")},
        "hank": {"90_first": _appended(student_copy(first()), FORGED, "ge.check_exercise(\"90.1\"")},
        "ivy": {"90_first": _appended(student_copy(first()), PATCHED, "# YOUR CODE HERE")},
        "jack": {"90_first": _without_check_cells(first())},
        "kate": {"90_first": _appended(first(), snoop, "ge.check_exercise(\"90.2\"")},
        "liam": {"90_first": _appended(first(), MEMORY_BOMB, "squares = []")},
        "mia": {"90_first": _appended(first(), FORK_BOMB, "squares = []")},
    }
    for student, notebooks in work.items():
        (folder / student).mkdir(parents=True)
        for name, notebook in notebooks.items():
            nbformat.write(notebook, folder / student / f"{name}.ipynb")
    text = nbformat.writes(first())
    (folder / "dave" / "90_first.ipynb").write_text(text[: len(text) // 2])  # an upload cut off
    return folder
