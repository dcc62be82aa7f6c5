"""Laying a routine out: everything that happens, in order, before any phrase's length is known.

`lay_out(routine, style)` orders speech, silences, tones and spans (holds, massages, rests,
pauses, breathing) with the cues inside them. Its `phrases()` are what the speech engine must
say, so synthesis can run before timing; `timeline.py` then gives every piece its length.
Pure: no audio library, no file I/O, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, Mapping

from ..base import limits
from ..base.units import ms_to_samples, parse_duration
from .events import Fitted, SpeechLength, Style
from .routine import INLINE_PAUSE, Breathing, Routine, Step

TIME_LEFT_AT_MS = 30_000  # goes with the words: "Thirty seconds left."
HALFWAY_MIN_MS = 20_000


@dataclass(frozen=True)
class Fitting:
    """What --length changes in a layout: the presses of a composition's steps (step index ->
    count), and the length of each piece --length may change, by its order among them."""

    repeats: Mapping[int, int] = field(default_factory=dict)
    lengths: Mapping[int, int] = field(default_factory=dict)  # samples


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
    chapter: _ChapterStart | None = None  # a chapter starts with this piece
    mark: _Mark | None = None
    items: tuple["_SpanItem", ...] = ()  # a span: what happens inside it
    fit: tuple[int, int] | None = None  # the lengths --length may give this piece, in samples
    step: int = -1  # the index of the step it belongs to in the routine


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
    fitting: Fitting = Fitting()

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

    def fitted(self) -> tuple[Fitted, ...]:
        """Step by step, the presses, their length, the rests and the pause this layout has."""
        found: dict[int, dict[str, list[int]]] = {}
        for p in self.pieces:
            if p.step < 0 or p.mark is None or p.mark.kind not in ("hold", "massage", "rest", "pause"):
                continue
            kind = "timed" if p.mark.kind in ("hold", "massage") else p.mark.kind
            found.setdefault(p.step, {}).setdefault(kind, []).append(p.length or 0)
        out = []
        for index, lengths in sorted(found.items()):
            step = self.routine.steps[index]
            out.append(Fitted(index, self.fitting.repeats.get(index, step.repeat),
                              *(min(lengths.get(k) or [0]) for k in ("timed", "rest", "pause"))))
        return tuple(out)


@dataclass
class _Layout:
    style: Style
    pace_guided: int
    fitting: Fitting
    caution_sides: dict[str, int]  # how many sides carry each caution owner's cautions in the session
    voice: _Voice = field(default_factory=_Voice)
    pieces: list[_Piece] = field(default_factory=list)
    pending_chapter: _ChapterStart | None = None
    side: str = ""
    point: str = ""
    step_index: int = -1
    fit_count: int = 0  # pieces --length may change, so far
    cautioned: set[str] = field(default_factory=set)
    tones_explained: bool = False

    def add(self, piece: _Piece) -> None:
        if piece.length is not None and piece.length <= 0:
            return
        if self.pending_chapter is not None:
            piece.chapter, self.pending_chapter = self.pending_chapter, None
        piece.step = self.step_index
        self.pieces.append(piece)

    def fit(self, length: int, fit: tuple[int, int] | None) -> int:
        """A piece --length may change gets the length the fitting chose for it."""
        if fit is None:
            return length
        self.fit_count += 1
        return self.fitting.lengths.get(self.fit_count - 1, length)

    def mark(self, kind: str, breathing: Breathing | None = None) -> _Mark:
        inhale = ms_to_samples(breathing.inhale_ms) if breathing else 0
        exhale = ms_to_samples(breathing.exhale_ms) if breathing else 0
        return _Mark(kind, self.side, self.point, inhale, exhale)

    def silence(self, ms: int, reason: str, *, fit: tuple[int, int] | None = None, mark: _Mark | None = None) -> None:
        if ms <= 0:
            return
        length = self.fit(ms_to_samples(ms), fit)
        self.add(_Piece("silence", length, reason=reason, fit=fit, mark=mark))

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
        self.cautions(step)
        if step.timed_ms is not None:
            self.timed(step, sub)
        elif step.breathing and step.breathing.cycles:
            self.cue_gap()
            b = step.breathing
            self.span(ms_to_samples(b.cycles * b.cycle_ms), self.mark("breath", b), "breath",
                      self.breathing_items(b, b.cycles))
        if step.pause_ms:
            stretch = step.stretch_ms if step.timed_ms is None else None  # a stretch is the hold's when there is one
            self.silence(step.pause_ms, "pause", mark=self.mark("pause"),
                         fit=None if step.pause_fixed else _range(step.pause_ms, stretch))

    def cautions(self, step: Step) -> None:
        """Every side says its point's cautions: the first side that they apply to every side and
        what to do instead, each later side a short reminder (a listener may start at any chapter)."""
        if not step.cautions:
            return
        owner = caution_owner(step, self.step_index)
        if owner in self.cautioned:
            texts = [c.remind for c in step.cautions]
        else:
            self.cautioned.add(owner)
            texts = [c.first if self.caution_sides.get(owner, 1) > 1 else c.say for c in step.cautions]
        for text in texts:
            self.say(text)

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
        stretch = _range(step.timed_ms or 0, step.stretch_ms) if step.stretch_ms else None
        for press in range(step.repeat):
            span = self.fit(ms_to_samples(step.timed_ms or 0), stretch)
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
            self.span(span, self.mark(reason, step.breathing), reason, self.span_items(span, step, sub), fit=stretch)
            if end_word:
                self.add(self.voice.piece(sub(end_word)))
            if press < step.repeat - 1:
                self.silence(step.rest_ms, "rest", mark=self.mark("rest"),
                             fit=None if step.rest_fixed else _range(step.rest_ms, None))

    def span_items(self, span: int, step: Step, sub: Callable[[str], str]) -> list[_SpanItem]:
        items: list[_SpanItem] = []
        countdown = step.cue.countdown if step.cue.countdown is not None else self.style.words.time_left
        if self.style.time_left and countdown and span >= ms_to_samples(self.style.time_left_min_ms):
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
            elif self.style.pacer == "tones" and not self.tones_explained:
                # Said once, where tones first take over from words: what the rising and falling mean.
                self.tones_explained = True
                items.append(self.spoken_item(t, self.style.words.follow_tones, 0.0, priority=2))
            elif self.style.pacer == "tones":
                for offset, name, length in ((0, "breath-in", inhale), (inhale, "breath-out", cycle - inhale)):
                    items.append(_SpanItem(t + offset, "tone", length, reason=name,
                                           gain_db=round(self.voice.gain_db + self.style.pacer_db, 3),
                                           priority=1, truncatable=True))
        return items

    def span(self, length: int, mark: _Mark, reason: str, items: list[_SpanItem],
             fit: tuple[int, int] | None = None) -> None:
        """A span of exactly `length` samples; items inside it never lengthen it."""
        self.add(_Piece("span", length, reason=reason, mark=mark, items=tuple(items), fit=fit))


def _range(ms: int, stretch: tuple[int, int] | None) -> tuple[int, int]:
    """The samples --length may give a piece: its stretch, else a pause or rest scaled 0.25x to 4x."""
    if stretch is not None:
        return ms_to_samples(stretch[0]), ms_to_samples(stretch[1])
    return round(ms_to_samples(ms) * limits.FIT_MIN), round(ms_to_samples(ms) * limits.FIT_MAX)


def caution_owner(step: Step, index: int) -> str:
    """Whose cautions a step says: its point's (shared by every step on that point) or its own."""
    return f"point {step.point}" if step.point else f"step {index}"


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


