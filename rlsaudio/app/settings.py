"""A session's settings as the app receives them (JSON), checked with the CLI's own checks.

    {"routine": "foot-reflexology"}                                    a bundled routine
    {"upload": "<id>"}                                                 an uploaded routine file
    {"points": ["SP 6", "K 3"], "length": "15m", "mode": "bedtime",    points from the library
     "voice": "joe", "format": "mp3", "title": "..."}

Other keys: hold, breathe, tail, soundscape ("brown" or "pink": never a file, the server reads no
file a request names), soundscape_level, pacer, chime, bitrate. Durations are written as on the
command line ("12m", "90s", 720). Each problem is one line naming the key, in the words the CLI
uses for the same value; values go through the same functions (limits, modes, formats, points).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..base import limits
from ..base.errors import InputError, Problem
from ..base.text import normalise, text_problem
from ..base.units import parse_duration

KEYS = ("routine", "upload", "points", "length", "hold", "mode", "voice", "format", "bitrate", "title", "breathe",
        "tail", "soundscape", "soundscape_level", "pacer", "chime")
NOISES = ("brown", "pink")


@dataclass(frozen=True)
class Settings:
    """Checked settings, plain values only: they travel to a worker process as they are."""

    routine: str = ""  # a bundled id, or the path of an uploaded file (never a path from a request)
    shown: str = ""  # how errors name the routine: its id, or the uploaded file's name
    points: tuple[str, ...] = ()
    length_ms: int | None = None
    hold_ms: int | None = None
    mode: str = "massage"
    voice: str | None = None  # a bundled name or the path of a profile the app was started with
    voice_name: str = ""
    format: str = "mp3"
    bitrate: str | None = None
    title: str | None = None
    breathe: bool = False
    tail_ms: int | None = None
    soundscape: str | None = None
    soundscape_db: float = -22.0
    pacer: str = "tones"
    chime: bool = True
    raw: dict = field(default_factory=dict, compare=False)

    @property
    def composed(self) -> bool:
        return bool(self.points)

    def request(self):
        """The TrackRequest these settings describe; each value's origin is its JSON key."""
        from ..plan import TrackRequest
        from ..script.compose import Composition
        from ..script.modes import ModeOptions, option_origin

        options = ModeOptions(self.mode, self.tail_ms, self.chime, self.pacer, self.soundscape, self.soundscape_db)
        origins = {key: option_origin(name) for key, name in (
            ("length", "length"), ("tail", "tail"), ("mode", "mode"), ("pacer", "pacer"),
            ("soundscape_level", "soundscape_level"), ("soundscape", "soundscape"), ("voice", "voice"))}
        compose = None
        if self.points:
            compose = Composition(self.points, self.title, self.hold_ms, self.breathe, source="points",
                                  origin=Problem("points", ""))
        return TrackRequest(self.routine, self.voice, options, self.length_ms, compose=compose, origins=origins)

    def track_options(self):
        from ..publish.track import track_options

        return track_options(self.format, self.bitrate)


class VoiceChoices:
    """The voices the app offers: the bundled ones and the profile files it was started with
    (`--voice FILE`). A request names one of them, never a file."""

    def __init__(self, extra_files: tuple[str, ...] = ()):
        from ..speech.voices import bundled_voice_names, load_profile

        self.refs: dict[str, str] = {name: name for name in bundled_voice_names()}
        for path in extra_files:
            profile = load_profile(path)
            self.refs[profile.name] = path

    def names(self) -> list[str]:
        return list(self.refs)

    def describe(self) -> list[dict]:
        from ..speech.voices import default_voice_name, load_profile, unavailable_reason

        try:
            default = default_voice_name()
        except Exception:  # no engine at all: every voice says why below
            default = ""
        out = []
        for name, ref in self.refs.items():
            profile = load_profile(ref)
            reason = unavailable_reason(profile)
            out.append({"name": name, "description": profile.description, "available": reason is None,
                        "reason": reason or "", "default": name == default, "engine": profile.engine})
        if not any(v["default"] for v in out):
            for voice in out:
                if voice["available"]:
                    voice["default"] = True
                    break
        return out


def _duration(data: dict, key: str, problems: list[Problem], *, max_ms: int, min_ms: int = 1, what: str,
              example: str) -> int | None:
    if data.get(key) is None:
        return None
    try:
        ms = parse_duration(data[key])
    except ValueError as exc:
        problems.append(Problem(key, f"{exc}; give {what} like {example}"))
        return None
    problem = limits.duration_problem(ms, min_ms=min_ms, max_ms=max_ms, what=what)
    if problem:
        problems.append(Problem(key, problem))
        return None
    return ms


def _text(data: dict, key: str, problems: list[Problem]) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        problems.append(Problem(key, "expected text"))
        return None
    problem = text_problem(value)
    if problem is None and any(ch in value for ch in "\n\r\t\u2028\u2029\x85"):
        problem = "contains a line break or tab; remove it"
    if problem:
        problems.append(Problem(key, problem))
        return None
    cleaned = normalise(value)
    if len(cleaned) > limits.MAX_TEXT_OPTION_CHARS:
        problems.append(Problem(key, f"is {len(cleaned)} characters long, more than the "
                                     f"{limits.MAX_TEXT_OPTION_CHARS} allowed"))
        return None
    return cleaned or None


