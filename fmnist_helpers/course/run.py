"""``fmnist-course run``: execute the selected notebooks in order into a new run folder, with a report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..paths import course_dir
from .catalog import CourseError, check_preset, parameters_for, select_notebooks
from .execute import NotebookResult, Status, run_notebook
from .folders import disk_advice, new_stamped_dir
from .links import link_notes, linked_dirs, resolve_links
from .options import Folders
from .preflight import check_data, check_values
from .report import write_report


def run_course(
    only: str | Sequence[str] | None = None,
    preset: str = "full",
    overrides: dict[str, Any] | None = None,
    keep_going: bool = False,
    folders: Folders | None = None,
    on_result: Any = None,
    on_start: Any = None,
) -> tuple[Path, list[NotebookResult]]:
    """Execute the selected notebooks in order into a new ``runs/<timestamp>/``; write the report.

    ``folders``: where the notebooks, the runs and the data are (default: the course's). Everything
    is checked first (parameters, data, earlier outputs a notebook needs: ``links``). Stops at the
    first failure unless ``keep_going``; Ctrl-C, SIGTERM or SIGHUP marks the running notebook as
    interrupted and still writes the report. ``on_start(count)`` is called once everything passed
    the checks, ``on_result(result)`` after each notebook.
    Returns the run folder and one result per notebook.
    """
    check_preset(preset)
    folders = folders or Folders()
    notebooks = select_notebooks(only, folders.notebooks())
    overrides = {name: values[0] for name, values in
                 check_values(notebooks, {k: [v] for k, v in (overrides or {}).items()}).items()}
    links = {path: resolve_links(path, overrides, folders, [p.stem for p in notebooks[:i]])
             for i, path in enumerate(notebooks)}
    notes: list[str] = []
    data_root = check_data(folders.data_root)

    run_dir = new_stamped_dir(folders.runs())
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
            params = parameters_for(path, preset, overrides, out_dir, data_root,
                                    linked_dirs(links[path], run_dir))
            notes += link_notes(path.stem, links[path], params)  # which other notebook's outputs
            result.__dict__.update(run_notebook(path, out_dir, params, run_dir / path.name).__dict__)
            result.output = path.name
            if on_result is not None:
                on_result(result)
            if result.status == Status.INTERRUPTED or (result.status != Status.OK and not keep_going):
                break
    except KeyboardInterrupt:  # a stop signal between two notebooks
        running = next((r for r in results if r.status == Status.NOT_RUN), None)
        if running is not None:
            running.status, running.error = Status.INTERRUPTED, "interrupted before it started"
    finally:
        try:
            write_report(run_dir, results, settings, notes)
        except OSError as error:  # a full disk: say here what the report would have said
            outcome = "; ".join(f"{r.notebook} {r.status}" + (f" ({r.error})" if r.error else "")
                                for r in results)
            raise CourseError(f"cannot write the report in {run_dir}: {error.strerror or error}"
                              f"{disk_advice(error)}. The notebooks: {outcome}") from None
    return run_dir, results
