"""The report of a course run: ``report.md`` and ``report.json`` in the run folder."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from ..results import load_metrics, provenance
from .execute import NotebookResult, Status
from .folders import write_text_atomically


def results_table(results: Sequence[NotebookResult]) -> pd.DataFrame:
    """One row per notebook: status, seconds, key metrics (or the error)."""
    rows = []
    for r in results:
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in list(r.metrics.items())[:4])
        rows.append({"notebook": r.notebook, "status": r.status, "seconds": r.seconds,
                     "key metrics / error": r.error or shown})
    return pd.DataFrame(rows)


def recorded_seeds(run_dir: Path, results: Sequence[NotebookResult]) -> dict[str, Any]:
    """The seed each notebook recorded in the provenance of its ``metrics.json`` (in the run's
    ``run_dir/<notebook>/``, written by ``setup.save_metrics``); notebooks that wrote none (one that
    failed or never ran, say) are left out."""
    seeds = {}
    for r in results:
        try:
            seeds[r.notebook] = load_metrics(run_dir / r.notebook)["provenance"]["seed"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return seeds


def write_report(run_dir: Path, results: Sequence[NotebookResult], settings: Mapping[str, Any],
                 notes: Sequence[str] = ()) -> None:
    """Write ``report.json`` and ``report.md`` (status, time, key metrics, provenance) to the run.

    ``settings`` (preset, overrides, what happens on failure, ...) go into the provenance;
    ``notes`` are sentences the report shows under the table (which weights 05 analysed, say).
    The seed is the one the notebooks recorded (``recorded_seeds``): each notebook's record in
    ``report.json`` has its own, and the provenance shows the seed they share, or the seed per
    notebook where they differ (None if none recorded one).
    """
    seeds = recorded_seeds(run_dir, results)
    shared = set(seeds.values())
    seed = shared.pop() if len(shared) == 1 else seeds or None
    info = provenance(seed=seed, parameters=dict(settings))
    ok = sum(r.status == Status.OK for r in results)
    record = {"run_dir": str(run_dir), "ok": ok == len(results), "notes": list(notes),
              "notebooks": [{**asdict(r), "seed": seeds.get(r.notebook)} for r in results],
              "provenance": info}
    write_text_atomically(run_dir / "report.json", json.dumps(record, indent=2, default=str) + "\n")

    summary = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in settings.items()
                        if not isinstance(v, (dict, list)))
    lines = [f"# Course run {run_dir.name}", "", f"{summary}; {ok} of {len(results)} notebooks ok.",
             "", "| notebook | status | seconds | key metrics / error |", "|---|---|---:|---|"]
    for row in results_table(results).itertuples(index=False):
        detail = str(row[3]).replace("|", "\\|")
        lines.append(f"| {row.notebook} | {row.status} | {row.seconds} | {detail} |")
    if notes:
        lines += [""] + [f"- {note}" for note in notes]
    lines += ["", "## Provenance", ""]
    lines += [f"- {key}: `{json.dumps(value, default=str)}`" for key, value in info.items()]
    write_text_atomically(run_dir / "report.md", "\n".join(lines) + "\n")
