"""Notebook 08 (data loading speed): a quick papermill run, its tables and figures, and the
exercises' checks (instructor notebook and student copy).

The quick preset times 20 batches per measurement. Timings depend on the machine and on what else
runs on it, so no test asserts how fast anything is: the tests check that every configuration was
measured, with positive times, and that the bookkeeping around the times is right.
"""

from __future__ import annotations

import csv

import pytest
from notebook_checks import exercise_tests

from fmnist_helpers import load_metrics
from fmnist_helpers.exercises import EXERCISES

pytestmark = pytest.mark.notebook

RACE = {"per-item, data only", "in-memory, data only", "per-item training", "in-memory training",
        "compute floor"}
EXERCISES_08 = sorted(key for key in EXERCISES if key.startswith("08."))


def test_08_quick_run_times_every_configuration(quick_run):
    out_dir = quick_run("08")
    metrics = load_metrics(out_dir)
    parameters = metrics["provenance"]["parameters"]
    assert parameters["timing_batches"] == metrics["timing_batches"] == 20
    assert parameters["num_workers_list"] == [0, 1, 2] and parameters["batch_sizes"] == [100, 1000]

    grid = metrics["grid"]
    assert [(r["batch_size"], r["num_workers"]) for r in grid] == [
        (100, 0), (100, 1), (100, 2), (1000, 0), (1000, 1), (1000, 2)]
    for row in grid:
        # 20 batches of 100 images, and as many images (2 batches) at batch size 1000
        assert row["batches_timed"] == {100: 20, 1000: 2}[row["batch_size"]]
        assert row["batches_per_epoch"] == {100: 600, 1000: 60}[row["batch_size"]]
        assert row["extrapolated"] is True
        # the first step (worker start-up included) is counted once, the other steps scaled up
        assert 0 < row["first_step_seconds"] < row["seconds"] < row["seconds_per_epoch"]
        per_step = (row["seconds"] - row["first_step_seconds"]) / (row["batches_timed"] - 1)
        expected = row["first_step_seconds"] + per_step * (row["batches_per_epoch"] - 1)
        assert row["seconds_per_epoch"] == pytest.approx(expected)
    assert (metrics["fastest_batch_size"], metrics["fastest_num_workers"]) in {
        (r["batch_size"], r["num_workers"]) for r in grid}
    fastest = min(grid, key=lambda r: r["seconds_per_epoch"])
    assert (fastest["batch_size"], fastest["num_workers"]) == (
        metrics["fastest_batch_size"], metrics["fastest_num_workers"])

    assert [b["batch_size"] for b in metrics["breakdown"]] == [100, 1000]
    for row in metrics["breakdown"]:
        assert row["data_s_per_epoch"] > 0 and row["compute_s_per_epoch"] > 0

    race = metrics["in_memory"]["seconds_per_epoch"]
    assert set(race) == RACE and all(seconds > 0 for seconds in race.values())
    assert metrics["in_memory"] == {"batch_size": 100, "batches_timed": 20, "batches_per_epoch": 600,
                                    "seconds_per_epoch": race}
    assert metrics["in_memory_speedup"] == pytest.approx(
        race["per-item training"] / race["in-memory training"])
    assert metrics["in_memory_over_floor"] == pytest.approx(
        race["in-memory training"] / race["compute floor"])
    assert metrics["per_item_us"] > 0
    assert metrics["torch_threads"] == 1 and metrics["device"] == "cpu"
    assert set(metrics["ms_per_step_by_threads"]) == {"1", str(metrics["cpu_count"])}
    assert all(ms > 0 for ms in metrics["ms_per_step_by_threads"].values())
    assert all(seconds > 0 for seconds in metrics["startup_first_batch_seconds"].values())
    assert "1 worker, spawn" in metrics["startup_first_batch_seconds"]


def test_08_quick_run_writes_tables_and_figures(quick_run):
    out_dir = quick_run("08")
    with (out_dir / "timings.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6 and all(float(r["s_per_epoch"]) > 0 for r in rows)
    assert [int(r["batches_timed"]) for r in rows] == [20, 20, 20, 2, 2, 2]
    with (out_dir / "runs" / "results.csv").open() as handle:  # RunManager's own table
        results = list(csv.DictReader(handle))
    assert len(results) == 6
    # RunManager counted the timed batches' images through train_one_epoch's on_batch hook
    assert all(0 <= float(r["accuracy"]) <= 1 and float(r["loss"]) > 0 for r in results)
    assert len([p for p in (out_dir / "runs").iterdir() if p.is_dir()]) == 6  # a TensorBoard run each
    for name in ("num_workers.png", "where_the_time_goes.png", "in_memory_vs_per_item.png"):
        assert (out_dir / name).stat().st_size > 10_000


test_instructor_checks_all_pass, test_student_copy_runs_and_every_check_gives_its_hint = exercise_tests(
    "08")
