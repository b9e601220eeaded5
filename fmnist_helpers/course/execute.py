"""``run_notebook``: the one way the course executes a notebook (runs, sweeps, grading, tests)."""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import papermill as pm
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from papermill.exceptions import PapermillExecutionError
from traitlets.config import Config

from .environment import KERNEL_NAME, apply_environment, kernel_environment
from .headline import key_metrics


def kernel_config(socket_folder: Path) -> Config:
    """Kernel settings: Unix sockets in ``socket_folder`` (no TCP ports to collide on, and no path
    another kernel started beside this one can pick: jupyter_client's default socket name is
    ``kernel-ipc-N`` in the kernel's working folder, chosen by a racy "does it exist" test) with
    CurveZMQ (the kernel spec declares support): no plain-text traffic, and no "running over TCP
    without encryption" warning per kernel."""
    return Config({"KernelManager": {"transport_encryption": "auto", "transport": "ipc",
                                     "ip": str(socket_folder / "kernel")}})


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
    socket_folder = Path(tempfile.mkdtemp(prefix="fmnist-kernel-"))  # short: socket paths are limited
    try:
        with kernel_environment():
            pm.execute_notebook(str(path), str(output), parameters=parameters,
                                kernel_name=kernel_name, progress_bar=False, cwd=str(path.parent),
                                config=kernel_config(socket_folder), allow_errors=allow_errors,
                                shutdown_kernel="immediate", **_deadline(timeout))
        result.status = Status.OK
    except KeyboardInterrupt:
        result.status, result.error = Status.INTERRUPTED, "interrupted (Ctrl-C or a stop signal)"
    except (CellTimeoutError, TimeoutError) as error:
        result.status = Status.TIMEOUT
        result.error = one_line(f"the notebook ran longer than its {timeout:g} s: {error}")
    except PapermillExecutionError as error:
        result.status = Status.FAILED
        result.error, result.cell = describe_failure(error)
    except DeadKernelError as error:
        result.status, result.error = Status.FAILED, one_line(f"the kernel died: {error}")
    except Exception as error:  # an unreadable notebook, say: reported like a failing cell
        result.status = Status.FAILED
        result.error, result.cell = describe_failure(error)
    finally:
        shutil.rmtree(socket_folder, ignore_errors=True)
    result.seconds = round(time.perf_counter() - start, 1)
    result.metrics = key_metrics(out_dir)
    return result
