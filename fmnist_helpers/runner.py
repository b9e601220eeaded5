"""Run the course's notebooks with papermill: presets, parameter checks, a report per run."""

from __future__ import annotations

import ast
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import papermill as pm
from papermill.exceptions import PapermillExecutionError

from .data import REPO_ROOT, ensure_fashion_mnist, resolve_data_root
from .progress import progress
from .results import provenance

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
RUNS_ROOT = REPO_ROOT / "runs"

PRESETS: dict[str, dict[str, Any]] = {
    # full: each notebook's own defaults; only progress bars are switched off (they clutter logs)
    "full": {"show_progress": False, "open_tensorboard": False},
    # quick: a smoke test of every notebook in a few seconds of training each
    "quick": {
        "show_progress": False,
        "open_tensorboard": False,
        "epochs": 1,
        "max_batches": 50,
        "num_runs_limit": 2,
        "timing_batches": 20,
    },
}
"""Parameter values each preset passes to every notebook that declares the parameter."""

OUTPUT_LINKS = {"train_dir": "04"}
"""A parameter that names another notebook's ``out_dir``: set to it when both run together."""


class CourseError(ValueError):
    """A request the runner refuses before running anything (unknown notebook, bad parameter)."""


@dataclass
class NotebookResult:
    """What happened to one notebook in a run."""

    notebook: str
    status: str  # "ok", "failed", "not run", "interrupted"
    seconds: float = 0.0
    error: str = ""
    output: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)


