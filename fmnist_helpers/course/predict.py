"""``fmnist-course predict MODEL IMAGE...``: classify your own image files with a saved model.

MODEL is either a program exported with ``torch.export.save`` (notebook 14's ``model.pt2``: it
runs without the class's code) or a ``state_dict`` saved with ``torch.save`` for one of the
course's networks (notebook 04's ``model.pt``: ``Network``; notebook 12's ``capstone_weights.pt``:
``CapstoneNet``, which also normalizes its input). Each IMAGE (PNG, JPEG, any size or mode PIL
reads) goes through notebook 14's photo preprocessing (``fmnist_helpers.photos``). Every input is
checked before anything is printed; a bad one stops the command with a ``CourseError`` naming the
file and what to do. Files are read with ``weights_only=True``: a model file never runs code.

The command line (``cli.py``) imports this module only when ``predict`` runs.
"""

from __future__ import annotations

import contextlib
import logging
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torch import nn

from ..augment import normalize
from ..data import CLASSES
from ..models import CapstoneNet
from ..network import Network
from ..photos import open_image, preprocess_photo
from .catalog import CourseError

MODEL_HELP = ("give a program exported by notebook 14 (outputs/14_your_own_images/model.pt2) or a "
              "state_dict saved by notebook 04 (outputs/04_training/model.pt)")

ARCHITECTURES: dict[str, tuple[Callable[[], nn.Module], Callable[[torch.Tensor], torch.Tensor] | None]] = {
    "Network (notebook 04)": (Network, None),
    "CapstoneNet (notebook 12)": (CapstoneNet, normalize),
}
"""The networks whose ``state_dict`` predict can load, each with what its input needs after
``preprocess_photo`` (``None``: nothing, ``ToTensor()``'s [0, 1] values)."""

BACKGROUNDS = {"auto": None, "light": True, "dark": False}
"""``--background``: whether to invert (a light background) or not; ``auto`` decides per image."""

_STATE_DICT_KEYS = ("state_dict", "model_state_dict", "model")  # checkpoints that wrap one


@dataclass
class LoadedModel:
    """A model ready to classify ``[N, 1, 28, 28]`` inputs in [0, 1], and what it was read as."""

    model: Callable[[torch.Tensor], torch.Tensor]
    kind: str
    prepare: Callable[[torch.Tensor], torch.Tensor] | None = None

    def probabilities(self, inputs: torch.Tensor) -> torch.Tensor:
        """Softmax probabilities ``[N, 10]`` for ``preprocess_photo``'s inputs."""
        with torch.no_grad():
            return self.model(self.prepare(inputs) if self.prepare else inputs).softmax(dim=1)


def _zip_names(path: Path) -> list[str]:
    if not zipfile.is_zipfile(path):
        return []
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def _check_output(model: Callable[[torch.Tensor], torch.Tensor], path: Path, kind: str) -> None:
    """Refuse a model that does not map two 28 × 28 gray images to 10 scores each."""
    try:
        with torch.no_grad():
            shape = tuple(model(torch.zeros(2, 1, 28, 28)).shape)
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CourseError(f"MODEL {path} is {kind} that does not take a batch of 28 × 28 gray images "
                          f"[N, 1, 28, 28] ({type(error).__name__}: {first}); {MODEL_HELP}") from None
    if shape != (2, len(CLASSES)):
        raise CourseError(f"MODEL {path} is {kind} that gives outputs of shape {list(shape)} for 2 "
                          f"images, not [2, {len(CLASSES)}] (one score per Fashion-MNIST class); "
                          f"{MODEL_HELP}")


@contextlib.contextmanager
def _quiet_export_log() -> Iterator[None]:
    """``torch.export.load`` logs a traceback before it raises; the error message says enough."""
    logger = logging.getLogger("torch.export")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _load_exported(path: Path) -> LoadedModel:
    try:
        with _quiet_export_log():
            program = torch.export.load(path)
    except Exception as error:
        raise CourseError(f"MODEL {path} looks like an exported program but cannot be read "
                          f"({type(error).__name__}); export it again with torch.export.save, "
                          f"or {MODEL_HELP}") from None
    module = program.module()
    _check_output(module, path, "an exported program")
    return LoadedModel(module, "an exported program (torch.export)")


def _state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        text = str(error)
        if "Unsupported global" in text:
            raise CourseError(f"MODEL {path} holds a whole pickled object, not only tensors; predict "
                              "does not unpickle objects (that could run any code): save "
                              "network.state_dict() with torch.save instead, or " + MODEL_HELP) from None
        raise CourseError(f"MODEL {path} is not a model file PyTorch can read; {MODEL_HELP}") from None
    if isinstance(loaded, dict) and not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        wrapped = [loaded[k] for k in _STATE_DICT_KEYS if isinstance(loaded.get(k), dict)]
        loaded = wrapped[0] if wrapped else loaded
    if (not isinstance(loaded, dict) or not loaded
            or not all(isinstance(v, torch.Tensor) for v in loaded.values())):
        raise CourseError(f"MODEL {path} holds a {type(loaded).__name__}, not a state_dict (a dict of "
                          f"parameter names and tensors); {MODEL_HELP}")
    return loaded


