"""The narration timeline: a pure function from a Routine to timed events.

No audio library, no file I/O, no clock. The only outside knowledge is `speech_len`,
a function that says how many samples a phrase lasts at a rate; `plan --estimate`
passes an estimate from the voice's words per minute, everything else passes the exact
length of the cached clip, so `plan` and `build` agree to the sample.

Every event is contiguous with the next: the timeline is a list of speech, silence and
tone events covering the whole session. Times are integer samples at SAMPLE_RATE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator

from .errors import FitError, Problem
from .routine import INLINE_PAUSE, Breathing, Routine, Step
from .units import SAMPLE_RATE, format_length, ms_to_samples, parse_duration, samples_to_seconds

SpeechLength = Callable[[str, float], int]

PRESS = "Press."
RELEASE = "And release."
MASSAGE_START = "Press and massage."
MASSAGE_END = "And release."
SWITCH = "Now switch to your {side} side."
TIME_LEFT = "Thirty seconds left."
BREATHE_IN = "Breathe in."
BREATHE_OUT = "And out."

TIME_LEFT_MIN_MS = 60_000
TIME_LEFT_AT_MS = 30_000
FIT_MIN, FIT_MAX = 0.25, 4.0


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
    time_left_db: float = -6.0
    pacer: str = "tones"  # or "silence"
    pacer_db: float = -20.0
    rate_start: float = 1.0
    rate_end: float = 1.0
    gain_end_db: float = 0.0
    tail_ms: int = 0
    fade_out_ms: int = 0


@dataclass(frozen=True)
class Event:
    start: int
    length: int
    kind: str  # "speech" | "silence" | "tone"
    text: str = ""  # speech: what is said
    reason: str = ""  # silence: hold, rest, pause, massage, breath, gap; tone: its name
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


@dataclass(frozen=True)
class Timeline:
    title: str
    events: tuple[Event, ...]
    chapters: tuple[Chapter, ...]
    mode: str = "massage"
    fade_out: int = 0  # samples of master fade at the end
    tail: int = 0  # samples after the session proper (bedtime --tail): soundscape only

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
            return out

        return {
            "title": self.title,
            "duration": samples_to_seconds(self.length),
            "chapters": [
                {"title": c.title, "start": samples_to_seconds(c.start), "end": samples_to_seconds(c.end)}
                for c in self.chapters
            ],
            "events": [event(e) for e in self.events],
        }


def estimate_speech(words_per_minute: float) -> SpeechLength:
    """A speech length estimate from a speaking rate, for plans made before synthesis."""

    def length(text: str, rate: float) -> int:
        words = max(1, len(text.split()))
        seconds = words * 60.0 / (words_per_minute * rate) + 0.25
        return round(seconds * SAMPLE_RATE)

    return length


# --------------------------------------------------------------------------- pieces
# The builder first lays out pieces (lengths only), then fits flexible silences to a
# target length if asked, then assigns start times. Pieces marked `flexible` are the
# step pauses and the rests between presses: the only parts `--length` may change.


@dataclass
class _Piece:
    kind: str
    length: int
    text: str = ""
    reason: str = ""
    gain_db: float = 0.0
    rate: float = 1.0
    flexible: bool = False
    chapter: str | None = None  # a chapter starts with this piece


@dataclass
class _SpanItem:
    offset: int
    piece: _Piece
    priority: int
    truncatable: bool = False


@dataclass
class _Voice:
    """The per-step voice: rate and gain change step by step in bedtime's wind-down."""

    speech_len: SpeechLength
    rate: float = 1.0
    gain_db: float = 0.0

    def piece(self, text: str, gain_db: float = 0.0) -> _Piece:
        return _Piece("speech", self.speech_len(text, self.rate), text=text,
                      gain_db=round(self.gain_db + gain_db, 3), rate=self.rate)


