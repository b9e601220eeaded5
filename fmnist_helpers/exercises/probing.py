"""Tools the exercises' probes and judges share.

Probes and judges also run in the student's kernel (the check cell), so whatever they build from a
seed must leave the notebook's random numbers where they were (``seeded``), and whatever a probe
hands to a judge must be plain data the grader can serialize (``plain_tensor``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """``torch.manual_seed(seed)`` for the block only: torch's global generator is back where it
    was afterwards (``torch.random.fork_rng``)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def plain_tensor(value: Any) -> torch.Tensor:
    """``value`` as a tensor the grader can serialize: detached, on the CPU, a copy."""
    return torch.as_tensor(value).detach().cpu().clone()
