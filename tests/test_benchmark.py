"""benchmarks/epoch_time.py in quick mode: it runs, prints its table and writes complete JSON,
notebook 12's CapstoneNet rows (1 and 2 threads) included.

Timings depend on the machine and its load, so nothing here asserts how fast anything is; the
benchmark's numbers are for people to read (``make bench``).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "epoch_time.py"
CONFIGS = {"per_item_workers0", "per_item_workers2", "in_memory", "compute_floor"}


@pytest.fixture(scope="module")
def quick_benchmark(tmp_path_factory, data_root):
    out = tmp_path_factory.mktemp("bench") / "epoch_time.json"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--data-root", str(data_root), "--max-batches", "4",
         "--epochs", "2", "--warmup-batches", "2", "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout, json.loads(out.read_text())


def test_every_configuration_is_measured_with_positive_times(quick_benchmark):
    _, record = quick_benchmark
    assert set(record["configs"]) == CONFIGS
    for name, entry in record["configs"].items():
        assert len(entry["seconds"]) == 2, name  # --epochs 2: two timed epochs each
        assert all(s > 0 for s in entry["seconds"]), name
        assert entry["batches"] == 4 and entry["extrapolated"] is True
        assert entry["seconds_per_epoch"] > 0 and entry["ratio_to_floor"] > 0
    assert record["configs"]["compute_floor"]["ratio_to_floor"] == 1.0


def test_inference_ratios_settings_and_provenance(quick_benchmark):
    _, record = quick_benchmark
    inference = record["inference"]
    assert inference["images"] == 4 * 1000 and all(s > 0 for s in inference["seconds"])
    assert inference["seconds_for_test_set"] > 0 and 0.0 <= inference["test_accuracy"] <= 1.0
    assert record["in_memory_over_floor"] == record["configs"]["in_memory"]["ratio_to_floor"]
    assert record["in_memory_over_floor_paired_median"] > 0
    assert record["per_item_over_in_memory"] > 0
    assert record["target_ratio"] == 1.15 and isinstance(record["meets_target"], bool)
    settings = record["settings"]
    assert settings["batch_size"] == 100 and settings["lr"] == 0.01 and settings["torch_threads"] == 1
    assert settings["max_batches"] == 4 and settings["workers"] == 2
    provenance = record["provenance"]
    assert provenance["torch"] and provenance["parameters"]["max_batches"] == 4


def test_capstone_rows_one_and_two_threads(quick_benchmark):
    _, record = quick_benchmark
    capstone = record["capstone"]
    assert capstone["parameters"] == 70_330 and capstone["train_images"] == 60_000
    assert set(capstone["threads"]) == {"1", "2"}
    for threads, entry in capstone["threads"].items():
        assert len(entry["seconds"]) == 2 and all(s > 0 for s in entry["seconds"]), threads
        assert entry["batches"] == 4 and entry["extrapolated"] is True
        # 4 batches timed, scaled to the 600 batches of a 60,000-image epoch
        assert entry["seconds_per_epoch"] == pytest.approx(statistics.median(entry["seconds"]) * 600 / 4)
    assert capstone["two_threads_speedup"] == pytest.approx(
        capstone["threads"]["1"]["seconds_per_epoch"] / capstone["threads"]["2"]["seconds_per_epoch"])
    assert record["settings"]["torch_threads"] == 1  # the other rows' setting, restored afterwards


def test_table_is_printed(quick_benchmark):
    stdout, _ = quick_benchmark
    for name in CONFIGS | {"inference", "in-memory / compute floor", "extrapolated", "capstone_threads1",
                           "capstone_threads2", "2 threads"}:
        assert name in stdout


def test_bad_argument_is_refused():
    # --workers 0 would measure the per-item loader without workers twice
    completed = subprocess.run([sys.executable, str(SCRIPT), "--workers", "0"], cwd=REPO,
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2
    assert "--workers must be at least 1" in completed.stderr
