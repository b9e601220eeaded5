"""The pictures of ``fmnist_helpers.plotting``, drawn on real tensors and checked by what they hold."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

from fmnist_helpers import Network, plot_confusion_matrix, show_images
from fmnist_helpers.plotting import (
    epoch_axis,
    plot_epoch_curves,
    plot_scalars,
    show_feature_maps,
    show_filters,
    tensorboard_smoothing,
)

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    matplotlib.pyplot.close("all")


def _drawn(fig) -> list[np.ndarray]:
    """The arrays of every image drawn in ``fig``, in axes order."""
    return [image.get_array().data for ax in fig.axes for image in ax.images]


# copied from test_small_helpers.py, where they also stay

def test_show_images_draws_one_grid():
    ax = show_images(torch.rand(12, 1, 28, 28), labels=list(range(10)) + [0, 1], nrow=6)
    assert ax.images[0].get_array().shape[:2] == (2 * (28 + 14) + 14, 6 * (28 + 14) + 14)
    assert [t.get_text() for t in ax.texts][:2] == ["T-shirt/top", "Trouser"]


def test_confusion_matrix_counts():
    labels = torch.tensor([0, 0, 1, 2, 9])
    preds = torch.tensor([0, 1, 1, 2, 7])
    matrix, display = plot_confusion_matrix(labels, preds)
    assert matrix.shape == (10, 10) and matrix.sum() == 5
    assert matrix[0, 1] == 1 and matrix[9, 7] == 1 and np.trace(matrix) == 3
    assert display.display_labels[9] == "Ankle boot"


# filters and feature maps (notebook 05)

def test_show_filters_draws_each_conv1_filter_on_a_zero_centred_scale():
    torch.manual_seed(0)
    weight = Network().conv1.weight  # [6, 1, 5, 5], a Parameter that requires grad
    fig = show_filters(weight, title="conv1")
    drawn = _drawn(fig)
    assert len(drawn) == 6
    for j, array in enumerate(drawn):
        assert np.array_equal(array, weight[j, 0].detach().numpy())
    # each filter on its own scale centred on zero by default, one scale for all with same_scale
    for j, ax in enumerate(fig.axes):
        limit = float(weight[j].detach().abs().max())
        assert ax.images[0].get_clim() == (-limit, limit)
    limit = float(weight.detach().abs().max())
    shared = show_filters(weight, same_scale=True)
    assert {im.get_clim() for ax in shared.axes for im in ax.images} == {(-limit, limit)}
    assert [ax.get_title() for ax in fig.axes] == [f"filter {j}" for j in range(6)]
    assert fig._suptitle.get_text() == "conv1"


def test_show_filters_draws_a_row_per_input_channel():
    weight = torch.arange(12 * 6 * 25, dtype=torch.float32).reshape(12, 6, 5, 5)
    fig = show_filters(weight)
    drawn = _drawn(fig)
    assert len(drawn) == 72
    # row i, column j is filter j's input channel i
    assert np.array_equal(drawn[1 * 12 + 3], weight[3, 1].numpy())


def test_show_filters_refuses_a_linear_weight():
    with pytest.raises(ValueError, match="out_channels, in_channels"):
        show_filters(torch.zeros(10, 60))


def test_show_feature_maps_of_one_image():
    network = Network()
    image = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        maps = network.conv1(image).relu()  # [1, 6, 24, 24]
    fig = show_feature_maps(maps, title="conv1", ncols=3)
    drawn = _drawn(fig)
    assert len(drawn) == 6 and drawn[0].shape == (24, 24)
    assert np.array_equal(drawn[5], maps[0, 5].numpy())
    # each map on its own scale by default, so a weak map still shows its pattern
    for channel, ax in enumerate(fig.axes):
        assert ax.images[0].get_clim() == (float(maps[0, channel].min()), float(maps[0, channel].max()))
    assert len(fig.axes) == 6  # 2 rows of 3
    assert fig.axes[4].get_title() == "channel 4"
    shared = show_feature_maps(maps, same_scale=True)
    assert {im.get_clim() for ax in shared.axes for im in ax.images} == {
        (float(maps.min()), float(maps.max()))}


def test_show_feature_maps_hides_spare_axes_and_refuses_a_batch():
    fig = show_feature_maps(torch.rand(12, 8, 8), ncols=5)  # 3 rows of 5: 3 spare
    assert len(_drawn(fig)) == 12 and len(fig.axes) == 15
    spare = fig.axes[12:]
    assert all(not ax.images and not ax.axison for ax in spare)
    with pytest.raises(ValueError, match="one image"):
        show_feature_maps(torch.rand(2, 6, 24, 24))


# curves that read well from one epoch on (notebooks 04 and 06)

def test_one_epoch_is_a_marked_point_with_the_tick_1():
    ax = plot_epoch_curves({"train": [0.6], "test": [0.7]}, [1], title="Accuracy", ylabel="accuracy")
    ax.figure.canvas.draw()
    assert [line.get_marker() for line in ax.lines] == ["o", "s"]
    assert ax.get_xlim() == (0.5, 1.5)
    assert [t for t in ax.get_xticks() if 0.5 <= t <= 1.5] == [1.0]
    assert ax.get_legend() is not None and ax.get_title() == "Accuracy"


def test_epoch_axis_has_whole_epochs_only():
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    ax.plot([1, 2, 3], [0.5, 0.4, 0.3])
    epoch_axis(ax, [1, 2, 3])
    ax.figure.canvas.draw()
    ticks = [t for t in ax.get_xticks() if 0.5 <= t <= 3.5]
    assert ticks == [1.0, 2.0, 3.0] and ax.get_xlabel() == "epoch"


def test_tensorboard_smoothing_is_tensorboards_debiased_average():
    values = [2.3, 1.9, 1.2, 1.4, 0.9, 1.0]
    weight = 0.6
    # TensorBoard's own loop (tensorboard/plugins/scalar, "smoothing"):
    last, expected = 0.0, []
    for i, value in enumerate(values, start=1):
        last = last * weight + (1 - weight) * value
        expected.append(last / (1 - weight**i))
    assert np.allclose(tensorboard_smoothing(values, weight), expected)
    assert tensorboard_smoothing(values, 0.6)[0] == pytest.approx(2.3)  # starts at the first value
    assert np.allclose(tensorboard_smoothing(values, 0.0), values)
    with pytest.raises(ValueError):
        tensorboard_smoothing(values, 1.0)


def test_plot_scalars_draws_one_card_per_tag_in_tag_order():
    scalars = {
        "Loss": pd.Series([0.55], index=pd.Index([1], name="epoch"), name="Loss"),
        "Batch Loss": pd.Series(np.linspace(2.3, 0.5, 50), index=range(1, 51), name="Batch Loss"),
        "Accuracy": pd.Series([0.79], index=pd.Index([1], name="epoch"), name="Accuracy"),
    }
    fig = plot_scalars(scalars, smoothing=0.6)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["Accuracy", "Batch Loss", "Loss"]
    accuracy, batch_loss, loss = fig.axes
    raw, smoothed = batch_loss.lines
    assert np.allclose(raw.get_ydata(), scalars["Batch Loss"].to_numpy())
    assert np.allclose(smoothed.get_ydata(), tensorboard_smoothing(scalars["Batch Loss"], 0.6))
    assert raw.get_marker() in (None, "None", "")  # 50 points: a line
    assert loss.lines[0].get_marker() == "o" and loss.get_xlim() == (0.5, 1.5)  # one epoch: a point
    assert loss.get_xlabel() == "epoch" and batch_loss.get_xlabel() == "step"
    with pytest.raises(ValueError):
        plot_scalars({})
