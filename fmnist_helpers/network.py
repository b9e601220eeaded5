"""The course's convolutional network, exactly as notebook 02 builds it."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Network(nn.Module):
    """Two conv layers and three linear layers; ``forward`` returns logits (no softmax).

    Shapes for one 28x28 image: conv1 (5x5) -> 6x24x24, max-pool -> 6x12x12, conv2 (5x5) -> 12x8x8,
    max-pool -> 12x4x4 = 192 features -> fc1 120 -> fc2 60 -> out 10.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels=1, out_channels=6, kernel_size=5)
        self.conv2 = nn.Conv2d(in_channels=6, out_channels=12, kernel_size=5)
        self.fc1 = nn.Linear(in_features=12 * 4 * 4, out_features=120)
        self.fc2 = nn.Linear(in_features=120, out_features=60)
        self.out = nn.Linear(in_features=60, out_features=10)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """Map a batch ``[N, 1, 28, 28]`` to logits ``[N, 10]``."""
        t = F.max_pool2d(F.relu(self.conv1(t)), kernel_size=2, stride=2)
        t = F.max_pool2d(F.relu(self.conv2(t)), kernel_size=2, stride=2)
        t = F.relu(self.fc1(t.reshape(-1, 12 * 4 * 4)))
        t = F.relu(self.fc2(t))
        return self.out(t)


def count_parameters(model: nn.Module) -> int:
    """Number of learnable values in ``model`` (32,998 for ``Network``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
