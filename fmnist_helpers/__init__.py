"""Helpers for the PyTorch course on Fashion-MNIST: what the notebooks import.

One module per idea: ``data`` (the files, checked, and loading them), ``batches`` (in-memory
batches and a validation split), ``network`` (the course's ``Network``), ``metrics``, ``train``
(one epoch, ``evaluate``), ``plotting``, ``runs`` (``RunBuilder``, ``RunManager``), ``device``,
``repro``, ``parameters`` and ``start`` (every notebook's first call), ``results`` (``metrics.json``),
``progress`` and ``exercises`` (the exercises' checks). The tooling behind ``fmnist-course`` lives
in ``fmnist_helpers.course``.
"""

from .augment import (
    BACKGROUND,
    FASHION_MNIST_MEAN,
    FASHION_MNIST_STD,
    Augment,
    evaluate_with_flip,
    normalize,
    predict_with_flip,
    random_crop,
    random_hflip,
)
from .batches import TensorBatches, train_validation_split
from .checks import ParameterError
from .data import (
    CLASSES,
    DataCorruptError,
    DataMissingError,
    DataRootError,
    load_fashion_mnist,
    load_tensors,
    resolve_data_root,
)
from .device import get_device
from .exercises import check_exercise
from .metrics import get_all_preds, get_num_correct
from .models import CAPSTONE_STAGES, CapstoneNet, conv_bn_relu, count_multiply_adds, make_batchnorm_network
from .network import Network, count_parameters
from .plotting import plot_confusion_matrix, show_images
from .progress import tqdm
from .repro import set_seed
from .results import load_metrics, resolve_out_dir, save_metrics
from .runs import RunBuilder, RunManager
from .start import NotebookSetup, start_notebook
from .train import EpochResult, Evaluation, evaluate, train_one_epoch

__all__ = [
    "Augment",
    "BACKGROUND",
    "CAPSTONE_STAGES",
    "CLASSES",
    "CapstoneNet",
    "DataCorruptError",
    "DataMissingError",
    "DataRootError",
    "EpochResult",
    "Evaluation",
    "FASHION_MNIST_MEAN",
    "FASHION_MNIST_STD",
    "Network",
    "NotebookSetup",
    "ParameterError",
    "RunBuilder",
    "RunManager",
    "TensorBatches",
    "check_exercise",
    "conv_bn_relu",
    "count_multiply_adds",
    "count_parameters",
    "evaluate",
    "evaluate_with_flip",
    "get_all_preds",
    "get_device",
    "get_num_correct",
    "load_fashion_mnist",
    "load_metrics",
    "load_tensors",
    "make_batchnorm_network",
    "normalize",
    "plot_confusion_matrix",
    "predict_with_flip",
    "random_crop",
    "random_hflip",
    "resolve_data_root",
    "resolve_out_dir",
    "save_metrics",
    "set_seed",
    "show_images",
    "start_notebook",
    "tqdm",
    "train_one_epoch",
    "train_validation_split",
]
