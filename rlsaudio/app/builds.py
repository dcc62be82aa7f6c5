"""Builds, queued and run one at a time, each in a worker process; and the helper for exact plans
and voice samples, one at a time in a process of its own.

The app's own process never loads a speech engine and never renders audio: it stays responsive
while a build runs. A build is cancelled by stopping its process (SIGTERM, which unwinds it as
Ctrl-C does in the CLI, then SIGKILL after a grace period). Either way the CLI's guarantee holds:
build_track commits atomically from a staging folder, so a cancelled or failed build leaves
nothing behind; the app then removes the staging folders of dead processes (clean_stale) and the
output folder itself if this build created it and it is still empty.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..base import limits
from . import worker

GRACE_S = 5.0  # after SIGTERM, before SIGKILL
STATES = ("queued", "running", "done", "failed", "cancelled")


class QueueFull(Exception):
    pass


@dataclass
class Job:
    id: str
    settings: Any
    state: str = "queued"
    progress: float = 0.0
    error: str = ""
    lines: list[str] = field(default_factory=list)
    status: int = 0
    result: dict | None = None
    cancel_requested: bool = False
    created: float = field(default_factory=time.time)


def _context():
    return multiprocessing.get_context("spawn")


class Process:
    """One job in a spawned worker process, read through a pipe."""

    def __init__(self, kind: str, payload: Any):
        ctx = _context()
        self.conn, child = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=worker.run, args=(kind, payload, child, os.getpid()),
                                   name=f"rlsaudio-app-{kind}")
        self.process.start()
        child.close()

    def messages(self, stop: Callable[[], bool], timeout: float | None = None):
        """Messages from the worker until it ends, or until `stop()` (then the process is stopped)."""
        started = time.monotonic()
        while True:
            if stop() or (timeout is not None and time.monotonic() - started > timeout):
                self.stop()
                return
            try:
                ready = self.conn.poll(0.1)
            except (OSError, EOFError):
                break
            if ready:
                try:
                    message = self.conn.recv()
                except (EOFError, OSError):
                    break
                yield message
                if message[0] in ("done", "error"):
                    break
            elif not self.process.is_alive() and not self._pending():
                break
        self.process.join(GRACE_S)
        if self.process.is_alive():
            self.stop()
        self.close()

    def _pending(self) -> bool:
        try:
            return self.conn.poll(0)
        except (OSError, EOFError):
            return False

    def stop(self) -> None:
        """SIGTERM (the job unwinds and removes its staging folder), then SIGKILL after GRACE_S."""
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(GRACE_S)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(GRACE_S)
        self.close()

    def close(self) -> None:
        try:
            self.conn.close()
        except OSError:
            pass


def run_job(kind: str, payload: Any, timeout: float | None = None) -> tuple[str, Any]:
    """Run one job to its end: ("done", result) or ("error", (status, lines))."""
    process = Process(kind, payload)
    outcome: tuple[str, Any] = ("error", (500, [f"the {kind} worker stopped unexpectedly"]))
    timed_out = True
    for message in process.messages(lambda: False, timeout):
        if message[0] == "done":
            outcome, timed_out = ("done", message[1]), False
        elif message[0] == "error":
            outcome, timed_out = ("error", (message[1], message[2])), False
    if timed_out and timeout is not None:
        outcome = ("error", (500, [f"the {kind} took longer than {timeout:g} s and was stopped"]))
    return outcome


class Helper:
    """Exact plans and voice samples, one at a time, each in a short-lived worker process."""

    PLAN_TIMEOUT_S = 900.0
    SAMPLE_TIMEOUT_S = 120.0

    def __init__(self):
        self._lock = threading.Lock()
        self._samples: dict[str, bytes] = {}

    def plan(self, settings) -> tuple[str, Any]:
        with self._lock:
            return run_job("plan", (settings, False), self.PLAN_TIMEOUT_S)

    def sample(self, name: str, ref: str) -> tuple[str, Any]:
        with self._lock:
            if name in self._samples:
                return "done", self._samples[name]
            outcome = run_job("sample", ref, self.SAMPLE_TIMEOUT_S)
            if outcome[0] == "done":
                self._samples[name] = outcome[1]
            return outcome


class Builds:
    """The queue: jobs by id, run in order, one at a time."""

    def __init__(self, out_dir: Path, on_done: Callable[[Job], None] | None = None):
        self.out_dir = out_dir
        self.on_done = on_done
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self.queue: deque[Job] = deque()
        self.lock = threading.Condition()
        self.running: Job | None = None
        self.closed = False
        from ..system import threads

        self.thread = threads.start(self._run, "rlsaudio-app-builds")

    def submit(self, settings) -> Job:
        with self.lock:
            if len(self.queue) + (self.running is not None) >= limits.MAX_QUEUED_BUILDS:
                raise QueueFull(f"{limits.MAX_QUEUED_BUILDS} builds are already waiting; wait for one to finish")
            job = Job(secrets.token_hex(8), settings)
            self.jobs[job.id] = job
            self.queue.append(job)
            self._forget_old()
            self.lock.notify_all()
            return job

    def get(self, job_id: str) -> Job | None:
        with self.lock:
            return self.jobs.get(job_id)

    def cancel(self, job_id: str) -> Job | None:
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                return None
            if job.state == "queued":
                self.queue.remove(job)
                job.state = "cancelled"
            elif job.state == "running":
                job.cancel_requested = True
            self.lock.notify_all()
            return job

    def wait(self, job: Job, timeout: float) -> None:
        """Wait until a job has ended (or the timeout)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while job.state in ("queued", "running") and time.monotonic() < deadline:
                self.lock.wait(0.1)

    def close(self) -> None:
        """Stop: queued builds are cancelled, the running one is stopped."""
        with self.lock:
            self.closed = True
            for job in self.queue:
                job.state = "cancelled"
            self.queue.clear()
            if self.running is not None:
                self.running.cancel_requested = True
            self.lock.notify_all()
        self.thread.join(GRACE_S * 2 + 5)

    def _forget_old(self) -> None:
        ended = [j for j in self.jobs.values() if j.state not in ("queued", "running")]
        for job in ended[:max(0, len(self.jobs) - limits.MAX_BUILD_RECORDS)]:
            del self.jobs[job.id]

    def _run(self) -> None:
        while True:
            with self.lock:
                while not self.queue and not self.closed:
                    self.lock.wait()
                if self.closed:
                    return
                job = self.queue.popleft()
                job.state = "running"
                self.running = job
            try:
                self._build(job)
            except Exception as exc:  # never let the queue die: the job fails with one line
                job.state, job.error, job.status = "failed", f"the build could not run: {exc}", 500
                job.lines = [job.error]
            finally:
                with self.lock:
                    self.running = None
                    self.lock.notify_all()

    def _build(self, job: Job) -> None:
        existed = self.out_dir.exists()
        process = Process("build", (job.settings, str(self.out_dir)))
        ended = False
        for message in process.messages(lambda: job.cancel_requested):
            if message[0] == "progress":
                job.progress = max(job.progress, float(message[1]))
            elif message[0] == "done":
                job.result = message[1]
                self._record(job)  # before anyone can see the job done, so the Library knows it at once
                job.progress, job.state, ended = 1.0, "done", True
            elif message[0] == "error":
                job.status, job.lines = message[1], list(message[2])
                job.error, job.state, ended = "\n".join(job.lines), "failed", True
        if job.cancel_requested and job.state != "done":
            job.state = "cancelled"
        elif not ended:
            job.state, job.status = "failed", 500
            job.error = "the build stopped unexpectedly (its process ended without a result)"
            job.lines = [job.error]
        if job.state != "done":
            self._clean(existed)

    def _record(self, job: Job) -> None:
        if self.on_done is not None:
            try:
                self.on_done(job)
            except Exception:  # a record that cannot be kept only loses the Library's voice column
                pass

    def _clean(self, existed: bool) -> None:
        from ..base.safeio import clean_stale

        if not self.out_dir.is_dir():
            return
        clean_stale(self.out_dir)
        if not existed:
            try:
                self.out_dir.rmdir()  # only when empty: anything else in it stays
            except OSError:
                pass
