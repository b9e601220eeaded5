"""The notebooks' parameters: one rule per name, one function that checks them all.

A notebook declares its parameters with types in its ``parameters`` cell (``epochs: int = 10``);
``RULES`` says which values each name allows (``epochs`` at least 1). ``check_parameters`` applies
both, and the same function serves the notebook's checking cell and the course runner, which checks
``-p`` values before anything runs. A bad value raises ``ParameterError`` naming the parameter and
what is allowed.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Optional

import torch

from .checks import ParameterError, check_bool, check_float, check_int, check_str, read_list
from .device import get_device


@dataclass(frozen=True)
class Limits:
    """Bounds for a number, or for each number of a list: ``above`` is an exclusive minimum."""

    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None

    def __call__(self, name: str, value: Any) -> Any:
        if isinstance(value, float) or self.above is not None:
            low = self.above if self.above is not None else self.minimum
            return check_float(name, value, low, self.maximum,
                               inclusive_minimum=self.above is None)
        return check_int(name, value, self.minimum, self.maximum)


def any_value(name: str, value: Any) -> Any:
    """No rule beyond the declared type (a flag, say)."""
    return value


def folder(name: str, value: Any) -> str:
    """A folder path (created or checked where it is used)."""
    if not value.strip():
        raise ParameterError(f"{name} must be a folder path or None, got an empty string")
    return value


def device(name: str, value: Any) -> torch.device:
    """``"auto"``, or a device this machine has (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``)."""
    try:
        return get_device(value)
    except ValueError as error:
        raise ParameterError(str(error)) from None


Rule = Callable[[str, Any], Any]

RULES: dict[str, Rule] = {
    "data_root": folder,
    "out_dir": folder,
    "train_dir": folder,
    "device": device,
    "seed": Limits(minimum=0, maximum=2**32 - 1),  # NumPy's seeds stop there (set_seed seeds it too)
    "epochs": Limits(minimum=1, maximum=1000),  # more is a typo: 04 would train for days
    "batch_size": Limits(minimum=1, maximum=60_000),  # no batch holds more than the training set
    "eval_batch_size": Limits(minimum=1),
    "max_batches": Limits(minimum=1),
    "num_workers": Limits(minimum=0),
    "lr": Limits(above=0),
    "lr_decay": Limits(above=0, maximum=1),
    "max_misclassified": Limits(minimum=1),
    "top_pairs": Limits(minimum=1, maximum=90),
    "timing_batches": Limits(minimum=1),
    "num_threads": Limits(minimum=1),
    "num_runs_limit": Limits(minimum=1),
    "validation_size": Limits(minimum=1, maximum=59_999),
    "rung_epochs": Limits(minimum=1, maximum=1000),
    "crop_padding": Limits(minimum=0, maximum=14),
    "label_smoothing": Limits(minimum=0.0, maximum=1.0),
    "train_final_on_all": any_value,
    "subset_size": Limits(minimum=1, maximum=59_999),
    "train_sizes": Limits(minimum=1, maximum=59_999),
    "run_seeds": Limits(minimum=0, maximum=2**32 - 1),
    "weight_decay": Limits(minimum=0.0),
    "dropout": Limits(minimum=0.0, maximum=0.9),
    "patience": Limits(minimum=1),
    "lrs": Limits(above=0),
    "batch_sizes": Limits(minimum=1),
    "num_workers_list": Limits(minimum=0),
    "shuffles": any_value,
    "show_progress": any_value,
    "image_folder": folder,  # 14: a folder of class-named subfolders of images
    "images_per_class": Limits(minimum=1, maximum=1000),  # 14: the test set has 1000 of each class
    "photo_count": Limits(minimum=10, maximum=10_000),  # 14: photo-like test images measured
    "open_tensorboard": any_value,
}
"""The rule for each parameter name, shared by every notebook that declares it."""

NOTEBOOK_RULES: dict[str, dict[str, Rule]] = {
    "09": {"batch_size": Limits(minimum=1, maximum=10_000)},
    "10": {"batch_size": Limits(minimum=1, maximum=10_000)},
    "11": {"batch_size": Limits(minimum=2, maximum=50_000)},  # batch norm needs 2 images or more
    "12": {"batch_size": Limits(minimum=2, maximum=50_000)},
}
"""Where one notebook allows less than ``RULES`` (keyed by the notebook's number)."""

_TYPE_NAMES = {"Optional": Optional, "list": list, "int": int, "float": float, "bool": bool,
               "str": str, "None": None}


def annotation_from_text(text: str) -> Any:
    """The type a papermill inspection reports as text (``"Optional[int]"``) as a typing object."""
    try:
        return eval(text, {"__builtins__": {}}, _TYPE_NAMES)  # only the names above resolve
    except Exception as error:
        raise ValueError(f"unsupported parameter type {text!r}") from error


def rule_for(notebook: str, name: str) -> Rule:
    """The rule of parameter ``name`` in ``notebook`` (``"11_normalization_batchnorm"`` or ``"11"``).

    A name without a rule may take any value of its declared type (a test keeps every course
    notebook's parameters in ``RULES``).
    """
    return NOTEBOOK_RULES.get(notebook[:2], {}).get(name) or RULES.get(name, any_value)


def _check_type(name: str, value: Any, annotation: Any) -> Any:
    """``value`` if it has the declared type (a list read from text first); ``ParameterError`` if not."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):  # Optional[X], X | None
        if value is None:
            return None
        (annotation,) = [a for a in typing.get_args(annotation) if a is not type(None)]
    elif value is None:
        raise ParameterError(f"{name} must not be None")
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        return [_check_type(f"{name}[{i}]", v, item) for i, v in enumerate(read_list(name, value))]
    if annotation is bool:
        return check_bool(name, value)
    if annotation is int:
        return check_int(name, value)
    if annotation is float:
        return check_float(name, value)
    if annotation is str:
        return check_str(name, value)
    raise ValueError(f"unsupported type {annotation!r} for parameter {name}")


def check_parameter(notebook: str, name: str, value: Any, annotation: Any) -> Any:
    """Check one parameter's type and rule; return the value to use (``device`` as ``torch.device``)."""
    if isinstance(annotation, str):
        annotation = annotation_from_text(annotation)
    value = _check_type(name, value, annotation)
    rule = rule_for(notebook, name)
    if value is None:
        return None
    if isinstance(value, list):
        return [rule(f"{name}[{i}]", v) for i, v in enumerate(value)]
    return rule(name, value)


def check_parameters(notebook: str, values: Mapping[str, Any],
                     annotations: Mapping[str, Any]) -> dict[str, Any]:
    """Check every declared parameter of ``notebook``; return the values to use, in declared order.

    ``annotations`` maps each parameter to its declared type (typing objects, or papermill's text).

    >>> check_parameters("04", {"epochs": 0}, {"epochs": int})
    Traceback (most recent call last):
    fmnist_helpers.checks.ParameterError: epochs must be at least 1, got 0
    """
    return {name: check_parameter(notebook, name, values[name], annotation)
            for name, annotation in annotations.items()}
