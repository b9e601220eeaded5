"""A progress bar that notebooks can switch off with one parameter."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress(iterable: Iterable[T], enabled: bool = True, **tqdm_kwargs) -> Iterable[T]:
    """Wrap ``iterable`` in a ``tqdm.auto`` bar, or return it unchanged when ``enabled`` is false.

    Extra keyword arguments (``desc``, ``total``, ``leave`` …) go to ``tqdm``.
    """
    if not enabled:
        return iterable
    return tqdm(iterable, **tqdm_kwargs)
