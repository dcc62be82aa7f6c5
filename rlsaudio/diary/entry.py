"""One night of the diary: its fields, the one check of their values, and which night is "last night".

A night is named by the date of its evening: the night of 2025-03-01 runs from the evening of
1 March into the morning of 2 March. `validate_fields` is the one check for every way a value
arrives (CLI options, the questions on a terminal, the app's JSON, an imported file), so all of
them accept the same values and fail with the same words, one line per problem, naming the
field as the JSON does ("restless: 11 is out of range; ...").

Updates follow JSON merge-patch rules: a field that is not given is kept; a field given as None
(JSON null) or an empty list is emptied.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from ..base.errors import Problem
from ..base.text import normalise, printable, text_problem
from .errors import DiaryError

# The JSON field names, in the order the diary shows them: the app's API and the exports use them.
FIELDS = ("date", "restless", "sleep", "minutes_to_sleep", "woke", "onset", "tracks", "factors", "note")

# A night's default date changes at this hour: from then on "last night" is the night now starting.
EVENING_HOUR = 18


@dataclass(frozen=True)
class Factor:
    """Something that may have come before the night: a stable machine name and a label for people."""

    name: str
    label: str


# Stored by name: a label may be reworded or translated, the names never change.
FACTORS = (
    Factor("caffeine", "Caffeine"),
    Factor("alcohol", "Alcohol"),
    Factor("exercise", "Exercise"),
    Factor("sitting", "Long sitting"),
    Factor("iron", "Iron supplement"),
    Factor("medicine", "New or changed medicine"),
)
FACTOR_LABELS = {f.name: f.label for f in FACTORS}


@dataclass(frozen=True)
class Count:
    """A whole-number field: its range, and how a person is asked for it."""

    low: int
    high: int
    give: str  # the hint after "give ..."


COUNTS = {
    "restless": Count(0, 10, "a whole number from 0 (no symptoms) to 10 (the worst)"),
    "sleep": Count(0, 10, "a whole number from 0 (no sleep) to 10 (the best sleep)"),
    "minutes_to_sleep": Count(0, 1440, "a whole number of minutes from 0 to 1440"),
    "woke": Count(0, 100, "a whole number of times from 0 to 100"),
}

# How people read each field: table headers, the report and the questions on a terminal.
LABELS = {
    "date": "night",
    "restless": "restlessness",
    "sleep": "sleep quality",
    "minutes_to_sleep": "minutes to fall asleep",
    "woke": "times woken",
    "onset": "symptoms began",
    "tracks": "sessions",
    "factors": "factors",
    "note": "note",
}

MAX_NOTE_CHARS = 2000
MAX_TITLE_CHARS = 200
MAX_TRACKS = 20
EARLIEST = dt.date(1900, 1, 1)


@dataclass(frozen=True)
class Entry:
    """One night. Everything but the date may be empty (None, or an empty tuple)."""

    date: str  # YYYY-MM-DD, the date of the evening
    restless: int | None = None
    sleep: int | None = None
    minutes_to_sleep: int | None = None
    woke: int | None = None
    onset: str | None = None  # HH:MM, 24-hour
    tracks: tuple[str, ...] = ()  # titles of the sessions listened to that evening
    factors: tuple[str, ...] = ()  # factor names, in the order of FACTORS
    note: str | None = None

    def as_json(self) -> dict:
        """Exactly the JSON fields, lists as lists and empty values as null (or [])."""
        return {name: list(value) if isinstance(value, tuple) else value
                for name, value in ((f, getattr(self, f)) for f in FIELDS)}

    def updated(self, values: Mapping) -> "Entry":
        """This night with the given (already checked) values; None empties a field."""
        changes = {k: (() if k in ("tracks", "factors") else None) if v is None else v
                   for k, v in values.items() if k != "date"}
        return replace(self, **changes)

    def changes_to(self, other: "Entry") -> tuple["Change", ...]:
        return tuple(Change(f, getattr(self, f), getattr(other, f)) for f in FIELDS[1:]
                     if getattr(self, f) != getattr(other, f))

    def filled(self) -> dict:
        """The fields that hold a value (the date included)."""
        return {f: getattr(self, f) for f in FIELDS if getattr(self, f) not in (None, ())}


assert tuple(f.name for f in fields(Entry)) == FIELDS


@dataclass(frozen=True)
class Change:
    """One field of one night, before and after."""

    field: str
    old: object
    new: object

    def __str__(self) -> str:
        return f"{self.field}: {show(self.field, self.old)} -> {show(self.field, self.new)}"

    def as_json(self) -> dict:
        def plain(v):
            return list(v) if isinstance(v, tuple) else v

        return {"field": self.field, "old": plain(self.old), "new": plain(self.new)}


@dataclass(frozen=True)
class Changes:
    """What one `add` did to one night: whether it was new, and each field's old and new value."""

    date: str
    created: bool
    fields: tuple[Change, ...]

    def __bool__(self) -> bool:
        return self.created or bool(self.fields)

    def as_json(self) -> dict:
        return {"date": self.date, "created": self.created, "changes": [c.as_json() for c in self.fields]}


def show(field: str, value) -> str:
    """A value as one line for a terminal: control characters escaped, "(empty)" for nothing."""
    if value is None or value == ():
        return "(empty)"
    if field == "tracks":
        return printable("; ".join(value))
    if field == "factors":
        return ", ".join(value)
    if field == "note":
        return '"' + printable(value) + '"'
    return printable(str(value))


def last_night(now: dt.datetime | None = None) -> dt.date:
    """The night a diary entry is about by default: before 18:00 the night that began yesterday
    evening (just ended, or still going at 3 in the morning); from 18:00 the night now starting."""
    now = now or dt.datetime.now()
    return now.date() if now.hour >= EVENING_HOUR else now.date() - dt.timedelta(days=1)


