"""Stop signals: SIGTERM and SIGHUP end a run the way Ctrl-C does (report written, kernels stopped)."""

from __future__ import annotations

import signal
from types import FrameType


class Stopped(KeyboardInterrupt):
    """A stop signal arrived; raised where Ctrl-C would raise ``KeyboardInterrupt``."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


received: list[int] = []
"""The stop signals this process received, in order (SIGINT included once handled)."""


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    received.append(signum)
    raise Stopped(signum)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    received.append(signum)
    raise KeyboardInterrupt


def install_stop_handlers() -> None:
    """Turn SIGTERM and SIGHUP into ``Stopped`` and record SIGINT, in the main thread."""
    signal.signal(signal.SIGINT, _raise_interrupt)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_stopped)


def exit_code(default: int) -> int:
    """The shell's exit code for the first stop signal received (128 + its number), else ``default``."""
    return 128 + received[0] if received else default


def stop_reason() -> str:
    """What stopped the command, for a row it never finished: "stopped by SIGTERM", "stopped by
    Ctrl-C", or "stopped" when no signal was recorded."""
    if not received:
        return "stopped"
    first = received[0]
    return "stopped by Ctrl-C" if first == signal.SIGINT else f"stopped by {signal.Signals(first).name}"
