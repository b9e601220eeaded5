"""Grading one submitted notebook where it runs (a Dask worker): execute, probe, judge.

1. **Execute.** The submission runs with a first cell of the grader's: an IPython hook that, after
   every cell, hands the objects the checks read (each exercise's ``needs`` and ``uses``) to the
   grader as one cloudpickle file per name in ``handover/``. What a cell displays is never read for
   a grade; a notebook stopped halfway (a timeout, a dead kernel) still hands over what it had.
2. **Probe.** A fresh Python process (``exercises/probe_runner.py``) loads those objects and the
   check code afresh and calls the answers on the checks' inputs; it prints plain data only.
3. **Judge.** This process reads that data without running code (``load_probes``) and decides
   every check (``judge_exercise``): no object of the submission ever runs here.

Steps 1 and 2 run in the submission's sandbox (``sandbox``) unless it is switched off or cannot be
had; then the grade says so.

What this does not stop: a student's function, once a probe calls it, runs in the probe's process
and could forge the data that probe returns. It still cannot reach the judge, and it can only claim
outputs for the check's own inputs, which is what a right answer gives anyway.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import nbformat

from ..exercises import engine
from ..exercises.engine import EXERCISES, ExerciseReport
from .environment import temporary_environment
from .execute import NotebookResult, run_notebook
from .scratch import scratch_prefix

GRADER_TAG = "fmnist-grader"
"""The tag of the cell the grader puts first in a submission (it is not the student's)."""

PROBE_TIMEOUT_S = 600.0
"""Seconds the probe process may take for one notebook's checks."""

HANDOVER = '''\
# fmnist-course grader: after every cell, hand the objects the checks read to the grader.
def _fmnist_grader_handover(_result=None, _names={names!r}, _folder={folder!r}, _sent={{}}):
    import os, cloudpickle
    for name in _names:
        value = globals().get(name, _sent)
        if value is _sent:
            continue
        try:
            content = cloudpickle.dumps(value)
        except Exception:
            continue
        if _sent.get(name) != content:
            temporary = os.path.join(_folder, name + ".partial")
            with open(temporary, "wb") as handle:
                handle.write(content)
            os.replace(temporary, os.path.join(_folder, name + ".pkl"))
            _sent[name] = content
get_ipython().events.register("post_run_cell", _fmnist_grader_handover)'''


def with_handover(source: bytes, names: Sequence[str], folder: Path) -> bytes:
    """The notebook ``source`` with the grader's hand-over cell put first."""
    notebook = nbformat.reads(source.decode(), as_version=4)
    cell = nbformat.v4.new_code_cell(HANDOVER.format(names=tuple(names), folder=str(folder)))
    cell.metadata["tags"] = [GRADER_TAG]
    notebook.cells.insert(0, cell)
    return nbformat.writes(notebook).encode()


def exercise_names(keys: Sequence[str]) -> list[str]:
    """Every name the checks of ``keys`` read, once."""
    return list(dict.fromkeys(name for key in keys for name in EXERCISES[key].names))


def register(modules: Sequence[str], hidden_checks: str | None) -> None:
    """Import the modules that register the exercises; add the instructor's hidden checks anew."""
    for module in modules:
        importlib.import_module(module)
    if hidden_checks is None:
        return
    for key, exercise in list(EXERCISES.items()):  # registered again for each task: no check twice
        EXERCISES[key] = replace(exercise, hidden=())
    exec(compile(hidden_checks, "hidden_checks.py", "exec"), {"__name__": "hidden_checks"})


def probe(folder: Path, keys: Sequence[str], modules: Sequence[str], data_root: str | None,
          hidden: Path | None, wrap: Any, timeout: float) -> tuple[dict[str, dict[str, Any]], str]:
    """Run the probe process on the hand-over in ``folder``; its records by exercise, and what
    went wrong with the process ("" when nothing). ``wrap`` turns a command into its sandboxed one."""
    spec = {"handover": str(folder / "handover"), "exercises": list(keys), "modules": list(modules),
            "hidden_checks": str(hidden) if hidden else None, "engine": engine.__spec__.origin,
            "data_root": data_root}
    spec_path = folder / "grader" / "probe.json"
    spec_path.write_text(json.dumps(spec))
    runner = Path(engine.__spec__.origin).with_name("probe_runner.py")
    command = wrap([sys.executable, str(runner), str(spec_path)])
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, cwd=folder, check=False)
        stdout, problem = done.stdout, ""
        if done.returncode != 0:
            last = (done.stderr.decode(errors="replace").strip().splitlines() or [""])[-1]
            problem = f"the checks' process ended with exit code {done.returncode} ({last[:200]})"
    except subprocess.TimeoutExpired as error:
        stdout, problem = error.stdout or b"", f"the checks ran past {timeout:g} s"
    records = {}
    for line in stdout.decode(errors="replace").splitlines():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            record = json.loads(line)
            records[str(record["exercise"])] = record
    return records, problem