@dataclass
class _Layout:
    style: Style
    voice: _Voice
    pace_guided: int
    pieces: list[_Piece] = field(default_factory=list)
    pending_chapter: str | None = None

    def add(self, piece: _Piece) -> None:
        if piece.length <= 0:
            return
        if self.pending_chapter is not None:
            piece.chapter, self.pending_chapter = self.pending_chapter, None
        self.pieces.append(piece)

    def silence(self, ms: int, reason: str, *, flexible: bool = False) -> None:
        self.add(_Piece("silence", ms_to_samples(ms), reason=reason, flexible=flexible))

    def tone(self, name: str, ms: int, gain_db: float) -> None:
        self.add(_Piece("tone", ms_to_samples(ms), reason=name, gain_db=round(self.voice.gain_db + gain_db, 3)))

    def say(self, text: str, gain_db: float = 0.0) -> None:
        """Narration: sentences become speech pieces, [2s] markers exact silences."""
        previous_was_speech = False
        for kind, value in split_narration(text):
            if kind == "pause":
                self.silence(value, "pause")
                previous_was_speech = False
            else:
                if previous_was_speech:
                    self.silence(self.style.sentence_gap_ms, "gap")
                self.add(self.voice.piece(value, gain_db))
                previous_was_speech = True

    def cue_gap(self) -> None:
        if self.pieces and self.pieces[-1].kind != "silence":
            self.silence(self.style.cue_gap_ms, "gap")

    # -- steps

    def step(self, step: Step, side: str | None, first_side: bool) -> None:
        def sub(text: str) -> str:
            return text.replace("{side}", side) if side else text

        if side and not first_side:
            self.say(sub(step.switch or SWITCH))
            self.cue_gap()
        if step.say:
            self.say(sub(step.say))
        elif step.breathing and step.breathing.cycles:
            b = step.breathing
            self.say(f"Breathe in for {_seconds(b.inhale_ms)}, and out for {_seconds(b.exhale_ms)}.")
        if step.timed_ms is not None:
            self.timed(step, sub)
        elif step.breathing and step.breathing.cycles:
            self.cue_gap()
            b = step.breathing
            self.span(ms_to_samples(b.cycles * b.cycle_ms), "breath", self.breathing_items(b, b.cycles))
        if step.pause_ms:
            self.silence(step.pause_ms, "pause", flexible=True)

    def timed(self, step: Step, sub: Callable[[str], str]) -> None:
        is_hold = step.hold_ms is not None
        start_word, end_word = (PRESS, RELEASE) if is_hold else (MASSAGE_START, MASSAGE_END)
        reason = "hold" if is_hold else "massage"
        span = ms_to_samples(step.timed_ms or 0)
        for press in range(step.repeat):
            cue = step.cue_for(press)
            if press == 0 or cue:
                self.cue_gap()
            if cue:
                self.say(sub(cue))
                self.cue_gap()
            if self.style.chime:
                self.tone(self.style.chime, self.style.chime_ms, self.style.chime_db)
            self.add(self.voice.piece(start_word))
            self.span(span, reason, self.span_items(span, step.breathing))
            self.add(self.voice.piece(end_word))
            if press < step.repeat - 1:
                self.silence(step.rest_ms, "rest", flexible=True)

    def span_items(self, span: int, breathing: Breathing | None) -> list[_SpanItem]:
        items: list[_SpanItem] = []
        if self.style.time_left and span >= ms_to_samples(TIME_LEFT_MIN_MS):
            items.append(_SpanItem(span - ms_to_samples(TIME_LEFT_AT_MS),
                                   self.voice.piece(TIME_LEFT, self.style.time_left_db), priority=3))
        if breathing:
            cycles = span // ms_to_samples(breathing.cycle_ms)
            items += self.breathing_items(breathing, cycles)
        return items

    def breathing_items(self, b: Breathing, cycles: int) -> list[_SpanItem]:
        items = []
        inhale, cycle = ms_to_samples(b.inhale_ms), ms_to_samples(b.cycle_ms)
        for c in range(cycles):
            t = c * cycle
            if c < self.pace_guided:
                items.append(_SpanItem(t, self.voice.piece(BREATHE_IN), priority=2))
                items.append(_SpanItem(t + inhale, self.voice.piece(BREATHE_OUT), priority=2))
            elif self.style.pacer == "tones":
                for offset, name, length in ((0, "breath-in", inhale), (inhale, "breath-out", cycle - inhale)):
                    tone = _Piece("tone", length, reason=name,
                                  gain_db=round(self.voice.gain_db + self.style.pacer_db, 3))
                    items.append(_SpanItem(t + offset, tone, priority=1, truncatable=True))
        return items

    def span(self, length: int, reason: str, items: list[_SpanItem]) -> None:
        """A span of exactly `length` samples; items inside it never lengthen it."""
        for piece in _resolve_span(length, reason, items):
            self.add(piece)


def _seconds(ms: int) -> str:
    s = ms / 1000
    return f"{s:g} second" + ("" if s == 1 else "s")


def _resolve_span(length: int, reason: str, items: list[_SpanItem]) -> list[_Piece]:
    """Place items by priority; an item that would overlap a stronger one (or run past the
    span) is shortened if it is a tone, else dropped. Gaps become silence."""
    placed: list[tuple[int, _Piece]] = []
    min_tone = ms_to_samples(400)
    for item in sorted(items, key=lambda i: (-i.priority, i.offset)):
        start = item.offset
        end = min(start + item.piece.length, length) if item.truncatable else start + item.piece.length
        for other_start, other in placed:
            other_end = other_start + other.length
            if start < other_end and other_start < end:
                if item.truncatable and other_start > start:
                    end = min(end, other_start)
                else:
                    end = start  # dropped
        if end > length or end - start <= 0 or (item.truncatable and end - start < min_tone):
            continue
        placed.append((start, replace(item.piece, length=end - start)))
    out: list[_Piece] = []
    cursor = 0
    for start, piece in sorted(placed, key=lambda p: p[0]):
        if start > cursor:
            out.append(_Piece("silence", start - cursor, reason=reason))
        out.append(piece)
        cursor = start + piece.length
    if length > cursor:
        out.append(_Piece("silence", length - cursor, reason=reason))
    return out


