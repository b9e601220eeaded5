"""A progress bar that notebooks can switch off with one parameter."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress(iterable: Iterable[T], enabled: bool = True, **tqdm_kwargs) -> Iterable[T]:
    """Wrap ``iterable`` in a ``tqdm.auto`` bar, or return it unchanged when ``enabled`` is false.

    Extra keyword arguments (``desc``, ``total``, ``leave`` …) go to ``tqdm``. ``TQDM_DISABLE=1`` in
    the environment (set by ``make notebooks``) switches every bar off too: the notebook flavour of
    tqdm ignores that variable, and its widgets have no saved state in a committed notebook.
    """
    if not enabled or os.environ.get("TQDM_DISABLE", "").lower() in ("1", "true", "yes"):
        return iterable
    return tqdm(iterable, **tqdm_kwargs)
