"""Pictures the notebooks show: image grids with class names and the confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix
from torchvision.utils import make_grid

from .data import CLASSES


def show_images(
    images: torch.Tensor,
    labels: torch.Tensor | Sequence[int] | None = None,
    nrow: int = 10,
    classes: Sequence[str] = CLASSES,
    predictions: torch.Tensor | Sequence[int] | None = None,
    title: str | None = None,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Draw ``images`` (``[N, 1, H, W]``) as one ``make_grid`` picture, names under each column.

    With ``labels`` each image is captioned with its class name; with ``predictions`` too, the
    caption reads ``true → predicted``.
    """
    images = images.detach().cpu()
    count = len(images)
    ncols = min(nrow, count)
    nrows = -(-count // nrow)
    # room under each row for its captions, so text never covers the next row's images
    pad = 2 if labels is None else (14 if predictions is None else 24)
    grid = make_grid(images, nrow=nrow, padding=pad, pad_value=1.0)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.3 * ncols, (1.6 if labels is None else 2.0) * nrows))
    ax.imshow(grid.permute(1, 2, 0).numpy(), cmap="gray")
    ax.set_axis_off()
    if labels is not None:
        height, width = images.shape[-2:]
        for i, label in enumerate(labels):
            text = classes[int(label)]
            if predictions is not None:
                text = f"{text}\n→ {classes[int(predictions[i])]}"
            row, col = divmod(i, nrow)
            ax.text(pad + col * (width + pad) + width / 2, pad + row * (height + pad) + height + 1, text,
                    ha="center", va="top", fontsize=7)
    if title:
        ax.set_title(title)
    return ax


def plot_confusion_matrix(
    labels: torch.Tensor | np.ndarray | Sequence[int],
    predictions: torch.Tensor | np.ndarray | Sequence[int],
    classes: Sequence[str] = CLASSES,
    normalize: str | None = None,
    ax: plt.Axes | None = None,
) -> tuple[np.ndarray, ConfusionMatrixDisplay]:
    """Compute sklearn's confusion matrix (rows: true class, columns: predicted) and plot it.

    ``normalize`` is passed to ``confusion_matrix`` (``None``, ``"true"``, ``"pred"``, ``"all"``).
    Returns the matrix and the ``ConfusionMatrixDisplay``.
    """
    matrix = confusion_matrix(np.asarray(labels), np.asarray(predictions),
                              labels=list(range(len(classes))), normalize=normalize)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 8))
    display = ConfusionMatrixDisplay(matrix, display_labels=list(classes))
    display.plot(ax=ax, cmap="Blues", xticks_rotation=45, colorbar=False,
                 values_format=".2f" if normalize else "d")
    return matrix, display
