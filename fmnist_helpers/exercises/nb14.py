"""Checks for the exercises of notebook 14 (your own images).

Every check calls the student's code on files or images it makes itself: a folder of PNG files
with a CSV of labels (exercise 1), shapes drawn on light backgrounds (exercise 2), seeded logits
(exercise 3). The judges decide from what came back, against what the check knows it drew (the
pixels, the labels, a rectangle's proportions, a triangle's centre of mass) or recomputes with
torch. Nothing reads the notebook's variables or its weights, and its random numbers are left
as they were.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
import torchvision.transforms.functional as TF
from PIL import Image, ImageDraw

from ..data import CLASSES
from .engine import Check, exercise
from .probing import plain_tensor

SEED = 14

# -- exercise 1: a Dataset whose labels come from a CSV file --------------------------------------

CSV_ROWS = 12  # images the CSV lists
RGB_ROWS = (2, 5, 9)  # rows saved as RGB files (three equal channels): the dataset makes them gray
EXTRA_FILE = "img_99.png"  # an image in the folder that the CSV does not list


@functools.lru_cache
def _csv_case() -> tuple[torch.Tensor, tuple[int, ...], tuple[str, ...]]:
    """The check's images (``[12, 28, 28]`` uint8), their labels and file names, in CSV order:
    the files are numbered in another order, so sorted file names are not the CSV's order."""
    generator = torch.Generator().manual_seed(SEED)
    pixels = torch.randint(0, 256, (CSV_ROWS + 1, 28, 28), generator=generator, dtype=torch.uint8)
    labels = torch.randint(0, 10, (CSV_ROWS,), generator=generator)
    labels[:3] = torch.tensor([9, 0, 8])  # Ankle boot, T-shirt/top, Bag: alphabetical order is not theirs
    numbers = torch.randperm(CSV_ROWS, generator=generator)
    names = tuple(f"img_{int(n):02d}.png" for n in numbers)
    return pixels, tuple(int(v) for v in labels), names


