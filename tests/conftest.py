"""Shared fixtures: the real data (never downloaded) and one quick run of each notebook per session.

With ``pytest -n 2`` (``make test``) each test file stays on one worker (``--dist loadfile``), so
a notebook that several tests check is still executed once. The two workers share the machine's
cores, so each worker and every kernel it starts computes with one torch thread (``OMP_NUM_THREADS``,
unless already set; notebook 12 sets its own number of threads).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
import torch

from fmnist_helpers.course.catalog import notebook_parameters, parameters_for, select_notebooks
from fmnist_helpers.course.environment import apply_environment
from fmnist_helpers.course.execute import run_notebook
from fmnist_helpers.course.student import student_copy
from fmnist_helpers.data import DataMissingError, ensure_fashion_mnist

apply_environment()
os.environ.setdefault("OMP_NUM_THREADS", "1")  # read by the kernels this session starts
torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))  # this process imported torch already


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real Fashion-MNIST, from $FMNIST_DATA (the tests never download)."""
    try:
        return ensure_fashion_mnist(download=False)
    except DataMissingError as error:
        pytest.fail(f"{error}\n(for the tests: FMNIST_DATA=../shared/data)")


@pytest.fixture(scope="session")
def run_quick(data_root) -> Callable[..., Path]:
    """``run_quick("07", out_dir, lrs=[0.005])``: execute a notebook with the quick preset's values
    plus ``extra`` into ``out_dir`` (executed copy: ``out_dir/executed.ipynb``); fail on an error."""

    def run(number: str, out_dir: Path, **extra: Any) -> Path:
        (path,) = select_notebooks(number)
        params = parameters_for(path, "quick", extra, out_dir, str(data_root), {})
        result = run_notebook(path, out_dir, params, out_dir / "executed.ipynb")
        if result.status != "ok":
            pytest.fail(f"{path.name} with {params}: {result.status}: {result.error}")
        return out_dir

    return run


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory, run_quick) -> Callable[[str], Path]:
    """``quick_run("04")`` executes notebook 04 with the quick preset once per session and returns
    its ``out_dir``. A notebook that needs 04's weights (05) gets 04's ``out_dir`` as ``train_dir``."""
    cache: dict[str, Path] = {}

    def run(number: str) -> Path:
        if number not in cache:
            (path,) = select_notebooks(number)
            extra = {"train_dir": str(run("04"))} if "train_dir" in notebook_parameters(path) else {}
            cache[number] = run_quick(number, tmp_path_factory.mktemp(f"nb{number}"), **extra)
        return cache[number]

    return run


STUDENT_RUN_BATCHES = {"max_batches": 5, "timing_batches": 5}
"""Fewer batches than the quick preset for student copies: their tests check which cells raise and
what the checks say, which no amount of training changes."""


@pytest.fixture(scope="session")
def student_run(tmp_path_factory, data_root, quick_run) -> Callable[[str], nbformat.NotebookNode]:
    """``student_run("04")``: the student copy of notebook 04 (``fmnist-course student``) executed
    with the quick preset and ``STUDENT_RUN_BATCHES``, every cell run even after a stub raised;
    returns the executed notebook."""
    cache: dict[str, nbformat.NotebookNode] = {}

    def run(number: str) -> nbformat.NotebookNode:
        if number not in cache:
            (path,) = select_notebooks(number)
            folder = tmp_path_factory.mktemp(f"student{number}")
            copy = folder / path.name
            nbformat.write(student_copy(nbformat.read(path, as_version=4)), copy)
            declared = notebook_parameters(path)
            extra = {name: value for name, value in STUDENT_RUN_BATCHES.items() if name in declared}
            if "train_dir" in declared:
                extra["train_dir"] = str(quick_run("04"))
            params = parameters_for(path, "quick", extra, folder / "out", str(data_root), {})
            run_notebook(copy, folder / "out", params, folder / "executed.ipynb", allow_errors=True)
            cache[number] = nbformat.read(folder / "executed.ipynb", as_version=4)
        return cache[number]

    return run

