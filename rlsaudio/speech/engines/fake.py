"""A fake speech engine for fast tests: it "speaks" a tone whose length follows the text.

Each word becomes 120 ms of a vowel-like buzz and words are separated by 40 ms of quiet,
so tests get speech-shaped, deterministic audio in microseconds. Like the real engines it
leaves silence at both ends, which the clip pipeline must trim. Profile options let tests
simulate faults: a phrase that hangs, a phrase that crashes, an engine that cannot load.
"""

from __future__ import annotations

import os
import signal
import time
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ...base.errors import EngineError
from ...base.units import SAMPLE_RATE
from .base import Engine, Option, segment

if TYPE_CHECKING:
    from pydub import AudioSegment

    from ..profile import VoiceProfile

WORD_MS = 120
SPACE_MS = 40
EDGE_MS = 60


class FakeEngine(Engine):
    name: ClassVar[str] = "fake"
    options: ClassVar[dict[str, Option]] = {
        "pitch": Option(float, 180.0, 60.0, 1000.0, "buzz frequency in Hz"),
        "hang_on": Option(str, "", help="a phrase containing this text never finishes (tests timeouts)"),
        "fail_on": Option(str, "", help="a phrase containing this text raises (tests engine failures)"),
        "unavailable": Option(str, "", help="pretend the engine cannot run here, for this reason"),
        "crash_on": Option(str, "", help="a phrase containing this text kills the process (tests worker crashes)"),
        "seconds": Option(float, 0.0, 0.0, 60.0, "each phrase takes this long, as a slow voice (tests progress)"),
    }
    calls: ClassVar[list[str]] = []  # every phrase synthesised in this process, for tests

    @property
    def parallel(self) -> bool:  # type: ignore[override]
        """Speak in a pool of processes, as Piper does, when RLSAUDIO_FAKE_PARALLEL=1 (tests of that
        path); otherwise in process, so that tests can count the phrases spoken (`calls`)."""
        return os.environ.get("RLSAUDIO_FAKE_PARALLEL") == "1"

    def unavailable_reason(self, profile: "VoiceProfile") -> str | None:
        return profile.options.get("unavailable") or None

    def version(self) -> str:
        return "fake-1"

    def synthesize(self, text: str, profile: "VoiceProfile", rate: float) -> "AudioSegment":
        opts = profile.options
        if opts.get("hang_on") and opts["hang_on"] in text:
            time.sleep(3600)
        if opts.get("crash_on") and opts["crash_on"] in text:
            os.kill(os.getpid(), signal.SIGKILL)
        if opts.get("fail_on") and opts["fail_on"] in text:
            raise EngineError(f"fake engine failed on {text!r}")
        if opts.get("seconds"):
            time.sleep(float(opts["seconds"]))
        FakeEngine.calls.append(text)
        words = max(1, len(text.split()))
        word = int(SAMPLE_RATE * WORD_MS / 1000 / rate)
        space = int(SAMPLE_RATE * SPACE_MS / 1000 / rate)
        edge = int(SAMPLE_RATE * EDGE_MS / 1000)
        t = np.arange(word) / SAMPLE_RATE
        pitch = float(opts.get("pitch", 180.0))
        buzz = 0.5 * np.sin(2 * np.pi * pitch * t) + 0.25 * np.sin(2 * np.pi * 2 * pitch * t)
        buzz *= np.sin(np.pi * np.arange(word) / word) ** 0.5  # soft word envelope
        out = np.zeros(2 * edge + words * word + (words - 1) * space, dtype=np.float64)
        for w in range(words):
            start = edge + w * (word + space)
            out[start:start + word] = buzz
        return segment((out * 12000).astype("<i2").tobytes(), SAMPLE_RATE)