def judge(keys: Sequence[str], records: Mapping[str, dict[str, Any]], problem: str,
          data_root: str | None) -> list[ExerciseReport]:
    """The report of every exercise from its probe record (judged here, without student code)."""
    reports = []
    with engine.judging_with(data_root):
        for key in keys:
            record = records.get(key)
            if record is None:
                reason = f"not checked: {problem or 'the checks did not reach this exercise'}"
                reports.append(engine.judge_exercise(key, None, reason=reason))
                continue
            missing = [str(name) for name in record.get("missing", [])]
            if missing:
                reports.append(engine.judge_exercise(key, None, missing=missing))
                continue
            try:
                probes = engine.load_probes(base64.b64decode(record["probes"]))[key]
            except Exception as error:  # not plain data: a tensor subclass, a forged file, ...
                reason = f"not checked: the answer's results are not plain data ({type(error).__name__})"
                reports.append(engine.judge_exercise(key, None, reason=reason))
                continue
            reports.append(engine.judge_exercise(key, list(probes)))
    return reports


def grade_notebook(folder: Path, notebook: Path, out_dir: Path, parameters: dict[str, Any],
                   grading: Mapping[str, Any], timeout: float | None,
                   kernel_env: Mapping[str, str]) -> tuple[NotebookResult, list[dict[str, Any]], str]:
    """Execute, probe and judge the submission at ``notebook`` inside ``folder`` (see the module's
    text) with ``parameters`` (its ``data_root``, when it declares one, is where the checks read
    the data too). ``grading``: ``exercises``, ``modules``, ``hidden_checks`` (source or None),
    ``sandbox`` (bool), ``hide`` (folders to hide from it). Returns what happened to the notebook,
    one row per check (``CheckResult`` fields) and a line on the sandbox ("on", or why it is off)."""
    keys = list(grading["exercises"])
    register(grading["modules"], grading.get("hidden_checks"))
    for name in ("handover", "grader", "tmp"):
        (folder / name).mkdir(exist_ok=True)
    notebook.write_bytes(with_handover(notebook.read_bytes(), exercise_names(keys), folder / "handover"))
    with contextlib.ExitStack() as stack:  # what the sandbox needs beside the task, removed after
        return _grade_in(stack, folder, notebook, out_dir, parameters, grading, timeout, kernel_env)


def _grade_in(stack: contextlib.ExitStack, folder: Path, notebook: Path, out_dir: Path,
              parameters: dict[str, Any], grading: Mapping[str, Any], timeout: float | None,
              kernel_env: Mapping[str, str]) -> tuple[NotebookResult, list[dict[str, Any]], str]:
    from . import sandbox

    keys = list(grading["exercises"])
    data_root = parameters.get("data_root")
    env = dict(kernel_env)
    kernel_name = None
    wrap = list
    policies: list[Any] = []
    sandbox_line = "off: switched off with --no-sandbox"
    if grading.get("sandbox", True):
        available, why = sandbox.sandbox_support()
        if available:
            # one uid for the kernel, another for the probes: what the kernel left running cannot
            # touch the probes, and each phase's processes are killed by uid when it ends
            uid = sandbox.UID_BASE + 1_000_000 + 2 * (os.getpid() % 400_000)
            policies = [sandbox.SandboxPolicy(
                folder=folder, readable=tuple(Path(p) for p in [data_root] if p),
                hidden=tuple(Path(p) for p in grading.get("hide", ())), uid=uid + phase)
                for phase in (0, 1)]
            # the spec lives beside the task folder, where the submission cannot rewrite it
            spec_folder = tempfile.TemporaryDirectory(prefix=scratch_prefix("fmnist-spec-"))
            specs = Path(stack.enter_context(spec_folder))
            kernel_name = sandbox.write_kernel_spec(specs, policies[0])
            env["JUPYTER_PATH"] = str(specs)
            wrap = lambda command: sandbox.sandboxed_command(command, policies[1])  # noqa: E731
            sandbox_line = "on"
        else:
            sandbox_line = f"off: {why.rstrip('.')}"
    try:
        with temporary_environment(env):
            result = run_notebook(notebook, out_dir, parameters, timeout=timeout, allow_errors=True,
                                  **({"kernel_name": kernel_name} if kernel_name else {}))
    finally:
        for policy in policies[:1]:
            sandbox.kill_sandbox(policy.uid)
    hidden = None
    if grading.get("hidden_checks"):  # written only now: the student's kernel never saw it
        hidden = folder / "grader" / "hidden_checks.py"
        hidden.write_text(grading["hidden_checks"])
    try:
        records, problem = probe(folder, keys, grading["modules"], data_root, hidden, wrap,
                                 min(PROBE_TIMEOUT_S, timeout or PROBE_TIMEOUT_S))
    finally:
        for policy in policies[1:]:
            sandbox.kill_sandbox(policy.uid)
    rows = [asdict(r) for report in judge(keys, records, problem, data_root) for r in report.results]
    return result, rows, sandbox_line
