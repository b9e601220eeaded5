"""Small stand-in notebooks for testing the course tooling in seconds (no data, no torch).

``make_course(folder)`` writes ``notebooks/01_first``, ``02_second``, ``03_third`` (a number ``x``,
``sleep``, ``fail``), ``04_train`` (writes ``model.pt``) and ``05_use`` (reads ``train_dir``);
``kernels_under(pid)`` and ``wait_for_kernels(pid)`` find the kernels a command running them started.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import nbformat
import psutil
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

PARAMETERS = '''\
from typing import Optional  # papermill's inspection reads Optional[str], not str | None

x: int = 1  # a number the notebook reports
lr: float = 0.5  # only declared by notebook 01
sleep: float = 0.0  # seconds to wait before finishing
fail: bool = False  # raise an error halfway
out_dir: Optional[str] = None  # where metrics.json goes
'''

BODY = '''\
import json, pathlib, time
lr = globals().get("lr")
time.sleep(sleep)
if fail:
    raise RuntimeError("failing halfway on purpose\\nsecond line of the message")
pathlib.Path(out_dir or ".").mkdir(parents=True, exist_ok=True)
pathlib.Path(out_dir or ".", "metrics.json").write_text(json.dumps({"test_accuracy": x / 10, "lr": lr}))
'''

TRAIN_BODY = '''\
import pathlib
pathlib.Path(out_dir).mkdir(parents=True, exist_ok=True)
pathlib.Path(out_dir, "model.pt").write_text(f"weights {x}")
'''

USE_PARAMETERS = '''\
from typing import Optional

x: int = 1  # not used: a parameter a sweep of 05 can vary
train_dir: Optional[str] = None  # where 04 saved model.pt
out_dir: Optional[str] = None  # where metrics.json goes
'''

USE_BODY = '''\
import json, pathlib
weights = pathlib.Path(train_dir, "model.pt").read_text()
pathlib.Path(out_dir).mkdir(parents=True, exist_ok=True)
pathlib.Path(out_dir, "metrics.json").write_text(json.dumps({"trained_weights": weights}))
'''


KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
"""The kernel spec JupyterLab writes into a new notebook."""


def write_one_cell_notebook(path: Path, source: str) -> Path:
    """Write a notebook of one code cell, ``source``, to ``path``; return ``path``."""
    nbformat.write(new_notebook(cells=[new_code_cell(source)], metadata={"kernelspec": KERNELSPEC}),
                   path)
    return path


def notebook(parameters: str, body: str) -> nbformat.NotebookNode:
    """A stand-in: title, parameters cell, body, and an exercise with a solution cell."""
    nb = new_notebook(cells=[
        new_markdown_cell("# stand-in"),
        new_code_cell(parameters, metadata={"tags": ["parameters"]}),
        new_code_cell(body),
        new_markdown_cell("## Exercises\n1. Print the answer."),
        new_code_cell("answer = 6 * 7\nprint(answer)", metadata={"tags": ["solution"]}),
    ])
    nb.metadata = {"kernelspec": dict(KERNELSPEC)}
    return nb


def make_course(root: Path) -> Path:
    """Write the stand-in notebooks into ``root/notebooks``; return that folder."""
    folder = root / "notebooks"
    folder.mkdir(parents=True)
    nbformat.write(notebook(PARAMETERS, BODY), folder / "01_first.ipynb")
    others = PARAMETERS.replace("lr: float = 0.5  # only declared by notebook 01\n", "")
    nbformat.write(notebook(others, BODY), folder / "02_second.ipynb")
    nbformat.write(notebook(others, BODY), folder / "03_third.ipynb")
    nbformat.write(notebook(others, TRAIN_BODY), folder / "04_train.ipynb")
    nbformat.write(notebook(USE_PARAMETERS, USE_BODY), folder / "05_use.ipynb")
    return folder


def set_default(path: Path, name: str, value: str) -> None:
    """Change a parameter's default in a stand-in notebook (``fail`` to ``True``, say)."""
    nb = nbformat.read(path, as_version=4)
    lines = [f"{name}: {line.split(':', 1)[1].split('=')[0].strip()} = {value}  # changed"
             if line.startswith(f"{name}:") else line for line in nb.cells[1].source.splitlines()]
    nb.cells[1].source = "\n".join(lines)
    nbformat.write(nb, path)


def kernels_under(pid: int) -> list[psutil.Process]:
    """The ipykernel processes below ``pid``; children that exit while we look are skipped."""
    kernels = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if "ipykernel" in " ".join(child.cmdline()):
                kernels.append(child)
        except psutil.Error:  # gone, or a zombie not yet reaped
            continue
    return kernels


def wait_for_kernels(pid: int, timeout: float = 60) -> list[psutil.Process]:
    """The kernels below ``pid`` once there are any, or ``[]`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(psutil.Error):  # the command may not have started its children
            kernels = kernels_under(pid)
            if kernels:
                return kernels
        time.sleep(0.3)
    return []