def _choice(data: dict, key: str, choices: tuple[str, ...] | list[str], default, problems: list[Problem]):
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, str) or value not in choices:
        shown = value if isinstance(value, str) else type(value).__name__
        problems.append(Problem(key, f'unknown {key} "{shown}"; use ' + " or ".join(choices)))
        return default
    return value


def _flag(data: dict, key: str, default: bool, problems: list[Problem]) -> bool:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        problems.append(Problem(key, "expected true or false"))
        return default
    return value


def parse_settings(data: Any, voices: VoiceChoices, uploads=None) -> Settings:
    """Checked settings, or InputError with one line per problem."""
    from ..encode.formats import format_names, parse_bitrate
    from ..base.limits import MAX_COMPOSE_POINTS as MAX_POINTS, PRESS_MAX_MS as MAX_HOLD_MS, PRESS_MIN_MS as MIN_HOLD_MS
    from ..script.modes import MODES, PACERS, defaults
    from ..script.routine import bundled_ids

    if not isinstance(data, dict):
        raise InputError(Problem("settings", 'expected a JSON object like {"routine": "acupressure"}'))
    problems: list[Problem] = []
    for key in data:
        if key not in KEYS:
            problems.append(Problem(str(key)[:40], "unknown setting; known settings: " + ", ".join(KEYS)))
    sources = [key for key in ("routine", "upload", "points") if data.get(key) not in (None, "", [])]
    if len(sources) != 1:
        problems.append(Problem("settings", "give one of routine (a bundled routine), upload (an uploaded file) "
                                            "or points (a list of point codes)"))
    routine = shown = ""
    points: tuple[str, ...] = ()
    if data.get("routine"):
        value = data["routine"]
        if not isinstance(value, str) or value not in bundled_ids():
            problems.append(Problem("routine", f"no bundled routine {value!r}; bundled: " + ", ".join(bundled_ids())))
        else:
            routine = shown = value
    if data.get("upload"):
        found = uploads.get(data["upload"]) if uploads is not None and isinstance(data["upload"], str) else None
        if found is None:
            problems.append(Problem("upload", "no such uploaded file (the app forgets uploads when it stops); "
                                              "upload the routine file again"))
        else:
            routine, shown = str(found.path), found.name
    if data.get("points"):
        value = data["points"]
        if not isinstance(value, list) or not all(isinstance(c, str) and 0 < len(c) <= 40 for c in value):
            problems.append(Problem("points", 'expected a list of point codes like ["SP 6", "K 3"]'))
        elif len(value) > MAX_POINTS:
            problems.append(Problem("points", f"{len(value)} points, more than the {MAX_POINTS} allowed; make two "
                                              "sessions"))
        else:
            points = tuple(value)
    length = _duration(data, "length", problems, max_ms=limits.MAX_SESSION_MS, what="a length", example="15m")
    hold = _duration(data, "hold", problems, min_ms=MIN_HOLD_MS, max_ms=MAX_HOLD_MS, what="a hold", example="1m")
    if hold is not None and length is not None:
        problems.append(Problem("hold", "give length (the session) or hold (each hold), not both"))
    if hold is not None and not points:
        problems.append(Problem("hold", "only a session made from points has a hold to set; use length"))
    tail = _duration(data, "tail", problems, max_ms=limits.MAX_TAIL_MS, what="a tail", example="30m")
    d = defaults()
    mode = _choice(data, "mode", MODES, d["mode"], problems)
    pacer = _choice(data, "pacer", PACERS, d["pacer"], problems)
    fmt = _choice(data, "format", format_names(), d["format"], problems)
    soundscape = _choice(data, "soundscape", NOISES, None, problems)
    voice_name = _choice(data, "voice", voices.names(), None, problems)
    level = data.get("soundscape_level", d["soundscape_db"])
    if isinstance(level, bool) or not isinstance(level, (int, float)):
        problems.append(Problem("soundscape_level", "expected a number of dB, like -22"))
        level = d["soundscape_db"]
    bitrate = data.get("bitrate")
    if bitrate is not None:
        if not isinstance(bitrate, (str, int)) or isinstance(bitrate, bool):
            problems.append(Problem("bitrate", 'expected a bitrate like "64k"'))
            bitrate = None
        else:
            try:
                parse_bitrate(str(bitrate), Problem("bitrate", ""), fmt=fmt)
                bitrate = str(bitrate)
            except InputError as exc:
                problems += exc.problems
                bitrate = None
    title = _text(data, "title", problems)
    if title and not points:
        problems.append(Problem("title", "only a session made from points takes a title; a routine keeps its own"))
    breathe = _flag(data, "breathe", False, problems)
    chime = _flag(data, "chime", True, problems)
    if problems:
        raise InputError(problems)
    return Settings(routine=routine, shown=shown, points=points, length_ms=length, hold_ms=hold, mode=mode,
                    voice=voices.refs[voice_name] if voice_name else None, voice_name=voice_name or "", format=fmt,
                    bitrate=bitrate, title=title, breathe=breathe, tail_ms=tail, soundscape=soundscape,
                    soundscape_db=float(level), pacer=pacer, chime=chime, raw=dict(data))
