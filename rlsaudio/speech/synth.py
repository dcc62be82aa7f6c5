"""Speech for a build: each distinct phrase comes from the cache or is synthesised once.

Phrases arrive as written; the engine is given their spoken form (pronounce.py), and the
cache is keyed by that spoken form, so a pronunciation change re-synthesises exactly the
phrases it changes.

Engines run on one worker thread per engine, so every phrase can have a timeout: an
engine that hangs becomes a clear error instead of a frozen terminal.

A long phrase (over MAX_CALL_CHARS as spoken, which no bundled routine has) is spoken and
prepared piece by piece (engines.base.chunks: at clauses, then between words), the pieces
joined with a short pause: an engine's memory, and the clip pipeline's, grow with the length
of what it is given at once (a 4.9 KB sentence took espeak and the pipeline to 1 GB, Piper to
4.5 GB), and each piece gets the engine's timeout, so a long valid sentence is never "stuck".
"""

from __future__ import annotations

import queue
import threading
from collections import OrderedDict
from concurrent.futures import Future
from typing import Callable, Iterable

import numpy as np

from ..audio import clips
from ..base.errors import EngineError, RenderError
from ..base.units import ms_to_samples
from ..system import threads
from ..system.cache import CLIP_PIPELINE_VERSION, Cache, Clip, content_key
from .engines.base import chunks, get_engine, synthesize_clip
from .profile import VoiceProfile
from .pronounce import Pronouncer

Progress = Callable[[int], None]

MAX_CALL_CHARS = 400  # spoken characters given to an engine (and the clip pipeline) at once
PIECE_GAP_MS = 250  # between the pieces of a long phrase: a comma's pause


class _EngineThread:
    """Runs an engine's calls on its own daemon thread, one at a time."""

    def __init__(self, name: str):
        self.name = name
        self._jobs: queue.Queue = queue.Queue()
        self.stuck = ""
        threads.start(self._run, f"rlsaudio-{name}")

    def _run(self) -> None:
        while True:
            fn, future = self._jobs.get()
            try:
                future.set_result(fn())
            except BaseException as exc:  # delivered to the caller, who raises it
                future.set_exception(exc)

    def call(self, fn: Callable[[], np.ndarray], timeout: float, what: str) -> np.ndarray:
        if self.stuck:
            raise EngineError(self.stuck)
        future: Future = Future()
        self._jobs.put((fn, future))
        try:
            return future.result(timeout)
        except TimeoutError:
            self.stuck = (f"the {self.name} engine did not finish {what} within {timeout:g}s and seems stuck; "
                          "try again, raise timeout in the voice profile, or use another voice with --voice")
            raise EngineError(self.stuck) from None


_threads: dict[str, _EngineThread] = {}
_threads_lock = threading.Lock()


def _engine_thread(name: str) -> _EngineThread:
    with _threads_lock:
        if name not in _threads or _threads[name].stuck:
            _threads[name] = _EngineThread(name)
        return _threads[name]


