"""Threads: background threads that never take the process's signals, and numpy's BLAS on one.

A signal sent to a process (Ctrl-C, SIGTERM from a terminal or from a playlist's parent) may
be delivered to any of its threads. Python runs its handler only in the main thread, and only
when that thread next runs Python code: if the kernel picked a helper thread while the main
thread sat in a blocking read, the handler would never run and the process would hang. Every
helper thread therefore starts with these signals blocked, so the kernel always picks the
main thread.

numpy's BLAS (OpenBLAS) runs a thread per core for every matrix product, and its threads spin
while they wait for the next one. Our products are small and many (the true-peak meter's
polyphase filter on every clip), so on two cores those threads only compete with the work
that has the cores already: the other speech process, LAME's encoder threads. A cold build's
speech took 14.9 s with them and 12.4 s without (77 phrases, two Piper processes; in one
process, 30.3 CPU-seconds against 22.8, the same audio). Each rlsaudio process therefore keeps
BLAS to one thread (`one_blas_thread`, through threadpoolctl, which finds the library numpy
loaded whatever its build).
"""

from __future__ import annotations

import os
import signal
import sys
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


def one_blas_thread() -> None:
    """Keep numpy's BLAS to one thread in this process and the processes it starts: through the
    environment for a numpy not imported yet (here or in a child), through threadpoolctl for
    one already loaded. A user's own OPENBLAS_NUM_THREADS is kept."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if "numpy" in sys.modules:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=int(os.environ["OPENBLAS_NUM_THREADS"]) or 1, user_api="blas")
