"""The environment every kernel of the course gets, in one place.

``make``, ``fmnist-course`` and the tests call ``apply_environment()``; ``install_kernel()`` writes
the same settings into the environment's ``python3`` kernel spec, so they also hold for a notebook
run by plain ``papermill`` or opened in JupyterLab.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

KERNEL_ENV: dict[str, str] = {
    # OpenMP threads that spin while waiting make torch 10-80x slower when another process (a
    # second kernel, a sweep worker) shares the cores; passive waiting costs nothing when idle.
    "OMP_WAIT_POLICY": "PASSIVE",
}
"""Set in every kernel's environment."""

NOT_FOR_KERNELS = ("MALLOC_TRIM_THRESHOLD_",)
"""Variables a kernel must not inherit. Dask sets ``MALLOC_TRIM_THRESHOLD_=65536`` in the process
that starts a ``LocalCluster`` (and in every nanny's worker): glibc then hands every freed block
above 64 KiB back to the system, which made notebook 12's training 2x slower (measured)."""

RUNNER_ENV: dict[str, str] = {
    # the environment's own python3 kernel, even where a user-wide kernel spec of that name exists
    "JUPYTER_PREFER_ENV_PATH": "1",
    **KERNEL_ENV,
}
"""Set in the process that starts kernels (the runner, the tests)."""

KERNEL_NAME = "python3"
KERNEL_DISPLAY_NAME = "Python 3 (ipykernel)"  # what JupyterLab writes into a notebook it saves


def apply_environment() -> None:
    """Set ``RUNNER_ENV`` in this process, keeping values the user set explicitly."""
    for name, value in RUNNER_ENV.items():
        os.environ.setdefault(name, value)


@contextmanager
def temporary_environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set ``values`` in this process's environment (the kernels it starts inherit them; ``None``
    removes a variable), then restore what was there."""
    saved = {name: os.environ.get(name) for name in values}

    def put(settings: Mapping[str, str | None]) -> None:
        for name, value in settings.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    put(values)
    try:
        yield
    finally:
        put(saved)


def kernel_environment() -> contextlib.AbstractContextManager[None]:
    """While kernels start: ``NOT_FOR_KERNELS`` removed from this process's environment."""
    return temporary_environment(dict.fromkeys(NOT_FOR_KERNELS))


def kernel_spec_dir(prefix: str | os.PathLike[str] = sys.prefix) -> Path:
    """The ``python3`` kernel spec folder of the environment at ``prefix``."""
    return Path(prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME


def install_kernel(prefix: str | os.PathLike[str] = sys.prefix) -> Path:
    """Write the environment's ``python3`` kernel spec with ``KERNEL_ENV``; return its path.

    The spec is ipykernel's own (``python -m ipykernel_launcher``), plus an ``env`` block.
    """
    path = kernel_spec_dir(prefix) / "kernel.json"
    spec = json.loads(path.read_text()) if path.is_file() else {
        "argv": ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "language": "python", "metadata": {"debugger": True}}
    spec.update(display_name=KERNEL_DISPLAY_NAME, env={**spec.get("env", {}), **KERNEL_ENV})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec, indent=1) + "\n")
    return path
