"""Compositions: a session made from points of the library ("SP 6, K 3 and LV 3, twelve minutes").

A composition is written out as an ordinary routine file (introduction, safety words, slow
breathing, each point with its name, its place in the source's words, how to find it and
both sides where it is paired, and a closing), then loaded by the routine loader like any
other: the user can edit the file and build it again. Its words are the `[compose]` table of
data/narration.toml.

Pressing stays within the sources' limits (base/limits.py): an acupressure point is pressed
and massaged for one to two minutes at a time (a caution such as "press lightly" may cap it
lower, as for B 40 and SP 12), a reflexology zone in ten-second presses with ten-second rests.
`--length` sets the whole session: the timeline adds rounds (an acupressure point's presses with
rests between them, a zone's presses) and lengthens each press within its limits, and compose
writes what it chose into the routine file. `--hold` fixes each acupressure press instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ..base import limits
from ..base.errors import InputError, PointsError, Problem, RoutineError, at_origin
from ..base.tomlfile import Checker, Source, parse_toml_bytes
from ..base.units import format_ms, samples_to_ms
from .layout import split_sentences
from .narration import compose_words, number_words
from .routine import Routine
from .routinefile import routine_from_source

if TYPE_CHECKING:
    from .events import Timeline
    from .modes import ModeOptions
    from .points import Point, PointLibrary

DEFAULT_HOLD_MS = limits.PRESS_MIN_MS
BREATHS = 2  # two guided breaths: the tones, where --breathe adds them, are explained in the first hold
FILE_KEYS = ("compose", "title", "hold", "breathe", "author", "description")


@dataclass(frozen=True)
class Composition:
    points: tuple[str, ...]  # codes (or aliases, or spoken names) as the user wrote them
    title: str | None = None
    hold_ms: int | None = None  # each acupressure press; None: one minute, or what --length chooses
    breathe: bool = False  # paced breathing cues inside every hold
    author: str = ""
    description: str = ""
    source: str = ""  # where it was written: a file, a playlist line, or "compose"
    origin: Problem | None = None  # for errors: the place the point list was given


def default_title(points: list["Point"]) -> str:
    kinds = {p.kind for p in points}
    label = "Acupressure" if kinds == {"acupressure"} else "Reflexology" if kinds == {"reflexology"} else \
        "Acupressure and reflexology"
    return f"{label}: " + ", ".join(p.code for p in points)


def point_problems(codes: tuple[str, ...], library: "PointLibrary") -> tuple[list["Point"], list[tuple[int, str]]]:
    """The points the codes name, and (index, message) for each code that names none or repeats one."""
    problems: list[tuple[int, str]] = []
    points: list["Point"] = []
    seen: dict[str, int] = {}
    for i, code in enumerate(codes):
        try:
            point = library.lookup(code)
        except PointsError as exc:
            problems.append((i, exc.problems[0].message))
            continue
        if point.code in seen:
            problems.append((i, f"{point.code} is named twice (also as {codes[seen[point.code]]!r}); name each "
                                "point once"))
            continue
        seen[point.code] = i
        points.append(point)
    return points, problems


def resolve_points(composition: Composition, library: "PointLibrary") -> list["Point"]:
    points, problems = point_problems(composition.points, library)
    if not composition.points:
        problems.append((-1, 'no points; name at least one, like "SP 6"'))
    if problems:
        where = composition.origin or Problem(composition.source or "compose", "")
        raise InputError([at_origin(where, Problem("", message)) if composition.origin is not None
                          else Problem(where.file, message) for _, message in problems])
    return points


# --------------------------------------------------------------------------- the routine it makes


def longest_press_ms(point: "Point", library: "PointLibrary") -> int:
    """The longest one press of an acupressure point may last: two minutes, or less where a
    caution says so (B 40 and SP 12 lie over large vessels: one minute, lightly)."""
    caps = [c.longest_press_ms for c in library.cautions_of(point.code) if c.longest_press_ms]
    return min([limits.PRESS_MAX_MS, *caps])


def routine_steps(composition: Composition, library: "PointLibrary",
                  fitted: Mapping[int, Mapping[str, int]] | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The composition's title keys and steps, as a routine file writes them. `fitted` gives, by
    step index, what --length chose: "repeat", "timed" and "pause" (ms)."""
    words = compose_words()
    points = resolve_points(composition, library)
    fitted = fitted or {}
    names = [p.spoken for p in points]
    listing = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    count = f"{number_words(len(points))} point" + ("" if len(points) == 1 else "s")
    steps: list[dict[str, Any]] = [
        {"title": "Introduction", "say": words.intro.format(count=count, points=listing)},
        {"title": "Safety", "say": " ".join(safety_words(points, library))},
        {"title": "Slow breathing", "say": words.breathing, "breathe": {"cycles": BREATHS}},
    ]
    for point in points:
        steps.append(_point_step(point, composition, library, fitted.get(len(steps), {})))
    closing = {"title": "Closing", "say": words.closing,
               "pause": _duration(fitted.get(len(steps), {}).get("pause", limits.CLOSING_REST_MS[0])),
               "stretch": [_duration(ms) for ms in limits.CLOSING_REST_MS]}
    steps.append(closing)
    head = {"title": composition.title or default_title(points), "author": composition.author,
            "description": composition.description or words.description.format(count=count)}
    return head, steps


