"""fmnist-course: run, sweep, list, copy, grade and refresh the course's notebooks (make course calls it)."""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .catalog import PRESETS, CourseError
from .console import forgiving_console
from .environment import apply_environment, install_kernel
from .folders import disk_advice
from .options import DEFAULT_THREADS, DEFAULT_TIMEOUT_S, ClusterOptions, Folders
from .scratch import remove_orphaned_scratch
from .signals import exit_code, install_stop_handlers

if TYPE_CHECKING:
    from .execute import NotebookResult

# Each command imports what it needs (torch, papermill, Dask, pandas) when it runs:
# `fmnist-course --help` and a refused request answer at once.

def parse_value(text: str) -> Any:
    """Read a command-line value as Python: ``3`` int, ``0.01`` float, ``True``, ``None``, lists.

    Anything that is not a Python literal stays a string.
    """
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _overrides(pairs: Sequence[Sequence[str]] | None) -> dict[str, Any]:
    return {name: parse_value(value) for name, value in (pairs or [])}


def _grid(pairs: Sequence[Sequence[str]]) -> dict[str, list[Any]]:
    grid: dict[str, list[Any]] = {}
    for name, *values in pairs:
        if not values:
            raise CourseError(f"-p {name}: give at least one value")
        grid[name] = [parse_value(v) for v in values]
    return grid


OPTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "only": ("--only", {"default": "", "help": "notebooks by number or name, e.g. 04,05"}),
    "notebooks_dir": ("--notebooks-dir", {
        "type": Path, "default": None,
        "help": "where the notebooks are (default: notebooks/ in the course folder); for grade, the "
                "instructor's notebooks: which notebooks and exercises are expected"}),
    "runs_root": ("--runs-root", {
        "type": Path, "default": None,
        "help": "where run folders are created, and where the outputs of an earlier run a notebook "
                "reads are found (default: runs/ in the course folder)"}),
    "data_root": ("--data-root", {
        "default": None, "help": "the folder that holds FashionMNIST/raw/ (default: $FMNIST_DATA, "
                                 "else data/ in the course folder)"}),
    "preset": ("--preset", {
        "choices": sorted(PRESETS), "default": "full",
        "help": "full: each notebook's defaults; quick: one short epoch each, a smoke test in a few "
                "minutes"}),
    "no_progress": ("--no-progress", {"action": "store_true", "help": "no progress bar"}),
    "jobs": ("--jobs", {
        "type": int, "default": 1,
        "help": "notebooks run at the same time on this machine (worker processes of a local Dask "
                "cluster; default 1)"}),
    "scheduler": ("--scheduler", {
        "default": None, "metavar": "tcp://HOST:PORT",
        "help": "run on an existing Dask cluster instead (default: $DASK_SCHEDULER_ADDRESS, else a "
                "local cluster of --jobs workers)"}),
    "threads": ("--threads", {
        "type": int, "default": DEFAULT_THREADS,
        "help": f"torch threads per notebook (default {DEFAULT_THREADS}, the fastest when notebooks "
                "share a machine's cores)"}),
}
"""Every option that several commands take, defined once: ``dest`` -> (flag, ``add_argument``
settings)."""

FOLDER_OPTIONS = ("notebooks_dir", "runs_root", "data_root")
"""The options that make ``Folders``."""

CLUSTER_OPTIONS = ("jobs", "scheduler", "threads", "no_progress")
"""The options that make ``ClusterOptions``."""


def _add_options(command: argparse.ArgumentParser, *names: str) -> None:
    """Add the shared options ``names`` (keys of ``OPTIONS``) to ``command``."""
    for name in names:
        flag, settings = OPTIONS[name]
        command.add_argument(flag, **settings)


def _folders(args: argparse.Namespace) -> Folders:
    return Folders(args.notebooks_dir, args.runs_root, args.data_root)


