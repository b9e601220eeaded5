"""What a Dask worker runs for the course: one notebook in a temporary folder, results sent back.

The client ships ``run_task`` to the workers *by value* (cloudpickle), so this module imports only
the standard library at its top: a worker without the course installed still runs the task and
answers with a message naming itself and what is missing, instead of failing to unpickle it. The
task's description and its answer are plain dicts of strings, numbers and bytes for the same reason.

No shared filesystem is needed: the notebook, and the folders a parameter names (05's
``train_dir``), arrive as bytes; the executed notebook, ``metrics.json`` and the other outputs
return as bytes, and the client writes them under its own run folder.
"""

from __future__ import annotations

import importlib.metadata
import platform
import socket
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

COMPARED_PACKAGES = ("torch", "torchvision")
"""Packages whose versions a worker must share with the client (results depend on them)."""

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""Environment variables that set a kernel's torch threads when it starts."""

MAX_FILE_BYTES = 64 * 2**20
"""Output files larger than this stay behind (listed in ``left_out``) instead of being sent back."""


def public_version(version: str | None) -> str | None:
    """``"2.14.1"`` for ``"2.14.1+cu130"``: the release, without the build's local label."""
    return version.split("+", 1)[0] if version else version


def package_version(name: str) -> str | None:
    """The installed release of package ``name`` (None if it is not installed)."""
    try:
        return public_version(importlib.metadata.version(name))
    except importlib.metadata.PackageNotFoundError:
        return None


def environment_versions() -> dict[str, str | None]:
    """Python's ``major.minor`` and the releases of ``COMPARED_PACKAGES`` in this process."""
    versions: dict[str, str | None] = {"python": ".".join(platform.python_version_tuple()[:2])}
    versions.update({name: package_version(name) for name in COMPARED_PACKAGES})
    return versions


def scheduler_allowed_failures(dask_scheduler: Any) -> int:
    """How often the scheduler re-runs a task whose worker died (``client.run_on_scheduler``)."""
    return int(dask_scheduler.allowed_failures)


def _worker_name() -> tuple[str, str]:
    try:
        from distributed import get_worker

        address = get_worker().address
    except (ImportError, ValueError):  # called outside a worker (a test, a debugger)
        address = "local"
    return address, socket.gethostname()


def _failure(address: str, host: str, message: str) -> dict[str, Any]:
    return {"worker": address, "host": host, "status": "failed", "seconds": 0.0,
            "error": f"worker {address} ({host}): {message}", "cell": None, "metrics": {},
            "files": {}, "left_out": [], "executed": False}


def _write_tree(folder: Path, files: Mapping[str, bytes]) -> None:
    for relative, content in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def _read_tree(folder: Path) -> tuple[dict[str, bytes], list[str]]:
    files, left_out = {}, []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if path.stat().st_size > MAX_FILE_BYTES:
            left_out.append(f"{relative} ({path.stat().st_size // 2**20} MiB)")
        else:
            files[relative] = path.read_bytes()
    return files, left_out


def _data_root(given: str | None) -> tuple[str | None, str]:
    """The data root on this machine, resolved once here: the ``data_root`` parameter as the client
    resolved and checked it, when this machine has that folder (the same machine, a shared
    filesystem); else this machine's own ``$FMNIST_DATA`` (or ``data/``), checked here and never
    downloaded. ``(root, "")`` or ``(None, what is wrong)``."""
    if given and Path(given).is_dir():
        return given, ""
    from fmnist_helpers.data import DataCorruptError, DataMissingError, DataRootError, ensure_fashion_mnist

    try:
        return str(ensure_fashion_mnist(None, download=False)), ""
    except (DataMissingError, DataCorruptError, DataRootError) as error:
        return None, f"no usable Fashion-MNIST data: {' '.join(str(error).split())}"