def safety_words(points: list["Point"], library: "PointLibrary") -> list[str]:
    """The general safety sentences, then those of the chosen points' cautions, each said once."""
    sentences = list(compose_words().safety)
    for point in points:
        for caution in library.cautions_of(point.code):
            sentences += [s for s in split_sentences(caution.safety) if s not in sentences]
    return sentences


def _point_step(point: "Point", composition: Composition, library: "PointLibrary",
                fitted: Mapping[str, int]) -> dict[str, Any]:
    """One point: its name, its place (the source's words, unless they would mislead or lean on a
    point the session lacks), how to find it, and its presses within the sources' limits."""
    words = compose_words()
    text = [words.point]
    if point.say_location:
        text.append(point.location if point.location.endswith(".") else words.location.format(location=point.location))
    text.append(point.find)
    if point.kind != "acupressure":
        text.append(words.zone)
    step: dict[str, Any] = {"title": f"{point.code}: {point.region}" if point.kind == "acupressure"
                            else point.spoken[:1].upper() + point.spoken[1:], "point": point.code}
    if len(point.sides) == 2:
        step["intro"] = " ".join([*text, words.start.format(side="{side}", limb=point.limb)])
        step["switch"] = words.switch.format(side="{side}", limb=point.limb)
    else:
        step["say"] = " ".join(text)
    if point.kind == "acupressure":
        step.update(_press(point, composition, library, fitted))
    else:
        step.update({"hold": _duration(limits.ZONE_PRESS_MS), "rest": _duration(limits.ZONE_REST_MS),
                     "repeat": fitted.get("repeat", limits.ZONE_PRESSES)})
    if composition.breathe:
        step["breathe"] = True
    return step


def _press(point: "Point", composition: Composition, library: "PointLibrary",
           fitted: Mapping[str, int]) -> dict[str, Any]:
    """An acupressure point's press-and-massage: one minute (or --hold, within the point's
    limits), which --length may stretch up to its longest and repeat in rounds."""
    longest = longest_press_ms(point, library)
    press = min(composition.hold_ms or DEFAULT_HOLD_MS, longest)
    out: dict[str, Any] = {"massage": _duration(fitted.get("timed", press))}
    if composition.hold_ms is None and longest > press:
        out["stretch"] = [_duration(press), _duration(longest)]
    if fitted.get("repeat", 1) > 1:
        out.update({"repeat": fitted["repeat"], "rest": _duration(fitted.get("rest", limits.ROUND_REST_MS))})
    return out


def routine_text(composition: Composition, library: "PointLibrary",
                 fitted: Mapping[int, Mapping[str, int]] | None = None,
                 session: Mapping[str, Any] | None = None) -> str:
    """The composition as an editable routine file; `session` is how it asks to be built."""
    head, steps = routine_steps(composition, library, fitted)
    lines = ["# Made by `rlsaudio compose`: an ordinary routine file, yours to edit and build again.",
             "# Point names, locations and cautions come from the point library (`rlsaudio points`)."]
    lines += [f"{key} = {_value(value)}" for key, value in head.items() if value]
    if session:
        lines += ["", "# How it was built: the command line can still change any of these.", "[session]"]
        lines += [f"{key} = {_value(value)}" for key, value in session.items() if value is not None]
    for step in steps:
        lines += ["", "[[steps]]"] + [f"{key} = {_value(value)}" for key, value in step.items()]
    return "\n".join(lines) + "\n"


def routine_file(composition: Composition, library: "PointLibrary", timeline: "Timeline | None",
                 options: "ModeOptions", voice: str, length_ms: int | None) -> str:
    """The routine file of a composed track: what --length chose, read from the track's timeline,
    and the session's settings (mode, length, voice, soundscape, pacer...), so that building the
    file again gives the same track."""
    fitted: dict[int, dict[str, int]] = {}
    for f in timeline.fitted if timeline is not None else ():
        fitted[f.step] = {"repeat": f.repeat, "timed": samples_to_ms(f.timed), "rest": samples_to_ms(f.rest),
                          "pause": samples_to_ms(f.pause)}
    return routine_text(composition, library, fitted, session_keys(options, voice, length_ms))


