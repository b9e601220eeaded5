"""The networks of notebook 12's accuracy ladder, beyond the course's ``Network``.

``make_batchnorm_network`` is notebook 11's batch-norm version of ``Network`` (the ladder's second
rung); ``CapstoneNet`` is the capstone's small CNN: 3x3 convolutions with batch norm, max-pooling
between stages, global average pooling and one linear layer (70,330 parameters).
``count_multiply_adds`` measures what a forward pass costs, which parameters alone do not say.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .metrics import eval_mode

CAPSTONE_STAGES: tuple[tuple[int, ...], ...] = ((16,), (32, 32), (64, 64))
"""``CapstoneNet``'s conv widths: one stage per resolution (28x28, 14x14, 7x7)."""


def make_batchnorm_network() -> nn.Sequential:
    """Notebook 11's ``Network`` with ``BatchNorm2d`` after the first conv block and ``BatchNorm1d``
    after ``fc1``, as an ``nn.Sequential``: 33,250 parameters (``Network``'s 32,998 plus 252)."""
    return nn.Sequential(
        nn.Conv2d(in_channels=1, out_channels=6, kernel_size=5),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.BatchNorm2d(6),
        nn.Conv2d(in_channels=6, out_channels=12, kernel_size=5),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Flatten(start_dim=1),
        nn.Linear(in_features=12 * 4 * 4, out_features=120),
        nn.ReLU(),
        nn.BatchNorm1d(120),
        nn.Linear(in_features=120, out_features=60),
        nn.ReLU(),
        nn.Linear(in_features=60, out_features=10),
    )


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """A 3x3 convolution (padding 1 keeps the size; no bias, batch norm has one), ``BatchNorm2d``
    and ``ReLU``: ``9 * in_channels * out_channels + 2 * out_channels`` parameters."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class CapstoneNet(nn.Module):
    """A small VGG-style CNN for ``[N, 1, 28, 28]`` images with a global-average-pooling head.

    ``stages`` lists the conv widths at each resolution; a 2x2 max-pool follows every stage but the
    last, then the mean over each final feature map (global average pooling) feeds one linear layer.
    The default, ``CAPSTONE_STAGES``: 28x28 conv 16 -> pool -> 14x14 conv 32, conv 32 -> pool ->
    7x7 conv 64, conv 64 -> average -> 64 features -> linear 10; 70,330 parameters.

    >>> sum(p.numel() for p in CapstoneNet().parameters())
    70330
    """

    def __init__(self, stages: Sequence[Sequence[int]] = CAPSTONE_STAGES, num_classes: int = 10) -> None:
        super().__init__()
        if not stages or not all(stages):
            raise ValueError(f"stages must be non-empty lists of widths, got {stages!r}")
        layers: list[nn.Module] = []
        in_channels = 1
        for index, widths in enumerate(stages):
            if index > 0:
                layers.append(nn.MaxPool2d(kernel_size=2))
            for width in widths:
                layers.append(conv_bn_relu(in_channels, width))
                in_channels = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(in_channels, num_classes)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """Map a batch ``[N, 1, 28, 28]`` (normalized images) to logits ``[N, num_classes]``."""
        t = self.features(t)  # [N, C, 7, 7] with the default stages
        return self.head(t.mean(dim=(2, 3)))  # global average pooling: [N, C]


def count_multiply_adds(model: nn.Module, image_size: int = 28) -> int:
    """Multiply-adds of the conv and linear layers for one ``1 x image_size x image_size`` image.

    A conv layer's weights are used once per output position, so its cost grows with the size of
    its feature maps while its parameter count does not (``Network``: 232,440; ``CapstoneNet``:
    5,532,544).
    """
    total = 0

    def count(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            total += output[0].numel() * module.weight[0].numel()  # positions x (in/groups * kh * kw)
        else:
            total += module.weight.numel()

    handles = [m.register_forward_hook(count) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with eval_mode(model), torch.no_grad():
            device = next(model.parameters()).device
            model(torch.zeros(1, 1, image_size, image_size, device=device))
    finally:
        for handle in handles:
            handle.remove()
    return total
