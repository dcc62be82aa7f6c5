"""Compositions: a session made from points of the library ("SP 6, K 3 and LV 3, twelve minutes").

A composition is written out as an ordinary routine file (introduction, safety words, slow
breathing, each point with its name, its location in the source's words, how to find it and
both sides where it is paired, and a closing), then loaded by the routine loader like any
other: the user can edit the file and build it again. `--length` sets the whole session and
the composition chooses the hold per side (20 s to 5 min); `--hold` fixes it instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..base import limits
from ..base.errors import InputError, PointsError, Problem, RoutineError, at_origin
from ..base.tomlfile import Checker, Source, parse_toml_bytes
from ..base.units import format_ms
from .routine import Routine, routine_from_source

if TYPE_CHECKING:
    from .points import Point, PointLibrary

MIN_HOLD_MS = 20_000
MAX_HOLD_MS = 300_000
DEFAULT_HOLD_MS = 60_000
MAX_POINTS = 30
BREATHS = 3
FILE_KEYS = ("compose", "title", "hold", "breathe", "author", "description")

GENERAL_SAFETY = (
    "Before you start, a word of care.",
    "Do not press or massage a leg that is swollen, red, warm or painful: see a doctor first, because it can be a "
    "blood clot.",
    "Never press on broken skin, a bruise or a varicose vein.",
    "Press firmly but gently, never to the point of pain, and stop if anything hurts.",
)


@dataclass(frozen=True)
class Composition:
    points: tuple[str, ...]  # codes (or aliases, or spoken names) as the user wrote them
    title: str | None = None
    hold_ms: int | None = None  # per side; None: one minute, or what --length leaves
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


def routine_text(composition: Composition, library: "PointLibrary") -> str:
    """The composition as an editable routine file."""
    points = resolve_points(composition, library)
    title = composition.title or default_title(points)
    hold = composition.hold_ms or DEFAULT_HOLD_MS
    safety = list(GENERAL_SAFETY)
    for point in points:
        for caution in library.cautions_of(point.code):
            if caution.safety not in safety:
                safety.append(caution.safety)
    names = [p.spoken for p in points]
    listing = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    steps: list[dict[str, Any]] = [
        {"title": "Introduction",
         "say": f"Welcome. This session works on {_count(len(points))}: {listing}. Sit or lie where you can reach "
                "them comfortably, and let your shoulders drop."},
        {"title": "Safety", "say": " ".join(safety)},
        {"title": "Slow breathing", "say": "Breathe slowly and deeply with me.", "breathe": {"cycles": BREATHS}},
    ]
    for point in points:
        location = point.location if point.location.endswith(".") else f"It is {point.location}."
        step: dict[str, Any] = {"title": f"{point.code}: {point.region}", "point": point.code}
        words = f"The next point is {{point}}. {location} {point.find}"
        if point.laterality == "paired":
            step["intro"] = words
            step["say"] = "Find it on your {side} side."
        else:
            step["say"] = words
        step["hold"] = _duration(hold)
        if composition.breathe:
            step["breathe"] = True
        steps.append(step)
    steps.append({"title": "Closing", "say": "That completes the session. Rest now, and keep breathing slowly.",
                  "pause": "10s"})
    head = {"title": title, "author": composition.author, "description": composition.description or
            f"A session of {_count(len(points))} from the point library, made by rlsaudio compose."}
    return _toml(head, steps)


def _duration(ms: int) -> str:
    """A hold as a routine file writes it: "1m", "45s", "1m18.744s"."""
    if ms % 1000 == 0:
        return format_ms(ms)
    minutes, rest = divmod(ms, 60_000)
    return (f"{minutes}m" if minutes else "") + f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"


def _count(n: int) -> str:
    from .narration import number_words

    return f"{number_words(n)} point" + ("" if n == 1 else "s")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value, ensure_ascii=False)  # a TOML basic string


def _toml(head: dict[str, Any], steps: list[dict[str, Any]]) -> str:
    lines = ["# Made by `rlsaudio compose`: an ordinary routine file, yours to edit and build again.",
             "# Point names, locations and cautions come from the point library (`rlsaudio points`)."]
    lines += [f"{key} = {_value(value)}" for key, value in head.items() if value]
    for step in steps:
        lines += ["", "[[steps]]"] + [f"{key} = {_value(value)}" for key, value in step.items()]
    return "\n".join(lines) + "\n"


def compose_routine(composition: Composition, library: "PointLibrary | None" = None) -> Routine:
    """The composition as a Routine; its --length fits the holds."""
    if library is None:
        from .points import load_library

        library = load_library()
    text = routine_text(composition, library)
    name = composition.source or "compose"
    try:
        routine = routine_from_source(parse_toml_bytes(text, name, "routine", RoutineError), library)
    except RoutineError as exc:  # a composition's own texts are always valid; say so loudly if not
        raise AssertionError(f"a composed routine did not validate: {exc.lines()}") from None
    fit = None if composition.hold_ms is not None else (MIN_HOLD_MS, MAX_HOLD_MS)
    return replace(routine, hold_fit_ms=fit)


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
    elif len(raw) > MAX_POINTS:
        check.problem(where, f"{len(raw)} points, more than the {MAX_POINTS} allowed; make two sessions")
    title = check.text(table, "title", place)
    hold = check.duration(table, "hold", place, min_ms=MIN_HOLD_MS, max_ms=MAX_HOLD_MS, what="a hold")
    breathe = check.boolean(table, "breathe", place)
    author = check.text(table, "author", place) or ""
    description = check.text(table, "description", place, max_chars=2000) or ""
    if len(check.problems) > before:
        return None
    codes = tuple(check.text_value(c, f"{where}[{i}]", max_chars=40) or "" for i, c in enumerate(raw))
    if len(check.problems) > before:
        return None
    from .points import load_library

    _, problems = point_problems(codes, load_library(points_file))
    for index, message in problems:
        check.problem(f"{where}[{index}]", message)
    if problems:
        return None
    return Composition(codes, title, hold, bool(breathe), author, description, source)


def check_hold(hold_ms: int) -> str | None:
    return limits.duration_problem(hold_ms, min_ms=MIN_HOLD_MS, max_ms=MAX_HOLD_MS, what="a hold")