# --------------------------------------------------------------------------- the checks


def validate_fields(data: Mapping, *, today: dt.date | None = None, partial: bool = False) -> dict:
    """The clean values of a night's fields, or a DiaryError with one problem per bad field.

    `data` uses the JSON field names; values may come from JSON (numbers, lists) or from text
    (a CLI option, an answer typed on a terminal: "7", "21:30"). The date is required unless
    `partial`. Only the given keys are returned: None (or an empty list) means "empty this field".
    """
    if not isinstance(data, Mapping):
        raise DiaryError(Problem("", f"a night must be an object with the fields {', '.join(FIELDS)}"))
    today = today or dt.date.today()
    clean, problems = {}, []
    for key in data:
        if key not in FIELDS:
            problems.append(Problem("", f"unknown field {printable(repr(key))}; the fields are {', '.join(FIELDS)}"))
    if "date" not in data and not partial:
        problems.append(Problem("", "the night's date is missing; give it as YYYY-MM-DD", "date"))
    for key in FIELDS:
        if key not in data:
            continue
        try:
            clean[key] = _CHECKS[key](data[key], today) if key == "date" else _CHECKS[key](key, data[key])
        except ValueError as exc:
            problems.append(Problem("", str(exc), key))
    if problems:
        raise DiaryError(problems)
    return clean


def _date(value, today: dt.date) -> str:
    if value is None:
        raise ValueError("the night's date is missing; give it as YYYY-MM-DD")
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        day = value
    else:
        text = value.strip() if isinstance(value, str) else value
        if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(f"{_quote(value)} is not a date; give it as YYYY-MM-DD, e.g. {today.isoformat()}")
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{_quote(value)} is not a day of the calendar; give it as YYYY-MM-DD") from None
    if day > today:
        raise ValueError(f"{day.isoformat()} is in the future; a night is named by the date of its evening, "
                         f"at the latest today ({today.isoformat()})")
    if day < EARLIEST:
        raise ValueError(f"{day.isoformat()} is before {EARLIEST.year}; check the year")
    return day.isoformat()


def _count(key: str, value) -> int | None:
    if value is None:
        return None
    count = COUNTS[key]
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?[0-9]{1,9}\s*", value):
        number = int(value)
    elif isinstance(value, str) and not value.strip():
        return None
    elif isinstance(value, float) and value.is_integer() and abs(value) < 1e9:
        number = int(value)
    if number is None:
        raise ValueError(f"{_quote(value)} is not a whole number; give {count.give}")
    if not count.low <= number <= count.high:
        raise ValueError(f"{number} is out of range; give {count.give}")
    return number


def _onset(key: str, value) -> str | None:
    if value is None or isinstance(value, str) and not value.strip():
        return None
    match = re.fullmatch(r"\s*([0-9]{1,2}):([0-9]{2})\s*", value) if isinstance(value, str) else None
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"{_quote(value)} is not a time of day; give hours and minutes as HH:MM, e.g. 21:30")
    return f"{int(match[1]):02d}:{match[2]}"


def _tracks(key: str, value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError("must be a list of session titles, e.g. [\"Acupressure for restless legs\"]")
    titles: list[str] = []
    for i, title in enumerate(value):
        if not isinstance(title, str):
            raise ValueError(f"[{i}]: {_quote(title)} is not a title; give each session's title as text")
        breaks = [ch for ch in title if ch in "\n\r\t\u2028\u2029\x85"]
        problem = (f"contains a line break or tab (U+{ord(breaks[0]):04X}); remove it" if breaks
                   else text_problem(title))
        cleaned = normalise(title)
        if not problem and not cleaned:
            problem = "is empty; give the session's title"
        if not problem and len(cleaned) > MAX_TITLE_CHARS:
            problem = f"is {len(cleaned)} characters long, more than the {MAX_TITLE_CHARS} allowed"
        if problem:
            raise ValueError(f"[{i}]: {problem}")
        if cleaned not in titles:
            titles.append(cleaned)
    if len(titles) > MAX_TRACKS:
        raise ValueError(f"{len(titles)} sessions in one night, more than the {MAX_TRACKS} allowed")
    return tuple(titles)


def factor_name(text: str) -> str | None:
    """The factor a person means by `text` (its name or its label, any case), or None."""
    wanted = " ".join(text.lower().replace("-", " ").replace("_", " ").split())
    for factor in FACTORS:
        if wanted in (factor.name, factor.label.lower()):
            return factor.name
    return None


def _factors(key: str, value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError("must be a list of factor names, e.g. [\"caffeine\", \"sitting\"]")
    names = set()
    for item in value:
        name = factor_name(item) if isinstance(item, str) else None
        if name is None:
            raise ValueError(f"unknown factor {_quote(item)}; the factors are "
                             + ", ".join(f.name for f in FACTORS))
        names.add(name)
    return tuple(f.name for f in FACTORS if f.name in names)


def _note(key: str, value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{_quote(value)} is not text; give the note as text")
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    lines = [" ".join(line.split()) for line in value.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    note = "\n".join(lines).strip()
    if len(note) > MAX_NOTE_CHARS:
        raise ValueError(f"is {len(note)} characters long, more than the {MAX_NOTE_CHARS} allowed")
    return note or None


def _quote(value) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return printable(text if len(text) <= 40 else text[:37] + "...")


_CHECKS = {"date": _date, "restless": _count, "sleep": _count, "minutes_to_sleep": _count, "woke": _count,
           "onset": _onset, "tracks": _tracks, "factors": _factors, "note": _note}
