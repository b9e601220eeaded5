"""Reproducibility: one seed for every random number generator the course uses."""

from __future__ import annotations

import random

import numpy as np
import torch


def set_seed(seed: int) -> torch.Generator:
    """Seed Python's ``random``, NumPy and torch (CPU and CUDA) with ``seed``.

    Returns a ``torch.Generator`` seeded the same way, for ``DataLoader``/``TensorBatches`` shuffling.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator
