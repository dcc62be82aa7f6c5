"""The speech engine interface and registry.

Engines are found through the `rlsaudio.engines` entry point group, exactly as a third
party plugin would register one; the built-in pyttsx3 and piper engines are declared in
pyproject.toml. The fake engine (tones instead of speech, for fast tests) is registered only
when RLSAUDIO_TEST_ENGINES=1, so users never see or get it suggested. An engine module must be
cheap to import: heavy libraries load on first use, so a warm-cache build never loads a voice
model. pydub's AudioSegment is the engines' exchange format, so this module owns pydub.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ...base.errors import EngineError, VoiceError
from ...base.units import SAMPLE_RATE
from ...system import workers

if TYPE_CHECKING:
    from pydub import AudioSegment

    from ..profile import VoiceProfile


@dataclass(frozen=True)
class Option:
    """An engine-specific key of a voice profile."""

    kind: type
    default: Any
    lo: float | None = None
    hi: float | None = None
    help: str = ""


class Engine:
    """One speech engine. Subclasses set `name` and implement the three methods below.

    `synthesize` returns a pydub AudioSegment in whatever format the engine produces;
    `synthesize_clip()` normalises it to mono 16-bit SAMPLE_RATE. Calls come from one worker thread
    at a time per engine (see synth.py), so engines need no locking of their own.
    """

    name: ClassVar[str] = ""
    options: ClassVar[dict[str, Option]] = {}
    # True when several single-threaded processes speak faster than one: a cold build then
    # speaks its phrases in a pool of processes (speechpool.py).
    parallel: ClassVar[bool] = False

    def unavailable_reason(self, profile: "VoiceProfile") -> str | None:
        """None when this profile can be spoken here, else why not (one short sentence)."""
        return None

    def holds_native_threads(self) -> bool:
        """True once the engine runs native threads (a loaded voice model): such a process must not
        fork, and must not be torn down by the interpreter while a call may still be running."""
        return False

    def version(self) -> str:
        """Part of every cache key: a new engine version never reuses old clips."""
        raise NotImplementedError

    def synthesize(self, text: str, profile: "VoiceProfile", rate: float) -> "AudioSegment":
        raise NotImplementedError


TEST_ENGINES = {"fake": "rlsaudio.speech.engines.fake:FakeEngine"}


def _test_engines_enabled() -> bool:
    return os.environ.get("RLSAUDIO_TEST_ENGINES") == "1"


def engine_names() -> list[str]:
    names = {ep.name for ep in entry_points(group="rlsaudio.engines")}
    return sorted(names | (set(TEST_ENGINES) if _test_engines_enabled() else set()))


def loaded_engines() -> list[str]:
    """The engines of this process that run native threads (see Engine.holds_native_threads)."""
    with _instances_lock:
        return [name for name, engine in _instances.items() if engine.holds_native_threads()]


_instances: dict[str, Engine] = {}
_instances_lock = threading.Lock()
workers.forbid_fork_when(lambda: bool(loaded_engines()))


def get_engine(name: str) -> Engine:
    """The process-wide instance of an engine: each is initialised at most once."""
    with _instances_lock:
        if name not in _instances:
            _instances[name] = engine_class(name)()
        return _instances[name]


def engine_class(name: str) -> type[Engine]:
    if name in TEST_ENGINES and _test_engines_enabled():
        return _load_test_engine(name)
    return _plugin_class(name)


@cache
def _load_test_engine(name: str) -> type[Engine]:
    from importlib import import_module

    module, _, attr = TEST_ENGINES[name].partition(":")
    return getattr(import_module(module), attr)


@cache
def _plugin_class(name: str) -> type[Engine]:
    matches = [ep for ep in entry_points(group="rlsaudio.engines") if ep.name == name]
    if not matches:
        raise VoiceError(f"unknown speech engine {name!r}; installed engines: {', '.join(engine_names())}")
    try:
        cls = matches[0].load()
    except Exception as exc:  # a broken plugin must not crash the CLI
        raise EngineError(f"speech engine {name!r} failed to load: {exc}") from exc
    return cls


def audio_segment_class():
    """pydub's AudioSegment, imported without its import-time warnings (no ffmpeg on PATH,
    audioop deprecation): pydub decides its converter at import; it is set when needed."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pydub import AudioSegment
    return AudioSegment


def configure_pydub(ffmpeg: str) -> None:
    """Point pydub at the ffmpeg rlsaudio uses (pydub converts when an engine gives another format)."""
    audio_segment_class().converter = ffmpeg


def segment(pcm: bytes, frame_rate: int, sample_width: int = 2, channels: int = 1) -> "AudioSegment":
    """Wrap an engine's raw PCM once as an AudioSegment (pydub is the engines' exchange format)."""
    return audio_segment_class()(data=pcm, sample_width=sample_width, frame_rate=frame_rate, channels=channels)


# Speaking long text in pieces: an engine's memory grows with the text of one call (espeak-ng
# took 1 GB for a 4.9 KB sentence, Piper 4.5 GB: its decoder holds the whole utterance's
# activations), so no call gets more than a few hundred characters. Text is cut at clause
# punctuation first (the comma kept, so the voice still hears a continuation), then, for a
# clause still too long, after sentence marks and at dashes and brackets, then between words;
# a word longer than the limit is cut. Neighbouring pieces are merged up to the limit.
_LEVELS = (
    re.compile(r"(?<=[,;:])\s+"),
    re.compile(r"(?<=[.!?)\]\u2013\u2014])\s+|\s+(?=[(\[\u2013\u2014])"),
    re.compile(r"\s+"),
)


def chunks(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut where a reader would pause; text
    within the limit is one piece, unchanged."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(text) <= limit:
        return [text] if text.strip() else []
    return [piece for piece in _split(text.strip(), limit, 0) if piece.strip()]


def _split(text: str, limit: int, level: int) -> list[str]:
    if len(text) <= limit:
        return [text]
    if level == len(_LEVELS):  # one "word" longer than the limit
        return [text[i:i + limit] for i in range(0, len(text), limit)]
    out: list[str] = []
    for part in _merge(_LEVELS[level].split(text), limit):
        out += _split(part, limit, level + 1)
    return out


def _merge(parts: list[str], limit: int) -> list[str]:
    merged: list[str] = []
    for part in parts:
        if not part:
            continue
        if merged and len(merged[-1]) + 1 + len(part) <= limit:
            merged[-1] += " " + part
        else:
            merged.append(part)
    return merged


def synthesize_clip(engine: Engine, text: str, profile: "VoiceProfile", rate: float) -> np.ndarray:
    """Synthesise and normalise to mono int16 at SAMPLE_RATE; empty or silent audio is an error."""
    audio = engine.synthesize(text, profile, rate)
    if audio.channels != 1 or audio.sample_width != 2 or audio.frame_rate != SAMPLE_RATE:
        audio = audio.set_channels(1).set_sample_width(2).set_frame_rate(SAMPLE_RATE)
    samples = np.frombuffer(audio.raw_data, dtype="<i2").astype(np.int16)
    if samples.size < SAMPLE_RATE // 100 or not np.any(samples):
        raise EngineError(f"{engine.name} produced no audio for {text!r}; try another voice with --voice")
    return samples
