"""Your own images (notebook 14): folders of image files, and turning a photo into what the
network was trained on.

Fashion-MNIST was made from product photos by a fixed recipe (Xiao, Rasul and Vollgraf 2017,
arXiv:1708.07747, section 2): trim the background, resize the longest side to 28 pixels, sharpen,
put the result in the middle of a square, negate, grayscale. ``preprocess_photo`` repeats that
recipe on any photo: grayscale, invert (object light on a black background), crop to the object,
pad to a square, resize to 28 × 28, values in [0, 1] as ``ToTensor()`` gives them. Notebook 14
builds it step by step first; a test keeps its cells and this module in step. ``make_photo_like``
makes "photos" from test images (bigger, RGB, light background, off-centre, rotated, JPEG), so the
course needs no download.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF
from matplotlib.figure import Figure
from PIL import Image, ImageOps
from torchvision.transforms import InterpolationMode

from .data import CLASSES

SIZE = 28
"""Fashion-MNIST's images are 28 × 28 pixels."""

OBJECT_THRESHOLD = 0.1
"""A pixel belongs to the object when it is at least this bright (after ``object_on_black``).
Fashion-MNIST trimmed at 5 % (clean product shots); a photo's noise and uneven light need more.
Notebook 14 compares thresholds on photo-like versions of training images."""

MAX_SIDE = 1024
"""``open_image`` shrinks larger photos to this longest side first (they end up 28 pixels wide)."""

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
"""The file endings ``ImageFolder`` accepts (``torchvision.datasets.folder.IMG_EXTENSIONS``)."""


# -- folders of images ----------------------------------------------------------------------------

def class_folder_name(name: str) -> str:
    """A class name as a folder name: ``"T-shirt/top"`` -> ``"T-shirt-top"`` (no ``/``)."""
    return name.replace("/", "-")


def label_of_folder(folder: str) -> int:
    """The Fashion-MNIST label of a folder named after its class (case does not matter).

    >>> label_of_folder("ankle boot")
    9
    """
    names = {class_folder_name(name).lower(): label for label, name in enumerate(CLASSES)}
    try:
        return names[folder.strip().lower()]
    except KeyError:
        raise ValueError(f"folder {folder!r} is not named after a Fashion-MNIST class; name each "
                         f"folder one of: {', '.join(class_folder_name(n) for n in CLASSES)}") from None


def write_image_folder(images: torch.Tensor, labels: torch.Tensor, root: str | os.PathLike[str],
                       per_class: int) -> int:
    """Write the first ``per_class`` images of each class as PNG files, ``root/<class>/<index>.png``
    (index: the image's position in ``images``); return how many were written.

    ``images`` is ``[N, 1, 28, 28]`` in [0, 1] (``load_tensors``) or ``[N, 28, 28]`` uint8.
    """
    root = Path(root)
    pixels = images.squeeze(1) if images.dim() == 4 else images
    if pixels.is_floating_point():
        pixels = (pixels * 255).round().clamp(0, 255).to(torch.uint8)
    written = 0
    for label, name in enumerate(CLASSES):
        folder = root / class_folder_name(name)
        folder.mkdir(parents=True, exist_ok=True)
        for index in torch.nonzero(labels == label).flatten()[:per_class].tolist():
            Image.fromarray(pixels[index].numpy(), mode="L").save(folder / f"{index:05d}.png")
            written += 1
    return written


