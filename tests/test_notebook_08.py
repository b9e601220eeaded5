"""Notebook 08 (data loading speed): a quick papermill run and bad input.

The quick preset times 20 batches per measurement. Timings depend on the machine and on what else
runs on it, so no test asserts how fast anything is: the tests check that every configuration was
measured, with positive times, and that the bookkeeping around the times is right.
"""

from __future__ import annotations

import csv

import pytest

from fmnist_helpers import load_metrics

pytestmark = pytest.mark.notebook

RACE = {"per-item, data only", "in-memory, data only", "per-item training", "in-memory training",
        "compute floor"}


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
        assert row["batches_timed"] == 2000 // row["batch_size"] and row["extrapolated"] is True
        assert row["batches_per_epoch"] == 60000 // row["batch_size"]
        # the first batch (worker start-up included) is counted once, the rest scaled to an epoch
        assert 0 < row["first_batch_seconds"] < row["seconds"] < row["seconds_per_epoch"]
        expected = row["first_batch_seconds"] + (
            (row["seconds"] - row["first_batch_seconds"]) * row["batches_per_epoch"]
            / row["batches_timed"])
        assert row["seconds_per_epoch"] == pytest.approx(expected)
    assert (metrics["fastest_batch_size"], metrics["fastest_num_workers"]) in {
        (r["batch_size"], r["num_workers"]) for r in grid}

    assert [b["batch_size"] for b in metrics["breakdown"]] == [100, 1000]
    for row in metrics["breakdown"]:
        assert row["data_s_per_epoch"] > 0 and row["compute_s_per_epoch"] > 0

    race = metrics["in_memory"]["seconds_per_epoch"]
    assert set(race) == RACE and all(seconds > 0 for seconds in race.values())
    assert metrics["in_memory"]["batch_size"] == 100 and metrics["in_memory"]["batches_timed"] == 20
    assert metrics["in_memory_speedup"] == pytest.approx(
        race["per-item training"] / race["in-memory training"])
    assert metrics["in_memory_over_floor"] == pytest.approx(
        race["in-memory training"] / race["compute floor"])
    assert metrics["per_item_us"] > 0
    assert metrics["torch_threads"] == 1 and metrics["device"] == "cpu"
    assert set(metrics["ms_per_step_by_threads"]) == {"1", str(metrics["cpu_count"])}
    assert all(seconds > 0 for seconds in metrics["startup_first_batch_seconds"].values())
    assert "1 worker, spawn" in metrics["startup_first_batch_seconds"]


def test_08_quick_run_writes_tables_and_figures(quick_run):
    out_dir = quick_run("08")
    with (out_dir / "timings.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6 and all(float(r["s_per_epoch"]) > 0 for r in rows)
    with (out_dir / "runs" / "results.csv").open() as handle:  # RunManager's own table
        assert len(list(csv.DictReader(handle))) == 6
    assert len([p for p in (out_dir / "runs").iterdir() if p.is_dir()]) == 6  # a TensorBoard run each
    for name in ("num_workers.png", "where_the_time_goes.png", "in_memory_vs_per_item.png"):
        assert (out_dir / name).stat().st_size > 10_000