def _cluster(args: argparse.Namespace) -> ClusterOptions:
    return ClusterOptions(args.jobs, args.scheduler, args.threads, progress=not args.no_progress)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``fmnist-course``."""
    parser = argparse.ArgumentParser(
        prog="fmnist-course", description=__doc__,
        epilog="The course folder is the working directory (or the nearest folder above it) that "
               "holds notebooks/. Values after -p are read as Python: 3, 0.01, True, None, [1, 2].")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="execute the notebooks in order into runs/<timestamp>/")
    _add_options(run, "only")
    run.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
                     help="set a parameter in every notebook that declares it, e.g. -p epochs 3")
    run.add_argument("--keep-going", action="store_true",
                     help="run the remaining notebooks after one fails (default: stop)")
    _add_options(run, "no_progress", *FOLDER_OPTIONS, "preset")

    listing = commands.add_parser("list", help="the notebooks with their parameters and defaults")
    _add_options(listing, "notebooks_dir")

    sweep = commands.add_parser("sweep", help="run one notebook for every combination of values")
    sweep.add_argument("notebook", help="the notebook, by number or name, e.g. 04")
    sweep.add_argument("-p", "--parameter", nargs="+", action="append", required=True,
                       metavar="NAME VALUE", help="a parameter and the values to try: -p lr 0.01 0.001")
    _add_options(sweep, *CLUSTER_OPTIONS, *FOLDER_OPTIONS, "preset")

    grade = commands.add_parser("grade", help="execute students' notebooks and collect their checks")
    grade.add_argument("submissions", type=Path, metavar="SUBMISSIONS",
                       help="one folder per student, each with their NN_topic.ipynb files")
    grade.add_argument("--out", type=Path, required=True,
                       help="a new folder for grades.csv, <student>.md and the executed copies")
    _add_options(grade, "only")
    grade.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                       help="seconds one submitted notebook may run in all before it is "
                            f"stopped (default {DEFAULT_TIMEOUT_S:g})")
    _add_options(grade, *FOLDER_OPTIONS)
    grade.add_argument("--hidden-checks", type=Path, default=None, metavar="FILE.py",
                       help="extra checks kept outside the student copies (see "
                            "examples/hidden_checks.py); feedback shows their descriptions only")
    grade.add_argument("--roster", type=Path, default=None, metavar="ROSTER.csv",
                       help="columns folder,id,name (and optionally sis_user_id, sis_login_id, "
                            "section): also write gradebook.csv for Canvas's gradebook import")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run submissions without the sandbox (their own folder, no network, "
                            "limits, an unprivileged user); only for code you trust")
    _add_options(grade, *CLUSTER_OPTIONS)

    student = commands.add_parser("student", help="write student copies without the answers")
    student.add_argument("--out", type=Path, default=None,
                         help="folder for the copies (default: student/ in the course folder)")
    _add_options(student, "only", "notebooks_dir")

    refresh = commands.add_parser("refresh", help="re-execute the committed notebooks in place")
    _add_options(refresh, "only")

    readme = commands.add_parser("readme", help="rewrite the README's measured numbers from results/")
    readme.add_argument("--check", action="store_true",
                        help="only say whether the README is up to date (exit 1 if not)")
    readme.add_argument("--quick-report", type=Path, default=None,
                        help="first record the seconds of a --preset quick run from its report.json")

    commands.add_parser("kernel", help="write this environment's python3 kernel spec (make does this)")

    predict = commands.add_parser(
        "predict", help="classify your own image files with a saved model (notebook 14)",
        description="Print the most probable Fashion-MNIST class of each image, with its probability. "
                    "Each image is prepared as notebook 14 does: grayscale, inverted when its "
                    "background is light, cropped to the object, padded to a square, 28 x 28.")
    predict.add_argument("model", type=Path, metavar="MODEL",
                         help="a program exported by notebook 14 (outputs/14_your_own_images/model.pt2) "
                              "or a state_dict of Network (outputs/04_training/model.pt) or of "
                              "CapstoneNet (outputs/12_accuracy_ladder/capstone_weights.pt)")
    predict.add_argument("images", type=Path, nargs="+", metavar="IMAGE",
                         help="image files: PNG, JPEG or any format PIL reads, any size and mode")
    predict.add_argument("--top-k", type=int, default=1, metavar="K",
                         help="also print the next most probable classes: K classes per image "
                              "(default 1)")
    predict.add_argument("--background", choices=("auto", "light", "dark"), default="auto",
                         help="light: invert every image (dark object on a light background); dark: "
                              "never invert; auto (default): decide from each image's border")
    return parser


def _print_table(results: Sequence[NotebookResult]) -> None:
    import pandas as pd

    from .report import results_table

    with pd.option_context("display.max_colwidth", 100, "display.width", 160):
        print(results_table(results).to_string(index=False))


def _cmd_run(args: argparse.Namespace) -> int:
    from ..progress import tqdm
    from .execute import Status
    from .run import run_course

    bars = []  # the progress bar, once the request passed its checks

    def on_start(count: int) -> None:
        bars.append(tqdm(total=count, desc="notebooks", unit="nb", disable=args.no_progress))

    def on_result(result: NotebookResult) -> None:
        bars[0].update(1)
        bars[0].set_postfix_str(f"{result.notebook}: {result.status}")

    try:
        run_dir, results = run_course(only=args.only, preset=args.preset,
                                      overrides=_overrides(args.parameter), keep_going=args.keep_going,
                                      folders=_folders(args), on_result=on_result, on_start=on_start)
    finally:
        for bar in bars:
            bar.close()
    _print_table(results)
    print(f"\nexecuted notebooks and report: {run_dir}/report.md")
    for r in results:
        if r.status in (Status.FAILED, Status.TIMEOUT, Status.INTERRUPTED):
            print(f"{r.status.upper()}: {r.notebook}.ipynb, {r.error}", file=sys.stderr)
    if any(r.status == Status.INTERRUPTED for r in results):
        return exit_code(130)
    return 1 if any(r.status != Status.OK for r in results) else 0


def _cmd_list(args: argparse.Namespace) -> int:
    import pandas as pd

    from .catalog import list_notebooks

    with pd.option_context("display.max_rows", None, "display.max_colwidth", 60,
                           "display.width", 200):
        print(list_notebooks(args.notebooks_dir).to_string(index=False))
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    import pandas as pd

    from .execute import Status
    from .sweep import run_sweep

    sweep_dir, table, interrupted = run_sweep(args.notebook, _grid(args.parameter), args.preset,
                                              _folders(args), _cluster(args))
    with pd.option_context("display.max_colwidth", 80, "display.width", 200):
        print(table.drop(columns=["folder"], errors="ignore").to_string(index=False))
    print(f"\nresults: {sweep_dir}/results.csv, plot: {sweep_dir}/comparison.png")
    if interrupted:
        return exit_code(130)
    return 0 if (table["status"] == Status.OK).all() else 1


def _cmd_grade(args: argparse.Namespace) -> int:
    from .grade import GradingOptions, grade_submissions

    options = GradingOptions(only=args.only, timeout=args.timeout, sandbox=not args.no_sandbox,
                             hidden_checks=args.hidden_checks, roster=args.roster)
    table, graded, interrupted = grade_submissions(args.submissions, args.out, options, _folders(args),
                                                   _cluster(args))
    summary = table.groupby("student", sort=False)[["points", "max_points"]].sum()
    for student, row in summary.iterrows():
        print(f"{student}: {row['points']} of {row['max_points']} points")
    out = args.out.expanduser().resolve()
    print(f"\ngrades: {out}/grades.csv and scores.csv, feedback: {out}/<student>.md, where the class "
          f"struggles: {out}/checks_summary.png, executed copies: {out}/executed/")
    for g in graded:
        if not g.graded:
            print(f"NOT GRADED: {g.student}/{g.notebook}.ipynb: {g.note}", file=sys.stderr)
    if interrupted:
        return exit_code(130)
    return 0 if all(g.graded for g in graded) else 1


def _cmd_student(args: argparse.Namespace) -> int:
    from .student import write_student_copies

    copies = write_student_copies(args.out, args.only, args.notebooks_dir)
    for copy in copies:
        if copy.kept is not None:
            print(f"{copy.kept} was edited since it was made: kept it, wrote {copy.path.name} "
                  "beside it")
    folder = copies[0].path.parent if copies else args.out
    print(f"wrote {len(copies)} student notebooks to {folder}")
    return 0


def _cmd_refresh(args: argparse.Namespace) -> int:
    from .refresh import refresh_notebooks

    refresh_notebooks(args.only)
    return 0


def _cmd_readme(args: argparse.Namespace) -> int:
    from .readme import record_quick_report, update_readme

    if args.quick_report is not None:
        record_quick_report(args.quick_report)
    up_to_date = update_readme(check=args.check)
    print("README.md is up to date" if up_to_date else
          "README.md is out of date: run `fmnist-course readme`" if args.check else
          "README.md updated from results/")
    return 1 if args.check and not up_to_date else 0


def _cmd_kernel(_: argparse.Namespace) -> int:
    print(f"wrote {install_kernel()}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from .predict import predict_command  # imported here: only this command needs the model code

    return predict_command(args.model, args.images, top_k=args.top_k, background=args.background)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``fmnist-course``; returns the exit status."""
    apply_environment()
    args = build_parser().parse_args(argv)
    handlers = {"run": _cmd_run, "list": _cmd_list, "sweep": _cmd_sweep, "grade": _cmd_grade,
                "student": _cmd_student,
                "refresh": _cmd_refresh, "readme": _cmd_readme,
                "kernel": _cmd_kernel, "predict": _cmd_predict}
    install_stop_handlers()
    remove_orphaned_scratch()  # left by an earlier command that was killed on the spot
    with forgiving_console():
        return _handle(handlers[args.command], args)


def _handle(handler: Any, args: argparse.Namespace) -> int:
    """``handler(args)``'s exit status, with every refusal or stop turned into a message."""
    try:
        return handler(args)
    except CourseError as error:
        print(f"fmnist-course: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a folder the command cannot create, read or write
        where = f" {error.filename}" if error.filename else ""
        advice = disk_advice(error) or " (choose another folder)"
        print(f"fmnist-course: error: cannot use{where}: {error.strerror or error}{advice}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fmnist-course: stopped", file=sys.stderr)
        return exit_code(130)


if __name__ == "__main__":
    sys.exit(main())
