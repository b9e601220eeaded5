"""Notebook 14's exercise checks on answers written here: right answers written differently from
the notebook's solutions pass every check, plausible wrong ones fail the checks named.

Checks of 14.1: [length from the CSV, item types, row i in CSV order with CLASSES labels, the
transform]. 14.2: [28 × 28 light on black, longer side 20 with proportions kept, centre of mass in
the middle]. 14.3: [a name or "unsure" per image, "unsure" below the threshold, names are the most
probable class].
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF
from exercise_answers import verdicts
from PIL import Image
from scipy import ndimage
from torch.utils.data import Dataset

from fmnist_helpers import CLASSES
from fmnist_helpers.photos import crop_to_object, object_on_black, preprocess_photo, to_gray

# --- 14.1: a Dataset whose labels come from a CSV file --------------------------------------------


class PandasDataset(Dataset):
    def __init__(self, root, csv_file, transform=None):
        self.root, self.table, self.transform = Path(root), pd.read_csv(csv_file), transform

    def __len__(self):
        return len(self.table)

    def __getitem__(self, index):
        row = self.table.iloc[index]
        image = Image.open(self.root / row["file"]).convert("L")
        return (self.transform or TF.to_tensor)(image), CLASSES.index(row["label"])


def numpy_to_tensor(image):
    return torch.from_numpy(np.array(image, dtype=np.float32) / 255).unsqueeze(0)


class PreloadedDataset(Dataset):
    """csv module and numpy, every image read up front."""

    def __init__(self, root, csv_file, transform=None):
        with open(csv_file) as table:
            rows = list(csv.DictReader(table))
        self.images = [Image.open(Path(root) / r["file"]).convert("L") for r in rows]
        self.labels = [CLASSES.index(r["label"]) for r in rows]
        self.transform = transform if transform is not None else numpy_to_tensor

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return self.transform(self.images[index]), self.labels[index]


def _variant(**changes):
    """PandasDataset with one method or attribute done wrong."""
    return type("Wrong", (PandasDataset,), changes)


def _counts_files(self):
    return len(list(self.root.iterdir()))


def _alphabetical(self, index):
    image, label = PandasDataset.__getitem__(self, index)
    return image, sorted(CLASSES).index(CLASSES[label])


def _uint8(self, index):
    row = self.table.iloc[index]
    image = TF.pil_to_tensor(Image.open(self.root / row["file"]).convert("L"))
    return image, CLASSES.index(row["label"])


def _rgb(self, index):
    row = self.table.iloc[index]
    return TF.to_tensor(Image.open(self.root / row["file"])), CLASSES.index(row["label"])


def _tensor_label(self, index):
    image, label = PandasDataset.__getitem__(self, index)
    return image, torch.tensor(label)


def _sorted_files(self, index):
    row = self.table.sort_values("file").iloc[index]
    return TF.to_tensor(Image.open(self.root / row["file"]).convert("L")), CLASSES.index(row["label"])


def _no_transform(self, index):
    row = self.table.iloc[index]
    return TF.to_tensor(Image.open(self.root / row["file"]).convert("L")), CLASSES.index(row["label"])


def _transform_on_tensor(self, index):
    row = self.table.iloc[index]
    image = TF.to_tensor(Image.open(self.root / row["file"]).convert("L"))
    return (self.transform(image) if self.transform else image), CLASSES.index(row["label"])


@pytest.mark.parametrize("answer", [PandasDataset, PreloadedDataset], ids=["pandas + PIL", "csv, preloaded"])
def test_14_1_right_answers_pass(answer):
    assert verdicts("14.1", {"CsvImageDataset": answer}) == [True, True, True, True]


@pytest.mark.parametrize(("answer", "expected"), [
    (_variant(__len__=_counts_files), [False, True, True, True]),
    (_variant(__getitem__=_alphabetical), [True, True, False, True]),
    (_variant(__getitem__=_uint8), [True, False, False, False]),
    (_variant(__getitem__=_rgb), [True, False, False, False]),
    (_variant(__getitem__=_tensor_label), [True, False, True, True]),
    (_variant(__getitem__=_sorted_files), [True, True, False, False]),
    (_variant(__getitem__=_no_transform), [True, True, True, False]),
    (_variant(__getitem__=_transform_on_tensor), [True, True, True, False]),
], ids=["length from the folder", "alphabetical labels", "uint8 images", "RGB kept",
        "label as a tensor", "files sorted by name", "transform ignored", "transform after ToTensor"])
def test_14_1_wrong_answers_fail(answer, expected):
    assert verdicts("14.1", {"CsvImageDataset": answer}) == expected


# --- 14.2: MNIST's recipe ----------------------------------------------------------------------

def digit_with_scipy(image):
    """Threshold and bounding box by hand, centre of mass and shift with scipy.ndimage."""
    gray = np.asarray(image.convert("L"), dtype=np.float64) / 255
    light = 1 - gray
    light = np.clip(light - np.median(light[0]), 0, None)
    light /= light.max()
    rows, cols = np.nonzero(light > 0.3)
    crop = light[rows.min(): rows.max() + 1, cols.min(): cols.max() + 1]
    scale = 20 / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    small = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS),
                       dtype=np.float64) / 255
    canvas = np.zeros((28, 28))
    top, left = (28 - small.shape[0]) // 2, (28 - small.shape[1]) // 2
    canvas[top: top + small.shape[0], left: left + small.shape[1]] = small
    row, col = ndimage.center_of_mass(canvas)
    canvas = ndimage.shift(canvas, (round(13.5 - row), round(13.5 - col)), order=0)
    return torch.tensor(canvas, dtype=torch.float32).clamp(0, 1).unsqueeze(0)


def digit_with_package(image, centre_by_mass=True, keep_ratio=True, invert=None):
    """The package's steps, then scale and place with torch (variants for the wrong answers)."""
    crop = crop_to_object(object_on_black(to_gray(image), invert))
    height, width = crop.shape[-2:]
    scale = 20 / max(height, width)
    size = [round(height * scale), round(width * scale)] if keep_ratio else [20, 20]
    small = TF.resize(crop, size, antialias=True).clamp(0, 1)
    h, w = small.shape[-2:]
    if centre_by_mass:
        row = (small[0].sum(dim=1) * torch.arange(h)).sum() / small.sum()
        col = (small[0].sum(dim=0) * torch.arange(w)).sum() / small.sum()
        top, left = int(torch.round(14 - row)), int(torch.round(14 - col))
    else:
        top, left = (28 - h) // 2, (28 - w) // 2
    return F.pad(small, (left, 28 - w - left, top, 28 - h - top))