def lay_out(routine: Routine, style: Style, fitting: Fitting | None = None) -> Draft:
    """Everything that happens, in order, before any phrase's length is known. A step whose
    `modes` leave out this style's mode is not spoken; `fitting` is what --length chose."""
    fitting = fitting or Fitting()
    steps = [(i, s) for i, s in enumerate(routine.steps) if not s.modes or style.mode in s.modes]
    sides: dict[str, int] = {}
    for index, step in steps:
        if step.cautions:
            owner = caution_owner(step, index)
            sides[owner] = sides.get(owner, 0) + max(1, len(step.sides))
    layout = _Layout(style, routine.pace.guided_breaths, fitting, sides)
    count = len(steps)
    for n_step, (index, step) in enumerate(steps):
        progress = n_step / (count - 1) if count > 1 else 0.0
        layout.voice.rate = round(style.rate_start + (style.rate_end - style.rate_start) * progress, 3)
        layout.voice.gain_db = round(style.gain_end_db * progress, 3)
        layout.point = step.point
        layout.step_index = index
        if fitting.repeats.get(index, step.repeat) != step.repeat:
            step = replace(step, repeat=fitting.repeats[index])
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
        layout.step_index = -1
    if style.closing_bell:
        layout.silence(style.step_gap_ms, "gap")
        layout.tone("bell", 4000, style.chime_db)
    layout.silence(style.tail_ms or 1000, "gap")
    return Draft(routine, style, tuple(layout.pieces), fitting)


def chapter_title(step: Step, side: str | None) -> str:
    if not side:
        return step.title
    return step.title.replace("{side}", side) if "{side}" in step.title else f"{step.title} ({side})"
