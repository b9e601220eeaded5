"""``fmnist-course sweep``: one notebook run per parameter combination, spread over Dask workers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ..runs import RunBuilder
from .catalog import CourseError, check_preset, parameters_for, select_notebooks
from .cluster import NotebookTask, TaskOutcome, input_folders, open_engine, run_tasks
from .execute import Status
from .folders import new_stamped_dir, write_csv
from .headline import headline_metric
from .links import linked_dirs, resolve_links
from .options import ClusterOptions, Folders
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
    preset: str = "full",
    folders: Folders | None = None,
    cluster: ClusterOptions | None = None,
    echo: Callable[[str], None] = print,
) -> tuple[Path, pd.DataFrame, bool]:
    """Run ``notebook`` once per combination of ``grid`` on Dask workers (see ``cluster``): a local
    cluster of ``cluster.jobs`` processes, or the cluster at ``cluster.scheduler``, each with
    ``cluster.threads`` torch threads. ``folders``: where the notebooks, the runs and the data are.

    Everything is checked once, up front. Each run's executed notebook and outputs come back to its
    own folder here; ``results.csv`` is rewritten as each run finishes (with the worker that ran
    it), so Ctrl-C keeps every finished row (the rest are marked ``interrupted``). Returns the sweep
    folder, the table and whether it was interrupted.
    """
    check_preset(preset)
    folders, cluster = folders or Folders(), (cluster or ClusterOptions()).check()
    selected = select_notebooks(notebook, folders.notebooks())
    if len(selected) != 1:
        raise CourseError(f"sweep: {notebook!r} names {len(selected)} notebooks; name exactly one")
    path = selected[0]
    if not grid:
        raise CourseError("sweep: give at least one -p NAME VALUE [VALUE ...]")
    grid = check_values([path], grid)
    links = resolve_links(path, grid, folders)  # the same for every combination
    data_root = check_data(folders.data_root)

    combos = [run._asdict() for run in RunBuilder.get_runs(grid)]
    with open_engine(cluster, echo) as engine:  # a cluster that is not there: no folder
        for link in links:
            if link.folder is not None:  # found by the rule, not given with -p
                echo(link.note(path.stem, link.folder))
        sweep_dir = new_stamped_dir(folders.runs(), f"sweep-{path.stem}-")
        rows: list[dict[str, Any]] = []
        tasks: list[NotebookTask] = []
        for i, values in enumerate(combos):
            run_dir = sweep_dir / combination_name(i + 1, values)
            run_dir.mkdir()
            params = parameters_for(path, preset, values, run_dir, data_root, linked_dirs(links))
            tasks.append(NotebookTask(run_dir.name, path, params, input_folders(params)))
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

        interrupted = run_tasks(engine, tasks, save, mark_left, cluster, desc="combinations")
        table = tables[-1]
    return sweep_dir, table, interrupted
