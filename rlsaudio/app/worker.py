"""What runs in the app's worker processes: a build with its progress, an exact plan, a voice sample.

Each job runs in a process of its own (multiprocessing's spawn context, started by builds.py) and
talks to the app through one end of a pipe:

    ("progress", 0.0..1.0)          during a build's long stages
    ("done", result)                a JSON-able dict (a sample: bytes)
    ("error", status, [lines])      the lines the CLI would print, and the HTTP status they mean

SIGTERM unwinds the job like Ctrl-C in the CLI (build_track's staging folder is removed, nothing
is committed), and the process leaves at once after that; if the app itself dies, the job stops.
The speech engine is only ever loaded here, never in the app's own process.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any, Callable

SAMPLE_TEXT = "Breathe in slowly, and let your legs grow heavy and still."
UNWIND_S = 10.0  # after SIGTERM, time to unwind before the process ends regardless

# Where each stage of a build sits on the progress bar: speech is most of a cold build.
STAGES = (("Speaking", 0.02, 0.6), ("Measuring", 0.6, 0.78), ("Encoding", 0.78, 0.98))


class PipeReporter:
    """A Reporter (system/progress.py) that sends the build's progress, 0..1, up the pipe."""

    def __init__(self, send: Callable[[tuple], None]):
        self.send = send
        self.low, self.high = 0.0, 0.02
        self.total = 0
        self.done = 0
        self.sent = -1.0
        self.sent_at = 0.0
        self.warnings: list[str] = []

    def start(self, label: str, total: int) -> None:
        for prefix, low, high in STAGES:
            if label.startswith(prefix):
                self.low, self.high = low, high
                break
        else:
            self.low = self.high
        self.total, self.done = max(0, int(total)), 0
        self._send(force=True)

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._send()

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def line(self, message: str) -> None:
        pass

    @property
    def progress(self) -> float:
        share = min(1.0, self.done / self.total) if self.total else 0.0
        return round(self.low + (self.high - self.low) * share, 4)

    def _send(self, force: bool = False) -> None:
        value = self.progress
        now = time.monotonic()
        if force or value - self.sent >= 0.01 or now - self.sent_at > 0.5:
            self.sent, self.sent_at = value, now
            self.send(("progress", value))


def _stop(signum, frame) -> None:
    code = 128 + signum

    def leave() -> None:
        time.sleep(UNWIND_S)
        os._exit(code)

    threading.Thread(target=leave, name="rlsaudio-app-exit", daemon=True).start()
    raise SystemExit(code)


def _watch_parent(parent: int) -> None:
    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=watch, name="rlsaudio-app-parent", daemon=True).start()


def status_of(exc: BaseException) -> int:
    """The HTTP status an error means: 400 bad input, 422 a length that cannot fit or a voice that
    cannot run here, 500 anything else (a failed render)."""
    from ..base.errors import EngineError, FitError, InputError

    if isinstance(exc, FitError):
        return 422
    if isinstance(exc, InputError):
        return 400
    if isinstance(exc, EngineError):
        return 422
    return 500


