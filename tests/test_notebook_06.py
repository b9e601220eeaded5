"""Notebook 06 (TensorBoard): a quick papermill run, its event files read back, the %tensorboard magic,
its exercises (instructor copy and student copy)."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from notebook_checks import cell_outputs_text, executed, exercise_tests
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from fmnist_helpers import load_metrics
from fmnist_helpers.course.catalog import PRESETS, select_notebooks
from fmnist_helpers.exercises import EXERCISES

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
    assert [e.step for e in accumulator.Scalars("Batch Loss")] == list(range(1, QUICK_BATCHES + 1))
    assert "conv1.weight.grad" in accumulator.Tags()["histograms"]
    # the notebook's claim: with the default size guidance only the last histogram per tag survives
    defaults = EventAccumulator(str(log_dir))
    defaults.Reload()
    assert [e.step for e in defaults.Histograms("conv1.weight")] == [1]  # logged at steps 0 and 1
    assert (out_dir / "scalars.png").stat().st_size > 10_000  # TensorBoard's scalars, drawn here
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


def test_06_trains_with_the_package_loop():
    """06 uses fh.train_one_epoch / fh.evaluate (its Batch Loss goes through on_batch), no loop of its own."""
    (path,) = select_notebooks("06")
    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert "fh.train_one_epoch(" in code and "fh.evaluate(" in code and "on_batch=" in code
    assert ".backward()" not in code and "zero_grad()" not in code


def _exercises() -> set[str]:
    return {key for key in EXERCISES if key.startswith("06.")}


test_instructor_checks_all_pass, test_student_copy_runs_and_every_check_gives_its_hint = exercise_tests(
    "06")
