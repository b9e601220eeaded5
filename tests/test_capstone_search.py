"""benchmarks/capstone_search.py, the search behind notebook 12's final epochs and learning rate:
a tiny run of both stages writes a complete table, and its rule chooses as documented.

The search's figures are for people to read (``make search``); nothing here asserts accuracy
beyond "better than nothing", and nothing asserts how fast anything is.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "capstone_search.py"


def load_script():
    """The search script as a module (registered first: its dataclass needs its module)."""
    spec = importlib.util.spec_from_file_location("capstone_search", SCRIPT)
    module = sys.modules["capstone_search"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_search(tmp_path_factory, data_root):
    out = tmp_path_factory.mktemp("search")
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--data-root", str(data_root), "--epochs", "2", "1",
         "--seeds", "0", "1", "--other-lrs", "0.02", "--max-batches", "8", "--jobs", "1",
         "--out-dir", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout, json.loads((out / "capstone_search.json").read_text()), out


def test_both_stages_run_and_the_table_is_written(tiny_search):
    stdout, result, out = tiny_search
    trials = [(r["epochs"], r["lr"], r["augment"], r["seed"]) for r in result["rows"]]
    # stage 1: the reference with both seeds, without augmentation, shorter; stage 2: the other lr
    stage2_epochs = result["stage1_choice"]["epochs"]
    assert trials == [(2, 0.01, True, 0), (2, 0.01, True, 1), (2, 0.01, False, 0), (1, 0.01, True, 0),
                      (stage2_epochs, 0.02, result["stage1_choice"]["augment"], 0)]
    for row in result["rows"]:
        assert 0.1 < row["validation_accuracy"] <= 1.0 and row["minutes"] >= 0, row
    with open(out / "capstone_search.csv") as table:
        assert [float(r["validation_accuracy"]) for r in csv.DictReader(table)] == [
            r["validation_accuracy"] for r in result["rows"]]
    assert result["train_images"] == 50_000 and result["validation_size"] == 10_000
    assert result["provenance"]["parameters"]["max_batches"] == 8
    assert "chosen: epochs" in stdout


def test_the_choice_follows_the_rule(tiny_search):
    _, result, _ = tiny_search
    module = load_script()
    yardstick = module.yardstick(result["reference_seeds"]["accuracies"])
    assert result["yardstick"] == pytest.approx(yardstick, abs=1e-4)
    assert result["chosen"] == module.choose([r for r in result["rows"] if r["seed"] == 0], yardstick)


def test_choose_prefers_the_cheapest_within_the_yardstick():
    choose = load_script().choose
    rows = [{"epochs": 30, "validation_accuracy": 0.940}, {"epochs": 15, "validation_accuracy": 0.936},
            {"epochs": 30, "validation_accuracy": 0.941}]
    assert choose(rows, margin=0.006) == rows[1]  # within 0.006 of the best: the shorter wins
    assert choose(rows, margin=0.004) == rows[2]  # beyond it: the best wins
    assert choose(rows[:1] + rows[2:], margin=0.01) == rows[2]  # same epochs: the more accurate


@pytest.mark.parametrize(("args", "message"), [
    (["--jobs", "0"], "--jobs must be at least 1, got 0"),
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--seeds", "3"], "--seeds needs at least two seeds"),
])
def test_bad_options_are_refused_with_their_name(args, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        load_script().parse_args(args)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err
