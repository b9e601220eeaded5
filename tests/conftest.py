"""Shared fixtures: the real data (never downloaded) and quick papermill runs of the notebooks."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import papermill as pm
import pytest
from papermill.exceptions import PapermillExecutionError

from fmnist_helpers.data import DataMissingError, ensure_fashion_mnist
from fmnist_helpers.runner import (
    NOTEBOOKS_DIR,
    execute_notebook,
    notebook_parameters,
    parameters_for,
    select_notebooks,
)

os.environ.setdefault("JUPYTER_PREFER_ENV_PATH", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see the Makefile


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real Fashion-MNIST, from $FMNIST_DATA (the tests never download)."""
    try:
        return ensure_fashion_mnist(download=False)
    except DataMissingError as error:
        pytest.fail(f"{error}\n(for the tests: FMNIST_DATA=../shared/data)")


def quick_parameters(path: Path, out_dir: Path, data_root: Path, **extra: Any) -> dict[str, Any]:
    """The quick preset's values that ``path`` declares, plus its out_dir, data root and ``extra``."""
    return parameters_for(path, "quick", extra, out_dir, str(data_root), {})


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory, data_root) -> Callable[..., Path]:
    """``quick_run("04")`` executes notebook 04 with quick parameters once per session.

    Returns the notebook's ``out_dir``; the executed notebook is ``out_dir / "executed.ipynb"``.
    Notebook 05 gets 04's output as ``train_dir`` automatically.
    """
    cache: dict[str, Path] = {}

    def run(number: str) -> Path:
        if number not in cache:
            (path,) = select_notebooks(number)
            out_dir = tmp_path_factory.mktemp(f"nb{number}")
            extra = {}
            if "train_dir" in notebook_parameters(path):
                extra["train_dir"] = str(run("04"))
            params = quick_parameters(path, out_dir, data_root, **extra)
            execute_notebook(path, out_dir / "executed.ipynb", params)
            cache[number] = out_dir
        return cache[number]

    return run


@pytest.fixture
def run_expecting_error(tmp_path, data_root) -> Callable[..., PapermillExecutionError]:
    """Run a notebook with bad ``parameters``; return papermill's error (fails if none is raised)."""

    def run(number: str, **parameters: Any) -> PapermillExecutionError:
        (path,) = select_notebooks(number)
        params = quick_parameters(path, tmp_path, data_root, **parameters)
        with pytest.raises(PapermillExecutionError) as info:
            pm.execute_notebook(str(path), str(tmp_path / "failed.ipynb"), parameters=params,
                                kernel_name="python3", progress_bar=False, cwd=str(NOTEBOOKS_DIR))
        return info.value

    return run
