"""Progress for long work: a bar on a terminal, nothing when piped, nothing at all in a library call.

A leaf module: every station that does long work reports through the `Reporter` protocol,
and only the CLI chooses the terminal reporter.
"""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO


class Reporter(Protocol):
    def start(self, label: str, total: int) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def warn(self, message: str) -> None: ...
    def line(self, message: str) -> None: ...


class Quiet:
    """Reports nothing; warnings and result lines are dropped (library use, worker processes)."""

    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def warn(self, message: str) -> None:
        pass

    def line(self, message: str) -> None:
        pass


class TerminalReporter:
    """A progress bar on stderr when it is a terminal; warnings on stderr, results on stdout.

    The bar shows the phase, a bar, the percentage and the elapsed time, and is redrawn at most
    ten times a second. When stderr is not a terminal nothing but warnings is written to it.
    """

    def __init__(self, stream: TextIO | None = None, out: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.out = out or sys.stdout
        self.enabled = _isatty(self.stream)
        self.label, self.total, self.done = "", 0, 0
        self._drawn = 0.0
        self._started = 0.0

    def start(self, label: str, total: int) -> None:
        self._finish()
        self.label, self.total, self.done = label, max(1, total), 0
        self._started = time.monotonic()
        self._draw(force=True)

    def advance(self, n: int = 1) -> None:
        self.done = min(self.total, self.done + n)
        self._draw(force=self.done == self.total)

    def warn(self, message: str) -> None:
        self._finish()
        print(message, file=self.stream, flush=True)

    def line(self, message: str) -> None:
        """A result line on stdout, printed cleanly over any progress bar."""
        self._finish()
        print(message, file=self.out, flush=True)

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._drawn < 0.1):
            return
        self._drawn = now
        filled = int(30 * self.done / self.total)
        elapsed = int(now - self._started)
        self.stream.write(f"\r{self.label[:44]:44} [{'#' * filled}{' ' * (30 - filled)}] "
                          f"{100 * self.done // self.total:3d}% {elapsed // 60}:{elapsed % 60:02d}")
        self.stream.flush()
        if self.done == self.total:
            self._finish()

    def _finish(self) -> None:
        if self.enabled and self.label:
            self.stream.write("\r\033[K")
            self.stream.flush()
        self.label = ""


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
