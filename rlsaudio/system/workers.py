"""Worker processes for playlists: a pool whose workers die with their parent.

Workers ignore Ctrl-C (the parent handles it and stops them with SIGTERM, which unwinds the
running track: its staging folder is removed). They also watch their parent: on Linux the
kernel sends SIGTERM when it dies (PR_SET_PDEATHSIG), and everywhere a thread checks that the
parent is still the same process, so a parent killed outright (SIGKILL) never leaves workers
that go on rendering and committing tracks.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_all_start_methods, get_context
from typing import Any, Callable

from . import threads

PR_SET_PDEATHSIG = 1
UNWIND_S = 2.0  # a stopped worker's time to remove what it was writing


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def _die_with(parent: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before we got here
        os.kill(os.getpid(), signal.SIGTERM)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(10)
                os._exit(143)

    threads.start(watch, "rlsaudio-parent-watch")


def _quiet_signals() -> None:
    """A starting worker: Ctrl-C is the parent's to handle, SIGTERM and SIGHUP simply end it.

    Run first in a forked worker (at fork): it inherits the parent's handlers, which raise
    KeyboardInterrupt, and a pool stopped while a worker was still starting printed that
    worker's traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


_AT_FORK = []


def _worker_init(parent: int, engine_threads: int) -> None:
    _quiet_signals()
    os.environ["RLSAUDIO_THREADS"] = str(engine_threads)
    threads.one_blas_thread()
    _die_with(parent)
    # Last: until here SIGTERM simply ends the worker (nothing to clean up yet), instead of an
    # exception inside the initializer, which multiprocessing would print with a traceback.
    signal.signal(signal.SIGTERM, _stop_worker)
    signal.signal(signal.SIGHUP, _stop_worker)


def _stop_worker(signum: int, frame: Any) -> None:
    """Unwind the running task (its staging folder is removed), then leave at once: a worker with
    a voice loaded could otherwise hang in the interpreter's shutdown, its native threads still
    inside a call, until its parent kills it."""
    code = 128 + signum

    def leave() -> None:
        time.sleep(UNWIND_S)
        os._exit(code)

    threads.start(leave, "rlsaudio-worker-exit")
    raise SystemExit(code)


# Checks that say a process must not fork (a speech engine registers "a voice model is loaded":
# its native threads would not survive a fork). Registered by the code that knows, so this
# module needs nothing above it.
_FORK_UNSAFE: list[Callable[[], bool]] = []


def forbid_fork_when(check: Callable[[], bool]) -> None:
    _FORK_UNSAFE.append(check)


def _start_method() -> str:
    """fork starts workers at once; it is only safe in a process with no threads and no speech
    engine loaded (the CLI's case). Otherwise (tests, a library caller) spawn."""
    unsafe = any(check() for check in _FORK_UNSAFE)
    if threading.active_count() == 1 and not unsafe and "fork" in get_all_start_methods():
        return "fork"
    return "spawn"


def pool(jobs: int) -> ProcessPoolExecutor:
    engine_threads = max(1, default_jobs() // jobs)
    method = _start_method()
    if method == "fork" and not _AT_FORK:
        os.register_at_fork(after_in_child=_quiet_signals)
        _AT_FORK.append(True)
    return ProcessPoolExecutor(jobs, mp_context=get_context(method), initializer=_worker_init,
                               initargs=(os.getpid(), engine_threads))


def stop(executor: ProcessPoolExecutor) -> None:
    """Interrupted, or a worker died: stop every worker now (SIGTERM, then SIGKILL after 10 s).

    The workers are stopped before the executor is shut down: when a worker dies, the
    executor's own thread may hold its shutdown lock while it waits for the others to exit."""
    processes = list((executor._processes or {}).values())  # no public API lists a pool's workers
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join()
    executor.shutdown(wait=False, cancel_futures=True)
