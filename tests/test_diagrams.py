"""The drawings made by code (``fmnist_helpers.diagrams``): what they put on the axes.

Everything is drawn with matplotlib's Agg backend: nothing needs a screen.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from fmnist_helpers.diagrams import (  # noqa: E402
    NETWORK_STEPS,
    draw_nchw_batch,
    draw_network_shapes,
    merge_steps,
    shape_label,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(ax: plt.Axes) -> list[str]:
    return [t.get_text() for t in ax.texts]


def rectangles(ax: plt.Axes) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def test_shape_label():
    assert shape_label((6, 24, 24)) == "6×24×24"
    assert shape_label([192]) == "192"


def test_merge_steps_joins_the_steps_that_keep_the_shape():
    assert merge_steps(NETWORK_STEPS) == [
        ("input", (1, 28, 28)),
        ("conv1 + relu", (6, 24, 24)),
        ("max_pool2d", (6, 12, 12)),
        ("conv2 + relu", (12, 8, 8)),
        ("max_pool2d", (12, 4, 4)),
        ("reshape", (192,)),
        ("fc1 + relu", (120,)),
        ("fc2 + relu", (60,)),
        ("out", (10,)),
    ]


def test_network_drawing_labels_every_shape_and_operation():
    ax = draw_network_shapes()
    labels = texts(ax)
    shapes = ["1×28×28", "6×24×24", "6×12×12", "12×8×8", "12×4×4", "192", "120", "60", "10"]
    assert all(shape in labels for shape in shapes)
    assert [shape for shape in labels if shape in shapes] == shapes  # left to right
    assert "conv1\n+ relu" in labels and "reshape" in labels and "out" in labels
    arrows = [t for t in ax.texts if t.get_text() == "" and getattr(t, "arrow_patch", None)]
    assert len(arrows) == len(shapes) - 1
    assert ax.figure is not None and not ax.axison


def test_network_drawing_draws_each_channel_and_keeps_sizes_to_scale():
    ax = draw_network_shapes()
    boxes = rectangles(ax)
    # one square per channel of the five feature maps, one bar per flat vector
    assert len(boxes) == (1 + 6 + 6 + 12 + 12) + 4
    squares = {round(b.get_width(), 6) for b in boxes if b.get_width() == b.get_height()}
    assert len(squares) == 5  # sides 28, 24, 12, 8 and 4, to scale
    assert max(squares) / min(squares) == pytest.approx(28 / 4)
    bars = sorted(b.get_height() for b in boxes if b.get_width() != b.get_height())
    assert bars[-1] / bars[-2] == pytest.approx(192 / 120)


def test_network_drawing_uses_the_steps_given_and_an_existing_axes():
    fig, ax = plt.subplots()
    steps = [("input", (3, 32, 32)), ("conv", (8, 30, 30)), ("relu", (8, 30, 30)), ("flatten", (7200,))]
    assert draw_network_shapes(steps, ax=ax) is ax
    labels = texts(ax)
    assert "3×32×32" in labels and "8×30×30" in labels and "7200" in labels
    assert "conv\n+ relu" in labels
    assert len(rectangles(ax)) == 3 + 8 + 1


def test_nchw_drawing_shows_each_image_and_names_the_four_axes():
    images = torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    ax = draw_nchw_batch(images)
    assert len(ax.images) == 5
    assert torch.allclose(torch.as_tensor(ax.images[-1].get_array().data, dtype=torch.float32),
                          images[0, 0])  # image 0 is drawn last, in front
    labels = " ".join(texts(ax))
    for axis in ("N = 5", "C = 1", "H = 28", "W = 28"):
        assert axis in labels
    assert "images[0]" in labels and "images[4]" in labels
    assert ax.get_title() == "A batch tensor [N, C, H, W] = [5, 1, 28, 28]"


def test_nchw_drawing_without_images_draws_blank_ones():
    fig, ax = plt.subplots()
    assert draw_nchw_batch(count=3, ax=ax) is ax
    assert len(ax.images) == 3
    assert "N = 3" in " ".join(texts(ax))
