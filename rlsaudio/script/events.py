"""The timeline's model: a mode's Style, and the timed events, chapters and spans of a session.

Plain frozen data, no I/O: `layout.py` orders what happens, `timeline.py` times it, and every
later station (the mixer, the tags, the sidecars, the page) reads a `Timeline`. Times are
integer samples at SAMPLE_RATE.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..base.units import SAMPLE_RATE, samples_to_seconds
from .narration import Words, stock_words

SpeechLength = Callable[[str, float], int]


@dataclass(frozen=True)
class Style:
    """How a mode shapes the timeline. Built by `modes.py`; plain data here."""

    mode: str = "massage"
    lead_in_ms: int = 500
    sentence_gap_ms: int = 450
    cue_gap_ms: int = 700
    step_gap_ms: int = 2000
    chime: str | None = "chime"  # tone before "Press."; None = spoken cue only
    chime_ms: int = 900
    chime_db: float = -10.0
    closing_bell: bool = True
    time_left: bool = True
    time_left_min_ms: int = 150_000  # the countdown cue goes only in holds at least this long
    time_left_db: float = -6.0
    pacer: str = "tones"  # or "silence"
    pacer_db: float = -20.0
    rate_start: float = 1.0
    rate_end: float = 1.0
    gain_end_db: float = 0.0
    tail_ms: int = 0
    fade_out_ms: int = 0
    words: Words = field(default_factory=stock_words)  # the narrator's stock words (data/narration.toml)


@dataclass(frozen=True)
class Event:
    start: int
    length: int
    kind: str  # "speech" | "silence" | "tone"
    text: str = ""  # speech: what is said
    reason: str = ""  # silence: hold, rest, pause, massage, breath, ready, gap; tone: its name
    gain_db: float = 0.0  # speech and tones, relative to the leveled voice
    rate: float = 1.0  # speech rate factor relative to the voice profile

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass(frozen=True)
class Chapter:
    title: str
    start: int
    end: int
    point: str = ""  # the code of the point this chapter works on
    side: str = ""  # "right" or "left" for a sided step


@dataclass(frozen=True)
class Span:
    """A stretch the listener is busy with: what it is, which side, and its breathing pattern."""

    kind: str  # hold, massage, rest, pause, breath, ready
    start: int
    end: int
    side: str = ""
    point: str = ""
    inhale: int = 0  # samples, when the span paces breathing
    exhale: int = 0


@dataclass(frozen=True)
class Fitted:
    """What --length chose for one step (by its index in the routine), in samples: how many
    presses, how long each lasts (the shortest, when a remainder made some a sample longer),
    the rest between them and the pause after them."""

    step: int
    repeat: int
    timed: int = 0
    rest: int = 0
    pause: int = 0


@dataclass(frozen=True)
class Timeline:
    title: str
    events: tuple[Event, ...]
    chapters: tuple[Chapter, ...]
    spans: tuple[Span, ...] = ()
    mode: str = "massage"
    fade_out: int = 0  # samples of master fade at the end
    tail: int = 0  # samples after the session proper (bedtime --tail): soundscape only
    fitted: tuple[Fitted, ...] = ()  # what --length chose, step by step (empty without --length)

    @property
    def program_end(self) -> int:
        """Where the session proper ends: loudness is measured up to here."""
        return self.length - self.tail

    @property
    def length(self) -> int:
        return self.events[-1].end if self.events else 0

    def phrases(self) -> list[tuple[str, float]]:
        """Distinct (text, rate) pairs in order of first use."""
        return list(dict.fromkeys((e.text, e.rate) for e in self.events if e.kind == "speech"))

    def to_json(self) -> dict:
        def event(e: Event) -> dict:
            out: dict = {"start": samples_to_seconds(e.start), "duration": samples_to_seconds(e.length), "kind": e.kind}
            if e.kind == "speech":
                out["text"] = e.text
            elif e.kind == "silence":
                out["reason"] = e.reason
            else:
                out["name"] = e.reason
            return out

        def chapter(c: Chapter) -> dict:
            out: dict = {"title": c.title, "start": samples_to_seconds(c.start), "end": samples_to_seconds(c.end)}
            if c.point:
                out["point"] = c.point
            if c.side:
                out["side"] = c.side
            return out

        def span(s: Span) -> dict:
            out: dict = {"kind": s.kind, "start": samples_to_seconds(s.start), "end": samples_to_seconds(s.end)}
            for key in ("side", "point"):
                if getattr(s, key):
                    out[key] = getattr(s, key)
            if s.inhale:
                out["inhale"] = samples_to_seconds(s.inhale)
                out["exhale"] = samples_to_seconds(s.exhale)
            return out

        return {
            "title": self.title,
            "mode": self.mode,
            "duration": samples_to_seconds(self.length),
            "session_end": samples_to_seconds(self.program_end),
            "chapters": [chapter(c) for c in self.chapters],
            "spans": [span(s) for s in self.spans],
            "events": [event(e) for e in self.events],
        }


def estimate_speech(words_per_minute: float) -> SpeechLength:
    """A speech length estimate from a speaking rate, for plans made before synthesis."""

    def length(text: str, rate: float) -> int:
        words = max(1, len(text.split()))
        seconds = words * 60.0 / (words_per_minute * rate) + 0.25
        return round(seconds * SAMPLE_RATE)

    return length
