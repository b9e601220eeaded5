"""Notebook 06 (TensorBoard): a quick papermill run, its event files read back, the %tensorboard magic."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from notebook_checks import cell_outputs_text, executed
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from fmnist_helpers import load_metrics
from fmnist_helpers.course.catalog import PRESETS

pytestmark = pytest.mark.notebook

SCALAR_TAGS = {"Loss", "Number Correct", "Accuracy", "Test Accuracy", "Batch Loss"}
QUICK_BATCHES = PRESETS["quick"]["max_batches"]


def test_06_quick_run_logs_scalars_histograms_images_and_graph(quick_run):
    out_dir = quick_run("06")
    metrics = load_metrics(out_dir)
    assert set(metrics["scalar_tags"]) >= SCALAR_TAGS
    assert metrics["histogram_tag_count"] == 20  # 10 parameters and their 10 gradients
    assert metrics["image_tags"] == ["images"] and metrics["graph_logged"] is True
    assert metrics["event_file_count"] == 1
    assert metrics["epochs_run"] == 1
    assert 0.0 < metrics["final_loss"] < 2.5
    assert 0.2 < metrics["final_accuracy"] <= 1.0
    assert 0.4 < metrics["test_accuracy"] <= 1.0  # 30 batches of 100 already reach about 0.65
    assert metrics["provenance"]["parameters"]["max_batches"] == QUICK_BATCHES

    log_dir = Path(metrics["log_dir"])
    assert log_dir.is_relative_to(out_dir)
    assert list(log_dir.glob("events.out.tfevents.*"))
    # the event files hold what metrics.json says: read them back independently
    accumulator = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    accumulator.Reload()
    losses = accumulator.Scalars("Loss")
    assert [e.step for e in losses] == [1]
    assert losses[0].value == pytest.approx(metrics["final_loss"], rel=1e-6)
    assert len(accumulator.Scalars("Batch Loss")) == QUICK_BATCHES
    assert "conv1.weight.grad" in accumulator.Tags()["histograms"]
    # open_tensorboard=False (quick preset): no server, a note instead
    note = cell_outputs_text(executed(out_dir / "executed.ipynb"), "if open_tensorboard:")
    assert "open_tensorboard is False" in note


def test_06_tensorboard_magic_returns_under_papermill(tmp_path, run_quick):
    """%tensorboard (the default, open_tensorboard=True) starts a server and returns; no hang."""
    start = time.perf_counter()
    metrics = load_metrics(run_quick("06", tmp_path, open_tensorboard=True, max_batches=2))
    assert time.perf_counter() - start < 120
    assert metrics["provenance"]["parameters"]["open_tensorboard"] is True
    shown = cell_outputs_text(executed(tmp_path / "executed.ipynb"), "if open_tensorboard:")
    assert "tensorboard-frame" in shown  # the inline frame of a server that started
