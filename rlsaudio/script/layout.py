"""Laying a routine out: everything that happens, in order, before any phrase's length is known.

`lay_out(routine, style)` orders speech, silences, tones and spans (holds, massages, rests,
pauses, breathing) with the cues inside them. Its `phrases()` are what the speech engine must
say, so synthesis can run before timing; `timeline.py` then gives every piece its length.
Pure: no audio library, no file I/O, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterator

from ..base.units import ms_to_samples, parse_duration
from .events import SpeechLength, Style
from .routine import INLINE_PAUSE, Breathing, Routine, Step

TIME_LEFT_MIN_MS = 60_000
TIME_LEFT_AT_MS = 30_000
HALFWAY_MIN_MS = 20_000


# routine's --length may change. A composition's --length changes its holds instead.


@dataclass(eq=False)
class _Mark:
    """Pieces that make up one Span share one mark."""

    kind: str
    side: str = ""
    point: str = ""
    inhale: int = 0
    exhale: int = 0


@dataclass(frozen=True)
class _ChapterStart:
    title: str
    point: str
    side: str


@dataclass(eq=False)
class _Piece:
    kind: str  # speech, silence, tone, span
    length: int | None
    text: str = ""
    reason: str = ""
    gain_db: float = 0.0
    rate: float = 1.0
    flexible: bool = False
    chapter: _ChapterStart | None = None  # a chapter starts with this piece
    mark: _Mark | None = None
    items: tuple["_SpanItem", ...] = ()  # a span: what happens inside it
    fit_hold: bool = False  # a hold a composition's --length may change


@dataclass(frozen=True)
class _SpanItem:
    offset: int
    kind: str  # speech or tone
    length: int | None  # None: a phrase whose length comes from speech_len
    text: str = ""
    reason: str = ""
    gain_db: float = 0.0
    rate: float = 1.0
    priority: int = 0
    truncatable: bool = False


@dataclass
class _Voice:
    """The per-step voice: rate and gain change step by step in bedtime's wind-down."""

    rate: float = 1.0
    gain_db: float = 0.0

    def piece(self, text: str, gain_db: float = 0.0) -> _Piece:
        return _Piece("speech", None, text=text, gain_db=round(self.gain_db + gain_db, 3), rate=self.rate)


@dataclass(frozen=True)
class Draft:
    """A routine laid out in order, before any phrase's length is known."""

    routine: Routine
    style: Style
    pieces: tuple[_Piece, ...]

    def estimated_length(self, speech_len: SpeechLength) -> int:
        """The session's length without its tail and before fitting, with these speech lengths."""
        total = sum(p.length if p.length is not None else speech_len(p.text, p.rate) for p in self.pieces)
        return total - ms_to_samples(self.style.tail_ms)

    def phrases(self) -> list[tuple[str, float]]:
        """Every distinct (text, rate) the layout may speak, in order of first use."""
        seen: dict[tuple[str, float], None] = {}
        for p in self.pieces:
            if p.kind == "speech":
                seen[(p.text, p.rate)] = None
            for item in p.items:
                if item.kind == "speech":
                    seen[(item.text, item.rate)] = None
        return list(seen)


