"""Speaking many phrases on every core: a pool of single-threaded synthesis processes.

A neural voice (Piper) on one thread per process is faster, phrase for phrase, than one
process running onnxruntime's own thread pool over both cores: each phrase is too short to
keep two threads busy. So a cold build hands its missing phrases, a few at a time, to worker
processes (one per core, each loading the voice once) and takes back finished clips; the
parent stores them in the cache, first writer winning, exactly as if it had spoken them.

Engines that are fast anyway (espeak) or that tests count phrase by phrase (the fake engine)
say `parallel = False` and speak in process.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from ..base.errors import EngineError
from ..system import workers
from ..system.cache import Cache, Clip, decode_clip, encode_clip
from .engines.base import get_engine
from .profile import VoiceProfile

if TYPE_CHECKING:
    from .pronounce import Pronouncer

CHUNK = 4  # phrases per task: small enough for an even split and a smooth progress bar
MIN_PHRASES = 16  # fewer than this: not worth starting processes


def parallel_worth_it(voice: VoiceProfile, missing: int, jobs: int) -> bool:
    return jobs > 1 and missing >= MIN_PHRASES and getattr(get_engine(voice.engine), "parallel", False)


def _speak_chunk(voice: VoiceProfile, cache_root: str, phrases: list[tuple[str, float]],
                 pronounce: "Pronouncer | None" = None) -> list[tuple[str, float, bytes]]:
    """Worker: speak a few phrases, keep them in the shared cache, hand them back."""
    from .synth import SpeechSource

    source = SpeechSource(voice, Cache(Path(cache_root), tidy=False), pronounce)
    out = []
    for text, rate in phrases:
        clip = source.clip(text, rate)
        out.append((text, rate, encode_clip(clip)))
    return out


def speak_in_pool(voice: VoiceProfile, cache: Cache, phrases: Iterable[tuple[str, float]], jobs: int,
                  adopt: Callable[[str, float, Clip], None], progress: Callable[[int], None] | None = None,
                  pronounce: "Pronouncer | None" = None, skip_failures: bool = False) -> None:
    """Speak `phrases` in `jobs` worker processes; `adopt(text, rate, clip)` receives each clip.

    With `skip_failures`, a chunk the engine fails on is left unspoken (a playlist: the track
    that needs it fails later with the engine's own message, and the others go on)."""
    # Longest first, so that the last tasks are short and no process waits long for the other
    # at the end (a cold build of acupressure: 0.4 s less).
    todo = sorted(phrases, key=lambda phrase: len(phrase[0]), reverse=True)
    executor = workers.pool(jobs)
    try:
        pending = {}
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start:start + CHUNK]
            pending[executor.submit(_speak_chunk, voice, str(cache.root), chunk, pronounce)] = chunk
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                chunk = pending.pop(future)
                try:
                    results = future.result()
                except EngineError:
                    if not skip_failures:
                        raise
                    results = []
                except BrokenProcessPool:
                    raise EngineError(f"a {voice.engine} speech process stopped unexpectedly (killed, or out of "
                                      "memory); build again") from None
                for text, rate, raw in results:
                    clip = decode_clip(raw)
                    if clip is None:
                        raise EngineError(f"a {voice.engine} speech process sent back a damaged clip; build again")
                    adopt(text, rate, clip)
                if progress:
                    progress(len(chunk))
    except BaseException:
        workers.stop(executor)
        raise
    executor.shutdown(wait=True)
