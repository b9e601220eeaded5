"""``fmnist-course sweep``: one papermill run per parameter combination, in parallel processes."""

from __future__ import annotations

import itertools
import multiprocessing
import signal
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from .data import resolve_data_root
from .runner import (
    NOTEBOOKS_DIR,
    PRESETS,
    RUNS_ROOT,
    CourseError,
    check_overrides,
    describe_failure,
    execute_notebook,
    key_metrics,
    parameters_for,
    select_notebooks,
)


def combinations(grid: dict[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in ``itertools.product`` order."""
    names = list(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]


def combination_name(index: int, values: dict[str, Any]) -> str:
    """A folder name such as ``03-lr=0.001,batch_size=100``."""
    text = ",".join(f"{k}={v}" for k, v in values.items())
    return f"{index:02d}-" + "".join(c if c.isalnum() or c in "=,.-_" else "_" for c in text)


def _ignore_sigint() -> None:
    # Ctrl-C is handled once, by the parent, which then stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_one(path: str, output: str, parameters: dict[str, Any]) -> tuple[str, float, str]:
    start = time.perf_counter()
    try:
        execute_notebook(Path(path), Path(output), parameters)
        return "ok", time.perf_counter() - start, ""
    except Exception as error:  # reported in the table; the other combinations go on
        return "failed", time.perf_counter() - start, describe_failure(error)


def _new_sweep_dir(notebook: Path, root: Path) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate, n = root / f"sweep-{notebook.stem}-{stamp}", 1
    while candidate.exists():
        n += 1
        candidate = root / f"sweep-{notebook.stem}-{stamp}-{n}"
    candidate.mkdir(parents=True)
    return candidate


def write_table(rows: list[dict[str, Any]], sweep_dir: Path) -> pd.DataFrame:
    """Save the sweep's table as ``results.csv`` and return it."""
    table = pd.DataFrame(rows)
    table.to_csv(sweep_dir / "results.csv", index=False)
    return table


def plot_sweep(table: pd.DataFrame, grid_names: Sequence[str], sweep_dir: Path) -> Path | None:
    """Bar chart of each finished combination's main metric; returns the PNG path (None if none)."""
    done = table[table["status"] == "ok"]
    metric = next((m for m in ("test_accuracy", "accuracy", "best_test_accuracy") if m in done), None)
    if metric is None:
        metric = next((c for c in done.columns if c not in ("seconds", *grid_names)
                       and pd.api.types.is_numeric_dtype(done[c])), None)
    if done.empty or metric is None:
        return None
    labels = done[list(grid_names)].astype(str).agg(", ".join, axis=1)
    fig = Figure(figsize=(max(6, 1.2 * len(done)), 4))  # no pyplot: no backend, no screen needed
    ax = fig.subplots()
    ax.bar(labels, done[metric])
    ax.set_ylabel(metric)
    ax.set_xlabel(", ".join(grid_names))
    ax.set_title(f"{metric} by {', '.join(grid_names)}")
    ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    path = sweep_dir / "comparison.png"
    fig.savefig(path, dpi=100)
    return path


def run_sweep(
    notebook: str,
    grid: dict[str, Sequence[Any]],
    jobs: int = 1,
    preset: str = "full",
    data_root: str | None = None,
    runs_root: Path = RUNS_ROOT,
    notebooks_dir: Path | None = None,
) -> tuple[Path, pd.DataFrame, bool]:
    """Run ``notebook`` once per combination of ``grid`` with ``jobs`` worker processes.

    Every run writes to its own folder; ``results.csv`` is rewritten as each run finishes, so
    Ctrl-C keeps every finished row (the rest are marked ``interrupted``). Returns the sweep
    folder, the table and whether the sweep was interrupted.
    """
    selected = select_notebooks(notebook, notebooks_dir or NOTEBOOKS_DIR)
    if len(selected) != 1:
        raise CourseError(f"sweep: {notebook!r} names {len(selected)} notebooks; name exactly one")
    path = selected[0]
    if not grid:
        raise CourseError("sweep: give at least one -p NAME VALUE [VALUE ...]")
    if jobs < 1:
        raise CourseError(f"--jobs must be at least 1, got {jobs}")
    if preset not in PRESETS:
        raise CourseError(f"--preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    for name, values in grid.items():
        for value in values:
            check_overrides([path], {name: value})
    data_root = str(resolve_data_root(data_root)) if data_root else None

    sweep_dir = _new_sweep_dir(path, runs_root)
    combos = combinations(grid)
    rows: list[dict[str, Any]] = [{**values, "status": "not run", "seconds": None, "error": ""}
                                  for values in combos]
    interrupted = False
    pool = multiprocessing.get_context("spawn").Pool(jobs, initializer=_ignore_sigint)
    try:
        pending = {}
        for i, values in enumerate(combos, start=1):
            run_dir = sweep_dir / combination_name(i, values)
            run_dir.mkdir()
            params = parameters_for(path, preset, values, run_dir, data_root, {})
            output = run_dir / path.name
            pending[i - 1] = (run_dir, pool.apply_async(_run_one, (str(path), str(output), params)))
            rows[i - 1]["folder"] = run_dir.name
        write_table(rows, sweep_dir)
        while pending:
            for index, (run_dir, result) in list(pending.items()):
                if result.ready():
                    status, seconds, error = result.get()
                    rows[index].update(status=status, seconds=round(seconds, 1), error=error,
                                       **key_metrics(run_dir, limit=8))
                    del pending[index]
                    write_table(rows, sweep_dir)
            time.sleep(0.2)
        pool.close()
    except KeyboardInterrupt:
        interrupted = True
        for row in rows:
            if row["status"] == "not run":
                row["status"], row["error"] = "interrupted", "stopped by Ctrl-C"
        pool.terminate()
    finally:
        pool.join()
    table = write_table(rows, sweep_dir)
    plot_sweep(table, list(grid), sweep_dir)
    return sweep_dir, table, interrupted