def image_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The image files in ``folder`` (by ``IMAGE_SUFFIXES``), sorted by name."""
    return sorted(p for p in Path(folder).iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def open_image(path: str | os.PathLike[str]) -> Image.Image:
    """Any image file PIL reads, ready for ``preprocess_photo``: an ``"L"`` or ``"RGB"`` image.

    A camera's orientation tag is applied (``ImageOps.exif_transpose``), a transparent background
    becomes white, 16-bit and float images are scaled to 0–255, and a photo larger than ``MAX_SIDE``
    is shrunk. Raises PIL's ``UnidentifiedImageError`` (an ``OSError``) for a file that is not an
    image.
    """
    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened)
        image.load()
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        values = torch.from_numpy(np.asarray(image, dtype=np.float32).copy())
        peak = 65535.0 if image.mode.startswith("I;16") else max(float(values.max()), 1.0)
        image = Image.fromarray((values / peak * 255).round().clamp(0, 255).to(torch.uint8).numpy(), "L")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return image


# -- photo -> 28 x 28, step by step ---------------------------------------------------------------

def to_gray(image: Image.Image) -> torch.Tensor:
    """A PIL image as one gray channel, ``[1, H, W]`` float in [0, 1] (``Grayscale`` + ``ToTensor``)."""
    return TF.pil_to_tensor(image.convert("L")).float() / 255


def object_on_black(gray: torch.Tensor, invert: bool | None = None) -> torch.Tensor:
    """Fashion-MNIST's look: the object light, the background black (0), the brightest pixel 1.

    The background is what the border pixels mostly are (their median). ``invert`` None: invert
    when that background is light (a photo on a table or a wall), not when it is dark already.
    """
    border = torch.cat([gray[0, 0], gray[0, -1], gray[0, :, 0], gray[0, :, -1]])
    if invert is None:
        invert = bool(border.median() > 0.5)
    if invert:
        gray, border = 1 - gray, 1 - border
    leveled = (gray - border.median()).clamp(min=0)
    peak = leveled.max()
    return leveled / peak if peak > 0 else leveled


def crop_to_object(image: torch.Tensor, threshold: float = OBJECT_THRESHOLD) -> torch.Tensor:
    """The smallest box holding the object: every pixel at least ``threshold`` bright whose 3 × 3
    neighbourhood is too, on average (so one noisy pixel does not count); the whole image if there
    is none."""
    blurred = F.avg_pool2d(image[None], 3, stride=1, padding=1)[0]
    found = ((image >= threshold) & (blurred >= threshold))[0]
    rows = torch.nonzero(found.any(dim=1)).flatten()
    cols = torch.nonzero(found.any(dim=0)).flatten()
    if len(rows) == 0:
        return image
    return image[:, rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]


def pad_to_square(image: torch.Tensor) -> torch.Tensor:
    """``image`` in the middle of a black square as wide as its longer side."""
    height, width = image.shape[-2:]
    side = max(height, width)
    left, top = (side - width) // 2, (side - height) // 2
    return F.pad(image, (left, side - width - left, top, side - height - top))


def resize(image: torch.Tensor, size: int = SIZE) -> torch.Tensor:
    """``image`` resized to ``size × size`` (bilinear, antialiased), values kept in [0, 1]."""
    return TF.resize(image, [size, size], antialias=True).clamp(0, 1)


def preprocess_photo(image: Image.Image, invert: bool | None = None, size: int = SIZE,
                     threshold: float = OBJECT_THRESHOLD) -> torch.Tensor:
    """A photo as the network's input, ``[1, 28, 28]`` in [0, 1] like ``ToTensor()``'s images:
    grayscale, invert (``object_on_black``), crop to the object, pad to a square, resize.

    >>> preprocess_photo(Image.new("RGB", (120, 90), "white")).shape
    torch.Size([1, 28, 28])

    A network trained on normalized images (notebooks 11, 12) also needs ``normalize`` afterwards;
    notebook 04's ``Network`` was trained on ``ToTensor()``'s values and needs nothing more.
    """
    return resize(pad_to_square(crop_to_object(object_on_black(to_gray(image), invert), threshold)), size)


def naive_input(image: Image.Image, size: int = SIZE) -> torch.Tensor:
    """What ``Compose([Grayscale(), Resize((28, 28)), ToTensor()])`` makes of a photo: the
    "before" of notebook 14."""
    return resize(to_gray(image), size)


# -- photo-like test images -----------------------------------------------------------------------

def _uniform(generator: torch.Generator, low: float, high: float, shape: Sequence[int] = ()) -> torch.Tensor:
    return low + (high - low) * torch.rand(tuple(shape), generator=generator)


def make_photo_like(image: torch.Tensor, generator: torch.Generator, size_range: tuple[int, int] = (96, 160),
                    max_angle: float = 15.0) -> tuple[Image.Image, dict[str, Any]]:
    """A "photo" of a Fashion-MNIST image (``[1, 28, 28]`` in [0, 1]): a dark garment of a random
    colour on light paper with uneven light, off-centre, rotated by up to ``max_angle`` degrees,
    ``size_range`` pixels square, RGB, saved as a JPEG and read back. Every draw comes from
    ``generator``. Also returns what was drawn: ``{"size", "angle", "box": (left, top, w, h)}``.
    """
    size = int(torch.randint(size_range[0], size_range[1] + 1, (1,), generator=generator))
    angle = float(_uniform(generator, -max_angle, max_angle))
    side = round(size * float(_uniform(generator, 0.45, 0.65)))
    shape = TF.resize(image.float(), [side, side], antialias=True).clamp(0, 1)
    shape = TF.rotate(shape, angle, interpolation=InterpolationMode.BILINEAR, expand=True)
    height, width = shape.shape[-2:]
    top = int(torch.randint(0, size - height + 1, (1,), generator=generator))
    left = int(torch.randint(0, size - width + 1, (1,), generator=generator))
    cover = torch.zeros(1, size, size)
    cover[:, top: top + height, left: left + width] = shape
    paper = _uniform(generator, 0.78, 0.95, (3, 1, 1))
    cloth = _uniform(generator, 0.05, 0.35, (3, 1, 1))
    direction = _uniform(generator, -1, 1, (2,))
    ramp = torch.linspace(-1, 1, size)
    light = 1 + 0.03 * (direction[0] * ramp[None, :, None] + direction[1] * ramp[None, None, :])
    rgb = (paper * (1 - cover) + cloth * cover) * light
    rgb = rgb + 0.01 * torch.randn(rgb.shape, generator=generator)
    pixels = (rgb.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).contiguous()
    buffer = io.BytesIO()
    Image.fromarray(pixels.numpy(), "RGB").save(buffer, "JPEG", quality=90)
    photo = Image.open(buffer)
    photo.load()
    return photo, {"size": size, "angle": angle, "box": (left, top, width, height)}


# -- showing predictions --------------------------------------------------------------------------

def show_top_k(photos: Sequence[Image.Image], inputs: torch.Tensor, probabilities: torch.Tensor,
               labels: Sequence[int] | torch.Tensor | None = None, k: int = 3,
               classes: Sequence[str] = CLASSES) -> Figure:
    """One column per photo: the photo, the 28 × 28 input the network saw, and its ``k`` most
    probable classes with their probabilities (green: the top class is the true one, red: not)."""
    count = len(photos)
    fig, axes = plt.subplots(2, count, figsize=(1.75 * count, 4.6), squeeze=False)
    top = probabilities.topk(k, dim=1)
    for i in range(count):
        axes[0, i].imshow(photos[i], cmap="gray" if photos[i].mode == "L" else None)
        axes[1, i].imshow(inputs[i, 0].cpu().numpy(), cmap="gray", vmin=0, vmax=1)
        lines = [f"{classes[int(c)]} {float(p):.2f}" for p, c in zip(top.values[i], top.indices[i],
                                                                     strict=True)]
        color = "black"
        if labels is not None:
            axes[0, i].set_title(classes[int(labels[i])], fontsize=8)
            color = "green" if int(top.indices[i, 0]) == int(labels[i]) else "red"
        axes[1, i].set_xlabel("\n".join(lines), fontsize=7, color=color)
        for ax in axes[:, i]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    return fig
