"""``fmnist-course run``: execute the selected notebooks in order into a new run folder, with a report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..paths import course_dir
from .catalog import (
    OUTPUT_LINKS,
    CourseError,
    check_preset,
    default_notebooks_dir,
    default_runs_dir,
    notebook_number,
    notebook_parameters,
    parameters_for,
    select_notebooks,
)
from .execute import NotebookResult, Status, run_notebook
from .folders import disk_advice, new_stamped_dir
from .preflight import check_data, check_values
from .report import write_report


def _newest_earlier_output(runs_root: Path, notebook: str) -> Path | None:
    """The folder of ``notebook`` (a stem) in the newest earlier run where it finished ok."""
    def started(report: Path) -> tuple[str, int]:  # 20261128-163000[-n]: by time, then n
        name = report.parent.name
        suffix = name[16:]
        return name[:15], int(suffix) if suffix.isdigit() else 1

    for report in sorted(runs_root.glob("*/report.json"), key=started, reverse=True):
        try:
            record = json.loads(report.read_text())
        except (OSError, ValueError):
            continue
        if any(n["notebook"] == notebook and n["status"] == Status.OK for n in record.get("notebooks", [])):
            return report.parent / notebook
    return None


def _earlier_links(notebooks: Sequence[Path], overrides: dict[str, Any], runs_root: Path,
                   notebooks_dir: Path) -> dict[str, Path]:
    """For a notebook that needs another's outputs (05 needs 04's weights) when that one is not in
    this run: the newest earlier run's folder where it finished. ``CourseError`` if there is none."""
    selected = {notebook_number(p) for p in notebooks}
    links: dict[str, Path] = {}
    for path in notebooks:
        declared = notebook_parameters(path)
        for name, number in OUTPUT_LINKS.items():
            if name not in declared or name in overrides or number in selected:
                continue
            (source,) = select_notebooks(number, notebooks_dir)
            folder = _newest_earlier_output(runs_root, source.stem)
            if folder is None:
                raise CourseError(
                    f"{path.stem} needs the outputs of {source.stem}, which is not in this run and "
                    f"has not finished in any earlier run in {runs_root}: add it (--only "
                    f"{number},{notebook_number(path)}) or pass -p {name} FOLDER")
            links[number] = folder
    return links


def _common_seed(notebooks: Sequence[Path], overrides: dict[str, Any]) -> Any:
    """The seed every notebook ran with: the override, else their common default."""
    if "seed" in overrides:
        return overrides["seed"]
    defaults = {notebook_parameters(p)["seed"]["default"] for p in notebooks
                if "seed" in notebook_parameters(p)}
    return int(defaults.pop()) if len(defaults) == 1 else sorted(defaults) or None


def run_course(
    only: str | Sequence[str] | None = None,
    preset: str = "full",
    overrides: dict[str, Any] | None = None,
    data_root: str | None = None,
    keep_going: bool = False,
    runs_root: Path | None = None,
    notebooks_dir: Path | None = None,
    on_result: Any = None,
    on_start: Any = None,
) -> tuple[Path, list[NotebookResult]]:
    """Execute the selected notebooks in order into a new ``runs/<timestamp>/``; write the report.

    Everything is checked first (parameters, data, earlier outputs a notebook needs). Stops at the
    first failure unless ``keep_going``; Ctrl-C, SIGTERM or SIGHUP marks the running notebook as
    interrupted and still writes the report. ``on_start(count)`` is called once everything passed
    the checks, ``on_result(result)`` after each notebook.
    Returns the run folder and one result per notebook.
    """
    check_preset(preset)
    notebooks_dir = notebooks_dir or default_notebooks_dir()
    runs_root = Path(runs_root or default_runs_dir()).expanduser().resolve()
    notebooks = select_notebooks(only, notebooks_dir)
    overrides = {name: values[0] for name, values in
                 check_values(notebooks, {k: [v] for k, v in (overrides or {}).items()}).items()}
    linked_dirs = _earlier_links(notebooks, overrides, runs_root, notebooks_dir)
    earlier = dict(linked_dirs)
    notes: list[str] = []
    data_root = check_data(data_root)

    run_dir = new_stamped_dir(runs_root)
    results = [NotebookResult(p.stem) for p in notebooks]
    if on_start is not None:
        on_start(len(notebooks))
    settings = {"preset": preset, "on_failure": "keep going" if keep_going else "stop",
                "course_dir": str(course_dir()), "data_root": data_root,
                "preset_values": check_preset(preset), "overrides": overrides}
    try:
        for path, result in zip(notebooks, results, strict=True):
            out_dir = run_dir / path.stem
            out_dir.mkdir()
            params = parameters_for(path, preset, overrides, out_dir, data_root, linked_dirs)
            for name, number in OUTPUT_LINKS.items():
                if name in params:  # say which other notebook's outputs this one used
                    origin = ("-p override" if name in overrides else "newest earlier run"
                              if earlier.get(number) == Path(params[name]) else "this run")
                    notes.append(f"{path.stem} used {name}={params[name]} ({origin})")
            result.__dict__.update(run_notebook(path, out_dir, params, run_dir / path.name).__dict__)
            result.output = path.name
            if on_result is not None:
                on_result(result)
            if result.status == Status.OK:
                linked_dirs[notebook_number(path)] = out_dir
            elif result.status == Status.INTERRUPTED or not keep_going:
                break
    except KeyboardInterrupt:  # a stop signal between two notebooks
        running = next((r for r in results if r.status == Status.NOT_RUN), None)
        if running is not None:
            running.status, running.error = Status.INTERRUPTED, "interrupted before it started"
    finally:
        try:
            write_report(run_dir, results, settings, _common_seed(notebooks, overrides), notes)
        except OSError as error:  # a full disk: say here what the report would have said
            outcome = "; ".join(f"{r.notebook} {r.status}" + (f" ({r.error})" if r.error else "")
                                for r in results)
            raise CourseError(f"cannot write the report in {run_dir}: {error.strerror or error}"
                              f"{disk_advice(error)}. The notebooks: {outcome}") from None
    return run_dir, results
