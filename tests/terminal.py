"""Running a command on a pseudo-terminal, as a person at a terminal would.

CI has no terminal, so every path that only runs on one (progress lines, questions asked one at
a time, Ctrl-C from the keyboard) is driven here through a real pty: the command is the session
leader with the pty as its controlling terminal, so a typed Ctrl-C (byte 0x03) reaches its
foreground process group through the line discipline, exactly as from a keyboard.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import struct
import termios
import time
from dataclasses import dataclass, field


@dataclass
class Terminal:
    """A command running on a pty: read what it shows, type into it, wait for it."""

    pid: int
    fd: int
    output: bytearray = field(default_factory=bytearray)
    status: int | None = None

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    def read(self, timeout: float = 0.1) -> None:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.fd], [], [], max(0.0, left))
            if not ready:
                return
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # EIO: the command closed the terminal
                return
            if not chunk:
                return
            self.output += chunk

    def expect(self, needle: str, timeout: float = 30.0) -> None:
        """Read until `needle` has been shown; fail with what was shown if it never is."""
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            if time.monotonic() > deadline or self.poll() is not None and needle not in self.text:
                self.read(0.2)
                if needle in self.text:
                    return
                raise AssertionError(f"{needle!r} never shown; the terminal showed:\n{self.text[-3000:]}")
            self.read(0.2)

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def ctrl_c(self) -> None:
        self.type("\x03")

    def poll(self) -> int | None:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def wait(self, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"still running after {timeout} s; the terminal showed:\n{self.text[-3000:]}")
            self.read(0.1)
        self.read(0.2)
        os.close(self.fd)
        return self.status

    def kill(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def start(argv: list[str], env: dict[str, str] | None = None, cwd: str | None = None,
          columns: int = 100, rows: int = 30) -> Terminal:
    """Start argv on a new pty of the given size (what `stty size` reports)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: a new session, the pty its controlling terminal
        try:
            import fcntl

            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
            if cwd:
                os.chdir(cwd)
            os.execvpe(argv[0], argv, env if env is not None else os.environ)
        finally:
            os._exit(127)
    return Terminal(pid, fd)


def run(argv: list[str], timeout: float = 60.0, **kwargs) -> Terminal:
    """Run argv to its end on a pty; the Terminal holds what it showed and its exit status."""
    term = start(argv, **kwargs)
    term.wait(timeout)
    return term
