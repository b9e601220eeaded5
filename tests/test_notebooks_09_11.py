"""Notebooks 09 (GPU, device-agnostic code), 10 (nn.Sequential), 11 (normalization, batch norm).

Each runs once with the quick preset under papermill; the tests read its ``metrics.json``.
Refused parameters are in ``test_refused_inputs.py``.
"""

from __future__ import annotations

import pytest
import torch

from fmnist_helpers import load_metrics

pytestmark = pytest.mark.notebook

SEQUENTIAL_WAYS = ("positional", "OrderedDict", "add_module")


# --- 09 GPU and device-agnostic code -------------------------------------------------------------

def test_09_quick_run_reports_device_and_timings(quick_run):
    metrics = load_metrics(quick_run("09"))
    assert metrics["cuda_available"] is torch.cuda.is_available()
    if not torch.cuda.is_available():
        assert metrics["device"] == "cpu"
        assert list(metrics["timings"]) == ["cpu"]
        assert metrics["copy_to_cuda_seconds"] == {}
    else:
        assert metrics["device"].startswith("cuda")
        assert set(metrics["timings"]) == {"cpu", metrics["device"]}
    for device, timing in metrics["timings"].items():
        # the quick preset times 20 batches of each kind on every device
        assert timing["train_batches"] == 20 and timing["infer_batches"] == 20, device
        assert timing["train_seconds"] > 0 and timing["infer_seconds"] > 0, device
    assert metrics["provenance"]["parameters"]["timing_batches"] == 20


def test_09_quick_run_saves_weights_and_timing_table(quick_run):
    out_dir = quick_run("09")
    assert (out_dir / "network_weights.pt").is_file()
    table = (out_dir / "timings.csv").read_text().splitlines()
    assert table[0].startswith("device,") and table[1].startswith("cpu,")


# --- 10 nn.Sequential ----------------------------------------------------------------------------

def test_10_quick_run_sequential_models_match_network(quick_run):
    metrics = load_metrics(quick_run("10"))
    assert metrics["allclose"] == {way: True for way in SEQUENTIAL_WAYS}
    assert metrics["parameter_counts"] == {"Network": 32998, **{way: 32998 for way in SEQUENTIAL_WAYS}}
    assert metrics["test_images"] == 10000
    assert metrics["same_test_predictions"] == {way: 10000 for way in SEQUENTIAL_WAYS}
    for way in SEQUENTIAL_WAYS:
        assert metrics["max_abs_difference"][way] == pytest.approx(0.0, abs=1e-5)


# --- 11 normalization and batch norm -------------------------------------------------------------

def test_11_quick_run_mean_std_and_three_runs(quick_run):
    metrics = load_metrics(quick_run("11"))
    for way in ("tensor", "loader"):
        assert metrics[f"mean_{way}"] == pytest.approx(0.2860, abs=1e-4)
        assert metrics[f"std_{way}"] == pytest.approx(0.3530, abs=1e-4)
    assert metrics["mean_loader"] == pytest.approx(metrics["mean_tensor"], abs=1e-6)
    assert metrics["std_loader"] == pytest.approx(metrics["std_tensor"], abs=1e-6)
    # averaging per-image standard deviations underestimates the spread
    assert metrics["mean_of_image_stds"] < metrics["std_loader"] - 0.02
    assert metrics["normalized_train_mean"] == pytest.approx(0.0, abs=1e-4)
    assert metrics["normalized_train_std"] == pytest.approx(1.0, abs=1e-4)

    runs = metrics["runs"]
    assert [(r["trainset"], r["network"]) for r in runs] == [
        ("unnormalized", "plain"), ("normalized", "plain"), ("normalized", "batchnorm")]
    for run in runs:
        assert run["epochs"] == 1  # the quick preset
        assert 0 < run["test_accuracy"] <= 1 and 0 < run["accuracy"] <= 1
        assert run["loss"] > 0
    assert metrics["bn_test_accuracy"] == runs[2]["test_accuracy"]
    # 30 batches of training are far better than chance (0.1) for every run
    assert min(r["test_accuracy"] for r in runs) > 0.3


def test_11_quick_run_writes_results(quick_run):
    out_dir = quick_run("11")
    assert (out_dir / "comparison.png").is_file()
    assert len((out_dir / "final_results.csv").read_text().splitlines()) == 1 + 3
    assert len((out_dir / "runs" / "results.csv").read_text().splitlines()) == 1 + 3  # 3 runs x 1 epoch
