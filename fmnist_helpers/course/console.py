"""Console output that survives a closed terminal.

When the terminal that started a command closes, the command gets SIGHUP (handled like Ctrl-C: its
report is written) and every later write to the terminal fails with an I/O error. Those writes are
only messages for a reader who has gone; they must not turn a finished report into an error.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO


class _ForgivingStream:
    """A text stream that, once a write or flush fails (EIO, EPIPE, ...), points its file
    descriptor at ``/dev/null`` and drops what is written from then on."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.gone = False

    def _give_up(self) -> None:
        self.gone = True
        with contextlib.suppress(OSError, ValueError, AttributeError):
            # the stream's own buffer is flushed again at exit: let that land in /dev/null
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                self._stream.write(text)
            except OSError:
                self._give_up()
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._stream.flush()
            except OSError:
                self._give_up()

    def __getattr__(self, name: str) -> Any:  # fileno, isatty, encoding, ...
        return getattr(self._stream, name)


@contextlib.contextmanager
def forgiving_console() -> Iterator[None]:
    """Within the block, writes to ``sys.stdout`` and ``sys.stderr`` never raise: output to a
    terminal that has closed is dropped. The streams are restored afterwards."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _ForgivingStream(sys.stdout), _ForgivingStream(sys.stderr)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        sys.stdout, sys.stderr = saved