class SpeechSource:
    """The speech clips of one voice for one build."""

    MAX_HELD_BYTES = 8 * 1024 * 1024

    def __init__(self, voice: VoiceProfile, cache: Cache, pronounce: Pronouncer | None = None):
        self.voice = voice
        self.cache = cache
        self.pronounce = pronounce or Pronouncer()  # none: every phrase is spoken as written
        self.synthesised = 0  # phrases the engine spoke in this build
        self._lengths: dict[tuple[str, float], int] = {}
        self._keys: dict[tuple[str, float], str] = {}
        self._held: OrderedDict[str, np.ndarray] = OrderedDict()
        self._held_bytes = 0
        self._engine_version: str | None = None

    def key(self, text: str, rate: float) -> str:
        """The cache key of the written phrase `text`: made from what the engine is given."""
        if (text, rate) not in self._keys:
            if self._engine_version is None:
                self._engine_version = get_engine(self.voice.engine).version()
            spoken = self.pronounce.spoken(text)
            # Only a phrase spoken in pieces has the pieces' settings in its key: every other
            # phrase keeps the key (and the cached clip) it always had.
            pieces = ("pieces", MAX_CALL_CHARS, PIECE_GAP_MS) if len(spoken) > MAX_CALL_CHARS else ()
            self._keys[(text, rate)] = content_key(
                "clip", CLIP_PIPELINE_VERSION, self.voice.engine, self._engine_version,
                self.voice.cache_identity(), round(rate, 4), "spoken", self.pronounce.version,
                spoken, *pieces)
        return self._keys[(text, rate)]

    def length(self, text: str, rate: float) -> int:
        """Samples the phrase lasts; synthesises it if the cache does not have it."""
        if (text, rate) not in self._lengths:
            self._ensure(text, rate)
        return self._lengths[(text, rate)]

    def prepare(self, phrases: Iterable[tuple[str, float]], progress: Progress | None = None) -> None:
        """Make sure every phrase is cached, speaking the missing ones here, one by one."""
        for text, rate in phrases:
            self.length(text, rate)
            if progress:
                progress(1)

    def missing(self, phrases: Iterable[tuple[str, float]], progress: Progress | None = None) -> list[tuple[str, float]]:
        """The distinct phrases the cache does not hold yet; the others are ready (and counted)."""
        missing = []
        for text, rate in dict.fromkeys(phrases):
            clip = self.cache.get_clip(self.key(text, rate))
            if clip is None:
                missing.append((text, rate))
                continue
            self._lengths[(text, rate)] = int(clip.samples.size)
            if progress:
                progress(1)
        return missing

    def clip(self, text: str, rate: float) -> Clip:
        """The phrase's clip: from the cache, or spoken now."""
        return self._ensure(text, rate)

    def adopt(self, text: str, rate: float, clip: Clip) -> None:
        """A clip another process spoke for this source; the first clip cached for its key wins."""
        kept = self.cache.put_clip(self.key(text, rate), clip)
        self.synthesised += 1
        self._lengths[(text, rate)] = int(kept.samples.size)

    def _ensure(self, text: str, rate: float) -> Clip:
        key = self.key(text, rate)
        clip = self.cache.get_clip(key)
        if clip is None:
            clip = self.cache.put_clip(key, self._synthesise(text, rate))
        self._lengths[(text, rate)] = int(clip.samples.size)
        return clip

    def _synthesise(self, text: str, rate: float) -> Clip:
        engine = get_engine(self.voice.engine)
        worker = _engine_thread(self.voice.engine)
        spoken = self.pronounce.spoken(text)
        parts = [spoken] if len(spoken) <= MAX_CALL_CHARS else \
            [part for part in chunks(spoken, MAX_CALL_CHARS) if any(ch.isalnum() for ch in part)]
        prepared, levels = [], []
        for n, part in enumerate(parts, start=1):
            what = f"speaking {text[:60]!r}" + (f" (part {n} of {len(parts)})" if len(parts) > 1 else "")
            raw = worker.call(lambda part=part: synthesize_clip(engine, part, self.voice, rate), self.voice.timeout_s,
                              what)
            piece, piece_level = clips.prepare(raw)
            del raw
            if piece.size:
                prepared.append(piece)
                levels.append(piece_level)
        samples = _joined(prepared, ms_to_samples(PIECE_GAP_MS))
        level = max(levels) if levels else float("-inf")
        if samples.size == 0:
            raise EngineError(f"{self.voice.engine} produced only silence for {text!r}")
        self.synthesised += 1
        return Clip(samples, level)

    def samples(self, text: str, rate: float) -> np.ndarray:
        """float32 samples for mixing, from a small memory-bounded LRU over the cache."""
        key = self.key(text, rate)
        held = self._held.get(key)
        if held is not None:
            self._held.move_to_end(key)
            return held
        clip = self.cache.get_clip(key) or self._ensure(text, rate)
        known = self._lengths.get((text, rate))
        if known is not None and clip.samples.size != known:
            raise RenderError(f"the speech cache changed during the build (phrase {text[:40]!r}); another program "
                              "may be writing the same cache: build again")
        data = clip.samples.astype(np.float32) / 32768.0
        self._held[key] = data
        self._held_bytes += data.nbytes
        while self._held_bytes > self.MAX_HELD_BYTES and len(self._held) > 1:
            _, dropped = self._held.popitem(last=False)
            self._held_bytes -= dropped.nbytes
        return data


def _joined(pieces: list[np.ndarray], gap: int) -> np.ndarray:
    """Prepared pieces of one phrase, in order, `gap` samples of silence between them."""
    if len(pieces) <= 1:
        return pieces[0] if pieces else np.zeros(0, np.int16)
    out = np.zeros(sum(p.size for p in pieces) + gap * (len(pieces) - 1), np.int16)
    at = 0
    for piece in pieces:
        out[at:at + piece.size] = piece
        at += piece.size + gap
    return out
