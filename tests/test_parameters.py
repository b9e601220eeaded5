"""``check_parameters`` and ``start_notebook``: what every notebook's checking cell does."""

from __future__ import annotations

import json
import re

import pytest
import torch

from fmnist_helpers import ParameterError, start_notebook
from fmnist_helpers.course.catalog import discover_notebooks, notebook_parameters
from fmnist_helpers.parameters import (
    OUTPUT_LINKS,
    PARAMETERS,
    PRESETS,
    annotation_from_text,
    check_parameter,
    check_parameters,
    folder,
    parameter,
)


def test_types_come_from_the_annotations():
    values = {"epochs": 3, "lr": 1, "lrs": "[0.01, 0.001]", "max_batches": None, "device": "cpu"}
    annotations = {"epochs": int, "lr": float, "lrs": list[float], "max_batches": int | None,
                   "device": str}
    checked = check_parameters("04_training", values, annotations)
    assert checked == {"epochs": 3, "lr": 1.0, "lrs": [0.01, 0.001], "max_batches": None,
                       "device": torch.device("cpu")}
    assert isinstance(checked["lr"], float)


def test_papermill_type_text_is_read_as_the_same_types():
    assert annotation_from_text("Optional[int]") == int | None
    assert annotation_from_text("list[bool]") == list[bool]
    with pytest.raises(ValueError, match="unsupported parameter type"):
        annotation_from_text("__import__('os')")
    assert check_parameter("07", "batch_sizes", [100, 1000], "list[int]") == [100, 1000]


@pytest.mark.parametrize(("name", "value", "annotation", "message"), [
    ("epochs", None, int, "epochs must not be None"),
    ("epochs", True, int, "epochs must be an integer, got True (bool)"),
    ("lr", "0.01", float, "lr must be a number, got '0.01' (str)"),
    ("show_progress", "false", bool, "write False, with a capital letter"),
    ("batch_sizes", [100, 2.5], list[int], "batch_sizes[1] must be an integer"),
    ("lr", float("inf"), float, "lr must be a finite number, got inf"),
    ("lr", float("nan"), float, "lr must be a finite number, got nan"),
    ("seed", 2**40, int, "seed must be at most 4294967295, got 1099511627776"),
    ("batch_size", 60_001, int, "batch_size must be at most 60000, got 60001"),
    ("epochs", 100_000_000, int, "epochs must be at most 1000, got 100000000"),
    ("rung_epochs", 1001, int, "rung_epochs must be at most 1000, got 1001"),
])
def test_wrong_types_name_the_parameter(name, value, annotation, message):
    with pytest.raises(ParameterError, match=re.escape(message)):
        check_parameter("04", name, value, annotation)


def test_one_notebook_may_allow_less():
    assert check_parameter("04", "batch_size", 1, int) == 1
    with pytest.raises(ParameterError, match="batch_size must be at least 2"):
        check_parameter("11_normalization_batchnorm", "batch_size", 1, int)


@pytest.mark.parametrize("path", discover_notebooks(), ids=lambda p: p.stem)
def test_every_notebook_parameter_has_a_rule_and_a_valid_default(path):
    for name, spec in notebook_parameters(path).items():
        assert name in PARAMETERS, f"{path.name}: add a record for {name} to fmnist_helpers.parameters"
        check_parameter(path.stem, name, eval(spec["default"]), spec["inferred_type_name"])


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_value_follows_its_parameters_rule(preset):
    for name, value in PRESETS[preset].items():
        assert parameter(name).rule(name, value) == value


def test_the_table_says_which_parameters_are_folders_set_by_the_runner_or_linked():
    folders = {name for name, record in PARAMETERS.items() if record.is_folder}
    assert folders == {"data_root", "out_dir", "train_dir", "image_folder"}
    assert {name for name, record in PARAMETERS.items() if record.runner} == {"data_root", "out_dir"}
    assert {name for name in folders if parameter(name).is_input} == {"train_dir", "image_folder"}
    assert OUTPUT_LINKS == {"train_dir": "04"}
    assert PRESETS["full"] == {"show_progress": False, "open_tensorboard": False}
    assert PRESETS["quick"]["epochs"] == 1 and PRESETS["quick"]["max_batches"] == 50
    unknown = parameter("not_in_the_course")  # any value of its declared type, set by anyone
    assert unknown.rule("x", 3) == 3 and not unknown.runner and not unknown.is_folder
    assert parameter("image_folder").rule is folder


def _namespace(**values):
    annotations = {"data_root": str | None, "epochs": int, "seed": int, "device": str,
                   "lrs": list[float], "out_dir": str | None}
    defaults = {"data_root": None, "epochs": 2, "seed": 3, "device": "auto", "lrs": [0.01],
                "out_dir": None}
    return {"__annotations__": annotations, **defaults, **values}


def test_start_notebook_checks_replaces_and_seeds(tmp_path, capsys):
    namespace = _namespace(out_dir=str(tmp_path / "out"), lrs="[0.1, 0.2]", device="cpu")
    setup = start_notebook("04_training", namespace)
    assert namespace["device"] == torch.device("cpu") and namespace["lrs"] == [0.1, 0.2]
    assert namespace["out_dir"] == (tmp_path / "out").resolve() and namespace["out_dir"].is_dir()
    # what the notebook records: every declared parameter as given (lists read from text)
    assert setup.parameters == {"data_root": None, "epochs": 2, "seed": 3, "device": "cpu",
                                "lrs": [0.1, 0.2], "out_dir": str(tmp_path / "out")}
    assert setup.seed == 3 and torch.initial_seed() == 3
    assert setup.generator.initial_seed() == 3
    assert "04_training: 6 parameters checked; seed 3; device cpu; results in" in capsys.readouterr().out


def test_setup_saves_metrics_with_its_parameters_and_seed(tmp_path):
    """``setup.save_metrics(metrics)``: the notebook passes only its results; the parameters and
    seed it started with go into metrics.json's provenance."""
    setup = start_notebook("04_training", _namespace(out_dir=str(tmp_path / "out"), seed=5))
    path = setup.save_metrics({"test_accuracy": torch.tensor(0.5).item()})
    assert path == (tmp_path / "out" / "metrics.json").resolve()
    record = json.loads(path.read_text())
    assert record["test_accuracy"] == 0.5
    assert record["provenance"]["seed"] == 5
    assert record["provenance"]["parameters"] == setup.parameters
    assert record["provenance"]["parameters"]["seed"] == 5

    no_out_dir = _namespace()
    del no_out_dir["out_dir"], no_out_dir["__annotations__"]["out_dir"]
    with pytest.raises(RuntimeError, match="04_training declares no out_dir parameter"):
        start_notebook("04_training", no_out_dir).save_metrics({})


def test_start_notebook_stops_on_a_bad_value_before_doing_anything(tmp_path):
    namespace = _namespace(epochs=0, out_dir=str(tmp_path / "never"))
    with pytest.raises(ParameterError, match="epochs must be at least 1, got 0"):
        start_notebook("04_training", namespace)
    assert not (tmp_path / "never").exists() and namespace["epochs"] == 0


def test_start_notebook_needs_the_parameters_cell():
    with pytest.raises(RuntimeError, match="run the parameters cell first"):
        start_notebook("04_training", {})