def run(kind: str, payload: Any, conn, parent: int) -> None:
    """The worker process's entry point (spawned)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    _watch_parent(parent)
    from ..base.errors import RlsaudioError

    try:
        result = JOBS[kind](payload, conn.send)
        conn.send(("done", result))
    except RlsaudioError as exc:
        conn.send(("error", status_of(exc), exc.lines()))
    except (SystemExit, KeyboardInterrupt):
        raise
    except MemoryError:
        conn.send(("error", 500, ["out of memory while building; close other programs and try again"]))
    except Exception as exc:  # a bug: one line for the person, the traceback for the log
        import traceback

        traceback.print_exc(file=sys.stderr)
        conn.send(("error", 500, [f"the build failed unexpectedly ({type(exc).__name__}: {exc})"]))
    finally:
        conn.close()


# --------------------------------------------------------------------------- jobs


def build(payload: tuple, send: Callable[[tuple], None]) -> dict:
    """Build one track into the output folder, with the editable routine file for a composition."""
    from pathlib import Path

    from ..plan import plan_track
    from ..publish.track import build_track, file_stem

    settings, out_dir = payload
    reporter = PipeReporter(send)
    plan = plan_track(settings.request())
    options = settings.track_options()
    routine_name = file_stem(plan, options) + ".toml" if settings.composed else None
    extras = None
    if routine_name:
        def extras(timeline) -> dict[str, str]:
            return {routine_name: routine_file(settings, plan, timeline)}
    track = build_track(plan, Path(out_dir), options, reporter, extras=extras)
    return {"path": str(track.path), "title": track.title, "routine_file": routine_name,
            "warnings": [str(w) for w in plan.warnings] + reporter.warnings, "voice": plan.voice.name,
            "mode": plan.request.mode.mode}


def routine_file(settings, plan, timeline) -> str:
    """The composition as `compose` writes it: rounds and presses fitted to the length, and the
    [session] table that builds the same track again."""
    from ..base.safeio import stamped
    from ..script.compose import routine_file as composed

    return stamped(composed(plan.request.compose, plan.library, timeline, plan.request.mode,
                            plan.request.voice or plan.voice.name, plan.request.length_ms))


def plan(payload: tuple, send: Callable[[tuple], None] | None = None) -> dict:
    """The plan as `plan --json` prints it, with the lengths --length accepts, the cautions of its
    points and its warnings. Exact (speech synthesised or from the cache) unless `estimate`."""
    settings, estimate = payload
    return plan_details(settings, estimate)


def plan_details(settings, estimate: bool) -> dict:
    from ..base.errors import FitError
    from ..base.units import samples_to_seconds
    from ..plan import plan_track
    from ..script.timeline import length_range

    session = plan_track(settings.request(), need_voice=not estimate)
    if estimate:
        from ..script.timeline import estimate_speech

        speech_len = estimate_speech(session.voice.words_per_minute)
    else:
        from ..publish.render import speak
        from ..system.cache import Cache
        from ..system.progress import Quiet

        speech_len = speak(session, Cache(), Quiet()).length
    shortest, longest = length_range(session.draft, speech_len)
    details = {
        "range": {"min": samples_to_seconds(shortest), "max": samples_to_seconds(longest)},
        "estimated": bool(estimate),
        "voice": session.voice.name,
        "title": session.title,
        "warnings": [str(w) for w in session.warnings],
        "cautions": _cautions(session),
    }
    try:
        timeline = session.timeline(speech_len)
    except FitError as exc:
        details["error"] = "\n".join(exc.lines())
        details["lines"] = exc.lines()
        details["status"] = 422
        return details
    details["plan"] = timeline.to_json()
    details["cautions"] = _cautions(session, timeline)
    return details


def _cautions(session, timeline=None) -> dict[str, list[str]]:
    from ..base.errors import PointsError

    codes = [c.point for c in timeline.chapters if c.point] if timeline is not None else []
    out: dict[str, list[str]] = {}
    for code in dict.fromkeys(codes):
        try:
            point = session.library.lookup(code)
        except PointsError:
            continue
        texts = [c.text for c in session.library.cautions_of(point.code)]
        if texts:
            out[point.code] = texts
    return out


def sample(payload: str, send: Callable[[tuple], None] | None = None) -> bytes:
    """A few seconds of a voice, as a WAV file."""
    import io
    import wave

    from ..base.units import SAMPLE_RATE
    from ..speech.engines.base import configure_pydub, get_engine, synthesize_clip
    from ..speech.voices import load_profile
    from ..system import ffmpeg as ff

    profile = load_profile(payload)
    configure_pydub(ff.find())
    samples = synthesize_clip(get_engine(profile.engine), SAMPLE_TEXT, profile, 1.0)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(samples.astype("<i2").tobytes())
    return out.getvalue()


JOBS = {"build": build, "plan": plan, "sample": sample}
