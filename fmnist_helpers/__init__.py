"""Helpers for the PyTorch course on Fashion-MNIST: what the notebooks import.

One module per idea: ``data`` (the files, checked, and loading them), ``batches`` (in-memory
batches and a validation split), ``network`` (the course's ``Network``), ``metrics``, ``train``
(one epoch, ``evaluate``), ``plotting``, ``runs`` (``RunBuilder``, ``RunManager``), ``device``,
``repro``, ``parameters`` and ``start`` (every notebook's first call), ``results`` (``metrics.json``),
``progress``, ``photos`` (your own images, notebook 14) and ``exercises`` (the exercises' checks).
The tooling behind ``fmnist-course`` lives in ``fmnist_helpers.course``.

The names below are imported when first used (PEP 562): ``import fmnist_helpers`` alone, or
``fmnist_helpers.course`` (whose ``--help`` must be fast), does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Augment": "augment",
    "BACKGROUND": "augment",
    "FASHION_MNIST_MEAN": "augment",
    "FASHION_MNIST_STD": "augment",
    "evaluate_with_flip": "augment",
    "normalize": "augment",
    "predict_with_flip": "augment",
    "random_crop": "augment",
    "random_hflip": "augment",
    "TensorBatches": "batches",
    "train_validation_split": "batches",
    "ParameterError": "checks",
    "CLASSES": "data",
    "DataCorruptError": "data",
    "DataMissingError": "data",
    "DataRootError": "data",
    "load_fashion_mnist": "data",
    "load_tensors": "data",
    "resolve_data_root": "data",
    "get_device": "device",
    "check_exercise": "exercises",
    "get_all_preds": "metrics",
    "get_num_correct": "metrics",
    "CAPSTONE_STAGES": "models",
    "CapstoneNet": "models",
    "conv_bn_relu": "models",
    "count_multiply_adds": "models",
    "make_batchnorm_network": "models",
    "Network": "network",
    "count_parameters": "network",
    "open_image": "photos",
    "Recipe": "recipes",
    "TrainingSettings": "recipes",
    "train_recipe": "recipes",
    "preprocess_photo": "photos",
    "plot_confusion_matrix": "plotting",
    "show_images": "plotting",
    "tqdm": "progress",
    "set_seed": "repro",
    "load_metrics": "results",
    "resolve_out_dir": "results",
    "save_metrics": "results",
    "RunBuilder": "runs",
    "RunManager": "runs",
    "NotebookSetup": "start",
    "start_notebook": "start",
    "EpochResult": "train",
    "Evaluation": "train",
    "evaluate": "train",
    "train_one_epoch": "train",
}
"""Each public name and the module that defines it."""

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """``fmnist_helpers.Network`` and ``from fmnist_helpers import Network``: imported on first use."""
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))

