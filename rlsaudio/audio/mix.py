"""Timeline + clips + tones + soundscape -> PCM, one chunk at a time.

Every sample is a function of its absolute position only (clip offsets, the periodic
soundscape, fade envelopes), so a track can be rendered in chunks with flat memory and the
chunks are identical to rendering the whole buffer at once (`mix_whole`, the reference the
tests compare against).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Iterator, Protocol

import numpy as np

from ..base.units import SAMPLE_RATE
from ..script.timeline import Event, Timeline
from .soundscape import Soundscape
from .tones import tone

CHUNK = SAMPLE_RATE * 10


class ClipSource(Protocol):
    def samples(self, text: str, rate: float) -> np.ndarray: ...


@dataclass(frozen=True)
class MixInput:
    timeline: Timeline
    speech: ClipSource
    volume_db: float = 0.0  # the voice's level relative to tones and soundscape
    soundscape: Soundscape | None = None
    soundscape_db: float = -18.0
    soundscape_fade_in: int = SAMPLE_RATE * 8
    soundscape_fade_out: int = SAMPLE_RATE * 5
    starts: list[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts", [e.start for e in self.timeline.events])


def _event_audio(inp: MixInput, e: Event) -> np.ndarray | None:
    if e.kind == "speech":
        clip = inp.speech.samples(e.text, e.rate)
        gain = np.float32(10 ** ((e.gain_db + inp.volume_db) / 20))
        return clip[: e.length] * gain
    if e.kind == "tone":
        return tone(e.reason, e.length, e.gain_db)
    return None


def _master_envelope(inp: MixInput, idx: np.ndarray) -> np.ndarray | None:
    """The final fade to silence (bedtime), as a function of absolute sample index."""
    total, fade = inp.timeline.length, inp.timeline.fade_out
    if fade <= 0 or idx[-1] < total - fade:
        return None
    u = np.clip((total - idx).astype(np.float64) / fade, 0.0, 1.0)
    return (np.sin(np.pi / 2 * u) ** 2).astype(np.float32)


def _soundscape(inp: MixInput, start: int, stop: int) -> np.ndarray:
    assert inp.soundscape is not None
    total = inp.timeline.length
    out = inp.soundscape.segment(start, stop)
    out *= np.float32(10 ** (inp.soundscape_db / 20))
    if start < inp.soundscape_fade_in or stop > total - inp.soundscape_fade_out:  # only chunks in a fade
        idx = np.arange(start, stop)
        fade_in = np.clip(idx / max(1, inp.soundscape_fade_in), 0.0, 1.0)
        fade_out = np.clip((total - idx) / max(1, inp.soundscape_fade_out), 0.0, 1.0)
        out *= (np.sin(np.pi / 2 * np.minimum(fade_in, fade_out)) ** 2).astype(np.float32)
    return out


def mix_range(inp: MixInput, start: int, stop: int, gain: float = 1.0) -> np.ndarray:
    """Samples [start, stop) of the session as float32."""
    events = inp.timeline.events
    out = np.zeros(stop - start, dtype=np.float32)
    i = max(0, bisect.bisect_right(inp.starts, start) - 1)
    while i < len(events) and events[i].start < stop:
        e = events[i]
        i += 1
        if e.end <= start:
            continue
        audio = _event_audio(inp, e)
        if audio is None:
            continue
        a, b = max(start, e.start), min(stop, e.start + len(audio))
        if b > a:
            out[a - start:b - start] += audio[a - e.start:b - e.start]
    return _finish(inp, out, start, stop, gain)


def _finish(inp: MixInput, out: np.ndarray, start: int, stop: int, gain: float) -> np.ndarray:
    if inp.soundscape is not None:
        out += _soundscape(inp, start, stop)
    out *= np.float32(gain)
    envelope = _master_envelope(inp, np.arange(start, stop))
    if envelope is not None:
        out *= envelope
    return out


def chunks(inp: MixInput, gain: float = 1.0, size: int = CHUNK, end: int | None = None) -> Iterator[np.ndarray]:
    total = inp.timeline.length if end is None else end
    for start in range(0, total, size):
        yield mix_range(inp, start, min(total, start + size), gain)


def mix_whole(inp: MixInput, gain: float = 1.0) -> np.ndarray:
    """The whole session in one buffer: the straightforward reference for `chunks`."""
    total = inp.timeline.length
    out = np.zeros(total, dtype=np.float32)
    for e in inp.timeline.events:
        audio = _event_audio(inp, e)
        if audio is not None:
            end = min(total, e.start + len(audio))
            out[e.start:end] += audio[: end - e.start]
    return _finish(inp, out, 0, total, gain)


def to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * np.float32(32767)), -32768, 32767).astype("<i2")