@pytest.mark.parametrize("answer", [digit_with_scipy, digit_with_package], ids=["numpy + scipy", "torch"])
def test_14_2_right_answers_pass(answer):
    assert verdicts("14.2", {"preprocess_digit_style": answer}) == [True, True, True]


@pytest.mark.parametrize(("answer", "expected"), [
    (preprocess_photo, [True, False, False]),
    (lambda image: digit_with_package(image, centre_by_mass=False), [True, True, False]),
    (lambda image: digit_with_package(image, keep_ratio=False), [True, False, True]),
    (lambda image: digit_with_package(image, invert=False), [False, False, False]),
    (lambda image: TF.to_tensor(image.convert("L").resize((28, 28))), [False, False, False]),
], ids=["Fashion-MNIST's recipe", "box centred, not mass", "stretched to 20 x 20", "not inverted",
        "resized whole"])
def test_14_2_wrong_answers_fail(answer, expected):
    assert verdicts("14.2", {"preprocess_digit_style": answer}) == expected


# --- 14.3: answering "unsure" --------------------------------------------------------------------

def unsure_with_loop(logits, threshold=0.7):
    answers = []
    for probabilities in F.softmax(logits, dim=1).tolist():
        best = max(probabilities)
        answers.append(CLASSES[probabilities.index(best)] if best >= threshold else "unsure")
    return answers


def unsure_with_where(logits, threshold=0.7):
    confidence, predicted = logits.softmax(dim=1).max(dim=1)
    names = np.array(CLASSES, dtype=object)[predicted.numpy()]
    return list(np.where(confidence.numpy() < threshold, "unsure", names))


@pytest.mark.parametrize("answer", [unsure_with_loop, unsure_with_where], ids=["loop", "numpy where"])
def test_14_3_right_answers_pass(answer):
    assert verdicts("14.3", {"predict_or_unsure": answer}) == [True, True, True]


@pytest.mark.parametrize(("answer", "expected"), [
    (lambda logits, threshold=0.7: ["unsure" if float(row.max()) < threshold else CLASSES[int(row.argmax())]
                                    for row in logits], [True, False, True]),
    (lambda logits, threshold=0.7: unsure_with_loop(logits, 0.7), [True, False, True]),
    (lambda logits, threshold=0.7: [CLASSES[int(i)] for i in logits.argmax(dim=1)], [True, False, True]),
    (lambda logits, threshold=0.7: ["unsure" if a != "unsure" else CLASSES[0]
                                    for a in unsure_with_loop(logits, threshold)], [True, False, False]),
    (lambda logits, threshold=0.7: [int(i) for i in logits.argmax(dim=1)], [False, False, False]),
    (lambda logits, threshold=0.7: ["unsure"] * len(logits), [True, False, False]),
], ids=["logits, not probabilities", "threshold ignored", "never unsure", "the other way round",
        "indices, not names", "always unsure"])
def test_14_3_wrong_answers_fail(answer, expected):
    assert verdicts("14.3", {"predict_or_unsure": answer}) == expected