@contextlib.contextmanager
def _csv_folder() -> Iterator[tuple[Path, Path]]:
    """A temporary folder ``images/`` of PNG files and ``labels.csv`` (columns ``file,label``)."""
    pixels, labels, names = _csv_case()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "images"
        root.mkdir()
        for row, name in enumerate(names):
            image = Image.fromarray(pixels[row].numpy(), "L")
            (image.convert("RGB") if row in RGB_ROWS else image).save(root / name)
        Image.fromarray(pixels[CSV_ROWS].numpy(), "L").save(root / EXTRA_FILE)
        csv_file = Path(folder) / "labels.csv"
        with open(csv_file, "w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["file", "label"])
            writer.writerows([name, CLASSES[label]] for name, label in zip(names, labels, strict=True))
        yield root, csv_file


def _dataset_length(ns: Mapping[str, Any]) -> int:
    with _csv_folder() as (root, csv_file):
        return int(len(ns["CsvImageDataset"](root, csv_file)))


def _describe(item: Any) -> dict[str, Any]:
    """What one item is: its two parts' types, the image's dtype, shape and value range."""
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        return {"item": type(item).__name__}
    image, label = item
    found: dict[str, Any] = {"item": "pair", "image": type(image).__name__, "label": type(label).__name__}
    if isinstance(image, torch.Tensor):
        found.update(dtype=str(image.dtype), shape=list(image.shape),
                     low=float(image.min()), high=float(image.max()))
    return found


def _item_types(ns: Mapping[str, Any]) -> list[dict[str, Any]]:
    with _csv_folder() as (root, csv_file):
        dataset = ns["CsvImageDataset"](root, csv_file)
        return [_describe(dataset[i]) for i in range(CSV_ROWS)]


def _items(ns: Mapping[str, Any], transform: bool) -> dict[str, Any]:
    """The labels and the images stacked, item by item in index order; with ``transform`` the
    dataset is given one that turns the PIL image into a tensor flipped left to right."""
    with _csv_folder() as (root, csv_file):
        if transform:
            dataset = ns["CsvImageDataset"](root, csv_file,
                                            transform=lambda image: TF.to_tensor(image).flip(-1))
        else:
            dataset = ns["CsvImageDataset"](root, csv_file)
        items = [dataset[i] for i in range(CSV_ROWS)]
    return {"labels": [int(label) for _, label in items],
            "images": plain_tensor(torch.stack([torch.as_tensor(image).float() for image, _ in items]))}


def _expected_images() -> torch.Tensor:
    pixels, _, _ = _csv_case()
    return pixels[:CSV_ROWS].unsqueeze(1).float() / 255


def _well_typed(items: list[dict[str, Any]]) -> bool:
    return len(items) == CSV_ROWS and all(
        item.get("item") == "pair" and item.get("image") == "Tensor" and item.get("label") == "int"
        and item.get("dtype") == "torch.float32" and item.get("shape") == [1, 28, 28]
        and item.get("low", -1) >= 0.0 and item.get("high", 2) <= 1.0 for item in items)


def _same_images(data: dict[str, Any], flipped: bool) -> bool:
    expected = _expected_images()
    expected = expected.flip(-1) if flipped else expected
    images = data["images"]
    return tuple(images.shape) == tuple(expected.shape) and bool(torch.allclose(images, expected, atol=1e-6))


exercise(
    "14.1", "Labels from a CSV file", needs=["CsvImageDataset"],
    checks=[
        Check(f"its length is the number of rows of the CSV file ({CSV_ROWS}), not of files in the "
              "folder",
              _dataset_length,
              "__len__ should count the images the CSV file lists: the check's folder also holds "
              "an image the CSV does not mention.",
              judge=lambda data: data == CSV_ROWS),
        Check("each item is a pair: a float tensor [1, 28, 28] in [0, 1] and an int label",
              _item_types,
              "dataset[i] should return (image, label): the image as one gray channel of floats "
              "in [0, 1], as ToTensor() gives it (some of the check's files are RGB), and the "
              "label as a plain Python int.",
              judge=_well_typed),
        Check("item i is row i of the CSV: its image, and its class name's index in CLASSES",
              lambda ns: _items(ns, transform=False),
              "Item i should be the file and label on row i of the CSV file, in that order, not "
              "the files sorted by name. The label is the class name's position in CLASSES (the "
              "order Fashion-MNIST numbers its classes), not its position in alphabetical order.",
              judge=lambda data: data["labels"] == list(_csv_case()[1]) and _same_images(data, False),
              points=2),
        Check("a transform, when given, is applied to every image",
              lambda ns: _items(ns, transform=True),
              "Store the transform the dataset is created with and apply it in __getitem__ to the "
              "gray PIL image, as torchvision's datasets do; ToTensor() is only the default, for "
              "when no transform is given.",
              judge=lambda data: _same_images(data, True)),
    ],
)


# -- exercise 2: MNIST's recipe instead of Fashion-MNIST's ----------------------------------------

DIGIT_BOX = 20  # MNIST fits each digit's longer side into 20 pixels ...
CENTRE = 13.5  # ... and puts its centre of mass at the middle of the 28 x 28 image
CENTRE_TOLERANCE = 1.0  # whole-pixel shifts, and either 13.5 or 14 taken as the middle


def _rectangle_photo() -> Image.Image:
    """A dark rectangle twice as tall as wide (30 × 60), off-centre on a white 120 × 90 RGB image."""
    image = Image.new("RGB", (120, 90), "white")
    ImageDraw.Draw(image).rectangle((72, 14, 101, 73), fill=(40, 40, 40))
    return image


def _triangle_photo() -> Image.Image:
    """A dark right triangle (legs 45 pixels) near a corner of a light grey-blue 100 × 140 image:
    its centre of mass is a third of the way from the right angle, not in the middle of its box."""
    image = Image.new("RGB", (100, 140), (200, 205, 215))
    ImageDraw.Draw(image).polygon([(10, 20), (10, 64), (54, 64)], fill=(30, 35, 60))
    return image


def _digit_outputs(ns: Mapping[str, Any]) -> list[torch.Tensor]:
    preprocess = ns["preprocess_digit_style"]
    return [plain_tensor(preprocess(photo)).float() for photo in (_rectangle_photo(), _triangle_photo())]


def _looks_like_mnist(outputs: list[torch.Tensor]) -> bool:
    """[1, 28, 28] in [0, 1], the object bright, the background black: at least 40 % of the pixels
    (a 20 × 20 object leaves 49 % of a 28 × 28 image to the background)."""
    return all(tuple(o.shape) == (1, 28, 28) and float(o.min()) >= 0 and float(o.max()) <= 1
               and float(o.max()) > 0.5 and float(o.flatten().quantile(0.4)) < 0.05 for o in outputs)


def _box(image: torch.Tensor, threshold: float = 0.5) -> tuple[int, int]:
    """Height and width of the box holding every pixel at least ``threshold`` bright."""
    rows = torch.nonzero((image[0] >= threshold).any(dim=1)).flatten()
    cols = torch.nonzero((image[0] >= threshold).any(dim=0)).flatten()
    if len(rows) == 0:
        return 0, 0
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def _sized_like_mnist(outputs: list[torch.Tensor]) -> bool:
    """The rectangle 20 tall and 10 wide, the triangle 20 by 20 (a pixel either way)."""
    (rect_h, rect_w), (tri_h, tri_w) = (_box(o) for o in outputs)
    return (abs(rect_h - DIGIT_BOX) <= 1 and abs(rect_w - DIGIT_BOX / 2) <= 1
            and abs(tri_h - DIGIT_BOX) <= 1 and abs(tri_w - DIGIT_BOX) <= 1)


def _centre_of_mass(image: torch.Tensor) -> tuple[float, float]:
    weights = image[0].double()
    positions = torch.arange(image.shape[-1], dtype=torch.float64)
    total = weights.sum()
    row = (weights.sum(dim=1) * positions).sum() / total
    col = (weights.sum(dim=0) * positions).sum() / total
    return float(row), float(col)


def _centred_like_mnist(outputs: list[torch.Tensor]) -> bool:
    for output in outputs:
        if float(output.sum()) <= 0:
            return False
        row, col = _centre_of_mass(output)
        if abs(row - CENTRE) > CENTRE_TOLERANCE or abs(col - CENTRE) > CENTRE_TOLERANCE:
            return False
    return True


exercise(
    "14.2", "MNIST's recipe", needs=["preprocess_digit_style"],
    checks=[
        Check("it returns a [1, 28, 28] image in [0, 1]: the object light, the background black",
              _digit_outputs,
              "Start as preprocess_photo does: one gray channel in [0, 1], inverted when the "
              "background is light, the background brought to 0. The check's shapes are dark, on "
              "white and on a light grey-blue.",
              judge=_looks_like_mnist),
        Check(f"the object's longer side becomes {DIGIT_BOX} pixels and its proportions are kept "
              "(a rectangle twice as tall as wide stays so)",
              _digit_outputs,
              f"Crop to the object, then scale it so that its longer side is {DIGIT_BOX} pixels and "
              "the shorter one shrinks by the same factor; resizing the crop to a square stretches "
              "it.",
              judge=_sized_like_mnist),
        Check("its centre of mass is at the middle of the 28 × 28 image",
              _digit_outputs,
              "Place the scaled object in the black 28 × 28 image so that its centre of mass (the "
              "brightness-weighted mean row and column), not the middle of its box, lands at the "
              "image's middle. A right triangle shows the difference.",
              judge=_centred_like_mnist, points=2),
    ],
)


# -- exercise 3: answering "unsure" ---------------------------------------------------------------

THRESHOLDS = (0.6, 0.85)  # the check calls the answer with each


@functools.lru_cache
def _unsure_logits() -> torch.Tensor:
    """Seeded logits for 200 images, spread from nearly sure to nearly uniform."""
    generator = torch.Generator().manual_seed(SEED)
    scale = torch.linspace(0.2, 6.0, 200).unsqueeze(1)
    return scale * torch.randn(200, 10, generator=generator)


def _unsure_answers(ns: Mapping[str, Any]) -> list[list[str]]:
    answers = []
    for threshold in THRESHOLDS:
        given = ns["predict_or_unsure"](_unsure_logits().clone(), threshold)
        answers.append([str(a) if isinstance(a, str) else repr(a) for a in given])
    return answers


def _expected_unsure(threshold: float) -> list[str]:
    confidence, predicted = _unsure_logits().softmax(dim=1).max(dim=1)
    return ["unsure" if float(c) < threshold else CLASSES[int(p)]
            for c, p in zip(confidence, predicted, strict=True)]


def _named_most_probable(data: list[list[str]]) -> bool:
    most_probable = [CLASSES[int(i)] for i in _unsure_logits().argmax(dim=1)]
    named = [(a, m) for answers in data for a, m in zip(answers, most_probable, strict=False)
             if a != "unsure"]
    return bool(named) and all(a == m for a, m in named)


exercise(
    "14.3", "Saying \"unsure\"", needs=["predict_or_unsure"],
    checks=[
        Check("it returns one answer per image: a class name or \"unsure\"",
              _unsure_answers,
              "Return a list with one entry per row of logits: the class's name as written in "
              "CLASSES, or the string \"unsure\".",
              judge=lambda data: all(len(answers) == len(_unsure_logits())
                                     and set(answers) <= {*CLASSES, "unsure"} for answers in data)),
        Check("it says \"unsure\" exactly where the largest softmax probability is below the "
              f"threshold (checked with {THRESHOLDS[0]} and {THRESHOLDS[1]})",
              _unsure_answers,
              "Compare the threshold with a probability, the largest softmax output of each row, "
              "not with a logit; and use the threshold the function is given.",
              judge=lambda data: [[a == "unsure" for a in answers] for answers in data]
              == [[e == "unsure" for e in _expected_unsure(t)] for t in THRESHOLDS], points=2),
        Check("where it names a class, that is the most probable class",
              _unsure_answers,
              "Where the network is sure enough, answer with the name of the class of the largest "
              "output.",
              judge=_named_most_probable),
    ],
)
