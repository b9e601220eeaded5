"""``fmnist-course``: the command line that runs the course (``make course`` calls it)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .data import DataCorruptError, DataMissingError
from .refresh import refresh_notebooks
from .runner import (
    NOTEBOOKS_DIR,
    PRESETS,
    RUNS_ROOT,
    CourseError,
    list_notebooks,
    parse_value,
    results_table,
    run_course,
)
from .student import STUDENT_DIR, write_student_copies
from .sweep import run_sweep


def _overrides(pairs: Sequence[Sequence[str]] | None) -> dict[str, Any]:
    return {name: parse_value(value) for name, value in (pairs or [])}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``fmnist-course``."""
    parser = argparse.ArgumentParser(prog="fmnist-course", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="execute the notebooks in order into runs/<timestamp>/")
    run.add_argument("--preset", choices=sorted(PRESETS), default="full",
                     help="quick: a smoke test in a few minutes; full: each notebook's defaults")
    run.add_argument("--only", default="", help="notebooks by number or name, e.g. 04,05")
    run.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
                     help="override a parameter in every notebook that declares it")
    run.add_argument("--data-root", default=None,
                     help="folder that holds FashionMNIST/raw/ (default: $FMNIST_DATA or ./data)")
    run.add_argument("--keep-going", action="store_true",
                     help="run the remaining notebooks after one fails (default: stop)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")

    commands.add_parser("list", help="the notebooks with their parameters and defaults")

    sweep = commands.add_parser("sweep", help="run one notebook for every combination of values")
    sweep.add_argument("notebook", help="the notebook, by number or name, e.g. 07")
    sweep.add_argument("-p", "--parameter", nargs="+", action="append", required=True,
                       metavar="NAME VALUE", help="a parameter and the values to try: -p lr 0.01 0.001")
    sweep.add_argument("--jobs", type=int, default=1, help="runs at the same time (worker processes)")
    sweep.add_argument("--preset", choices=sorted(PRESETS), default="full")
    sweep.add_argument("--data-root", default=None)

    for command in (run, sweep):
        command.add_argument("--notebooks-dir", type=Path, default=NOTEBOOKS_DIR,
                             help="where the notebooks are (default: notebooks/)")
        command.add_argument("--runs-root", type=Path, default=RUNS_ROOT,
                             help="where run folders are created (default: runs/)")

    student = commands.add_parser("student", help="write student copies without solutions")
    student.add_argument("--out", default=str(STUDENT_DIR), help="folder for the copies")

    refresh = commands.add_parser("refresh", help="re-execute the committed notebooks in place")
    refresh.add_argument("--only", default="", help="notebooks by number or name, e.g. 04,05")
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    run_dir, results = run_course(only=args.only, preset=args.preset,
                                  overrides=_overrides(args.parameter), data_root=args.data_root,
                                  keep_going=args.keep_going, show_progress=not args.no_progress,
                                  runs_root=args.runs_root, notebooks_dir=args.notebooks_dir)
    with pd.option_context("display.max_colwidth", 100, "display.width", 160):
        print(results_table(results).to_string(index=False))
    print(f"\nexecuted notebooks and report: {run_dir}/report.md")
    failed = [r for r in results if r.status in ("failed", "interrupted")]
    for r in failed:
        print(f"FAILED: {r.notebook}.ipynb, {r.error}", file=sys.stderr)
    if any(r.status == "interrupted" for r in results):
        return 130
    return 1 if failed else 0


def _cmd_list(_: argparse.Namespace) -> int:
    with pd.option_context("display.max_rows", None, "display.max_colwidth", 60,
                           "display.width", 200):
        print(list_notebooks().to_string(index=False))
    return 0


def _grid(pairs: Sequence[Sequence[str]]) -> dict[str, list[Any]]:
    grid: dict[str, list[Any]] = {}
    for name, *values in pairs:
        if not values:
            raise CourseError(f"-p {name}: give at least one value")
        grid[name] = [parse_value(v) for v in values]
    return grid


def _cmd_sweep(args: argparse.Namespace) -> int:
    sweep_dir, table, interrupted = run_sweep(args.notebook, _grid(args.parameter), jobs=args.jobs,
                                              preset=args.preset, data_root=args.data_root,
                                              runs_root=args.runs_root,
                                              notebooks_dir=args.notebooks_dir)
    with pd.option_context("display.max_colwidth", 80, "display.width", 200):
        print(table.drop(columns=["folder"], errors="ignore").to_string(index=False))
    print(f"\nresults: {sweep_dir}/results.csv, plot: {sweep_dir}/comparison.png")
    if interrupted:
        return 130
    return 0 if (table["status"] == "ok").all() else 1


def _cmd_student(args: argparse.Namespace) -> int:
    paths = write_student_copies(Path(args.out))
    print(f"wrote {len(paths)} student notebooks to {args.out}")
    return 0


def _cmd_refresh(args: argparse.Namespace) -> int:
    refresh_notebooks(args.only)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``fmnist-course``; returns the exit status."""
    os.environ.setdefault("JUPYTER_PREFER_ENV_PATH", "1")  # the venv's python3 kernel
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # no spinning threads when kernels share cores
    args = build_parser().parse_args(argv)
    handlers = {"run": _cmd_run, "list": _cmd_list, "sweep": _cmd_sweep,
                "student": _cmd_student, "refresh": _cmd_refresh}
    try:
        return handlers[args.command](args)
    except (CourseError, DataMissingError, DataCorruptError) as error:
        print(f"fmnist-course: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
