"""Progress for long work: a bar on a terminal, nothing when piped, nothing at all in a library call.

Every station that does long work reports through the `Reporter` protocol, and only the CLI
chooses the terminal reporter. This module uses only system.threads (the clock's helper thread).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Protocol, TextIO

from . import threads


class Reporter(Protocol):
    def start(self, label: str, total: int) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def warn(self, message: str) -> None: ...
    def line(self, message: str) -> None: ...


def start_counted(reporter: Reporter, label: str, total: int, unit: str) -> None:
    """Start a phase whose total is a count of things ("phrases", "tracks"): a reporter that can
    show "12/40 phrases" beside its bar does; any other reporter starts the phase as usual."""
    reporter.start(label, total)
    counted = getattr(reporter, "counted", None)
    if counted is not None:
        counted(unit)


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


BAR = 30  # characters of the bar on a terminal wide enough
TICK_S = 0.5  # the clock is redrawn this often while a phase runs, even when nothing is counted


class TerminalReporter:
    """A progress bar on stderr when it is a terminal; warnings on stderr, results on stdout.

    The bar shows the phase, a bar, the percentage (or "done/total phrases" for a count) and the
    elapsed time; the whole line fits the terminal's width (a long label is shortened, not cut
    to a fixed size). It is redrawn at most ten times a second when work advances, and at least
    every half second by a helper thread, so the clock keeps moving while work happens out of
    sight (the first phrases in speech processes). When stderr is not a terminal nothing but
    warnings is written to it.
    """

    def __init__(self, stream: TextIO | None = None, out: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.out = out or sys.stdout
        self.enabled = _isatty(self.stream)
        self.label, self.total, self.done, self.unit = "", 0, 0, ""
        self._drawn = 0.0
        self._started = 0.0
        self._lock = threading.RLock()
        self._ticking = False

    def start(self, label: str, total: int) -> None:
        with self._lock:
            self._finish()
            self.label, self.total, self.done, self.unit = label, max(1, total), 0, ""
            self._started = time.monotonic()
            self._drawn = 0.0  # drawn at the next advance or tick (after counted(), if it comes)
        self._tick()

    def counted(self, unit: str) -> None:
        """Show the phase's progress as "done/total unit" (phrases, tracks) beside its bar."""
        with self._lock:
            self.unit = unit
            self._draw(force=True)

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self.done = min(self.total, self.done + n)
            self._draw(force=self.done == self.total)

    def warn(self, message: str) -> None:
        with self._lock:
            self._finish()
            print(message, file=self.stream, flush=True)

    def note(self, message: str) -> None:
        """A word for the person watching (how long a step will take): on the terminal only."""
        if self.enabled:
            self.warn(message)

    def line(self, message: str) -> None:
        """A result line on stdout, printed cleanly over any progress bar (which is drawn again)."""
        with self._lock:
            label = self.label
            self._finish()
            print(message, file=self.out, flush=True)
            if label and self.done < self.total:
                self.label = label
                self._draw(force=True)

    def _tick(self) -> None:
        if not self.enabled or self._ticking:
            return
        self._ticking = True
        threads.start(self._ticker, "rlsaudio-progress")

    def _ticker(self) -> None:
        while True:
            time.sleep(TICK_S)
            with self._lock:
                if self.label and time.monotonic() - self._drawn >= TICK_S:
                    self._draw(force=True)

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or not self.label or (not force and now - self._drawn < 0.1):
            return
        self._drawn = now
        elapsed = int(now - self._started)
        clock = f"{elapsed // 60}:{elapsed % 60:02d}"
        amount = f"{self.done}/{self.total} {self.unit}" if self.unit else f"{100 * self.done // self.total:3d}%"
        width = max(20, _columns(self.stream) - 1)  # the last column would wrap on some terminals
        fixed = len(amount) + len(clock) + 2
        # The bar gives way first (down to 10), then the label is shortened; a very narrow
        # terminal gets no bar at all.
        bar = min(BAR, max(10, width - fixed - 3 - len(self.label)))
        if width - fixed - bar - 3 < 12:
            bar = 0
        room = width - fixed - (bar + 3 if bar else 0)
        label = _fit(self.label, max(1, room))
        filled = int(bar * self.done / self.total)
        middle = f" [{'#' * filled}{' ' * (bar - filled)}]" if bar else ""
        try:
            self.stream.write(f"\r\033[K{label}{middle} {amount} {clock}")
            self.stream.flush()
        except (OSError, ValueError):
            self.enabled = False
            return
        if self.done == self.total:
            self._finish()

    def _finish(self) -> None:
        if self.enabled and self.label:
            try:
                self.stream.write("\r\033[K")
                self.stream.flush()
            except (OSError, ValueError):
                self.enabled = False
        self.label = ""


def _fit(text: str, width: int) -> str:
    """`text` in at most `width` characters: shortened in the middle with "…" (the end of a
    label, "... for restless legs.mp3", says which track as much as its start)."""
    if len(text) <= width:
        return text
    if width < 5:
        return text[:width]
    head = (width - 1) * 2 // 3
    return text[:head] + "\u2026" + text[len(text) - (width - 1 - head):]


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