# --------------------------------------------------------------------------- narration


def split_narration(text: str) -> Iterator[tuple[str, object]]:
    """("speech", sentence) and ("pause", ms) items from a `say` text with [2s] markers."""
    for i, part in enumerate(INLINE_PAUSE.split(text)):
        if i % 2:
            yield "pause", parse_duration(part)
            continue
        for sentence in split_sentences(part):
            yield "speech", sentence


def split_sentences(text: str) -> list[str]:
    text = " ".join(text.split())
    if not text:
        return []
    # Split after . ! ? (and closing quotes) followed by a space and a capital or digit.
    parts = re.split(r"(?:(?<=[.!?])|(?<=[.!?][\"'\u201d\u2019)]))\s+(?=[\"'\u201c\u2018(]?[A-Z0-9])", text)
    return [p.strip() for p in parts if p.strip() and any(ch.isalnum() for ch in p)]


# --------------------------------------------------------------------------- build


def build_timeline(routine: Routine, style: Style, speech_len: SpeechLength, *, target_ms: int | None = None) -> Timeline:
    """Lay out a routine. With `target_ms`, pauses and rests are scaled to hit that length."""
    pieces = _lay_out(routine, style, speech_len)
    if target_ms is not None:
        _fit(pieces, ms_to_samples(target_ms), routine)
    return _assemble(routine.title, pieces, style)


def _lay_out(routine: Routine, style: Style, speech_len: SpeechLength) -> list[_Piece]:
    layout = _Layout(style, _Voice(speech_len), routine.pace.guided_breaths)
    count = len(routine.steps)
    for index, step in enumerate(routine.steps):
        progress = index / (count - 1) if count > 1 else 0.0
        layout.voice.rate = round(style.rate_start + (style.rate_end - style.rate_start) * progress, 3)
        layout.voice.gain_db = round(style.gain_end_db * progress, 3)
        for n, side in enumerate(step.sides or (None,)):
            # A chapter starts on its first sound, so skipping to it lands on the words;
            # the gap before it closes the previous chapter. The first one starts at 0.
            title = f"{step.title} ({side})" if side else step.title
            if layout.pieces:
                layout.silence(style.step_gap_ms, "gap")
                layout.pending_chapter = title
            else:
                layout.pending_chapter = title
                layout.silence(style.lead_in_ms, "gap")
            layout.step(step, side, n == 0)
    if style.closing_bell:
        layout.silence(style.step_gap_ms, "gap")
        layout.tone("bell", 4000, style.chime_db)
    if style.tail_ms:
        layout.silence(style.tail_ms, "gap")
    else:
        layout.silence(1000, "gap")
    return layout.pieces


def _fit(pieces: list[_Piece], target: int, routine: Routine) -> None:
    flexible = [p for p in pieces if p.flexible]
    base = sum(p.length for p in flexible)
    fixed = sum(p.length for p in pieces) - base
    shortest = fixed + sum(round(p.length * FIT_MIN) for p in flexible)
    longest = fixed + sum(round(p.length * FIT_MAX) for p in flexible)
    if not shortest <= target <= longest:
        raise FitError(Problem(
            routine.source or routine.title, f"cannot fit {routine.title!r} to {format_length(target)}: with its "
            f"pauses and rests scaled it can last from {format_length(shortest)} to {format_length(longest)}; "
            "choose a --length in that range",
        ))
    if not flexible:
        return
    factor = (target - fixed) / base
    for p in flexible:
        p.length = round(p.length * factor)
    # Rounding leaves a few samples over or under: give them to the longest flexible piece.
    longest_piece = max(flexible, key=lambda p: p.length)
    longest_piece.length += target - fixed - sum(p.length for p in flexible)


def _assemble(title: str, pieces: list[_Piece], style: Style) -> Timeline:
    events: list[Event] = []
    starts: list[tuple[str, int]] = []
    cursor = 0
    for p in pieces:
        if p.length <= 0:
            continue
        if p.chapter is not None:
            starts.append((p.chapter, cursor))
        if (events and p.chapter is None and p.kind == "silence" and events[-1].kind == "silence"
                and events[-1].reason == p.reason):
            last = events.pop()
            events.append(replace(last, length=last.length + p.length))
        else:
            events.append(Event(cursor, p.length, p.kind, p.text, p.reason, p.gain_db, p.rate))
        cursor += p.length
    chapters = tuple(
        Chapter(name, start, starts[i + 1][1] if i + 1 < len(starts) else cursor)
        for i, (name, start) in enumerate(starts)
    )
    fade = min(ms_to_samples(style.fade_out_ms), cursor)
    return Timeline(title, tuple(events), chapters, style.mode, fade, ms_to_samples(style.tail_ms))
