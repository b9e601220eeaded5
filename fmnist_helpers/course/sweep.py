"""``fmnist-course sweep``: one notebook run per parameter combination, in parallel processes."""

from __future__ import annotations

import multiprocessing
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ..runs import RunBuilder
from .catalog import (
    CourseError,
    check_preset,
    default_notebooks_dir,
    default_runs_dir,
    parameters_for,
    select_notebooks,
)
from .execute import NotebookResult, run_notebook
from .folders import new_stamped_dir
from .headline import headline_metric
from .preflight import check_data, check_values


def combination_name(index: int, values: dict[str, Any]) -> str:
    """A folder name such as ``03-lr=0.001,batch_size=100``."""
    text = ",".join(f"{k}={v}" for k, v in values.items())
    return f"{index:02d}-" + "".join(c if c.isalnum() or c in "=,.-_" else "_" for c in text)


def _ignore_sigint() -> None:
    # Ctrl-C is handled once, by the parent, which then stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def write_table(rows: list[dict[str, Any]], sweep_dir: Path) -> pd.DataFrame:
    """Save the sweep's table as ``results.csv`` and return it."""
    table = pd.DataFrame(rows)
    table.to_csv(sweep_dir / "results.csv", index=False)
    return table


def plot_sweep(table: pd.DataFrame, grid_names: Sequence[str], sweep_dir: Path) -> Path | None:
    """Bar chart of each finished combination's headline metric; returns the PNG (None if none)."""
    done = table[table["status"] == "ok"]
    metric = headline_metric(c for c in done.columns if pd.api.types.is_numeric_dtype(done[c]))
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


def _row(values: dict[str, Any], result: NotebookResult) -> dict[str, Any]:
    return {**values, "status": result.status, "seconds": result.seconds, "error": result.error,
            **{k: v for k, v in result.metrics.items() if k not in values}}


def run_sweep(
    notebook: str,
    grid: dict[str, Sequence[Any]],
    jobs: int = 1,
    preset: str = "full",
    data_root: str | None = None,
    runs_root: Path | None = None,
    notebooks_dir: Path | None = None,
) -> tuple[Path, pd.DataFrame, bool]:
    """Run ``notebook`` once per combination of ``grid`` with ``jobs`` worker processes.

    Everything is checked once, up front. Every run writes to its own folder; ``results.csv`` is
    rewritten as each run finishes, so Ctrl-C keeps every finished row (the rest are marked
    ``interrupted``). Returns the sweep folder, the table and whether it was interrupted.
    """
    check_preset(preset)
    selected = select_notebooks(notebook, notebooks_dir or default_notebooks_dir())
    if len(selected) != 1:
        raise CourseError(f"sweep: {notebook!r} names {len(selected)} notebooks; name exactly one")
    path = selected[0]
    if not grid:
        raise CourseError("sweep: give at least one -p NAME VALUE [VALUE ...]")
    if jobs < 1:
        raise CourseError(f"--jobs must be at least 1, got {jobs}")
    grid = check_values([path], grid)
    data_root = check_data(data_root)

    runs_root = Path(runs_root or default_runs_dir()).expanduser().resolve()
    sweep_dir = new_stamped_dir(runs_root, f"sweep-{path.stem}-")
    combos = [run._asdict() for run in RunBuilder.get_runs(grid)]
    rows: list[dict[str, Any]] = [{**values, "status": "not run", "seconds": None, "error": ""}
                                  for values in combos]
    interrupted = False
    pool = multiprocessing.get_context("spawn").Pool(jobs, initializer=_ignore_sigint)
    try:
        pending = {}
        for i, values in enumerate(combos):
            run_dir = sweep_dir / combination_name(i + 1, values)
            run_dir.mkdir()
            params = parameters_for(path, preset, values, run_dir, data_root, {})
            pending[i] = pool.apply_async(run_notebook, (path, run_dir, params))
            rows[i]["folder"] = run_dir.name
        write_table(rows, sweep_dir)
        while pending:
            for index, task in list(pending.items()):
                if task.ready():
                    rows[index] = {**_row(combos[index], task.get()), "folder": rows[index]["folder"]}
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
