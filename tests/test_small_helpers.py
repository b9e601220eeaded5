"""Device selection, seeding, progress, parameter checks, plots and metrics files."""

from __future__ import annotations

import json
import random

import matplotlib
import numpy as np
import pytest
import torch

from fmnist_helpers import device as device_module
from fmnist_helpers import get_device, save_metrics, set_seed, tqdm
from fmnist_helpers.checks import ParameterError, check_choice, check_float, check_int, read_list

matplotlib.use("Agg")


def test_auto_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device_module, "_mps_available", lambda: False)
    assert get_device("auto") == torch.device("cpu")
    monkeypatch.setattr(device_module, "_mps_available", lambda: True)
    assert get_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device("auto") == torch.device("cuda")
    assert get_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_unavailable_device_is_refused():
    with pytest.raises(ValueError, match=r"device='cuda' is not available.*available: cpu"):
        get_device("cuda")


def test_unknown_device_is_refused():
    with pytest.raises(ValueError, match="device must be one of"):
        get_device("tpu")


def test_set_seed_repeats_every_generator():
    def draw():
        generator = set_seed(7)
        return (random.random(), np.random.rand(), torch.rand(1).item(),
                torch.randperm(5, generator=generator).tolist())
    assert draw() == draw()


def test_progress_bar_is_text_and_switches_off(monkeypatch, capsys):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert list(tqdm([1, 2, 3], desc="items")) == [1, 2, 3]
    assert "items: 100%" in capsys.readouterr().out  # a text bar on stdout, no widget
    bar = tqdm([1, 2, 3], disable=True)
    assert bar.disable and list(bar) == [1, 2, 3]
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert tqdm([1], disable=False).disable  # make notebooks: no bars in committed outputs


@pytest.mark.parametrize(("check", "value", "message"), [
    (lambda v: check_int("epochs", v, minimum=1), -1, "epochs must be at least 1, got -1"),
    (lambda v: check_int("batch_size", v, minimum=1), 2.5, "batch_size must be an integer"),
    (lambda v: check_float("lr", v, minimum=0), 0, "lr must be greater than 0"),
    (lambda v: check_choice("device", v, ["auto", "cpu"]), "gpu", "device must be one of"),
])
def test_parameter_checks_name_the_parameter(check, value, message):
    with pytest.raises(ParameterError, match=message):
        check(value)


def test_lists_are_read_from_papermill_text():
    assert read_list("lrs", "[0.01, 0.001]") == [0.01, 0.001]
    assert read_list("batch_sizes", (100, 1000)) == [100, 1000]
    with pytest.raises(ParameterError, match="lrs must be a list such as"):
        read_list("lrs", "0.01, oops")
    with pytest.raises(ParameterError, match="lrs must be a non-empty list"):
        read_list("lrs", "[]")




def test_metrics_file_carries_provenance(tmp_path):
    path = save_metrics(tmp_path, {"test_accuracy": torch.tensor(0.5).item(), "epochs": 3},
                        parameters={"lr": 0.01}, seed=1)
    record = json.loads(path.read_text())
    assert record["test_accuracy"] == 0.5
    assert record["provenance"]["torch"] == torch.__version__
    assert record["provenance"]["parameters"] == {"lr": 0.01}
    assert record["provenance"]["seed"] == 1
