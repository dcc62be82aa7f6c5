"""The narration timeline: a pure function from a laid-out routine to timed events.

No audio library, no file I/O, no clock. `build_timeline(draft, speech_len, target_ms)` gives
every piece of a layout (layout.py) its length, resolves what fits inside each hold, fits the
session to a target length if asked, and assigns start times. `speech_len` says how many
samples a phrase lasts at a rate: the exact length of the cached clip (so `plan` and `build`
agree to the sample) or, for `plan --estimate`, a guess.

Every event is contiguous with the next: the timeline is a list of speech, silence and tone
events covering the whole session. Times are integer samples at SAMPLE_RATE. Alongside the
events, chapters (one per step and side, with the step's point) and spans (every hold,
massage, rest, pause and breathing exercise, with its breathing pattern) describe what the
listener is doing at each moment; the listen-along page draws them.
"""

from __future__ import annotations

from dataclasses import replace

from ..base.errors import FitError, Problem
from ..base.units import format_length, ms_to_samples
from .events import Chapter, Event, Fitted, Span, SpeechLength, Style, Timeline, estimate_speech
from .layout import Draft, Fitting, _ChapterStart, _Mark, _Piece, lay_out, split_sentences
from .routine import Routine

__all__ = ["Chapter", "Draft", "Event", "Fitted", "Fitting", "Span", "SpeechLength", "Style", "Timeline",
           "build_timeline", "estimate_speech", "fit_draft", "lay_out", "length_range", "split_sentences"]


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


def build_timeline(draft: Draft, speech_len: SpeechLength, *, target_ms: int | None = None,
                   where: Problem | None = None) -> Timeline:
    """Time a laid-out routine. With `target_ms`, what --length may change (a routine's pauses,
    unnamed rests and stretchable holds; a composition's rounds and presses) is fitted to hit that
    length exactly; `where` locates the request in errors."""
    fitted: tuple = ()
    if target_ms is not None:
        draft = fit_draft(draft, speech_len, ms_to_samples(target_ms), where)
        fitted = draft.fitted()
    pieces = _realise(draft, speech_len)
    return replace(_assemble(draft.routine.title, pieces, draft.style), fitted=fitted)


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


# --------------------------------------------------------------------------- fitting to a length


def fit_draft(draft: Draft, speech_len: SpeechLength, target: int, where: Problem | None = None) -> Draft:
    """The layout that lasts exactly `target` samples, or FitError with the lengths that work."""
    if draft.routine.rounds:
        draft = _choose_rounds(draft, speech_len, target, where)
    fixed, items = _fit_items(draft, speech_len)
    if not fixed + sum(lo for _, lo, _ in items) <= target <= fixed + sum(hi for _, _, hi in items):
        shortest, longest = length_range(draft, speech_len)
        raise _fit_error(draft.routine, target, shortest, longest, _how(draft), where)
    lengths = solve(items, target - fixed)
    return lay_out(draft.routine, draft.style, Fitting(draft.fitting.repeats, dict(enumerate(lengths))))


def length_range(draft: Draft, speech_len: SpeechLength) -> tuple[int, int]:
    """The shortest and longest the session can last under --length, in samples."""
    if draft.routine.rounds:
        fewest, most = (_with_rounds(draft, k) for k in (0, len(_round_schedule(draft.routine))))
        return _bounds(fewest, speech_len)[0], _bounds(most, speech_len)[1]
    return _bounds(draft, speech_len)


def _fit_items(draft: Draft, speech_len: SpeechLength) -> tuple[int, list[tuple[int, int, int]]]:
    """What --length cannot change, and (length, shortest, longest) of each piece it can, in order."""
    fixed, items = 0, []
    for p in draft.pieces:
        length = p.length if p.length is not None else speech_len(p.text, p.rate)
        if p.fit is None:
            fixed += length
        else:
            items.append((length, *p.fit))
    return fixed, items


