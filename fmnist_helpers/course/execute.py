"""``run_notebook``: the one way the course executes a notebook (runs, sweeps, grading, tests)."""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import nbformat
import papermill as pm
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from papermill.exceptions import PapermillExecutionError
from traitlets.config import Config

from .environment import KERNEL_NAME, apply_environment, kernel_environment
from .folders import disk_advice
from .headline import key_metrics
from .scratch import scratch_prefix
from .signals import stop_reason


def kernel_config(socket_folder: Path) -> Config:
    """Kernel settings: Unix sockets in ``socket_folder`` (no TCP ports to collide on, and no path
    another kernel started beside this one can pick: jupyter_client's default socket name is
    ``kernel-ipc-N`` in the kernel's working folder, chosen by a racy "does it exist" test) with
    CurveZMQ (the kernel spec declares support): no plain-text traffic, and no "running over TCP
    without encryption" warning per kernel. The connection file, which holds the kernel's keys, goes
    into the same folder (jupyter_client's default is a ``tmp*.json`` of the system temp folder),
    so it goes with it."""
    return Config({"KernelManager": {"transport_encryption": "auto", "transport": "ipc",
                                     "ip": str(socket_folder / "kernel"),
                                     "connection_file": str(socket_folder / "connection.json")}})


class Status(StrEnum):
    """What happened to a notebook (a ``str``: ``"ok"``, ``"failed"``, ... in tables and JSON)."""

    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"
    INTERRUPTED = "interrupted"
    NOT_RUN = "not run"


@dataclass
class NotebookResult:
    """What happened to one notebook (its ``Status``, time, error and headline metrics)."""

    notebook: str
    status: str = Status.NOT_RUN
    seconds: float = 0.0
    error: str = ""  # one line: the failing cell and the error
    cell: int | None = None
    output: str = ""  # the executed notebook
    metrics: dict[str, Any] = field(default_factory=dict)


def one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line (a table cell), shortened to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe_failure(error: BaseException) -> tuple[str, int | None]:
    """One line naming the failing cell and its error, and the cell's index (None if unknown)."""
    if isinstance(error, PapermillExecutionError):
        first_line = next((ln for ln in error.source.splitlines() if ln.strip()), "")
        return (one_line(f"cell {error.cell_index} (`{first_line.strip()[:60]}`): "
                         f"{error.ename}: {error.evalue}"), error.cell_index)
    return one_line(f"{type(error).__name__}: {error}"), None


def _mark_unrun_cells_pending(path: Path) -> None:
    """After a stop, papermill's last save calls every cell "completed": the one that was running
    becomes "interrupted" and those that never started "pending" again."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return
    states = [cell.metadata.get("papermill", {}) for cell in notebook.cells]
    started = [i for i, state in enumerate(states) if state.get("start_time")]
    if not started:
        return
    states[started[-1]]["status"] = "interrupted"
    for state in states[started[-1] + 1:]:
        if state.get("status") == "completed":
            state["status"] = "pending"
    nbformat.write(notebook, path)


def _drop_if_unreadable(path: Path) -> None:
    try:
        nbformat.read(path, as_version=4)
    except FileNotFoundError:
        pass
    except (OSError, ValueError):
        path.unlink(missing_ok=True)


def _deadline(timeout: float | None) -> dict[str, Any]:
    """nbclient keyword arguments that stop a notebook ``timeout`` seconds after it starts: each
    cell may run for whatever time is left (nbclient asks ``timeout_func`` before every cell)."""
    if timeout is None:
        return {}
    deadline = time.monotonic() + timeout
    return {"timeout_func": lambda cell: max(1.0, deadline - time.monotonic())}


def run_notebook(
    path: Path,
    out_dir: Path,
    parameters: dict[str, Any],
    output: Path | None = None,
    timeout: float | None = None,
    allow_errors: bool = False,
    kernel_name: str = KERNEL_NAME,
) -> NotebookResult:
    """Execute ``path`` with papermill and ``parameters`` into ``output`` (default: ``out_dir/
    <name>``), the kernel started in the notebook's folder; return what happened.

    A failing cell, a notebook running past ``timeout`` seconds in all or a dead kernel becomes a result
    (status ``failed`` or ``timeout``), never an exception; so does Ctrl-C (``interrupted``), after
    the kernel was shut down. With ``allow_errors`` every cell runs even after one fails (a student
    copy's stubs, a submission to grade); the last error is reported (papermill's choice).
    ``metrics`` holds the headline results of ``out_dir/metrics.json``.

    Once the last cell has run, the kernel and its process group are killed (nbclient's
    ``immediate`` shutdown): a graceful exit only spends about 1.3 s tearing down torch's modules,
    per notebook. Whatever a notebook writes must therefore be closed by its own cells.
    ``kernel_name`` is the kernel spec to start (the grader's sandboxed one, say).
    """
    apply_environment()
    path = Path(path).resolve()  # papermill changes the working folder to start the kernel
    output = output or out_dir / path.name
    result = NotebookResult(path.stem, output=str(output))
    start = time.perf_counter()
    # short: socket paths are limited; named after this process (see ``scratch``)
    socket_folder = Path(tempfile.mkdtemp(prefix=scratch_prefix("fmnist-kernel-")))
    try:
        with kernel_environment():
            pm.execute_notebook(str(path), str(output), parameters=parameters,
                                kernel_name=kernel_name, progress_bar=False, cwd=str(path.parent),
                                config=kernel_config(socket_folder), allow_errors=allow_errors,
                                shutdown_kernel="immediate", **_deadline(timeout))
        result.status = Status.OK
    except KeyboardInterrupt:
        result.status, result.error = Status.INTERRUPTED, stop_reason()  # "stopped by SIGHUP"
        _mark_unrun_cells_pending(output)
    except (CellTimeoutError, TimeoutError) as error:
        result.status = Status.TIMEOUT
        result.error = one_line(f"the notebook ran longer than its {timeout:g} s: {error}")
    except PapermillExecutionError as error:
        result.status = Status.FAILED
        result.error, result.cell = describe_failure(error)
    except DeadKernelError as error:
        result.status, result.error = Status.FAILED, one_line(f"the kernel died: {error}")
    except OSError as error:  # the notebook or its executed copy could not be read or written
        result.status = Status.FAILED
        result.error = one_line(f"cannot write or read {error.filename or output}: "
                                f"{error.strerror or error}{disk_advice(error)}")
        _drop_if_unreadable(output)  # a copy cut short by a full disk is no executed notebook
    except Exception as error:  # an unreadable notebook, say: reported like a failing cell
        result.status = Status.FAILED
        result.error, result.cell = describe_failure(error)
    finally:
        shutil.rmtree(socket_folder, ignore_errors=True)
    result.seconds = round(time.perf_counter() - start, 1)
    result.metrics = key_metrics(out_dir)
    return result