def _differences(state: dict[str, torch.Tensor], model: nn.Module) -> list[str]:
    """How ``state`` differs from ``model``'s own state_dict, in a few words each."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k} is {list(state[k].shape)} here, {list(v.shape)} in the network"
              for k, v in expected.items() if k in state and state[k].shape != v.shape]
    found = []
    if missing:
        found.append(f"{len(missing)} missing ({', '.join(missing[:3])}"
                     f"{', ...' if len(missing) > 3 else ''})")
    if unexpected:
        found.append(f"{len(unexpected)} unknown ({', '.join(unexpected[:3])}"
                     f"{', ...' if len(unexpected) > 3 else ''})")
    return found + shapes[:3]


def _load_state_dict(path: Path) -> LoadedModel:
    state = _state_dict(path)
    closest = None
    for name, (build, prepare) in ARCHITECTURES.items():
        model = build()
        differences = _differences(state, model)
        if not differences:
            model.load_state_dict(state)
            model.eval()
            _check_output(model, path, f"a state_dict of {name}")
            return LoadedModel(model, f"a state_dict of {name}", prepare)
        if closest is None or len(differences) < len(closest[1]):
            closest = (name, differences)
    assert closest is not None
    name, differences = closest
    raise CourseError(f"MODEL {path} holds weights for another network: against {name}, the closest "
                      f"match, its tensors differ: {'; '.join(differences)}. predict knows "
                      f"{' and '.join(ARCHITECTURES)}; {MODEL_HELP}")


def load_model(path: str | Path) -> LoadedModel:
    """The model in ``path`` (an exported program or a known network's ``state_dict``), checked
    on two blank images; ``CourseError`` saying what is wrong and what to give instead."""
    path = Path(path).expanduser()
    if not path.exists():
        raise CourseError(f"MODEL {path} does not exist; {MODEL_HELP}")
    if path.is_dir():
        raise CourseError(f"MODEL {path} is a folder, not a model file; {MODEL_HELP}")
    try:
        names = _zip_names(path)
    except OSError as error:
        raise CourseError(f"MODEL {path} cannot be read ({error.strerror or error}); {MODEL_HELP}") from None
    if any(name.endswith("/archive_format") or name == "archive_format" for name in names):
        return _load_exported(path)
    if any("/code/" in name for name in names):
        raise CourseError(f"MODEL {path} is a TorchScript file (torch.jit.save); predict reads programs "
                          "saved with torch.export.save and state_dicts; " + MODEL_HELP)
    return _load_state_dict(path)


def read_image(path: str | Path) -> Image.Image:
    """The image in ``path`` (``photos.open_image``); ``CourseError`` for a missing file, a
    folder, or a file that is not an image PIL can read."""
    path = Path(path).expanduser()
    if not path.exists():
        raise CourseError(f"IMAGE {path} does not exist; give the path of a PNG or JPEG file")
    if path.is_dir():
        raise CourseError(f"IMAGE {path} is a folder; give image files (a shell pattern such as "
                          f"{path}/*.jpg lists them)")
    try:
        return open_image(path)
    except UnidentifiedImageError:
        raise CourseError(f"IMAGE {path} is not an image file PIL can read; give a PNG or JPEG "
                          "(or another format PIL knows: BMP, GIF, TIFF, WebP)") from None
    except Exception as error:  # truncated or corrupt files, decompression bombs, unreadable files
        raise CourseError(f"IMAGE {path} cannot be read as an image ({type(error).__name__}: "
                          f"{error}); give a complete PNG or JPEG file") from None


@dataclass
class Prediction:
    """One image's most probable classes, most probable first."""

    image: Path
    classes: list[str]
    probabilities: list[float]

    def line(self) -> str:
        """``shoe.jpg: Sneaker 0.973 (then Sandal 0.020, Ankle boot 0.004)``."""
        best = f"{self.image}: {self.classes[0]} {self.probabilities[0]:.3f}"
        others = [f"{c} {p:.3f}" for c, p in zip(self.classes[1:], self.probabilities[1:], strict=True)]
        return best + (f" (then {', '.join(others)})" if others else "")


def predict(model_path: str | Path, images: Sequence[str | Path], top_k: int = 1,
            background: str = "auto") -> list[Prediction]:
    """The ``top_k`` most probable classes of each image under the model in ``model_path``.
    Every file is checked first: a ``CourseError`` means nothing was predicted."""
    if not 1 <= top_k <= len(CLASSES):
        raise CourseError(f"--top-k must be between 1 and {len(CLASSES)}, got {top_k}")
    if background not in BACKGROUNDS:
        raise CourseError(f"--background must be one of {', '.join(BACKGROUNDS)}, got {background!r}")
    model = load_model(model_path)
    photos = [read_image(path) for path in images]
    inputs = torch.stack([preprocess_photo(photo, invert=BACKGROUNDS[background]) for photo in photos])
    top = model.probabilities(inputs).topk(top_k, dim=1)
    return [Prediction(Path(path), [CLASSES[int(i)] for i in indices], [float(p) for p in values])
            for path, values, indices in zip(images, top.values, top.indices, strict=True)]


def predict_command(model_path: str | Path, images: Sequence[str | Path], top_k: int = 1,
                    background: str = "auto") -> int:
    """``fmnist-course predict``: print one line per image; return the exit status (0)."""
    for prediction in predict(model_path, images, top_k, background):
        print(prediction.line())
    return 0
