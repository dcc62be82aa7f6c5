"""Background threads that never take the process's signals.

A signal sent to a process (Ctrl-C, SIGTERM from a terminal or from a playlist's parent) may
be delivered to any of its threads. Python runs its handler only in the main thread, and only
when that thread next runs Python code: if the kernel picked a helper thread while the main
thread sat in a blocking read, the handler would never run and the process would hang. Every
helper thread therefore starts with these signals blocked, so the kernel always picks the
main thread.
"""

from __future__ import annotations

import signal
import threading
from typing import Callable

_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


def start(target: Callable[[], None], name: str) -> threading.Thread:
    """Start a daemon thread with SIGINT, SIGTERM and SIGHUP blocked (it inherits the mask)."""
    thread = threading.Thread(target=target, name=name, daemon=True)
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return thread