def run_task(task: Mapping[str, Any]) -> dict[str, Any]:
    """Execute one notebook as ``task`` describes it; return what happened and its output files.

    ``task``: ``notebook`` (file name), ``source`` (its bytes), ``parameters`` (as the client made
    them: the parameters the runner sets, ``out_dir`` and ``data_root``, get this machine's folders),
    ``inputs`` (``{parameter: {relative path: bytes}}``), ``threads`` (torch threads of
    the kernel; None keeps torch's default), ``timeout`` (seconds for the whole notebook),
    ``allow_errors``, ``versions`` (the client's ``environment_versions()``) and, for a submission
    to grade, ``grading`` (see ``grading_task.grade_notebook``). The answer:
    ``worker``, ``host``, the fields of a ``NotebookResult`` (``status``, ``seconds``, ``error``,
    ``cell``, ``metrics``), ``files`` (``{relative path: bytes}``, the executed notebook among
    them), ``left_out``, ``executed`` (False when the notebook could not be run here) and, when
    grading, ``checks`` (one row per check, judged here) and ``sandbox`` ("on", or why it is off).
    """
    address, host = _worker_name()
    try:
        from fmnist_helpers.course.environment import temporary_environment
        from fmnist_helpers.course.execute import run_notebook
        from fmnist_helpers.course.scratch import scratch_prefix
        from fmnist_helpers.parameters import parameter
    except ImportError as error:
        return _failure(address, host, f"the course is not installed ({error}); install it there "
                                       "with the client's requirements.txt and `pip install .`")
    ours, theirs = environment_versions(), dict(task["versions"])
    differ = [f"{name} {ours.get(name)} (the client has {theirs[name]})" for name in theirs
              if ours.get(name) != theirs[name]]
    if differ:
        return _failure(address, host, "refused: " + ", ".join(differ))

    parameters = dict(task["parameters"])
    root, problem = _data_root(parameters["data_root"]) if "data_root" in parameters else (None, "")
    if problem:
        return _failure(address, host, problem)

    # named after this worker process: if it is killed, the client removes the folder (scratch)
    with tempfile.TemporaryDirectory(prefix=scratch_prefix("fmnist-course-")) as temporary:
        folder = Path(temporary)
        notebook = folder / "notebooks" / task["notebook"]  # kernels start in notebooks/
        notebook.parent.mkdir()
        notebook.write_bytes(task["source"])
        for name, files in task.get("inputs", {}).items():
            _write_tree(folder / "inputs" / name, files)
            parameters[name] = str(folder / "inputs" / name)
        out_dir = folder / "out"
        out_dir.mkdir()
        here = {"out_dir": str(out_dir), "data_root": root}  # the folders the runner sets, on this machine
        parameters.update({name: here[name] for name in parameters if parameter(name).runner})

        # What the kernel's Jupyter files go to (run_notebook keeps its sockets and connection file
        # in a folder of their own), inside this task's folder: gone with it.
        kernel_env = {"JUPYTER_RUNTIME_DIR": str(folder / "runtime")}
        if task.get("threads"):
            kernel_env.update({name: str(task["threads"]) for name in THREAD_VARIABLES})
        checks, sandbox = None, ""
        if task.get("grading"):  # a submission: executed, probed and judged (grading_task)
            from fmnist_helpers.course.grading_task import grade_notebook

            result, checks, sandbox = grade_notebook(folder, notebook, out_dir, parameters,
                                                     task["grading"], task.get("timeout"), kernel_env)
        else:
            with temporary_environment(kernel_env):  # a worker runs one task at a time
                result = run_notebook(notebook, out_dir, parameters, timeout=task.get("timeout"),
                                      allow_errors=bool(task.get("allow_errors")))
        files, left_out = _read_tree(out_dir)
    return {"worker": address, "host": host, "status": result.status, "seconds": result.seconds,
            "error": result.error, "cell": result.cell, "metrics": result.metrics, "files": files,
            "left_out": left_out, "executed": True, "checks": checks, "sandbox": sandbox}
