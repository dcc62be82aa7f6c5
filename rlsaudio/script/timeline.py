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
from ..base.units import format_length, format_ms, ms_to_samples
from .events import Chapter, Event, Span, SpeechLength, Style, Timeline, estimate_speech
from .layout import Draft, _ChapterStart, _Mark, _Piece, lay_out, split_sentences
from .routine import Routine

__all__ = ["Chapter", "Draft", "Event", "Span", "SpeechLength", "Style", "Timeline", "build_timeline",
           "estimate_speech", "lay_out", "length_range", "split_sentences"]

FIT_MIN, FIT_MAX = 0.25, 4.0


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


def _scale_bounds(pieces: list[_Piece]) -> tuple[int, int, int, int]:
    """(fixed, flexible, shortest, longest) samples of a routine whose pauses and rests scale."""
    flexible = [p for p in pieces if p.flexible]
    base = sum(p.length or 0 for p in flexible)
    fixed = sum(p.length or 0 for p in pieces) - base
    shortest = fixed + sum(round((p.length or 0) * FIT_MIN) for p in flexible)
    longest = fixed + sum(round((p.length or 0) * FIT_MAX) for p in flexible)
    return fixed, base, shortest, longest


def length_range(draft: Draft, speech_len: SpeechLength) -> tuple[int, int]:
    """The shortest and longest length (samples, as a target length counts them) that
    `build_timeline` can fit this draft to: what `--length` accepts."""
    if draft.routine.hold_fit_ms is not None:
        fixed, n, lo, hi = _hold_bounds(draft, speech_len)
        return (fixed + n * lo, fixed + n * hi) if n else (fixed, fixed)
    _, _, shortest, longest = _scale_bounds(_realise(draft, speech_len))
    return shortest, longest


def _fit(pieces: list[_Piece], target: int, routine: Routine, where: Problem | None) -> None:
    flexible = [p for p in pieces if p.flexible]
    fixed, base, shortest, longest = _scale_bounds(pieces)
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
    fixed, n, lo, hi = _hold_bounds(draft, speech_len)
    if n == 0 or not fixed + n * lo <= target <= fixed + n * hi:
        how = f"with holds of {format_ms(lo_ms)} to {format_ms(hi_ms)} per side"
        raise _fit_error(draft.routine, target, fixed + n * lo, fixed + n * hi, how, where)
    each, extra = divmod(target - fixed, n)
    return [each + (1 if i < extra else 0) for i in range(n)]


def _hold_bounds(draft: Draft, speech_len: SpeechLength) -> tuple[int, int, int, int]:
    """(fixed, number of holds, shortest hold, longest hold) samples of a composition."""
    assert draft.routine.hold_fit_ms is not None
    lo_ms, hi_ms = draft.routine.hold_fit_ms
    holds = [p for p in draft.pieces if p.kind == "span" and p.fit_hold]
    total = sum(p.length or 0 for p in _realise(draft, speech_len))
    return total - sum(p.length or 0 for p in holds), len(holds), ms_to_samples(lo_ms), ms_to_samples(hi_ms)


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
