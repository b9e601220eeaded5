"""Progress bars: tqdm's text bar, which a saved notebook shows as plain text when reopened.

``tqdm.auto`` would draw an ipywidget in a notebook; a saved notebook keeps only a reference to
the widget's state, so reopening it shows "Error displaying widget" where the bar was. The text bar
has no such state. ``TQDM_DISABLE=1`` (set when the committed notebooks are re-executed) switches
every bar off, so committed outputs hold no timings from bars.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from tqdm.std import tqdm as _text_tqdm


def bars_disabled() -> bool:
    """Whether ``$TQDM_DISABLE`` asks for no progress bars."""
    return os.environ.get("TQDM_DISABLE", "").lower() in ("1", "true", "yes")


class tqdm(_text_tqdm):  # noqa: N801  (the name everyone knows)
    """``tqdm.tqdm`` drawn as text on stdout; off when ``disable`` or ``$TQDM_DISABLE``.

    >>> for epoch in tqdm(range(3), desc="epochs", disable=not show_progress):  # doctest: +SKIP
    ...     ...
    """

    def __init__(self, *args: Any, disable: bool = False, file: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, disable=disable or bars_disabled(), file=file or sys.stdout,
                         **kwargs)
