"""Routines: the model, loading and validation of routine files, the bundled routines.

A routine file is TOML (see the README for every key). Loading either returns a valid,
frozen `Routine` or raises `RoutineError` carrying one `Problem` per mistake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import Problem, RoutineError
from .tomlfile import Checker, Source, parse_toml_bytes, read_toml
from .units import format_ms, parse_duration, show_value

SIDES = ("right", "left")
MAX_SPAN_MS = 4 * 3_600_000  # one hold, massage, pause, rest or breathing exercise
MAX_SESSION_MS = 12 * 3_600_000
MAX_SAY_CHARS = 5000
MAX_CUE_CHARS = 300
MAX_REPEAT = 100
MAX_STEPS = 500

TOP_KEYS = ("title", "author", "description", "album", "pace", "steps")
PACE_KEYS = ("hold", "rest", "inhale", "exhale", "guided_breaths")
STEP_KEYS = ("title", "say", "pause", "sides", "switch", "hold", "massage", "rest", "repeat", "cues", "breathe")
BREATHE_KEYS = ("inhale", "exhale", "cycles")

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
INLINE_PAUSE = re.compile(r"\[([^\[\]]*)\]")  # [2s] in narration; the timeline splits on it too


@dataclass(frozen=True)
class Pace:
    hold_ms: int = 10_000
    rest_ms: int = 10_000
    inhale_ms: int = 4_000
    exhale_ms: int = 6_000
    guided_breaths: int = 2


@dataclass(frozen=True)
class Breathing:
    """A breathing pattern. `cycles` is set for an exercise on its own, None inside a hold."""

    inhale_ms: int
    exhale_ms: int
    cycles: int | None = None

    @property
    def cycle_ms(self) -> int:
        return self.inhale_ms + self.exhale_ms


@dataclass(frozen=True)
class Step:
    title: str
    say: str = ""
    pause_ms: int = 0
    sides: tuple[str, ...] = ()
    switch: str = ""
    hold_ms: int | None = None
    massage_ms: int | None = None
    rest_ms: int = 0
    repeat: int = 1
    cues: tuple[str, ...] = ()
    breathing: Breathing | None = None

    @property
    def timed_ms(self) -> int | None:
        """The hold or massage length, if the step has one."""
        return self.hold_ms if self.hold_ms is not None else self.massage_ms

    def cue_for(self, press: int) -> str:
        if not self.cues:
            return ""
        return self.cues[press] if len(self.cues) > 1 else self.cues[0]


@dataclass(frozen=True)
class Routine:
    title: str
    steps: tuple[Step, ...]
    author: str = ""
    description: str = ""
    album: str = ""
    pace: Pace = Pace()
    source: str = ""

    @property
    def fixed_ms(self) -> int:
        """The length of every timed part (holds, rests, pauses, breathing); speech excluded."""
        total = 0
        for step in self.steps:
            once = step.pause_ms + sum(_inline_pauses_ms(t) for t in (step.say, *step.cues))
            if step.timed_ms is not None:
                once += step.repeat * step.timed_ms + (step.repeat - 1) * step.rest_ms
            if step.breathing and step.breathing.cycles:
                once += step.breathing.cycles * step.breathing.cycle_ms
            total += once * max(1, len(step.sides))
        return total


def _inline_pauses_ms(text: str) -> int:
    total = 0
    for marker in INLINE_PAUSE.findall(text):
        try:
            total += max(0, parse_duration(marker))
        except ValueError:
            pass
    return total


# --------------------------------------------------------------------------- loading


def load_routine(path: Path | str, shown: str | None = None) -> Routine:
    """Load and validate a routine file."""
    source = read_toml(path, "routine", RoutineError, shown)
    return routine_from_source(source)


def parse_routine(text: str | bytes, name: str = "<routine>") -> Routine:
    """Validate routine text (used by tests and the fuzzer)."""
    return routine_from_source(parse_toml_bytes(text, name, "routine", RoutineError))


def routine_from_source(source: Source) -> Routine:
    check = Checker(source)
    data = source.data
    check.keys(data, "", TOP_KEYS)
    title = check.text(data, "title", "", required=True)
    author = check.text(data, "author", "") or ""
    description = check.text(data, "description", "", max_chars=2000) or ""
    album = check.text(data, "album", "") or ""
    pace = _load_pace(check, data)
    steps = _load_steps(check, data, pace)
    check.raise_if_any(RoutineError)
    routine = Routine(title or "", tuple(steps), author, description, album, pace, source.name)
    if routine.fixed_ms > MAX_SESSION_MS:
        raise RoutineError(Problem(
            source.name,
            f"the session's holds, rests and pauses add up to {format_ms(routine.fixed_ms)}, "
            f"more than the 12h allowed; shorten them or split the routine",
        ))
    return routine


def _load_pace(check: Checker, data: dict[str, Any]) -> Pace:
    table = check.table(data, "pace")
    if table is None:
        return Pace()
    check.keys(table, "pace", PACE_KEYS)
    default = Pace()
    hold = check.duration(table, "hold", "pace", max_ms=MAX_SPAN_MS)
    rest = check.duration(table, "rest", "pace", max_ms=MAX_SPAN_MS)
    inhale = check.duration(table, "inhale", "pace", min_ms=1000, max_ms=30_000, what="a breath")
    exhale = check.duration(table, "exhale", "pace", min_ms=1000, max_ms=30_000, what="a breath")
    guided = check.integer(table, "guided_breaths", "pace", lo=0, hi=1000)
    return Pace(
        hold or default.hold_ms,
        rest or default.rest_ms,
        inhale or default.inhale_ms,
        exhale or default.exhale_ms,
        default.guided_breaths if guided is None else guided,
    )


def _load_steps(check: Checker, data: dict[str, Any], pace: Pace) -> list[Step]:
    if "steps" not in data:
        check.problem("", 'no steps; add at least one [[steps]] table with a title and something to do')
        return []
    raw = data["steps"]
    if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
        check.problem("steps", f"expected [[steps]] tables, got {show_value(raw)}")
        return []
    if not raw:
        check.problem("steps", "no steps; add at least one [[steps]] table")
        return []
    if len(raw) > MAX_STEPS:
        check.problem("steps", f"{len(raw)} steps, more than the {MAX_STEPS} allowed; split the routine")
        return []
    steps = [_load_step(check, table, f"steps[{i}]", pace) for i, table in enumerate(raw)]
    return [s for s in steps if s is not None]


def _load_step(check: Checker, table: dict[str, Any], place: str, pace: Pace) -> Step | None:
    before = len(check.problems)
    check.keys(table, place, STEP_KEYS)
    title = check.text(table, "title", place, required=True)
    say = check.text(table, "say", place, max_chars=MAX_SAY_CHARS) or ""
    switch = check.text(table, "switch", place, max_chars=MAX_CUE_CHARS) or ""
    pause = check.duration(table, "pause", place, max_ms=MAX_SPAN_MS)
    hold = _hold(check, table, place, pace)
    massage = check.duration(table, "massage", place, max_ms=MAX_SPAN_MS)
    rest = check.duration(table, "rest", place, max_ms=MAX_SPAN_MS)
    repeat = check.integer(table, "repeat", place, lo=1, hi=MAX_REPEAT)
    cues = _cues(check, table, place)
    sides = _sides(check, table, place)
    breathing = _breathing(check, table, place, pace)

    timed = hold if hold is not None else massage
    if hold is not None and massage is not None:
        check.problem(f"{place}.massage", "a step has either hold or massage, not both; split it into two steps")
    if timed is None and "hold" not in table and "massage" not in table:
        for key in ("repeat", "cues", "rest"):
            if key in table:
                check.problem(f"{place}.{key}", f"{key} needs a hold or massage in the same step; add hold = 10 "
                                               "(or hold = true for the [pace] default)")
        if breathing is not None and breathing.cycles is None and "breathe" in table:
            check.problem(f"{place}.breathe", "breathing needs a hold or massage to breathe through, or cycles "
                                              "for an exercise on its own: breathe = { cycles = 6 }")
    elif breathing is not None and breathing.cycles is not None:
        check.problem(f"{place}.breathe.cycles", "cycles is for a breathing exercise on its own; inside a hold "
                                                 "or massage the breathing fills the whole span, so remove cycles")
    if repeat is not None and cues and len(cues) not in (1, repeat):
        check.problem(f"{place}.cues", f"has {len(cues)} cues for {repeat} presses; give one cue per press or "
                                       "a single cue for all")
    if repeat is None and len(cues) > 1:
        check.problem(f"{place}.cues", f"has {len(cues)} cues but repeat is 1; set repeat = {len(cues)} or give one cue")
    if rest is not None and (repeat or 1) == 1 and timed is not None:
        check.problem(f"{place}.rest", "rest is the silence between repeated presses, but repeat is 1; "
                                       "set repeat or use pause for silence after the step")
    if switch and not sides:
        check.problem(f"{place}.switch", 'switch is the cue between sides; add sides = ["right", "left"]')
    for key, text in (("title", title), ("say", say), ("switch", switch), *(("cues", c) for c in cues)):
        _check_text_markup(check, f"{place}.{key}", text or "", bool(sides), allow_pauses=key != "title")
    if not any((say, timed, breathing and breathing.cycles, pause)) and len(check.problems) == before:
        check.problem(place, "the step has nothing to do; add say, hold, massage, breathe or pause")
    if len(check.problems) > before or title is None:
        return None
    return Step(
        title=title, say=say, pause_ms=pause or 0, sides=sides, switch=switch,
        hold_ms=hold, massage_ms=massage,
        rest_ms=(rest if rest is not None else pace.rest_ms) if (repeat or 1) > 1 else 0,
        repeat=repeat or 1, cues=cues, breathing=breathing,
    )


def _hold(check: Checker, table: dict[str, Any], place: str, pace: Pace) -> int | None:
    if table.get("hold") is True:
        return pace.hold_ms
    if table.get("hold") is False:
        check.problem(f"{place}.hold", "hold = false does nothing; remove it")
        return None
    return check.duration(table, "hold", place, max_ms=MAX_SPAN_MS)


def _cues(check: Checker, table: dict[str, Any], place: str) -> tuple[str, ...]:
    if "cues" not in table:
        return ()
    value = table["cues"]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        check.problem(f"{place}.cues", f'expected a list of phrases like ["Press gently."], got {show_value(value)}')
        return ()
    cues = []
    for i, item in enumerate(value):
        cue = check.text_value(item, f"{place}.cues[{i}]", max_chars=MAX_CUE_CHARS)
        if cue is not None:
            cues.append(cue)
    return tuple(cues) if len(cues) == len(value) else ()


def _sides(check: Checker, table: dict[str, Any], place: str) -> tuple[str, ...]:
    if "sides" not in table:
        return ()
    value = table["sides"]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        check.problem(f"{place}.sides", f'expected a list like ["right", "left"], got {show_value(value)}')
        return ()
    for i, side in enumerate(value):
        if side not in SIDES:
            check.problem(f"{place}.sides[{i}]", f'unknown side "{side}"; use "right" or "left"')
            return ()
    if len(set(value)) != len(value):
        check.problem(f"{place}.sides", "names a side twice; list each side once")
        return ()
    return tuple(value)


def _breathing(check: Checker, table: dict[str, Any], place: str, pace: Pace) -> Breathing | None:
    if "breathe" not in table:
        return None
    value = table["breathe"]
    if value is True:
        return Breathing(pace.inhale_ms, pace.exhale_ms)
    if value is False:
        return None
    if not isinstance(value, dict):
        check.problem(f"{place}.breathe", f"expected true or a table like {{ inhale = 4, exhale = 6, cycles = 6 }}, "
                                          f"got {show_value(value)}")
        return None
    where = f"{place}.breathe"
    check.keys(value, where, BREATHE_KEYS)
    inhale = check.duration(value, "inhale", where, min_ms=1000, max_ms=30_000, what="a breath")
    exhale = check.duration(value, "exhale", where, min_ms=1000, max_ms=30_000, what="a breath")
    cycles = check.integer(value, "cycles", where, lo=1, hi=2000)
    breathing = Breathing(inhale or pace.inhale_ms, exhale or pace.exhale_ms, cycles)
    if cycles is not None and cycles * breathing.cycle_ms > MAX_SPAN_MS:
        check.problem(f"{where}.cycles", f"{cycles} cycles last {format_ms(cycles * breathing.cycle_ms)}, "
                                         "more than the 4h allowed; use fewer cycles")
    return breathing


def _check_text_markup(check: Checker, place: str, text: str, has_sides: bool, allow_pauses: bool) -> None:
    for name in _PLACEHOLDER.findall(text):
        if name != "side":
            check.problem(place, f'unknown placeholder "{{{name}}}"; the only one is {{side}}')
        elif not has_sides:
            check.problem(place, '{side} needs sides in the same step; add sides = ["right", "left"]')
    if re.search(r"(?<!\{)\{(?!side\})|(?<!\{side)\}", _PLACEHOLDER.sub("", text)):
        check.problem(place, "has an unmatched { or }; write {side} or remove the brace")
    for marker in INLINE_PAUSE.findall(text):
        if not allow_pauses:
            check.problem(place, f"[{marker}] pauses belong in say, not in a title; remove it")
            continue
        try:
            ms = parse_duration(marker)
        except ValueError:
            check.problem(place, f'inline pause "[{marker}]" is not a duration; write it like [2s] or [500ms]')
            continue
        check.range_ms(place, ms, 1, 60_000, what=f"inline pause [{marker}]")


# --------------------------------------------------------------------------- bundled


def bundled_ids() -> list[str]:
    folder = resources.files("rlsaudio.routines")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_bundled(routine_id: str) -> Routine:
    resource = resources.files("rlsaudio.routines") / f"{routine_id}.toml"
    source = parse_toml_bytes(resource.read_bytes(), f"{routine_id}.toml", "routine", RoutineError)
    return routine_from_source(source)


def resolve_routine(ref: str) -> Routine:
    """A bundled id (`acupressure`) or a path to a routine file."""
    if ref in bundled_ids() and not Path(ref).exists():
        return load_bundled(ref)
    path = Path(ref)
    if not path.exists() and "/" not in ref and not ref.endswith(".toml"):
        raise RoutineError(Problem(ref, "no such routine file or bundled routine; bundled: " + ", ".join(bundled_ids())))
    return load_routine(path, ref)
