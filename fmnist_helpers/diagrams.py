"""Drawings made by code: an NCHW batch (notebook 01) and the tensor shapes through ``Network`` (02).

Each function draws on a matplotlib ``Axes`` (on a new figure when none is given) and returns it;
nothing is shown or saved, so the drawings work on any backend, Agg included. The shapes drawn are
the ones given, so a notebook can pass the shapes its own code printed and the picture cannot
disagree with them.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Rectangle

Step = tuple[str, tuple[int, ...]]
"""One step of a forward pass: the operation's name and the shape it produces (without the batch)."""

NETWORK_STEPS: tuple[Step, ...] = (
    ("input", (1, 28, 28)),
    ("conv1", (6, 24, 24)),
    ("relu", (6, 24, 24)),
    ("max_pool2d", (6, 12, 12)),
    ("conv2", (12, 8, 8)),
    ("relu", (12, 8, 8)),
    ("max_pool2d", (12, 4, 4)),
    ("reshape", (192,)),
    ("fc1", (120,)),
    ("relu", (120,)),
    ("fc2", (60,)),
    ("relu", (60,)),
    ("out", (10,)),
)
"""The steps of ``Network.forward`` for one 1×28×28 image, as notebook 02 prints them."""

_PIXEL = 0.06  # drawing units per pixel of a feature map
_VALUE = 0.0125  # drawing units per value of a flat vector
_DEPTH = 0.07  # offset between the stacked channels of a feature map
_BAR = 0.18  # width of the bar that stands for a flat vector


def shape_label(shape: Sequence[int]) -> str:
    """``"6×24×24"`` for ``(6, 24, 24)``; ``"192"`` for ``(192,)``."""
    return "×".join(str(int(size)) for size in shape)


def merge_steps(steps: Sequence[tuple[str, Sequence[int]]]) -> list[Step]:
    """Merge each step that keeps its input's shape (``relu``) into the step before it.

    >>> merge_steps([("input", (1, 28, 28)), ("conv1", (6, 24, 24)), ("relu", (6, 24, 24))])
    [('input', (1, 28, 28)), ('conv1 + relu', (6, 24, 24))]
    """
    merged: list[Step] = []
    for name, shape in steps:
        shape = tuple(int(size) for size in shape)
        if merged and merged[-1][1] == shape:
            merged[-1] = (f"{merged[-1][0]} + {name}", shape)
        else:
            merged.append((name, shape))
    return merged


def _new_axes(ax: plt.Axes | None, figsize: tuple[float, float]) -> plt.Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _stage_width(shape: tuple[int, ...]) -> float:
    """How wide the drawing of a tensor of ``shape`` is, in drawing units."""
    if len(shape) == 3:
        channels, _, width = shape
        return width * _PIXEL + (channels - 1) * _DEPTH
    return _BAR


def _draw_stage(ax: plt.Axes, left: float, shape: tuple[int, ...]) -> None:
    """Draw one tensor from ``left``: stacked squares for ``C×H×W``, a bar for a vector."""
    if len(shape) == 3:
        channels, height, width = shape
        w, h = width * _PIXEL, height * _PIXEL
        for c in reversed(range(channels)):  # the back channel first, the front one on top
            ax.add_patch(Rectangle((left + c * _DEPTH, -h / 2 + c * _DEPTH), w, h, facecolor="tab:blue",
                                   edgecolor="white", linewidth=0.6, alpha=0.85, zorder=2 + channels - c))
    else:
        (length,) = shape
        h = max(length * _VALUE, 0.05)
        ax.add_patch(Rectangle((left, -h / 2), _BAR, h, facecolor="tab:orange", edgecolor="black",
                               linewidth=0.6, zorder=2))