def _bounds(draft: Draft, speech_len: SpeechLength) -> tuple[int, int]:
    fixed, items = _fit_items(draft, speech_len)
    return fixed + sum(lo for _, lo, _ in items), fixed + sum(hi for _, _, hi in items)


def solve(items: list[tuple[int, int, int]], total: int) -> list[int]:
    """Lengths, one per (base, shortest, longest), that add up to `total`: every base scaled by one
    factor, each clamped to its own range, then the rounding remainder given where there is room."""
    def scaled(f: float) -> list[int]:
        return [min(max(round(f * base), lo), hi) for base, lo, hi in items]

    low, high = 0.0, max((hi / base for base, _, hi in items if base), default=1.0) + 1.0
    for _ in range(200):  # the sum grows with the factor: halve the interval until it is exact enough
        middle = (low + high) / 2
        if sum(scaled(middle)) < total:
            low = middle
        else:
            high = middle
    lengths = scaled(high)
    left = total - sum(lengths)
    for i in sorted(range(len(items)), key=lambda i: -lengths[i]):  # the longest pieces take the remainder
        _, lo, hi = items[i]
        step = max(lo - lengths[i], min(left, hi - lengths[i]))
        lengths[i] += step
        left -= step
    return lengths


def _how(draft: Draft) -> str:
    if draft.routine.rounds:
        return "with its points pressed in rounds within the sources' limits"
    stretches = any(p.fit is not None and p.kind == "span" for p in draft.pieces)
    stretched = " and its holds and massages stretched where allowed" if stretches else ""
    return "with its pauses and rests scaled" + stretched


def _round_schedule(routine: Routine) -> list[int]:
    """The steps that get one more press, in turn, as a composition grows: step after step, round
    after round, each up to its most."""
    counts = {index: routine.steps[index].repeat for index, _ in routine.rounds}
    order = []
    while True:
        grown = [index for index, most in routine.rounds if counts[index] < most]
        if not grown:
            return order
        for index in grown:
            counts[index] += 1
            order.append(index)


def _with_rounds(draft: Draft, k: int) -> Draft:
    """The composition with the first `k` presses of its schedule added."""
    repeats = {index: draft.routine.steps[index].repeat for index, _ in draft.routine.rounds}
    for index in _round_schedule(draft.routine)[:k]:
        repeats[index] += 1
    return lay_out(draft.routine, draft.style, Fitting(repeats))


def _choose_rounds(draft: Draft, speech_len: SpeechLength, target: int, where: Problem | None) -> Draft:
    """The fewest rounds whose presses, at their longest, reach `target`: a longer session presses
    more rounds, not longer, and rests stay as they are. When a press more would overshoot, the
    rounds before it stretch their flexible pauses instead."""
    schedule = _round_schedule(draft.routine)

    def comfortable(d: Draft) -> int:  # presses at their longest, every other piece as written
        fixed, _ = _fit_items(d, speech_len)
        return fixed + sum(p.fit[1] if p.kind == "span" else p.length or 0 for p in d.pieces if p.fit is not None)

    low, high = 0, len(schedule)
    while low < high:
        middle = (low + high) // 2
        if target <= comfortable(_with_rounds(draft, middle)):
            high = middle
        else:
            low = middle + 1
    chosen = _with_rounds(draft, low)
    if low and target < _bounds(chosen, speech_len)[0]:
        chosen = _with_rounds(draft, low - 1)
    return chosen


def _fit_error(routine: Routine, target: int, shortest: int, longest: int, how: str, where: Problem | None) -> FitError:
    from_file = where is not None and not where.file.startswith("--")
    message = (f"cannot fit {routine.title!r} to {format_length(target)}: {how} it can last from "
               f"{format_length(shortest)} to {format_length(longest)}; choose a "
               f"{'length' if from_file else '--length'} in that range")
    base = where if from_file and where is not None else Problem(routine.source or routine.title, "")
    return FitError(replace(base, message=message))


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
