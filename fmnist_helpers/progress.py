"""Progress bars: tqdm's text bar, which a saved notebook shows as plain text when reopened.

``tqdm.auto`` would draw an ipywidget in a notebook; a saved notebook keeps only a reference to
the widget's state, so reopening it shows "Error displaying widget" where the bar was. The text bar
has no such state. ``TQDM_DISABLE=1`` (set when the committed notebooks are re-executed) switches
every bar off, so committed outputs hold no timings from bars.

In a Jupyter kernel the bar is not written to stdout: tqdm redraws nested bars (an epoch bar around
``train_one_epoch``'s batch bar) with the terminal's cursor-up code, which JupyterLab ignores, so
every refresh became a new line (about 1,500 for notebook 04's training cell). There a bar is one
plain-text display output, updated in place (``display_id``); a bar opened while another one of
the same cell is open is drawn as a second line of that display while it runs, and ``print`` output
goes below it instead of onto the bar's line. A terminal, a log or a script gets tqdm's own bar.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from tqdm.std import tqdm as _text_tqdm


def bars_disabled() -> bool:
    """Whether ``$TQDM_DISABLE`` asks for no progress bars."""
    return os.environ.get("TQDM_DISABLE", "").lower() in ("1", "true", "yes")


def in_jupyter_kernel() -> bool:
    """Whether ``sys.stdout`` goes to a Jupyter front end (a notebook's kernel, papermill's)."""
    iostream = sys.modules.get("ipykernel.iostream")
    return iostream is not None and isinstance(sys.stdout, iostream.OutStream)


def _cell() -> str | None:
    """The request the kernel is running now (one per cell executed)."""
    return (getattr(sys.stdout, "parent_header", None) or {}).get("msg_id")


class tqdm(_text_tqdm):  # noqa: N801  (the name everyone knows)
    """``tqdm.tqdm`` drawn as text on stdout; off when ``disable`` or ``$TQDM_DISABLE``.

    In a Jupyter kernel, a text display redrawn in place instead (see the module's docstring).

    >>> show_progress = False  # a notebook's parameter
    >>> for epoch in tqdm(range(3), desc="epochs", disable=not show_progress):
    ...     pass
    """

    _open_in_kernel: list[tqdm] = []
    """The bars of the kernel's current cell still open, outermost first."""

    def __init__(self, *args: Any, disable: bool = False, file: Any = None, **kwargs: Any) -> None:
        disable = disable or bars_disabled()
        self._in_kernel = not disable and file is None and in_jupyter_kernel()
        self._handle: Any = None  # the display this bar (outermost) draws into
        self._parent: tqdm | None = None  # the open bar whose display shows this one
        self._child: tqdm | None = None
        if self._in_kernel:
            self._cell = _cell()
            opened = [bar for bar in tqdm._open_in_kernel if bar._cell == self._cell]
            tqdm._open_in_kernel[:] = opened  # a failed cell's bars are never drawn again
            if opened:
                self._parent, opened[-1]._child = opened[-1], self
            tqdm._open_in_kernel.append(self)
        try:
            super().__init__(*args, disable=disable, file=file or sys.stdout, **kwargs)
        except Exception:
            self._forget()
            raise

    def _forget(self) -> None:
        """Take this bar out of the open ones and out of its outer bar's display."""
        if self in tqdm._open_in_kernel:
            tqdm._open_in_kernel.remove(self)
        if self._parent is not None and self._parent._child is self:
            self._parent._child = None
        if self._child is not None:  # closed before its inner bar: that one draws on its own
            self._child._parent = None
            self._child = None

    def _outermost(self) -> tqdm:
        bar = self
        while bar._parent is not None:
            bar = bar._parent
        return bar

    def _show(self, text: str) -> None:
        """Draw ``text`` in this bar's display (created where the bar first appears)."""
        from IPython.display import display  # only in a kernel, where IPython is loaded

        if self._handle is None:
            self._handle = display({"text/plain": text}, raw=True, display_id=True)
        else:
            self._handle.update({"text/plain": text}, raw=True)

    def _redraw(self) -> None:
        """Draw the display this bar belongs to: its outermost bar, then each open inner bar."""
        outer, lines = self._outermost(), []
        bar: tqdm | None = outer
        while bar is not None:
            if not bar.disable:
                lines.append(bar.__str__())
            bar = bar._child
        outer._show("\n".join(lines))

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        """Draw the bar: tqdm's way on a terminal, the display's way in a kernel."""
        if not self._in_kernel:
            return bool(super().display(msg, pos))
        self._redraw()
        return True

    def clear(self, nolock: bool = False) -> None:
        """Clear the bar on a terminal (``tqdm.write``); a display has nothing to clear."""
        if not self._in_kernel:
            super().clear(nolock)

    def close(self) -> None:
        """Close the bar. In a kernel: an outermost bar keeps its final line (``leave``, the
        default) or shows nothing; an inner bar's line goes from the outer bar's display."""
        if not getattr(self, "_in_kernel", False) or self.disable:
            super().close()
            return
        with self._lock:
            leave = self.leave if self.leave is not None else self._parent is None
            if leave:
                self._ema_dt = lambda: None  # the final line shows the overall rate
            final = self.__str__() if leave else ""
            self.disable = True
            self._decr_instances(self)
            parent = self._parent
            self._forget()
        if parent is not None:
            if not parent.disable:
                parent._redraw()
        elif self._handle is not None:
            self._show(final)