def draw_network_shapes(steps: Sequence[tuple[str, Sequence[int]]] = NETWORK_STEPS,
                        ax: plt.Axes | None = None) -> plt.Axes:
    """Draw the tensor after each step of a forward pass, left to right, sizes to scale.

    ``steps`` are ``(operation, shape)`` pairs, the first one the input (shapes without the batch
    dimension); steps that keep the shape are merged (``conv1 + relu``). Feature maps ``C×H×W``
    are drawn as ``C`` stacked squares of side ``H``; flat vectors as bars as tall as their length.
    Each tensor is labelled with its shape, and each arrow with the operation that made it.
    """
    stages = merge_steps(steps)
    ax = _new_axes(ax, (1.5 * len(stages) + 1, 3.6))
    gap = 1.1  # room between two tensors for the arrow and the operation's name
    left = right = 0.0
    for i, (name, shape) in enumerate(stages):
        if i > 0:
            left = right + gap
        width = _stage_width(shape)
        _draw_stage(ax, left, shape)
        ax.text(left + width / 2, -1.35, shape_label(shape), ha="center", va="top", fontsize=10,
                fontweight="bold")
        if i == 0:
            ax.text(left + width / 2, 1.35, name, ha="center", va="bottom", fontsize=9)
        else:
            ax.annotate("", xy=(left - 0.06, 0), xytext=(right + 0.06, 0),
                        arrowprops={"arrowstyle": "->", "color": "gray"}, zorder=1)
            ax.text(right + gap / 2, 1.35, name.replace(" + ", "\n+ "), ha="center", va="bottom",
                    fontsize=8.5, color="dimgray")
        right = left + width
    ax.set_xlim(-0.5, right + 0.5)
    ax.set_ylim(-1.9, 2.1)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title("Tensor shapes through Network, for one image (a batch adds N in front)", fontsize=11)
    return ax


def draw_nchw_batch(images: torch.Tensor | None = None, count: int = 4,
                    ax: plt.Axes | None = None) -> plt.Axes:
    """Draw a batch ``[N, C, H, W]`` as ``N`` stacked images, with the four axes named.

    ``images`` is a batch (its first channel is drawn); without it, ``count`` blank 28×28 images.
    """
    if images is None:
        images = torch.full((count, 1, 28, 28), 0.85)
    n, c, h, w = images.shape
    pixels = images[:, 0].detach().cpu().numpy()
    ax = _new_axes(ax, (7, 5))
    step = max(4.0, 48.0 / max(n, 1))  # offset between stacked images, in pixels
    for k in reversed(range(n)):  # the last image at the back, image 0 in front
        x0, y0 = k * step, k * step
        ax.imshow(pixels[k], cmap="gray", vmin=0.0, vmax=1.0, extent=(x0, x0 + w, y0, y0 + h),
                  zorder=2 * (n - k))
        ax.add_patch(Rectangle((x0, y0), w, h, fill=False, edgecolor="tab:blue", linewidth=1.2,
                               zorder=2 * (n - k) + 1))
    arrow = {"arrowstyle": "->", "color": "black", "linewidth": 1.2}
    ax.annotate("", xy=(w, -4), xytext=(0, -4), arrowprops=arrow)
    ax.text(w / 2, -6, f"W = {w}: width\n(pixels per row)", ha="center", va="top", fontsize=9)
    ax.annotate("", xy=(-4, 0), xytext=(-4, h), arrowprops=arrow)
    ax.text(-6, h / 2, f"H = {h}: height\n(rows)", ha="right", va="center", fontsize=9)
    far = (n - 1) * step
    ax.annotate("", xy=(w + far + 3, far + 3), xytext=(w + 3, 3), arrowprops=arrow)
    ax.text(w + far / 2 + 8, far / 2, f"N = {n}: images\nin the batch", ha="left", va="center",
            fontsize=9)
    ax.text(far + w / 2, far + h + 4, f"C = {c} channel{'s' if c != 1 else ''} per image"
            + (" (gray)" if c == 1 else ""), ha="center", va="bottom", fontsize=9)
    ax.text(-2, h + 2, "images[0]", ha="right", va="bottom", fontsize=8, color="tab:blue")
    if n > 1:
        ax.text(far + w + 2, far + h, f"images[{n - 1}]", ha="left", va="center", fontsize=8,
                color="tab:blue")
    ax.set_xlim(-30, w + far + 40)
    ax.set_ylim(-22, far + h + 16)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(f"A batch tensor [N, C, H, W] = {list(images.shape)}", fontsize=11)
    return ax


__all__ = ["NETWORK_STEPS", "draw_nchw_batch", "draw_network_shapes", "merge_steps", "shape_label"]
