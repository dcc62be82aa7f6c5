"""The narration timeline: a pure function from a Routine to timed events.

No audio library, no file I/O, no clock. Building happens in two steps:
- `lay_out(routine, style)` orders everything that happens (speech, silences, tones, spans
  with the cues inside them) without knowing how long any phrase lasts. Its `phrases()` are
  what the speech engine must say, so synthesis can run (with a progress bar) before timing.
- `build_timeline(draft, speech_len, target_ms)` gives every piece its length, resolves what
  fits inside each hold, fits the session to a target length if asked, and assigns start
  times. `speech_len` says how many samples a phrase lasts at a rate: the exact length of the
  cached clip (so `plan` and `build` agree to the sample) or, for `plan --estimate`, a guess.

Every event is contiguous with the next: the timeline is a list of speech, silence and tone
events covering the whole session. Times are integer samples at SAMPLE_RATE. Alongside the
events, chapters (one per step and side, with the step's point) and spans (every hold,
massage, rest, pause and breathing exercise, with its breathing pattern) describe what the
listener is doing at each moment; the listen-along page draws them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator

from ..base.errors import FitError, Problem
from ..base.units import SAMPLE_RATE, format_length, format_ms, ms_to_samples, parse_duration, samples_to_seconds
from .routine import INLINE_PAUSE, Breathing, Routine, Step

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
HALFWAY_MIN_MS = 20_000
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
class Timeline:
    title: str
    events: tuple[Event, ...]
    chapters: tuple[Chapter, ...]
    spans: tuple[Span, ...] = ()
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


# --------------------------------------------------------------------------- pieces
# The layout is a list of pieces; speech pieces get their lengths later. Pieces marked
# `flexible` are the step pauses and rests the narration does not name: the only parts a
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
            self.say(sub(step.switch or SWITCH))
            self.cue_gap()
        if first_side and step.intro:
            self.say(sub(step.intro))
        if step.say:
            self.say(sub(step.say))
        elif step.breathing and step.breathing.cycles and not step.intro:
            b = step.breathing
            self.say(f"Breathe in for {_seconds(b.inhale_ms)}, and out for {_seconds(b.exhale_ms)}.")
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
        start_word = cue.start if cue.start is not None else (PRESS if is_hold else MASSAGE_START)
        end_word = cue.end if cue.end is not None else (RELEASE if is_hold else MASSAGE_END)
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
        countdown = step.cue.countdown if step.cue.countdown is not None else TIME_LEFT
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
                items.append(self.spoken_item(t, BREATHE_IN, 0.0, priority=2))
                items.append(self.spoken_item(t + inhale, BREATHE_OUT, 0.0, priority=2))
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


def _resolve_span(span: _Piece, speech_len: SpeechLength) -> list[_Piece]:
    """Place items by priority; an item that would overlap a stronger one (or run past the
    span) is shortened if it is a tone, else dropped. Gaps become silence."""
    length = span.length or 0
    placed: list[tuple[int, _Piece]] = []
    min_tone = ms_to_samples(400)
    for item in sorted(span.items, key=lambda i: (-i.priority, i.offset)):
        size = item.length if item.length is not None else speech_len(item.text, item.rate)
        start = item.offset
        end = min(start + size, length) if item.truncatable else start + size
        for other_start, other in placed:
            other_end = other_start + (other.length or 0)
            if start < other_end and other_start < end:
                if item.truncatable and other_start > start:
                    end = min(end, other_start)
                else:
                    end = start  # dropped
        if end > length or end - start <= 0 or (item.truncatable and end - start < min_tone):
            continue
        placed.append((start, _Piece(item.kind, end - start, text=item.text, reason=item.reason,
                                     gain_db=item.gain_db, rate=item.rate, mark=span.mark)))
    out: list[_Piece] = []
    cursor = 0
    for start, piece in sorted(placed, key=lambda p: p[0]):
        if start > cursor:
            out.append(_Piece("silence", start - cursor, reason=span.reason, mark=span.mark))
        out.append(piece)
        cursor = start + (piece.length or 0)
    if length > cursor:
        out.append(_Piece("silence", length - cursor, reason=span.reason, mark=span.mark))
    if out:
        out[0].chapter = span.chapter
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


def build_timeline(draft: Draft, speech_len: SpeechLength, *, target_ms: int | None = None,
                   where: Problem | None = None) -> Timeline:
    """Time a laid-out routine. With `target_ms`, the routine's pauses and rests (or a composition's
    holds) are fitted to hit that length exactly; `where` locates the request in errors."""
    routine, style = draft.routine, draft.style
    if target_ms is not None and routine.hold_fit_ms is not None:
        holds = _fit_holds(draft, speech_len, ms_to_samples(target_ms), where)
        draft = lay_out(routine, style, holds)
    pieces = _realise(draft, speech_len)
    if target_ms is not None and routine.hold_fit_ms is None:
        _fit(pieces, ms_to_samples(target_ms), routine, where)
    return _assemble(routine.title, pieces, style)


def _realise(draft: Draft, speech_len: SpeechLength) -> list[_Piece]:
    """Pieces with lengths: phrases measured, spans resolved into what happens inside them."""
    out: list[_Piece] = []
    for piece in draft.pieces:
        if piece.kind == "span":
            out += _resolve_span(piece, speech_len)
        elif piece.length is None:
            out.append(replace(piece, length=speech_len(piece.text, piece.rate)))
        else:
            out.append(replace(piece))
    return out


def _fit_error(routine: Routine, target: int, shortest: int, longest: int, how: str, where: Problem | None) -> FitError:
    from_file = where is not None and not where.file.startswith("--")
    message = (f"cannot fit {routine.title!r} to {format_length(target)}: {how} it can last from "
               f"{format_length(shortest)} to {format_length(longest)}; choose a "
               f"{'length' if from_file else '--length'} in that range")
    base = where if from_file and where is not None else Problem(routine.source or routine.title, "")
    return FitError(replace(base, message=message))


def _fit(pieces: list[_Piece], target: int, routine: Routine, where: Problem | None) -> None:
    flexible = [p for p in pieces if p.flexible]
    base = sum(p.length or 0 for p in flexible)
    fixed = sum(p.length or 0 for p in pieces) - base
    shortest = fixed + sum(round((p.length or 0) * FIT_MIN) for p in flexible)
    longest = fixed + sum(round((p.length or 0) * FIT_MAX) for p in flexible)
    if not shortest <= target <= longest:
        raise _fit_error(routine, target, shortest, longest, "with its pauses and rests scaled", where)
    if not flexible:
        return
    factor = (target - fixed) / base
    for p in flexible:
        p.length = round((p.length or 0) * factor)
    # Rounding leaves a few samples over or under: give them to the longest flexible piece.
    longest_piece = max(flexible, key=lambda p: p.length or 0)
    longest_piece.length = (longest_piece.length or 0) + target - fixed - sum(p.length or 0 for p in flexible)


def _fit_holds(draft: Draft, speech_len: SpeechLength, target: int, where: Problem | None) -> list[int]:
    """A composition's holds, equal to the sample but for a remainder, so the session lasts `target`.

    What surrounds the holds does not depend on their length (cues inside a hold never lengthen
    it), so one layout measures it: target = fixed + sum(holds)."""
    assert draft.routine.hold_fit_ms is not None
    lo_ms, hi_ms = draft.routine.hold_fit_ms
    holds = [p for p in draft.pieces if p.kind == "span" and p.fit_hold]
    total = sum(p.length or 0 for p in _realise(draft, speech_len))
    fixed = total - sum(p.length or 0 for p in holds)
    n = len(holds)
    lo, hi = ms_to_samples(lo_ms), ms_to_samples(hi_ms)
    if n == 0 or not fixed + n * lo <= target <= fixed + n * hi:
        how = f"with holds of {format_ms(lo_ms)} to {format_ms(hi_ms)} per side"
        raise _fit_error(draft.routine, target, fixed + n * lo, fixed + n * hi, how, where)
    each, extra = divmod(target - fixed, n)
    return [each + (1 if i < extra else 0) for i in range(n)]


def _assemble(title: str, pieces: list[_Piece], style: Style) -> Timeline:
    events: list[Event] = []
    marks: list[_Mark | None] = []
    starts: list[tuple[_ChapterStart, int]] = []
    cursor = 0
    for p in pieces:
        length = p.length or 0
        if length <= 0:
            continue
        if p.chapter is not None:
            starts.append((p.chapter, cursor))
        if (events and p.chapter is None and p.kind == "silence" and events[-1].kind == "silence"
                and events[-1].reason == p.reason and marks[-1] is p.mark):
            last = events.pop()
            events.append(replace(last, length=last.length + length))
        else:
            events.append(Event(cursor, length, p.kind, p.text, p.reason, p.gain_db, p.rate))
            marks.append(p.mark)
        cursor += length
    chapters = tuple(
        Chapter(c.title, start, starts[i + 1][1] if i + 1 < len(starts) else cursor, c.point, c.side)
        for i, (c, start) in enumerate(starts)
    )
    spans: list[Span] = []
    current: _Mark | None = None
    for event, mark in zip(events, marks):
        if mark is not None and mark is current:
            spans[-1] = replace(spans[-1], end=event.end)
        elif mark is not None:
            spans.append(Span(mark.kind, event.start, event.end, mark.side, mark.point, mark.inhale, mark.exhale))
        current = mark
    fade = min(ms_to_samples(style.fade_out_ms), cursor)
    return Timeline(title, tuple(events), chapters, tuple(spans), style.mode, fade, ms_to_samples(style.tail_ms))
