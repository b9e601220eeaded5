"""Every refused input in one table: bad notebook parameters and bad requests to the runner.

A notebook's checking cell and the runner's pre-flight call the same function
(``fmnist_helpers.parameters.check_parameters``), so most rows are checked in-process, in
milliseconds: once as the notebook's checking cell sees the value, once through ``fmnist-course
run`` (refused before any notebook runs). One real kernel run shows the checking cell stopping a
notebook.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
import torch

from fmnist_helpers.checks import ParameterError
from fmnist_helpers.course.catalog import notebook_parameters, select_notebooks
from fmnist_helpers.course.cli import main
from fmnist_helpers.course.execute import run_notebook
from fmnist_helpers.parameters import check_parameters, parameter

NO_GPU = not torch.cuda.is_available()

# notebook, parameter, value, what the message must say
REFUSED_PARAMETERS: list[tuple[str, str, Any, str]] = [
    ("01", "batch_size", 0, "batch_size must be at least 1, got 0"),
    ("01", "max_batches", 0, "max_batches must be at least 1, got 0"),
    ("01", "data_root", 3, "data_root must be a string, got 3 (int)"),
    ("02", "seed", -1, "seed must be at least 0, got -1"),
    ("02", "seed", 1.5, "seed must be an integer, got 1.5 (float)"),
    ("03", "eval_batch_size", -5, "eval_batch_size must be at least 1, got -5"),
    ("04", "epochs", -1, "epochs must be at least 1, got -1"),
    ("04", "lr", 0.0, "lr must be greater than 0, got 0.0"),
    ("04", "show_progress", "true", "show_progress must be True or False, got 'true' (write True"),
    ("04", "device", "tpu", "device must be one of ('auto', 'cpu', 'cuda', 'mps')"),
    ("04", "out_dir", "", "out_dir must be a folder path or None, got an empty string"),
    ("05", "top_pairs", 91, "top_pairs must be at most 90, got 91"),
    ("05", "batch_size", 0, "batch_size must be at least 1, got 0"),
    ("06", "open_tensorboard", "yes", "open_tensorboard must be True or False, got 'yes'"),
    ("07", "lrs", [], "lrs must be a non-empty list such as [1, 2], got []"),
    ("07", "lrs", [-1.0], "lrs[0] must be greater than 0, got -1.0"),
    ("07", "lrs", "0.01, oops", "lrs must be a list such as [1, 2], got '0.01, oops'"),
    ("07", "batch_sizes", [100, 0], "batch_sizes[1] must be at least 1, got 0"),
    ("07", "shuffles", ["yes"], "shuffles[0] must be True or False, got 'yes'"),
    ("07", "validation_size", 0, "validation_size must be at least 1, got 0"),
    ("07", "validation_size", 60_000, "validation_size must be at most 59999, got 60000"),
    ("08", "num_workers_list", [-1], "num_workers_list[0] must be at least 0, got -1"),
    ("08", "timing_batches", 0, "timing_batches must be at least 1, got 0"),
    ("09", "batch_size", 10_001, "batch_size must be at most 10000, got 10001"),
    ("10", "batch_size", 0, "batch_size must be at least 1, got 0"),
    ("11", "batch_size", 1, "batch_size must be at least 2, got 1"),
    ("11", "lr_decay", 1.5, "lr_decay must be at most 1, got 1.5"),
    ("11", "validation_size", 0, "validation_size must be at least 1, got 0"),
    ("11", "validation_size", 60_000, "validation_size must be at most 59999, got 60000"),
    ("12", "rung_epochs", 0, "rung_epochs must be at least 1, got 0"),
    ("12", "crop_padding", -1, "crop_padding must be at least 0, got -1"),
    ("12", "crop_padding", 15, "crop_padding must be at most 14, got 15"),
    ("12", "label_smoothing", 1.5, "label_smoothing must be at most 1.0, got 1.5"),
    ("12", "batch_size", 1, "batch_size must be at least 2, got 1"),
    ("12", "train_final_on_all", "no", "train_final_on_all must be True or False, got 'no'"),
    ("12", "num_threads", 0, "num_threads must be at least 1, got 0"),
    ("13", "dropout", 1.0, "dropout must be at most 0.9, got 1.0"),
    ("13", "patience", 0, "patience must be at least 1, got 0"),
]
if NO_GPU:
    REFUSED_PARAMETERS.append(("04", "device", "cuda", "device='cuda' is not available on this machine"))


def _declared(number: str) -> tuple[Path, dict[str, Any], dict[str, str]]:
    (path,) = select_notebooks(number)
    specs = notebook_parameters(path)
    defaults = {name: eval(spec["default"]) for name, spec in specs.items()}  # literals only
    return path, defaults, {name: spec["inferred_type_name"] for name, spec in specs.items()}


@pytest.mark.parametrize(("number", "name", "value", "message"), REFUSED_PARAMETERS,
                         ids=[f"{r[0]}-{r[1]}={r[2]!r}" for r in REFUSED_PARAMETERS])
def test_notebook_checking_cell_refuses(number, name, value, message):
    path, values, annotations = _declared(number)
    with pytest.raises(ParameterError) as info:
        check_parameters(path.stem, {**values, name: value}, annotations)
    assert message in str(info.value)


# the runner sets out_dir and data_root itself (see RUNNER_REFUSALS)
RUNNER_ROWS = [row for row in REFUSED_PARAMETERS if not parameter(row[1]).runner]


@pytest.mark.parametrize(("number", "name", "value", "message"), RUNNER_ROWS,
                         ids=[f"{r[0]}-{r[1]}={r[2]!r}" for r in RUNNER_ROWS])
def test_runner_refuses_before_running(number, name, value, message, tmp_path, capsys):
    code = main(["run", "--only", number, "-p", name, repr(value) if not isinstance(value, str)
                 else value, "--runs-root", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "notebooks:" not in err  # no progress bar for a refused request, only its message
    assert not any(tmp_path.iterdir())  # nothing ran, no run folder


RUNNER_REFUSALS: list[tuple[list[str], str]] = [
    (["--only", "99"], "--only: no notebook '99'; the notebooks are: 01_data_etl"),
    (["-p", "epochs", "3", "--only", "02"], "-p epochs: no selected notebook has a parameter 'epochs'"),
    (["-p", "lr", "abc", "--only", "04"], "-p lr 'abc': 04_training.ipynb declares lr: float; "
                                          "lr must be a number, got 'abc' (str)"),
    (["-p", "out_dir", "/tmp/x"], "-p out_dir: the runner gives every notebook its own folder"),
    (["-p", "data_root", "/tmp/x"], "-p data_root: use --data-root"),
    (["--preset", "fast"], "invalid choice: 'fast'"),
]


@pytest.mark.parametrize(("argv", "message"), RUNNER_REFUSALS, ids=lambda v: " ".join(v)
                         if isinstance(v, list) else None)
def test_runner_refuses_bad_requests(argv, message, tmp_path, capsys):
    try:
        code = main(["run", *argv, "--runs-root", str(tmp_path)])
    except SystemExit as exit_:  # argparse's own refusals
        code = exit_.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_runner_refuses_to_guess_which_weights_05_analyses(tmp_path, capsys):
    """A course folder of its own, with no outputs/ of 04 and no earlier run (see ``links``)."""
    notebooks = tmp_path / "course" / "notebooks"
    notebooks.mkdir(parents=True)
    for path in select_notebooks("04,05"):
        shutil.copy(path, notebooks / path.name)
    assert main(["run", "--only", "05", "--runs-root", str(tmp_path / "runs"), "--notebooks-dir",
                 str(notebooks)]) == 2
    err = capsys.readouterr().err
    assert "05_analysis needs the outputs of 04_training" in err and "--only 04,05" in err
    assert "-p train_dir FOLDER" in err


def test_runner_refuses_data_root_that_is_a_file(tmp_path, monkeypatch, capsys):
    file = tmp_path / "data.gz"
    file.write_bytes(b"x")
    monkeypatch.setenv("FMNIST_DATA", str(file))
    assert main(["run", "--only", "01", "--runs-root", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert f"FMNIST_DATA names the file {file}" in err and "Traceback" not in err


def test_runner_refuses_a_runs_root_below_a_file(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["run", "--only", "01", "--runs-root", str(tmp_path / "file" / "runs")]) == 2
    assert f"cannot create a run folder in {tmp_path / 'file' / 'runs'}" in capsys.readouterr().err


def test_student_copies_into_an_unusable_folder_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["student", "--out", str(tmp_path / "file" / "copies"), "--only", "02"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fmnist-course: error: cannot use") and err.count("\n") == 1


@pytest.mark.notebook
def test_a_bad_value_stops_the_notebook_in_its_checking_cell(tmp_path, data_root):
    """The real thing once: papermill runs 04 with epochs=0; the checking cell raises."""
    (path,) = select_notebooks("04")
    result = run_notebook(path, tmp_path, {"epochs": 0, "data_root": str(data_root),
                                           "out_dir": str(tmp_path)})
    start_cell = next(i for i, c in enumerate(nbformat.read(path, as_version=4).cells)
                      if "start_notebook(" in c.source)
    # papermill counts its injected-parameters cell, which follows the parameters cell
    assert result.status == "failed" and result.cell == start_cell + 1
    assert result.error.endswith("ParameterError: epochs must be at least 1, got 0")
    assert not (tmp_path / "metrics.json").exists()
