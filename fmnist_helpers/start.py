"""The first thing every notebook does: check its parameters, seed everything, make its out_dir."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .parameters import check_parameters
from .repro import set_seed
from .results import jsonable, resolve_out_dir, save_metrics


@dataclass
class NotebookSetup:
    """What ``start_notebook`` decided: the parameters as given, the seed and its generator, the
    out_dir and the device; ``save_metrics`` records the parameters and seed with the results."""

    notebook: str
    parameters: dict[str, Any]
    seed: int
    generator: torch.Generator = field(repr=False)
    out_dir: Path | None = None
    device: torch.device | None = None

    def __str__(self) -> str:
        parts = [f"{self.notebook}: {len(self.parameters)} parameters checked", f"seed {self.seed}"]
        if self.device is not None:
            parts.append(f"device {self.device}")
        if self.out_dir is not None:
            parts.append(f"results in {self.out_dir}")
        return "; ".join(parts)

    def save_metrics(self, metrics: dict[str, Any]) -> Path:
        """Write ``metrics`` to ``out_dir/metrics.json`` with this notebook's parameters and seed as
        its provenance (``results.save_metrics``, which also says what the file holds); return the
        file's path. A notebook ends with ``setup.save_metrics(metrics)``."""
        if self.out_dir is None:
            raise RuntimeError(f"{self.notebook} declares no out_dir parameter: nowhere to save metrics")
        return save_metrics(self.out_dir, metrics, parameters=self.parameters, seed=self.seed)


def start_notebook(notebook: str, namespace: dict[str, Any]) -> NotebookSetup:
    """Check the parameters declared in ``namespace`` (a notebook's ``globals()``) and start it.

    Every name annotated in the parameters cell is checked with ``fmnist_helpers.parameters``; a bad
    value raises ``ParameterError`` naming it. The checked values replace the given ones in
    ``namespace`` (text lists become lists, ``device`` a ``torch.device``, ``out_dir`` a created
    folder, ``outputs/<notebook>`` by default). Every random number generator is seeded with
    ``seed``. ``setup.parameters`` keeps the values as given, which ``setup.save_metrics``
    records with the results.
    """
    annotations = dict(namespace.get("__annotations__", {}))
    if not annotations:
        raise RuntimeError("start_notebook found no parameters: run the parameters cell first")
    checked = check_parameters(notebook, {name: namespace[name] for name in annotations},
                               annotations)
    # recorded as given ("auto", not the device it chose), with text lists read as lists
    given = {name: namespace[name] if name == "device" else value for name, value in checked.items()}
    namespace.update(checked)
    if "out_dir" in checked:
        namespace["out_dir"] = resolve_out_dir(checked["out_dir"], notebook)
    seed = checked.get("seed", 0)
    setup = NotebookSetup(notebook, jsonable(given), seed, set_seed(seed),
                          namespace.get("out_dir"), checked.get("device"))
    print(setup)
    return setup
