"""The notebooks' parameters: one record per name, one function that checks them all.

A notebook declares its parameters with types in its ``parameters`` cell (``epochs: int = 10``);
``PARAMETERS`` holds one record per name (``Parameter``): which values it allows (``epochs`` at
least 1), whether it names a folder, whether the course runner sets it itself, which earlier
notebook's outputs it names, and its value in each preset. ``check_parameters`` applies the types
and the rules, and the same function serves the notebook's checking cell and the course runner,
which checks ``-p`` values before anything runs. A bad value raises ``ParameterError`` naming the
parameter and what is allowed. The runner's presets, pre-flight checks, catalogue and workers read
the same records (``fmnist_helpers.course``).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from .checks import ParameterError, check_bool, check_float, check_int, check_str, read_list

if TYPE_CHECKING:  # torch is imported where a device is checked: the runner's --help starts fast
    import torch


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
    from .device import get_device

    try:
        return get_device(value)
    except ValueError as error:
        raise ParameterError(str(error)) from None


Rule = Callable[[str, Any], Any]


@dataclass(frozen=True)
class Parameter:
    """What the course knows of one parameter name, in every notebook that declares it.

    - ``rule``: the values it allows; ``notebooks``: a narrower rule in some notebooks, keyed by
      the notebook's number (``{"11": Limits(minimum=2)}``);
    - ``runner``: for a parameter the course runner sets itself, what to use instead of ``-p``
      ("" for one anyone may set);
    - ``links_to``: the number of the earlier notebook whose outputs (``out_dir``) it names: 05's
      ``train_dir`` names 04's (``fmnist_helpers.course.links`` finds them);
    - ``presets``: its value in each preset of the runner that sets it (``{"quick": 1}``).
    """

    rule: Rule = any_value
    notebooks: Mapping[str, Rule] = field(default_factory=dict)
    runner: str = ""
    links_to: str | None = None
    presets: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_folder(self) -> bool:
        """Whether it names a folder (a relative one is taken against where the request was made)."""
        return self.rule is folder

    @property
    def is_input(self) -> bool:
        """Whether it names a folder the notebook reads that the runner does not set: on another
        machine (a Dask worker) the folder must travel with the notebook."""
        return self.is_folder and not self.runner


_SEEDS = Limits(minimum=0, maximum=2**32 - 1)  # NumPy's seeds stop there (set_seed seeds it too)
_NO_PROGRESS = {"full": False, "quick": False}  # progress bars clutter a runner's logs

PARAMETERS: dict[str, Parameter] = {
    "data_root": Parameter(folder, runner="use --data-root (or FMNIST_DATA) to choose the data folder"),
    "out_dir": Parameter(folder, runner="the runner gives every notebook its own folder in the run; "
                                        "use --runs-root to choose where runs go"),
    "train_dir": Parameter(folder, links_to="04"),  # 05 and 14 read 04's weights
    "device": Parameter(device),
    "seed": Parameter(_SEEDS),
    "epochs": Parameter(Limits(minimum=1, maximum=1000),  # more is a typo: 04 would train for days
                        presets={"quick": 1}),
    "batch_size": Parameter(Limits(minimum=1, maximum=60_000),  # no batch holds more than the training set
                            notebooks={"09": Limits(minimum=1, maximum=10_000),
                                       "10": Limits(minimum=1, maximum=10_000),
                                       # batch norm needs 2 images or more
                                       "11": Limits(minimum=2, maximum=50_000),
                                       "12": Limits(minimum=2, maximum=50_000)}),
    "eval_batch_size": Parameter(Limits(minimum=1)),
    "max_batches": Parameter(Limits(minimum=1), presets={"quick": 50}),
    "num_workers": Parameter(Limits(minimum=0)),
    "lr": Parameter(Limits(above=0)),
    "final_lr": Parameter(Limits(above=0)),  # 12: the final model's peak learning rate
    "lr_decay": Parameter(Limits(above=0, maximum=1)),
    "max_misclassified": Parameter(Limits(minimum=1)),
    "top_pairs": Parameter(Limits(minimum=1, maximum=90)),
    "timing_batches": Parameter(Limits(minimum=1), presets={"quick": 20}),
    # 12 trains with 2 threads by default; a smoke test may share the cores
    "num_threads": Parameter(Limits(minimum=1), presets={"quick": 1}),
    "num_runs_limit": Parameter(Limits(minimum=1), presets={"quick": 2}),
    "validation_size": Parameter(Limits(minimum=1, maximum=59_999)),
    "rung_epochs": Parameter(Limits(minimum=1, maximum=1000), presets={"quick": 1}),
    "crop_padding": Parameter(Limits(minimum=0, maximum=14)),
    "label_smoothing": Parameter(Limits(minimum=0.0, maximum=1.0)),
    "train_final_on_all": Parameter(),
    "subset_size": Parameter(Limits(minimum=1, maximum=59_999)),
    "train_sizes": Parameter(Limits(minimum=1, maximum=59_999)),
    "run_seeds": Parameter(_SEEDS),
    "weight_decay": Parameter(Limits(minimum=0.0)),
    "dropout": Parameter(Limits(minimum=0.0, maximum=0.9)),
    "patience": Parameter(Limits(minimum=1)),
    "lrs": Parameter(Limits(above=0)),
    "batch_sizes": Parameter(Limits(minimum=1)),
    "num_workers_list": Parameter(Limits(minimum=0)),
    "shuffles": Parameter(),
    "show_progress": Parameter(presets=_NO_PROGRESS),
    "image_folder": Parameter(folder),  # 14: a folder of class-named subfolders of images
    "images_per_class": Parameter(Limits(minimum=1, maximum=1000)),  # 14: the test set has 1000 a class
    "photo_count": Parameter(Limits(minimum=10, maximum=10_000)),  # 14: photo-like test images measured
    "open_tensorboard": Parameter(presets=_NO_PROGRESS),  # no browser tab from a runner either
}
"""Every parameter name of the course, one record each (a test keeps every notebook's parameters
here)."""

PRESET_NAMES = (
    "full",  # each notebook's own defaults; only progress bars and TensorBoard's tab are switched off
    "quick",  # a smoke test of every notebook in a few seconds of training each
)
"""The presets of the course runner (``--preset``)."""

PRESETS: dict[str, dict[str, Any]] = {
    preset: {name: record.presets[preset] for name, record in PARAMETERS.items() if preset in record.presets}
    for preset in PRESET_NAMES
}
"""The values each preset passes to every notebook that declares the parameter (from ``PARAMETERS``)."""

OUTPUT_LINKS: dict[str, str] = {name: record.links_to for name, record in PARAMETERS.items()
                                if record.links_to is not None}
"""Each parameter that names an earlier notebook's outputs, and that notebook's number (from
``PARAMETERS``): ``{"train_dir": "04"}``."""

_ANY = Parameter()


def parameter(name: str) -> Parameter:
    """The record of parameter ``name``; a name the course does not know may take any value of its
    declared type, and anyone may set it."""
    return PARAMETERS.get(name, _ANY)

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

    A name without a record may take any value of its declared type (a test keeps every course
    notebook's parameters in ``PARAMETERS``).
    """
    record = parameter(name)
    return record.notebooks.get(notebook[:2], record.rule)


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