def session_keys(options: "ModeOptions", voice: str, length_ms: int | None) -> dict[str, Any]:
    """The `[session]` table that asks for these settings."""
    keys: dict[str, Any] = {"mode": options.mode, "voice": _portable(voice)}
    if length_ms is not None:
        keys["length"] = _duration(length_ms)
    if options.tail_ms is not None:
        keys["tail"] = _duration(options.tail_ms)
    if options.soundscape:
        keys.update(soundscape=_portable(options.soundscape), soundscape_level=options.soundscape_db)
    keys["pacer"] = options.pacer
    if not options.chime:
        keys["chime"] = False
    return keys


def _portable(ref: str) -> str:
    """A name ("joe", "brown") as it is; a file as an absolute path, so the routine file finds it
    from wherever it is built."""
    if "/" not in ref and "." not in ref:
        return ref
    return str(Path(ref).expanduser().absolute())


def _duration(ms: int) -> str:
    """A duration as a routine file writes it: "1m", "45s", "1m18.744s"."""
    if ms % 1000 == 0:
        return format_ms(ms)
    minutes, rest = divmod(ms, 60_000)
    return (f"{minutes}m" if minutes else "") + f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)  # a TOML basic string


def compose_routine(composition: Composition, library: "PointLibrary | None" = None) -> Routine:
    """The composition as a Routine whose --length adds rounds: an acupressure point's presses
    with rests between them, a zone's presses."""
    if library is None:
        from .pointfile import load_library

        library = load_library()
    text = routine_text(composition, library)
    name = composition.source or "compose"
    try:
        routine = routine_from_source(parse_toml_bytes(text, name, "routine", RoutineError), library)
    except RoutineError as exc:  # a composition's own texts are always valid; say so loudly if not
        raise AssertionError(f"a composed routine did not validate: {exc.lines()}") from None
    steps = list(routine.steps)
    rounds = []
    for index, step in enumerate(steps):
        if not step.point:
            continue
        if library.lookup(step.point).kind == "acupressure":
            # A round's rest is part of the round, not something --length scales.
            steps[index] = replace(step, rest_ms=limits.ROUND_REST_MS, rest_fixed=True)
            rounds.append((index, limits.MAX_ROUNDS))
        else:
            rounds.append((index, limits.MAX_ZONE_PRESSES))
    return replace(routine, steps=tuple(steps), rounds=tuple(rounds) if composition.hold_ms is None else ())


# --------------------------------------------------------------------------- composition files


def composition_from_source(source: Source) -> Composition:
    """A composition file: `compose = ["SP 6", "K 3"]`, with optional title, hold and breathe."""
    check = Checker(source)
    check.keys(source.data, "", FILE_KEYS)
    composition = _from_table(check, source.data, "", source.name)
    check.raise_if_any(RoutineError)
    assert composition is not None
    return composition


def composition_from_table(check: Checker, table: dict[str, Any], place: str,
                           points_file: str | None = None) -> Composition | None:
    """A playlist track's `compose = [...]` (with its own title, hold)."""
    return _from_table(check, table, place, check.source.name, points_file)


def _from_table(check: Checker, table: dict[str, Any], place: str, source: str,
                points_file: str | None = None) -> Composition | None:
    where = f"{place}.compose" if place else "compose"
    raw = table.get("compose")
    before = len(check.problems)
    if not isinstance(raw, list) or not raw or not all(isinstance(c, str) for c in raw):
        check.problem(where, 'expected a list of point codes like ["SP 6", "K 3"]')
    elif len(raw) > limits.MAX_COMPOSE_POINTS:
        check.problem(where, f"{len(raw)} points, more than the {limits.MAX_COMPOSE_POINTS} allowed; make two sessions")
    title = check.text(table, "title", place)
    hold = check.duration(table, "hold", place, min_ms=limits.PRESS_MIN_MS, max_ms=limits.PRESS_MAX_MS,
                          what="a hold")
    breathe = check.boolean(table, "breathe", place)
    author = check.text(table, "author", place) or ""
    description = check.text(table, "description", place, max_chars=limits.MAX_DESCRIPTION_CHARS) or ""
    if len(check.problems) > before:
        return None
    codes = tuple(check.text_value(c, f"{where}[{i}]", max_chars=limits.MAX_POINT_REF_CHARS) or ""
                  for i, c in enumerate(raw))
    if len(check.problems) > before:
        return None
    from .pointfile import load_library

    _, problems = point_problems(codes, load_library(points_file))
    for index, message in problems:
        check.problem(f"{where}[{index}]", message)
    if problems:
        return None
    return Composition(codes, title, hold, bool(breathe), author, description, source)
