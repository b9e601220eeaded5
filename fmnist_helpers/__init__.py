"""Helpers for the PyTorch course on Fashion-MNIST: data, the network, metrics, plots, runs."""

from .batches import TensorBatches
from .checks import ParameterError
from .data import (
    CLASSES,
    DataCorruptError,
    DataMissingError,
    load_fashion_mnist,
    load_tensors,
    resolve_data_root,
)
from .device import get_device
from .metrics import get_all_preds, get_num_correct
from .network import Network, count_parameters
from .plotting import plot_confusion_matrix, show_images
from .progress import progress
from .repro import set_seed
from .results import load_metrics, resolve_out_dir, save_metrics
from .runs import RunBuilder, RunManager

__all__ = [
    "CLASSES",
    "DataCorruptError",
    "DataMissingError",
    "Network",
    "ParameterError",
    "RunBuilder",
    "RunManager",
    "TensorBatches",
    "count_parameters",
    "get_all_preds",
    "get_device",
    "get_num_correct",
    "load_fashion_mnist",
    "load_metrics",
    "load_tensors",
    "plot_confusion_matrix",
    "progress",
    "resolve_data_root",
    "resolve_out_dir",
    "save_metrics",
    "set_seed",
    "show_images",
]
