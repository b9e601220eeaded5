"""``Network`` is exactly the course's network."""

from __future__ import annotations

import torch

from fmnist_helpers import Network, count_parameters

PRINTED_NETWORK = """\
Network(
  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))
  (conv2): Conv2d(6, 12, kernel_size=(5, 5), stride=(1, 1))
  (fc1): Linear(in_features=192, out_features=120, bias=True)
  (fc2): Linear(in_features=120, out_features=60, bias=True)
  (out): Linear(in_features=60, out_features=10, bias=True)
)"""


def test_printed_form():
    assert str(Network()) == PRINTED_NETWORK


def test_parameter_count_and_shapes():
    network = Network()
    assert count_parameters(network) == 32998
    shapes = {name: tuple(p.shape) for name, p in network.named_parameters()}
    assert shapes == {
        "conv1.weight": (6, 1, 5, 5), "conv1.bias": (6,),
        "conv2.weight": (12, 6, 5, 5), "conv2.bias": (12,),
        "fc1.weight": (120, 192), "fc1.bias": (120,),
        "fc2.weight": (60, 120), "fc2.bias": (60,),
        "out.weight": (10, 60), "out.bias": (10,),
    }


def test_forward_returns_logits():
    torch.manual_seed(0)
    logits = Network()(torch.rand(4, 1, 28, 28))
    assert logits.shape == torch.Size([4, 10])
    assert not torch.allclose(logits.softmax(dim=1).sum(dim=1), logits.sum(dim=1))  # not softmaxed
