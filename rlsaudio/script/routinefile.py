"""Reading a routine file: load and validate it into a frozen `Routine` (routine.py), or raise
`RoutineError` carrying one `Problem` per mistake (file, place, what is wrong, how to fix it).

Everything a step's words refer to is resolved here, so the timeline builder gets plain data:
point names and locations are filled in, the durations a text speaks are spelled out, and the
cautions of a step's point are attached to the step.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..base import bundled, limits
from ..base.errors import Problem, RoutineError
from ..base.suggest import hint
from ..base.text import speakable
from ..base.tomlfile import Checker, Source, parse_toml_bytes, read_toml
from ..base.units import format_ms, parse_duration, show_value
from .narration import spoken_duration
from .routine import (BREATHE_KEYS, CUE_KEYS, INLINE_PAUSE, PACE_KEYS, ROUTINES, SESSION_KEYS, SIDES,
                      STATED_DURATION, STEP_KEYS, TOP_KEYS, Breathing, Cues, Pace, Routine, Session, Step,
                      StepCaution, _check_markup, _PLACEHOLDER, bundled_ids)

if TYPE_CHECKING:
    from .points import Point, PointLibrary


def load_routine(path, shown: str | None = None, library: "PointLibrary | None" = None) -> Routine:
    """Load and validate a routine file."""
    return routine_from_source(read_toml(path, "routine", RoutineError, shown), library)


def parse_routine(text: str | bytes, name: str = "<routine>", library: "PointLibrary | None" = None) -> Routine:
    """Validate routine text (used by tests and the fuzzer)."""
    return routine_from_source(parse_toml_bytes(text, name, "routine", RoutineError), library)


def routine_from_source(source: Source, library: "PointLibrary | None" = None) -> Routine:
    return check_routine(source, library)[0]


def check_routine(source: Source, library: "PointLibrary | None" = None) -> tuple[Routine, list[Problem]]:
    """The routine and its warnings (narration that states a length --length could change)."""
    check = Checker(source)
    data = source.data
    check.keys(data, "", TOP_KEYS)
    title = check.text(data, "title", "", required=True)
    author = check.text(data, "author", "") or ""
    description = check.text(data, "description", "", max_chars=limits.MAX_DESCRIPTION_CHARS) or ""
    album = check.text(data, "album", "") or ""
    pace = _load_pace(check, data)
    pronounce = _load_pronounce(check, data)
    session = _load_session(check, data)
    steps = load_steps(check, data, pace, library)
    check.raise_if_any(RoutineError)
    routine = Routine(title or "", tuple(steps), author, description, album, pace, source.name,
                      pronounce=pronounce, session=session)
    if routine.fixed_ms > limits.MAX_SESSION_MS:
        raise RoutineError(Problem(
            source.name,
            f"the session's holds, rests and pauses add up to {format_ms(routine.fixed_ms)}, "
            f"more than the {format_ms(limits.MAX_SESSION_MS)} allowed; shorten them or split the routine",
        ))
    return routine, check.warnings


def _load_pronounce(check: Checker, data: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """`[pronounce]`: "word" = "how the engine should say it" (see the README's pronunciation table)."""
    table = check.table(data, "pronounce")
    if table is None:
        return ()
    pairs = []
    seen: dict[str, str] = {}
    for word, said in table.items():
        where = f"pronounce.{word}"
        written = check.text_value(word, where, max_chars=limits.MAX_RESPELLING_CHARS)
        spoken = check.text_value(said, where, max_chars=limits.MAX_RESPELLING_CHARS)
        if written is None or spoken is None:
            continue
        if not speakable(written) or not speakable(spoken):
            check.problem(where, "needs letters or digits on both sides; write \"word\" = \"how to say it\"")
            continue
        problem = limits.pronunciation_problem(written, spoken)  # the rule the speech stage applies: build agrees
        folded = " ".join(written.split()).casefold()
        if problem is None and folded in seen:
            problem = f'is the same word as "{seen[folded]}"; keep one of them'
        if problem:
            check.problem(where, problem)
            continue
        seen[folded] = written
        pairs.append((written, spoken))
    return tuple(pairs)


def _load_session(check: Checker, data: dict[str, Any]) -> Session:
    """`[session]`: mode, length, tail, voice, soundscape, soundscape_level, pacer and chime, checked
    like the command-line options they stand for."""
    table = check.table(data, "session")
    if table is None:
        return Session()
    from .modes import PACERS, defaults, mode_names

    check.keys(table, "session", SESSION_KEYS)
    lo, hi = defaults()["soundscape_min_db"], defaults()["soundscape_max_db"]
    session = Session(
        mode=check.choice(table, "mode", "session", mode_names()),
        length_ms=check.duration(table, "length", "session", max_ms=limits.MAX_SESSION_MS, what="length"),
        tail_ms=check.duration(table, "tail", "session", max_ms=limits.MAX_TAIL_MS, what="tail"),
        voice=check.text(table, "voice", "session", max_chars=limits.MAX_PATH_CHARS),
        soundscape=check.text(table, "soundscape", "session", max_chars=limits.MAX_PATH_CHARS),
        soundscape_db=check.number(table, "soundscape_level", "session", lo=lo, hi=hi),
        pacer=check.choice(table, "pacer", "session", PACERS),
        chime=check.boolean(table, "chime", "session"),
        places=tuple((key, check.source.locator.line(f"session.{key}")) for key in SESSION_KEYS if key in table),
    )
    return session


def _load_cues(check: Checker, table: dict[str, Any], place: str, default: Cues) -> Cues:
    def text_or_off(key: str, current: str | None) -> str | None:
        if key not in table:
            return current
        if table[key] is False:
            return ""
        where = f"{place}.{key}" if place else key
        if table[key] is True:
            check.problem(where, f'{key} = true is the default already; give the words, like {key} = "Stretch.", '
                                 "or false for none")
            return current
        value = check.text_value(table[key], where, max_chars=limits.MAX_CUE_CHARS)
        if value is not None and not speakable(value):
            check.problem(where, f"has nothing to speak; write words, or {key} = false for none")
            return current
        return current if value is None else value

    get_ready = check.duration(table, "get_ready", place, max_ms=limits.MAX_INLINE_PAUSE_MS)
    return Cues(
        start=text_or_off("start_cue", default.start),
        end=text_or_off("end_cue", default.end),
        countdown=text_or_off("countdown_cue", default.countdown),
        halfway=text_or_off("halfway_cue", default.halfway),
        get_ready_ms=default.get_ready_ms if get_ready is None else get_ready,
    )


def _load_pace(check: Checker, data: dict[str, Any]) -> Pace:
    table = check.table(data, "pace")
    if table is None:
        return Pace()
    check.keys(table, "pace", PACE_KEYS)
    default = Pace()
    hold = check.duration(table, "hold", "pace", max_ms=limits.MAX_SPAN_MS)
    rest = check.duration(table, "rest", "pace", max_ms=limits.MAX_SPAN_MS)
    inhale = check.duration(table, "inhale", "pace", min_ms=limits.MIN_BREATH_MS, max_ms=limits.MAX_BREATH_MS,
                            what="a breath")
    exhale = check.duration(table, "exhale", "pace", min_ms=limits.MIN_BREATH_MS, max_ms=limits.MAX_BREATH_MS,
                            what="a breath")
    guided = check.integer(table, "guided_breaths", "pace", lo=0, hi=limits.MAX_GUIDED_BREATHS)
    for key in ("countdown_cue", "halfway_cue"):
        _check_markup(check, f"pace.{key}", table.get(key) if isinstance(table.get(key), str) else "", set())
    return Pace(
        hold or default.hold_ms,
        rest or default.rest_ms,
        inhale or default.inhale_ms,
        exhale or default.exhale_ms,
        default.guided_breaths if guided is None else guided,
        _load_cues(check, table, "pace", Cues()),
    )


def load_steps(check: Checker, data: dict[str, Any], pace: Pace, library: "PointLibrary | None") -> list[Step]:
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
    if len(raw) > limits.MAX_STEPS:
        check.problem("steps", f"{len(raw)} steps, more than the {limits.MAX_STEPS} allowed; split the routine")
        return []
    if library is None and any("point" in table or "cautions" in table for table in raw):
        from .pointfile import load_library

        library = load_library()
    steps = [_load_step(check, table, f"steps[{i}]", pace, library) for i, table in enumerate(raw)]
    return [s for s in steps if s is not None]


def _point(check: Checker, table: dict[str, Any], place: str, library: "PointLibrary | None") -> "Point | None":
    if "point" not in table:
        return None
    code = check.text(table, "point", place, max_chars=limits.MAX_POINT_REF_CHARS)
    if code is None:
        return None
    assert library is not None
    try:
        return library.lookup(code)
    except Exception as exc:  # PointsError: its message has the did-you-mean
        from ..base.errors import InputError

        if not isinstance(exc, InputError):
            raise
        check.problem(f"{place}.point", exc.problems[0].message)
        return None


def _load_step(check: Checker, table: dict[str, Any], place: str, pace: Pace,
               library: "PointLibrary | None") -> Step | None:
    before = len(check.problems)
    check.keys(table, place, STEP_KEYS)
    point = _point(check, table, place, library)
    title = check.text(table, "title", place, required="point" not in table)
    say = check.text(table, "say", place, max_chars=limits.MAX_SAY_CHARS) or ""
    intro = check.text(table, "intro", place, max_chars=limits.MAX_SAY_CHARS) or ""
    switch = check.text(table, "switch", place, max_chars=limits.MAX_CUE_CHARS) or ""
    pause = check.duration(table, "pause", place, max_ms=limits.MAX_SPAN_MS)
    hold = _hold(check, table, place, pace)
    massage = check.duration(table, "massage", place, max_ms=limits.MAX_SPAN_MS)
    rest = check.duration(table, "rest", place, max_ms=limits.MAX_SPAN_MS)
    repeat = check.integer(table, "repeat", place, lo=1, hi=limits.MAX_REPEAT)
    cues = _cues(check, table, place)
    sides = _sides(check, table, place, point)
    breathing = _breathing(check, table, place, pace)
    cue = _load_cues(check, table, place, pace.cues)
    modes = _modes(check, table, place)
    own_cautions = _caution_keys(check, table, place, library)
    stretch = _stretch(check, table, place)

    timed = hold if hold is not None else massage
    if hold is not None and massage is not None:
        check.problem(f"{place}.massage", "a step has either hold or massage, not both; split it into two steps")
    if timed is None and "hold" not in table and "massage" not in table:
        for key in ("repeat", "cues", "rest", *(k for k in CUE_KEYS if k in table)):
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
    if intro and not sides:
        check.problem(f"{place}.intro", "intro is said once before the sides; without sides, put it in say")
    rest_ms = (rest if rest is not None else pace.rest_ms) if (repeat or 1) > 1 and timed is not None else 0
    available = {"side"} if sides else set()
    available |= {"point", "location", "find"} if point else set()
    available |= {"hold"} if timed is not None else set()
    available |= {"rest"} if rest_ms else set()
    available |= {"pause"} if pause else set()
    texts = [("title", title), ("intro", intro), ("say", say), ("switch", switch),
             *((f"cues[{i}]", c) for i, c in enumerate(cues)),
             *((key, table[key]) for key in ("start_cue", "end_cue", "countdown_cue", "halfway_cue")
               if isinstance(table.get(key), str))]
    for key, text in texts:
        _check_markup(check, f"{place}.{key}", text or "", available, title=key == "title")
    for key, text in (("say", say), ("intro", intro), ("switch", switch), *((f"cues[{i}]", c) for i, c in
                                                                          enumerate(cues))):
        if text and not speakable(_PLACEHOLDER.sub("x", INLINE_PAUSE.sub("", text))):
            name = key.split("[")[0]
            check.problem(f"{place}.{key}", f'has nothing to speak (no letters or digits); write words or remove "{name}"')
    _check_stretch(check, place, stretch, timed, pause, " ".join((intro, say, *cues)))
    if not any((say, intro, timed, breathing and breathing.cycles, pause)) and len(check.problems) == before:
        check.problem(place, "the step has nothing to do; add say, hold, massage, breathe or pause")
    if len(check.problems) > before or (title is None and point is None):
        return None

    narration = " ".join((intro, say, *cues))
    durations = {"hold": timed, "rest": rest_ms or None, "pause": pause}

    def fill(text: str) -> str:
        if point is not None:
            text = text.replace("{point}", point.spoken).replace("{location}", point.location)
            text = text.replace("{find}", point.find)
        for name, ms in durations.items():
            if ms:
                text = text.replace("{" + name + "}", spoken_duration(ms))
        return text

    step = Step(
        title=_point_title(title, point), say=fill(say), intro=fill(intro), pause_ms=pause or 0, sides=sides,
        switch=fill(switch), hold_ms=hold, massage_ms=massage, rest_ms=rest_ms,
        repeat=repeat or 1, cues=tuple(fill(c) for c in cues), breathing=breathing,
        point=point.code if point else "",
        cautions=_step_cautions(library, (*(point.cautions if point else ()), *own_cautions)),
        cue=replace(cue, start=_fill_opt(cue.start, fill), end=_fill_opt(cue.end, fill)),
        rest_fixed="{rest}" in narration, pause_fixed="{pause}" in narration,
        stretch_ms=stretch, modes=modes,
    )
    _warn_stated_durations(check, place, step, (("intro", intro), ("say", say),
                                                *((f"cues[{i}]", c) for i, c in enumerate(cues))))
    return step


def _modes(check: Checker, table: dict[str, Any], place: str) -> tuple[str, ...]:
    """`modes = ["bedtime"]`: the step is spoken in these listening modes only."""
    if "modes" not in table:
        return ()
    from .modes import mode_names

    known = mode_names()
    value = table["modes"]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        check.problem(f"{place}.modes", f'expected a list like ["bedtime"], got {show_value(value)}')
        return ()
    for i, mode in enumerate(value):
        if mode not in known:
            check.problem(f"{place}.modes[{i}]", f"unknown mode {show_value(mode)}; "
                                                  + hint(mode, known, lambda names: "use " + " or ".join(names)))
            return ()
    return tuple(dict.fromkeys(value))


def _caution_keys(check: Checker, table: dict[str, Any], place: str,
                  library: "PointLibrary | None") -> tuple[str, ...]:
    """`cautions = ["ankles"]`: cautions of the point library a step carries without a point."""
    if "cautions" not in table:
        return ()
    assert library is not None
    value = table["cautions"]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        check.problem(f"{place}.cautions", f'expected a list like ["ankles"], got {show_value(value)}')
        return ()
    for i, key in enumerate(value):
        if key not in library.cautions:
            check.problem(f"{place}.cautions[{i}]", f"unknown caution {show_value(key)}; "
                                                     + hint(key, list(library.cautions),
                                                            lambda keys: "use " + ", ".join(keys)))
            return ()
    return tuple(value)


def _step_cautions(library: "PointLibrary | None", keys: tuple[str, ...]) -> tuple[StepCaution, ...]:
    if library is None:
        return ()
    out = []
    for key in dict.fromkeys(keys):
        caution = library.cautions[key]
        out.append(StepCaution(key, caution.say, caution.first or caution.say, caution.remind or caution.say))
    return tuple(out)


def _stretch(check: Checker, table: dict[str, Any], place: str) -> tuple[int, int] | None:
    """`stretch = ["1m", "2m"]`: the range --length may give the step's hold or massage (or, in a
    step with neither, its pause)."""
    if "stretch" not in table:
        return None
    value = table["stretch"]
    where = f"{place}.stretch"
    if not isinstance(value, list) or len(value) != 2:
        check.problem(where, f'expected the shortest and longest, like ["1m", "2m"], got {show_value(value)}')
        return None
    ends = []
    for i, item in enumerate(value):
        try:
            ends.append(check.range_ms(f"{where}[{i}]", parse_duration(item), 1, limits.MAX_SPAN_MS))
        except ValueError as exc:
            check.problem(f"{where}[{i}]", str(exc))
            return None
    lo, hi = ends
    if lo is None or hi is None:
        return None
    if lo > hi:
        check.problem(where, f"the shortest ({format_ms(lo)}) is longer than the longest ({format_ms(hi)}); "
                             "swap them")
        return None
    return lo, hi


def _check_stretch(check: Checker, place: str, stretch: tuple[int, int] | None, timed: int | None,
                   pause: int | None, narration: str) -> None:
    if stretch is None:
        return
    what, given, name = ("hold or massage", timed, "hold") if timed is not None else ("pause", pause, "pause")
    if given is None:
        check.problem(f"{place}.stretch", "stretch needs a hold, massage or pause in the same step to stretch")
    elif not stretch[0] <= given <= stretch[1]:
        check.problem(f"{place}.stretch", f"the step's {what} ({format_ms(given)}) is outside its stretch "
                                          f"({format_ms(stretch[0])} to {format_ms(stretch[1])}); make the range "
                                          "include it")
    elif "{" + name + "}" in narration:
        check.problem(f"{place}.stretch", f"the narration names the {what} with {{{name}}}, which must then stay "
                                          f"true; remove stretch, or stop naming it")


def _fill_opt(text: str | None, fill) -> str | None:
    return fill(text) if text else text


def _point_title(title: str | None, point: "Point | None") -> str:
    """An acupressure point's chapter names it by its code: "SP 6: above the inner ankle". A reflexology
    zone's code is only a key ("heart"): its chapter keeps the step's title, or its spoken name."""
    if point is None:
        return title or ""
    if point.kind != "acupressure":
        return title or point.spoken[:1].upper() + point.spoken[1:]
    if not title:
        return f"{point.code}: {point.location}"
    for code in (point.code, *point.aliases):
        if title.lower().startswith(code.lower() + ":"):
            title = title[len(code) + 1:].strip()
            break
    return f"{point.code}: {title}"


def _warn_stated_durations(check: Checker, place: str, step: Step, texts) -> None:
    flexible = []
    if step.rest_ms and not step.rest_fixed:
        flexible.append("rest")
    if step.pause_ms and not step.pause_fixed:
        flexible.append("pause")
    if not flexible:
        return
    for key, text in texts:
        found = STATED_DURATION.search(_PLACEHOLDER.sub("", text or ""))
        if found:
            names = " and ".join(flexible)
            check.warn(f"{place}.{key}", f'says "{found.group()}", but --length can change this step\'s {names}; '
                                         f"write {{{flexible[0]}}} to speak its real length (which --length "
                                         "then keeps)")


def _hold(check: Checker, table: dict[str, Any], place: str, pace: Pace) -> int | None:
    if table.get("hold") is True:
        return pace.hold_ms
    if table.get("hold") is False:
        check.problem(f"{place}.hold", "hold = false does nothing; remove it")
        return None
    return check.duration(table, "hold", place, max_ms=limits.MAX_SPAN_MS)


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
        cue = check.text_value(item, f"{place}.cues[{i}]", max_chars=limits.MAX_CUE_CHARS)
        if cue is not None:
            cues.append(cue)
    return tuple(cues) if len(cues) == len(value) else ()


def _sides(check: Checker, table: dict[str, Any], place: str, point: "Point | None") -> tuple[str, ...]:
    if "sides" not in table:
        # A paired point is worked on both sides unless the step says otherwise.
        return SIDES if point is not None and point.laterality == "paired" else ()
    value = table["sides"]
    if value == [] and point is not None:
        return ()
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
    if point is not None and point.laterality in SIDES and value != [point.laterality]:
        check.problem(f"{place}.sides", f"{point.code} is on the {point.laterality} side only; "
                                        f'use sides = ["{point.laterality}"] or remove sides')
        return ()
    if point is not None and point.laterality == "midline":
        check.problem(f"{place}.sides", f"{point.code} is a single point on the middle line; remove sides")
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
    inhale = check.duration(value, "inhale", where, min_ms=limits.MIN_BREATH_MS, max_ms=limits.MAX_BREATH_MS,
                            what="a breath")
    exhale = check.duration(value, "exhale", where, min_ms=limits.MIN_BREATH_MS, max_ms=limits.MAX_BREATH_MS,
                            what="a breath")
    cycles = check.integer(value, "cycles", where, lo=1, hi=limits.MAX_BREATH_CYCLES)
    breathing = Breathing(inhale or pace.inhale_ms, exhale or pace.exhale_ms, cycles)
    if cycles is not None and cycles * breathing.cycle_ms > limits.MAX_SPAN_MS:
        check.problem(f"{where}.cycles", f"{cycles} cycles last {format_ms(cycles * breathing.cycle_ms)}, "
                                         f"more than the {format_ms(limits.MAX_SPAN_MS)} allowed; use fewer cycles")
    return breathing


def load_bundled(routine_id: str, library: "PointLibrary | None" = None) -> Routine:
    return routine_from_source(bundled.read_bundled(ROUTINES, routine_id, "routine", RoutineError), library)


def routine_source(ref: str) -> Source:
    """The parsed file of a bundled id (`acupressure`) or a path to a routine file."""
    source, _ = bundled.resolve(ref, ROUTINES, "routine", RoutineError,
                                lambda r: "no such routine file or bundled routine; "
                                          + hint(r, bundled_ids(), lambda ids: "bundled: " + ", ".join(ids)))
    return source
