"""Notebook 12's networks: ``CapstoneNet`` (the final model) and notebook 11's batch-norm network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from fmnist_helpers import Network, count_parameters
from fmnist_helpers.models import (
    CAPSTONE_STAGES,
    CapstoneNet,
    conv_bn_relu,
    count_multiply_adds,
    make_batchnorm_network,
)

NOTEBOOK_11 = Path(__file__).resolve().parents[1] / "notebooks" / "11_normalization_batchnorm.ipynb"


def test_capstone_parameter_count_is_exact_and_under_the_budget():
    model = CapstoneNet()
    # conv weights 9 * in * out, batch norm 2 * out per layer, the head 64 * 10 + 10
    convs = [(1, 16), (16, 32), (32, 32), (32, 64), (64, 64)]
    expected = sum(9 * i * o + 2 * o for i, o in convs) + 64 * 10 + 10
    assert expected == 70_330
    assert count_parameters(model) == expected < 100_000
    # batch norm's running means and variances are buffers, not parameters
    assert sum(b.numel() for b in model.buffers() if b.is_floating_point()) == 2 * (16 + 32 + 32 + 64 + 64)


def test_capstone_layers_and_shapes():
    model = CapstoneNet()
    assert CAPSTONE_STAGES == ((16,), (32, 32), (64, 64))
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding, c.bias) for c in convs] == [
        (i, o, (3, 3), (1, 1), None) for i, o in [(1, 16), (16, 32), (32, 32), (32, 64), (64, 64)]]
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.modules()) == 2
    assert (model.head.in_features, model.head.out_features) == (64, 10)
    assert tuple(model.features(torch.zeros(2, 1, 28, 28)).shape) == (2, 64, 7, 7)


def test_capstone_forward_gives_logits_per_image_in_both_modes():
    torch.manual_seed(0)
    model = CapstoneNet()
    images = torch.randn(5, 1, 28, 28)
    logits = model(images)
    assert logits.shape == (5, 10) and logits.dtype == torch.float32
    model.eval()
    with torch.no_grad():
        # in eval mode each image's logits do not depend on the rest of its batch
        assert torch.allclose(model(images)[:1], model(images[:1]), atol=1e-5)
        channels_last = model.to(memory_format=torch.channels_last)
        assert torch.allclose(channels_last(images.contiguous(memory_format=torch.channels_last)),
                              model(images), atol=1e-5)


def test_capstone_stages_are_configurable_and_seeded():
    narrow = CapstoneNet(stages=((8,), (16,)))
    assert count_parameters(narrow) == (9 * 8 + 2 * 8) + (9 * 8 * 16 + 2 * 16) + 16 * 10 + 10
    assert narrow(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert CapstoneNet(num_classes=4)(torch.zeros(2, 1, 28, 28)).shape == (2, 4)
    torch.manual_seed(3)
    first = CapstoneNet().state_dict()
    torch.manual_seed(3)
    second = CapstoneNet().state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    with pytest.raises(ValueError, match="stages"):
        CapstoneNet(stages=((16,), ()))


def test_conv_bn_relu_keeps_the_size_and_counts():
    block = conv_bn_relu(32, 64)
    assert count_parameters(block) == 9 * 32 * 64 + 2 * 64 == 18_560
    assert block(torch.randn(2, 32, 14, 14)).shape == (2, 64, 14, 14)
    assert (block(torch.randn(2, 32, 5, 5)) >= 0).all()  # ends with a ReLU


def test_multiply_adds():
    # Network: conv1 6*24*24 positions x 25, conv2 12*8*8 x 150, then the three linear layers
    assert count_multiply_adds(Network()) == (6 * 24 * 24 * 25 + 12 * 8 * 8 * 150
                                              + 192 * 120 + 120 * 60 + 60 * 10)
    model = CapstoneNet()
    expected = (28 * 28 * 16 * 9 + 14 * 14 * 32 * 16 * 9 + 14 * 14 * 32 * 32 * 9
                + 7 * 7 * 64 * 32 * 9 + 7 * 7 * 64 * 64 * 9 + 640)
    assert count_multiply_adds(model) == expected == 5_532_544
    model.train()
    count_multiply_adds(model)
    assert model.training  # the mode is restored, and no hook is left behind
    assert all(not m._forward_hooks for m in model.modules())


def test_batchnorm_network_is_notebook_11s():
    network = make_batchnorm_network()
    assert count_parameters(network) == 33_250 == count_parameters(Network()) + 2 * 6 + 2 * 120
    assert network(torch.randn(4, 1, 28, 28)).shape == (4, 10)
    # notebook 11 builds the same network inline: the package's copy must stay equal to it
    cells = json.loads(NOTEBOOK_11.read_text())["cells"]
    (source,) = ["".join(c["source"]) for c in cells
                 if c["cell_type"] == "code" and "def make_batchnorm_network" in "".join(c["source"])]
    namespace: dict = {"nn": nn, "Network": Network, "count_parameters": count_parameters,
                       "print": lambda *args: None}
    exec(source, namespace)
    assert str(namespace["make_batchnorm_network"]()) == str(network)
    torch.manual_seed(0)
    ours = make_batchnorm_network().state_dict()
    torch.manual_seed(0)
    theirs = namespace["make_batchnorm_network"]().state_dict()
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_where_networks_parameters_sit():
    """Notebook 12 says: more than two thirds of Network's parameters are in fc1, and its two
    convolutions have fewer than 2,000 together."""
    network = Network()
    total = count_parameters(network)
    assert count_parameters(network.fc1) / total > 2 / 3
    assert count_parameters(network.conv1) + count_parameters(network.conv2) < 2_000
