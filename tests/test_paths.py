"""The course folder is found from the working directory, never from where the package is installed."""

from __future__ import annotations

from pathlib import Path

import pytest

import fmnist_helpers
from fmnist_helpers.data import DataRootError, resolve_data_root
from fmnist_helpers.paths import course_dir, find_course_dir, resolve_env_path
from fmnist_helpers.results import default_out_dir

COURSE = Path(__file__).resolve().parent.parent


def test_no_module_locates_files_from_its_own_path():
    """``pip install .`` copies the package away from the course: nothing may use ``__file__``."""
    for path in Path(fmnist_helpers.__file__).parent.rglob("*.py"):
        assert "__file__" not in path.read_text(), path


@pytest.mark.parametrize("start", ["", "notebooks", "tests", "fmnist_helpers/course"])
def test_course_folder_is_found_from_inside_it(start):
    assert find_course_dir(COURSE / start) == COURSE


def test_outside_a_course_the_working_directory_is_used(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FMNIST_COURSE", raising=False)
    assert find_course_dir() is None and course_dir() == tmp_path.resolve()
    assert default_out_dir("04_training") == tmp_path.resolve() / "outputs" / "04_training"
    monkeypatch.setenv("FMNIST_COURSE", str(COURSE))
    assert course_dir() == COURSE


def test_kernels_in_notebooks_write_to_the_course_outputs(monkeypatch):
    monkeypatch.chdir(COURSE / "notebooks")  # where JupyterLab and the runner start kernels
    assert default_out_dir("04_training") == COURSE / "outputs" / "04_training"


def test_relative_env_path_is_taken_from_where_the_command_started(tmp_path, monkeypatch):
    started, kernel = tmp_path / "started_here", tmp_path / "started_here" / "notebooks"
    kernel.mkdir(parents=True)
    monkeypatch.setenv("PWD", str(started))  # the shell's folder; a kernel inherits it
    monkeypatch.chdir(kernel)  # where the kernel runs
    assert resolve_env_path("../shared/data") == (tmp_path / "shared" / "data").resolve()
    monkeypatch.setenv("FMNIST_DATA", "../shared/data")
    assert resolve_data_root() == (tmp_path / "shared" / "data").resolve()
    assert resolve_data_root("../data") == (started / "data").resolve()  # a parameter: the kernel's


def test_data_root_naming_a_file_is_refused(tmp_path, monkeypatch):
    file = tmp_path / "train-images-idx3-ubyte.gz"
    file.write_bytes(b"x")
    monkeypatch.setenv("FMNIST_DATA", str(file))
    with pytest.raises(DataRootError, match=r"FMNIST_DATA names the file .*must name the folder that "
                                            r"contains FashionMNIST/raw/"):
        resolve_data_root()