@dataclass
class _Layout:
    style: Style
    pace_guided: int
    holds: list[int] | None  # a composition's fitted holds, in samples, in order
    voice: _Voice = field(default_factory=_Voice)
    pieces: list[_Piece] = field(default_factory=list)
    pending_chapter: _ChapterStart | None = None
    side: str = ""
    point: str = ""

    def add(self, piece: _Piece) -> None:
        if piece.length is not None and piece.length <= 0:
            return
        if self.pending_chapter is not None:
            piece.chapter, self.pending_chapter = self.pending_chapter, None
        self.pieces.append(piece)

    def mark(self, kind: str, breathing: Breathing | None = None) -> _Mark:
        inhale = ms_to_samples(breathing.inhale_ms) if breathing else 0
        exhale = ms_to_samples(breathing.exhale_ms) if breathing else 0
        return _Mark(kind, self.side, self.point, inhale, exhale)

    def silence(self, ms: int, reason: str, *, flexible: bool = False, mark: _Mark | None = None) -> None:
        self.add(_Piece("silence", ms_to_samples(ms), reason=reason, flexible=flexible, mark=mark))

    def tone(self, name: str, ms: int, gain_db: float) -> None:
        self.add(_Piece("tone", ms_to_samples(ms), reason=name, gain_db=round(self.voice.gain_db + gain_db, 3)))

    def say(self, text: str, gain_db: float = 0.0) -> None:
        """Narration: sentences become speech pieces, [2s] markers exact silences."""
        for kind, value in split_narration(text):
            if kind == "pause":
                self.silence(value, "pause")
            else:
                if self.pieces and self.pieces[-1].kind == "speech":
                    self.silence(self.style.sentence_gap_ms, "gap")
                self.add(self.voice.piece(value, gain_db))

    def cue_gap(self) -> None:
        if self.pieces and self.pieces[-1].kind != "silence":
            self.silence(self.style.cue_gap_ms, "gap")

    # -- steps

    def step(self, step: Step, side: str | None, first_side: bool) -> None:
        def sub(text: str) -> str:
            return text.replace("{side}", side) if side else text

        if side and not first_side:
            self.say(sub(step.switch or self.style.words.switch))
            self.cue_gap()
        if first_side and step.intro:
            self.say(sub(step.intro))
        if step.say:
            self.say(sub(step.say))
        elif step.breathing and step.breathing.cycles and not step.intro:
            b = step.breathing
            self.say(self.style.words.breathing_pattern.format(inhale=_seconds(b.inhale_ms), exhale=_seconds(b.exhale_ms)))
        if first_side:
            for caution in step.cautions:
                self.say(caution)
        if step.timed_ms is not None:
            self.timed(step, sub)
        elif step.breathing and step.breathing.cycles:
            self.cue_gap()
            b = step.breathing
            self.span(ms_to_samples(b.cycles * b.cycle_ms), self.mark("breath", b), "breath",
                      self.breathing_items(b, b.cycles))
        if step.pause_ms:
            self.silence(step.pause_ms, "pause", flexible=not step.pause_fixed, mark=self.mark("pause"))

    def timed(self, step: Step, sub: Callable[[str], str]) -> None:
        is_hold = step.hold_ms is not None
        cue = step.cue
        words = self.style.words
        start_word = cue.start if cue.start is not None else (words.press if is_hold else words.massage_start)
        end_word = cue.end if cue.end is not None else (words.release if is_hold else words.massage_end)
        reason = "hold" if is_hold else "massage"
        if cue.get_ready_ms:
            self.cue_gap()
            self.silence(cue.get_ready_ms, "ready", mark=self.mark("ready"))
        for press in range(step.repeat):
            span = self.holds.pop(0) if self.holds else ms_to_samples(step.timed_ms or 0)
            press_cue = step.cue_for(press)
            if press == 0 or press_cue:
                self.cue_gap()
            if press_cue:
                self.say(sub(press_cue))
                self.cue_gap()
            if self.style.chime:
                self.tone(self.style.chime, self.style.chime_ms, self.style.chime_db)
            if start_word:
                self.add(self.voice.piece(sub(start_word)))
            self.span(span, self.mark(reason, step.breathing), reason, self.span_items(span, step, sub),
                      fit_hold=True)
            if end_word:
                self.add(self.voice.piece(sub(end_word)))
            if press < step.repeat - 1:
                self.silence(step.rest_ms, "rest", flexible=not step.rest_fixed, mark=self.mark("rest"))

    def span_items(self, span: int, step: Step, sub: Callable[[str], str]) -> list[_SpanItem]:
        items: list[_SpanItem] = []
        countdown = step.cue.countdown if step.cue.countdown is not None else self.style.words.time_left
        if self.style.time_left and countdown and span >= ms_to_samples(TIME_LEFT_MIN_MS):
            items.append(self.spoken_item(span - ms_to_samples(TIME_LEFT_AT_MS), sub(countdown),
                                          self.style.time_left_db, priority=3))
        if step.cue.halfway and span >= ms_to_samples(HALFWAY_MIN_MS):
            items.append(self.spoken_item(span // 2, sub(step.cue.halfway), self.style.time_left_db, priority=3))
        if step.breathing:
            cycles = span // ms_to_samples(step.breathing.cycle_ms)
            items += self.breathing_items(step.breathing, cycles)
        return items

    def spoken_item(self, offset: int, text: str, gain_db: float, priority: int) -> _SpanItem:
        return _SpanItem(offset, "speech", None, text=text, gain_db=round(self.voice.gain_db + gain_db, 3),
                         rate=self.voice.rate, priority=priority)

    def breathing_items(self, b: Breathing, cycles: int) -> list[_SpanItem]:
        items = []
        inhale, cycle = ms_to_samples(b.inhale_ms), ms_to_samples(b.cycle_ms)
        for c in range(cycles):
            t = c * cycle
            if c < self.pace_guided:
                items.append(self.spoken_item(t, self.style.words.breathe_in, 0.0, priority=2))
                items.append(self.spoken_item(t + inhale, self.style.words.breathe_out, 0.0, priority=2))
            elif self.style.pacer == "tones":
                for offset, name, length in ((0, "breath-in", inhale), (inhale, "breath-out", cycle - inhale)):
                    items.append(_SpanItem(t + offset, "tone", length, reason=name,
                                           gain_db=round(self.voice.gain_db + self.style.pacer_db, 3),
                                           priority=1, truncatable=True))
        return items

    def span(self, length: int, mark: _Mark, reason: str, items: list[_SpanItem], fit_hold: bool = False) -> None:
        """A span of exactly `length` samples; items inside it never lengthen it."""
        self.add(_Piece("span", length, reason=reason, mark=mark, items=tuple(items), fit_hold=fit_hold))


def _seconds(ms: int) -> str:
    s = ms / 1000
    return f"{s:g} second" + ("" if s == 1 else "s")


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


def lay_out(routine: Routine, style: Style, holds: list[int] | None = None) -> Draft:
    """Everything that happens, in order, before any phrase's length is known."""
    layout = _Layout(style, routine.pace.guided_breaths, list(holds) if holds else None)
    count = len(routine.steps)
    for index, step in enumerate(routine.steps):
        progress = index / (count - 1) if count > 1 else 0.0
        layout.voice.rate = round(style.rate_start + (style.rate_end - style.rate_start) * progress, 3)
        layout.voice.gain_db = round(style.gain_end_db * progress, 3)
        layout.point = step.point
        for n, side in enumerate(step.sides or (None,)):
            layout.side = side or ""
            # A chapter starts on its first sound, so skipping to it lands on the words;
            # the gap before it closes the previous chapter. The first one starts at 0.
            chapter = _ChapterStart(chapter_title(step, side), step.point, side or "")
            if layout.pieces:
                layout.silence(style.step_gap_ms, "gap")
                layout.pending_chapter = chapter
            else:
                layout.pending_chapter = chapter
                layout.silence(style.lead_in_ms, "gap")
            layout.step(step, side, n == 0)
        layout.side = layout.point = ""
    if style.closing_bell:
        layout.silence(style.step_gap_ms, "gap")
        layout.tone("bell", 4000, style.chime_db)
    layout.silence(style.tail_ms or 1000, "gap")
    return Draft(routine, style, tuple(layout.pieces))


def chapter_title(step: Step, side: str | None) -> str:
    if not side:
        return step.title
    return step.title.replace("{side}", side) if "{side}" in step.title else f"{step.title} ({side})"
