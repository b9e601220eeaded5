"""``fmnist-course sweep``: one notebook run per parameter combination, spread over Dask workers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ..runs import RunBuilder
from .catalog import (
    DEFAULT_THREADS,
    CourseError,
    check_preset,
    default_notebooks_dir,
    default_runs_dir,
    parameters_for,
    select_notebooks,
)
from .cluster import NotebookTask, TaskOutcome, input_folders, open_engine, run_tasks
from .execute import Status
from .folders import new_stamped_dir, write_csv
from .headline import headline_metric
from .preflight import check_data, check_values
from .signals import stop_reason


def combination_name(index: int, values: dict[str, Any]) -> str:
    """A folder name such as ``03-lr=0.001,batch_size=100``."""
    text = ",".join(f"{k}={v}" for k, v in values.items())
    return f"{index:02d}-" + "".join(c if c.isalnum() or c in "=,.-_" else "_" for c in text)


def write_table(rows: list[dict[str, Any]], sweep_dir: Path) -> pd.DataFrame:
    """Save the sweep's table as ``results.csv`` and return it (replaced whole: whoever reads it
    while the sweep runs sees the previous table or this one, never half of one)."""
    table = pd.DataFrame(rows)
    write_csv(table, sweep_dir / "results.csv")
    return table


def plot_sweep(table: pd.DataFrame, grid_names: Sequence[str], sweep_dir: Path) -> Path | None:
    """Bar chart of each finished combination's headline metric; returns the PNG (None if none)."""
    done = table[table["status"] == Status.OK]
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


def _row(values: dict[str, Any], outcome: TaskOutcome, folder: str) -> dict[str, Any]:
    result = outcome.result
    row = {**values, "status": result.status, "seconds": result.seconds, "error": result.error,
           "worker": outcome.worker, "host": outcome.host}
    if outcome.left_out:
        row["left_out"] = "; ".join(outcome.left_out)
    return {**row, **{k: v for k, v in result.metrics.items() if k not in values}, "folder": folder}


def run_sweep(
    notebook: str,
    grid: dict[str, Sequence[Any]],
    jobs: int = 1,
    preset: str = "full",
    data_root: str | None = None,
    runs_root: Path | None = None,
    notebooks_dir: Path | None = None,
    scheduler: str | None = None,
    threads: int | None = DEFAULT_THREADS,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> tuple[Path, pd.DataFrame, bool]:
    """Run ``notebook`` once per combination of ``grid`` on Dask workers (see ``cluster``): a local
    cluster of ``jobs`` processes, or the cluster at ``scheduler``; ``threads`` torch threads each.

    Everything is checked once, up front. Each run's executed notebook and outputs come back to its
    own folder here; ``results.csv`` is rewritten as each run finishes (with the worker that ran
    it), so Ctrl-C keeps every finished row (the rest are marked ``interrupted``). Returns the sweep
    folder, the table and whether it was interrupted.
    """
    check_preset(preset)
    notebooks_dir = notebooks_dir or default_notebooks_dir()
    selected = select_notebooks(notebook, notebooks_dir)
    if len(selected) != 1:
        raise CourseError(f"sweep: {notebook!r} names {len(selected)} notebooks; name exactly one")
    path = selected[0]
    if not grid:
        raise CourseError("sweep: give at least one -p NAME VALUE [VALUE ...]")
    if jobs < 1:
        raise CourseError(f"--jobs must be at least 1, got {jobs}")
    if threads is not None and threads < 1:
        raise CourseError(f"--threads must be at least 1, got {threads}")
    grid = check_values([path], grid)
    data_root = check_data(data_root)

    runs_root = Path(runs_root or default_runs_dir()).expanduser().resolve()
    combos = [run._asdict() for run in RunBuilder.get_runs(grid)]
    with open_engine(jobs, scheduler, echo) as engine:  # a cluster that is not there: no folder
        sweep_dir = new_stamped_dir(runs_root, f"sweep-{path.stem}-")
        rows: list[dict[str, Any]] = []
        tasks: list[NotebookTask] = []
        for i, values in enumerate(combos):
            run_dir = sweep_dir / combination_name(i + 1, values)
            run_dir.mkdir()
            params = parameters_for(path, preset, values, run_dir, data_root, {})
            tasks.append(NotebookTask(run_dir.name, path, params, data_root,
                                      input_folders(path, params, notebooks_dir)))
            rows.append({**values, "status": Status.NOT_RUN, "seconds": None, "error": "", "worker": "",
                         "host": "", "folder": run_dir.name})
        write_table(rows, sweep_dir)

        def save(index: int, outcome: TaskOutcome) -> None:
            run_dir = sweep_dir / rows[index]["folder"]
            outcome.write_files(run_dir)
            rows[index] = _row(combos[index], outcome, run_dir.name)
            write_table(rows, sweep_dir)

        tables: list[pd.DataFrame] = []

        def mark_left(interrupted: bool) -> None:  # every finished row is kept, whatever stopped it
            for row in rows:
                if row["status"] == Status.NOT_RUN:
                    row["status"] = Status.INTERRUPTED if interrupted else Status.FAILED
                    row["error"] = stop_reason() if interrupted else "the sweep stopped early"
            tables.append(write_table(rows, sweep_dir))
            plot_sweep(tables[-1], list(grid), sweep_dir)

        interrupted = run_tasks(engine, tasks, save, mark_left, threads=threads, desc="combinations",
                                progress=progress)
        table = tables[-1]
    return sweep_dir, table, interrupted
