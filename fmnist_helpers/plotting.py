"""Pictures the notebooks show: image grids with class names, the confusion matrix, a network's
filters and feature maps, training curves that read well from one epoch on, and TensorBoard's
scalars drawn from its event files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torchvision.utils import make_grid

from .data import CLASSES

if TYPE_CHECKING:
    from sklearn.metrics import ConfusionMatrixDisplay


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
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix  # sklearn: 1 s to import

    matrix = confusion_matrix(np.asarray(labels), np.asarray(predictions),
                              labels=list(range(len(classes))), normalize=normalize)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 8))
    display = ConfusionMatrixDisplay(matrix, display_labels=list(classes))
    display.plot(ax=ax, cmap="Blues", xticks_rotation=45, colorbar=False,
                 values_format=".2f" if normalize else "d")
    return matrix, display


def _grid(count: int, ncols: int, cell: float = 1.1, title_room: float = 0.5
          ) -> tuple[Figure, np.ndarray]:
    """A figure with ``count`` small square axes in rows of ``ncols`` (spare ones hidden)."""
    ncols = max(1, min(ncols, count))
    nrows = -(-count // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, (cell + 0.3) * nrows + title_room),
                             squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    return fig, axes


def show_filters(weight: torch.Tensor, title: str | None = None, cmap: str = "RdBu_r",
                 same_scale: bool = False) -> Figure:
    """Draw a convolution's filters, ``weight`` shaped ``[out_channels, in_channels, k, k]``.

    One row per input channel, one column per filter (``conv1.weight``: one row of 6). Colours are
    centred on zero: red weights add the pixel they cover, blue ones subtract it, white ones ignore
    it. By default each filter has its own scale (its largest weight is the deepest colour), so a
    filter with small weights still shows its pattern; ``same_scale=True`` uses one scale for all,
    to compare the filters' strengths.
    """
    weight = weight.detach().cpu()
    if weight.dim() != 4:
        raise ValueError(f"weight must be [out_channels, in_channels, k, k], got {tuple(weight.shape)}")
    out_channels, in_channels = weight.shape[:2]
    fig, axes = _grid(out_channels * in_channels, out_channels)
    for i in range(in_channels):
        for j in range(out_channels):
            limit = float((weight if same_scale else weight[j, i]).abs().max()) or 1.0
            ax = axes[i, j]
            ax.imshow(weight[j, i].numpy(), cmap=cmap, vmin=-limit, vmax=limit)
            ax.set_axis_on()
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"filter {j}", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_feature_maps(maps: torch.Tensor, title: str | None = None, ncols: int = 6,
                      cmap: str = "viridis", same_scale: bool = False) -> Figure:
    """Draw the feature maps of one image, ``maps`` shaped ``[channels, H, W]`` (or ``[1, C, H, W]``).

    Each channel is one small picture, titled with its number. By default each map has its own
    colour scale (bright: where that filter responds most), so weak maps still show their pattern;
    ``same_scale=True`` puts all maps on one scale, to compare how strongly they respond.
    """
    maps = maps.detach().cpu()
    if maps.dim() == 4 and maps.shape[0] == 1:
        maps = maps[0]
    if maps.dim() != 3:
        raise ValueError(f"maps must be [channels, H, W] (one image), got {tuple(maps.shape)}")
    fig, axes = _grid(len(maps), ncols)
    for channel, ax in zip(range(len(maps)), axes.flat, strict=False):
        shown = maps if same_scale else maps[channel]
        low, high = float(shown.min()), float(shown.max())
        ax.imshow(maps[channel].numpy(), cmap=cmap, vmin=low, vmax=high if high > low else low + 1)
        ax.set_title(f"channel {channel}", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def epoch_axis(ax: plt.Axes, epochs: Sequence[int]) -> plt.Axes:
    """Label ``ax``'s x axis with whole epochs only, with half an epoch of room on each side, so
    that a curve of one epoch (a single point) is drawn in the middle with the tick ``1``."""
    epochs = list(epochs)
    if epochs:
        ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_xlabel("epoch")
    return ax


def plot_epoch_curves(
    curves: Mapping[str, Sequence[float]],
    epochs: Sequence[int],
    title: str | None = None,
    ylabel: str | None = None,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Plot one line with markers per entry of ``curves`` (label -> one value per epoch).

    Every point is marked, so one epoch still shows as a point; the x axis has whole epochs only.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    markers = "osD^v<>"
    for i, (label, values) in enumerate(curves.items()):
        ax.plot(list(epochs), list(values), marker=markers[i % len(markers)], label=label)
    epoch_axis(ax, epochs)
    ax.set(title=title, ylabel=ylabel)
    ax.grid(alpha=0.3)
    if len(curves) > 1:
        ax.legend()
    return ax


def tensorboard_smoothing(values: Sequence[float], weight: float = 0.6) -> np.ndarray:
    """TensorBoard's smoothing of a scalar curve: an exponential moving average with ``weight``
    (its slider, 0.6 by default) on the previous average, de-biased so the curve starts at the
    first value. ``weight`` 0 leaves the values as they are.
    """
    if not 0 <= weight < 1:
        raise ValueError(f"weight must be in [0, 1), got {weight}")
    return pd.Series(list(values), dtype=float).ewm(alpha=1 - weight, adjust=True).mean().to_numpy()


def plot_scalars(
    scalars: Mapping[str, pd.Series],
    smoothing: float = 0.6,
    ncols: int = 3,
    step_label: str = "step",
) -> Figure:
    """Draw scalar curves as TensorBoard's *Scalars* tab does: one card per tag, in tag order.

    ``scalars`` maps each tag to a Series of values indexed by step (as read back with
    ``EventAccumulator``). The raw values are drawn faint and the smoothed curve
    (``tensorboard_smoothing``) strong; curves of 20 points or fewer get markers and whole-number
    steps, so a run of one epoch still shows its point.
    """
    tags = sorted(scalars)
    if not tags:
        raise ValueError("no scalar tags to draw")
    ncols = min(ncols, len(tags))
    nrows = -(-len(tags) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.1 * nrows), squeeze=False)
    for ax in axes.flat[len(tags):]:
        ax.set_axis_off()
    for tag, ax in zip(tags, axes.flat, strict=False):
        series = scalars[tag]
        steps, values = series.index.to_numpy(), series.to_numpy(dtype=float)
        few = len(values) <= 20
        marker = "o" if few else None
        ax.plot(steps, values, color="C0", alpha=0.3, marker=marker)
        ax.plot(steps, tensorboard_smoothing(values, smoothing), color="C0", marker=marker)
        if few:
            epoch_axis(ax, steps.tolist())
        ax.set_xlabel(series.index.name or step_label)
        ax.set_title(tag)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