def discover_notebooks(folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The course's notebooks, ``NN_topic.ipynb``, in order."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def notebook_number(path: Path) -> str:
    """``"04"`` for ``04_training.ipynb``."""
    return path.name[:2]


def select_notebooks(only: str | Sequence[str] | None, folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    """Notebooks named by number or name in ``only`` (``"04,05"``), or all when it is empty."""
    notebooks = discover_notebooks(folder)
    if not only:
        return notebooks
    wanted = [w.strip() for w in (only.split(",") if isinstance(only, str) else only) if w.strip()]
    chosen = []
    for name in wanted:
        matches = [p for p in notebooks if name in (notebook_number(p), p.stem, p.name)
                   or (name.isdigit() and notebook_number(p) == name.zfill(2))]
        if not matches:
            known = ", ".join(p.stem for p in notebooks)
            raise CourseError(f"--only: no notebook {name!r}; the notebooks are: {known}")
        chosen += [p for p in matches if p not in chosen]
    return sorted(chosen)


def notebook_parameters(path: Path) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares in its ``parameters`` cell, from papermill's inspection.

    papermill's inspection skips annotations it cannot read (``str | None``); those lines are read
    here too, with the same fields (name, inferred_type_name, default, help).
    """
    found = pm.inspect_notebook(str(path))
    notebook = nbformat.read(path, as_version=4)
    cell = next((c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])), None)
    for line in (cell.source.splitlines() if cell else []):
        code, _, comment = line.partition("#")
        try:
            (node,) = ast.parse(code).body
        except (SyntaxError, ValueError):
            continue
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            found.setdefault(node.target.id, {
                "name": node.target.id, "inferred_type_name": ast.unparse(node.annotation),
                "default": ast.unparse(node.value), "help": comment.strip()})
    return found


def parse_value(text: str) -> Any:
    """Read a command-line value as Python: ``3`` int, ``0.01`` float, ``True``, ``None``, lists.

    Anything that is not a Python literal stays a string.
    """
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _matches_type(value: Any, type_name: str | None) -> bool:
    if not type_name or type_name == "None":
        return True
    if type_name.startswith("Optional[") and type_name.endswith("]"):
        return value is None or _matches_type(value, type_name[len("Optional["):-1])
    for option in (part.strip() for part in type_name.split("|")):
        base = option.split("[")[0]
        if (
            (base == "None" and value is None)
            or (base == "int" and isinstance(value, int) and not isinstance(value, bool))
            or (base == "float" and isinstance(value, (int, float)) and not isinstance(value, bool))
            or (base == "bool" and isinstance(value, bool))
            or (base == "str" and isinstance(value, str))
            or (base in ("list", "tuple") and isinstance(value, (list, tuple)))
            or (base == "dict" and isinstance(value, dict))
            or base not in ("None", "int", "float", "bool", "str", "list", "tuple", "dict")
        ):
            return True
    return False


def check_overrides(notebooks: Iterable[Path], overrides: dict[str, Any]) -> None:
    """Refuse an override no selected notebook declares, or one of the wrong type."""
    declared: dict[str, list[tuple[Path, str | None]]] = {}
    for path in notebooks:
        for name, spec in notebook_parameters(path).items():
            declared.setdefault(name, []).append((path, spec.get("inferred_type_name")))
    for name, value in overrides.items():
        if name not in declared:
            known = ", ".join(sorted(declared))
            raise CourseError(f"-p {name}: no selected notebook has a parameter {name!r}; "
                              f"their parameters are: {known}")
        for path, type_name in declared[name]:
            if not _matches_type(value, type_name):
                raise CourseError(f"-p {name} {value!r}: {path.name} declares {name}: {type_name}, "
                                  f"got a {type(value).__name__}")


def parameters_for(path: Path, preset: str, overrides: dict[str, Any], out_dir: Path,
                   data_root: str | None, linked_dirs: dict[str, Path]) -> dict[str, Any]:
    """The parameters one notebook gets: preset values and overrides it declares, plus its paths."""
    declared = notebook_parameters(path)
    values = {k: v for k, v in PRESETS[preset].items() if k in declared}
    values.update({k: v for k, v in overrides.items() if k in declared})
    if "out_dir" in declared:
        values["out_dir"] = str(out_dir)
    if "data_root" in declared and data_root is not None:
        values["data_root"] = data_root
    for name, number in OUTPUT_LINKS.items():
        if name in declared and number in linked_dirs and name not in overrides:
            values[name] = str(linked_dirs[number])
    return values


def new_run_dir(root: Path = RUNS_ROOT) -> Path:
    """A new, empty ``runs/<timestamp>`` folder (a suffix keeps it new within one second)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate, n = root / stamp, 1
    while candidate.exists():
        n += 1
        candidate = root / f"{stamp}-{n}"
    candidate.mkdir(parents=True)
    return candidate


def describe_failure(error: BaseException) -> str:
    """One line naming the cell and the error of a failed notebook."""
    if isinstance(error, PapermillExecutionError):
        first_line = next((ln for ln in error.source.splitlines() if ln.strip()), "")
        return (f"cell {error.cell_index} (`{first_line.strip()[:60]}`): "
                f"{error.ename}: {error.evalue}")
    return f"{type(error).__name__}: {error}"


def execute_notebook(path: Path, output: Path, parameters: dict[str, Any],
                     log_output: bool = False) -> None:
    """Execute one notebook with papermill into ``output`` (the kernel starts in ``notebooks/``)."""
    pm.execute_notebook(str(path), str(output), parameters=parameters, kernel_name="python3",
                        progress_bar=False, log_output=log_output, cwd=str(path.parent))


KEY_METRICS = ("test_accuracy", "bn_test_accuracy", "best_test_accuracy", "best_run",
               "seconds_per_epoch", "untrained_accuracy", "parameter_count", "in_memory_over_floor",
               "in_memory_speedup", "mean", "std", "allclose", "device")
"""Metrics a report shows first when a notebook's ``metrics.json`` has them."""


def _summarise(value: Any) -> Any:
    if isinstance(value, dict):
        if value and all(isinstance(v, bool) for v in value.values()):
            return all(value.values())
        return ", ".join(f"{k}={v}" for k, v in value.items() if not isinstance(v, (dict, list)))
    if isinstance(value, list) and value and all(isinstance(v, (int, float)) for v in value):
        return round(sum(value) / len(value), 3)  # e.g. seconds per epoch: their mean
    return value


def key_metrics(out_dir: Path, limit: int = 4) -> dict[str, Any]:
    """Up to ``limit`` headline results from ``out_dir/metrics.json`` (empty if there is none).

    ``KEY_METRICS`` come first, then other numbers; dicts and lists of numbers are summarised.
    """
    path = out_dir / "metrics.json"
    if not path.is_file():
        return {}
    data = {k: v for k, v in json.loads(path.read_text()).items() if k != "provenance"}
    chosen = [k for k in KEY_METRICS if k in data]
    chosen += [k for k, v in data.items() if k not in chosen and isinstance(v, (int, float))]
    return {k: _summarise(data[k]) for k in chosen[:limit]}


def run_course(
    only: str | Sequence[str] | None = None,
    preset: str = "full",
    overrides: dict[str, Any] | None = None,
    data_root: str | None = None,
    keep_going: bool = False,
    runs_root: Path = RUNS_ROOT,
    show_progress: bool = True,
    notebooks_dir: Path = NOTEBOOKS_DIR,
) -> tuple[Path, list[NotebookResult]]:
    """Execute the selected notebooks in order into a new ``runs/<timestamp>/``; write the report.

    Returns the run folder and one result per notebook. Stops at the first failure unless
    ``keep_going``; Ctrl-C marks the notebook as interrupted and still writes the report.
    """
    if preset not in PRESETS:
        raise CourseError(f"--preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    overrides = dict(overrides or {})
    notebooks = select_notebooks(only, notebooks_dir)
    if not notebooks:
        raise CourseError(f"no notebooks found in {notebooks_dir}")
    check_overrides(notebooks, overrides)
    ensure_fashion_mnist(data_root)  # a missing data folder fails here, once, clearly
    data_root = str(resolve_data_root(data_root)) if data_root else None

    run_dir = new_run_dir(runs_root)
    results = [NotebookResult(p.stem, "not run") for p in notebooks]
    linked_dirs: dict[str, Path] = {}
    stop = False
    bar = progress(list(zip(notebooks, results, strict=True)), enabled=show_progress,
                   desc="notebooks", unit="nb")
    for path, result in bar:
        if stop:
            continue
        if hasattr(bar, "set_postfix_str"):
            bar.set_postfix_str(path.stem)
        out_dir = run_dir / path.stem
        out_dir.mkdir()
        output = run_dir / path.name
        params = parameters_for(path, preset, overrides, out_dir, data_root, linked_dirs)
        result.output = str(output.relative_to(run_dir))
        start = time.perf_counter()
        try:
            execute_notebook(path, output, params)
            result.status = "ok"
            linked_dirs[notebook_number(path)] = out_dir
        except KeyboardInterrupt:
            result.status, result.error, stop = "interrupted", "interrupted by Ctrl-C", True
        except Exception as error:  # a failing notebook is reported, not raised
            result.status, result.error = "failed", describe_failure(error)
            stop = not keep_going
        result.seconds = round(time.perf_counter() - start, 1)
        result.metrics = key_metrics(out_dir)
    # the seed every notebook ran with: the override, else their common default
    declared = [notebook_parameters(p).get("seed") for p in notebooks]
    seeds = {parse_value(spec["default"]) for spec in declared if spec}
    seed = overrides.get("seed", seeds.pop() if len(seeds) == 1 else sorted(seeds) or None)
    write_report(run_dir, results, preset, overrides, keep_going, seed)
    return run_dir, results


def results_table(results: Sequence[NotebookResult]) -> pd.DataFrame:
    """One row per notebook: status, seconds, key metrics (or the error)."""
    rows = []
    for r in results:
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in list(r.metrics.items())[:4])
        rows.append({"notebook": r.notebook, "status": r.status, "seconds": r.seconds,
                     "key metrics / error": r.error or shown})
    return pd.DataFrame(rows)


def write_report(run_dir: Path, results: Sequence[NotebookResult], preset: str,
                 overrides: dict[str, Any], keep_going: bool, seed: Any = None) -> None:
    """Write ``report.json`` and ``report.md`` (status, time, key metrics, provenance) to the run."""
    info = provenance(seed=seed, parameters={"preset": preset, "preset_values": PRESETS[preset],
                                             "overrides": overrides, "keep_going": keep_going})
    failed = [r for r in results if r.status != "ok"]
    record = {"run_dir": str(run_dir), "ok": not failed,
              "on_failure": "keep going" if keep_going else "stop",
              "notebooks": [asdict(r) for r in results], "provenance": info}
    (run_dir / "report.json").write_text(json.dumps(record, indent=2, default=str) + "\n")

    lines = [f"# Course run {run_dir.name}", "",
             f"Preset `{preset}`; on failure: {record['on_failure']}; "
             f"{sum(r.status == 'ok' for r in results)} of {len(results)} notebooks ok.", "",
             "| notebook | status | seconds | key metrics / error |", "|---|---|---:|---|"]
    for row in results_table(results).itertuples(index=False):
        detail = str(row[3]).replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {row.notebook} | {row.status} | {row.seconds} | {detail} |")
    lines += ["", "## Provenance", ""]
    lines += [f"- {key}: `{json.dumps(value, default=str)}`" for key, value in info.items()]
    (run_dir / "report.md").write_text("\n".join(lines) + "\n")


def list_notebooks(notebooks_dir: Path = NOTEBOOKS_DIR) -> pd.DataFrame:
    """Every notebook with its parameters, their types and defaults."""
    rows = []
    for path in discover_notebooks(notebooks_dir):
        for name, spec in notebook_parameters(path).items():
            rows.append({"notebook": path.stem, "parameter": name,
                         "type": spec.get("inferred_type_name"), "default": spec.get("default"),
                         "help": spec.get("help", "")})
    return pd.DataFrame(rows)

