"""Routines: the model a routine file becomes (frozen dataclasses), its keys and markup rules,
and the bundled routines' names. Reading and checking a file is routinefile.py's job.

A routine file is TOML (see the README for every key): a title, a [pace], a [session], and
[[steps]] that the timeline builder turns into speech and silence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..base import bundled, limits
from ..base.tomlfile import Checker
from ..base.units import parse_duration
from ..data import data_file

SIDES = ("right", "left")
ROUTINES = data_file("routines")  # the bundled routines

CUE_KEYS = ("start_cue", "end_cue", "countdown_cue", "halfway_cue", "get_ready")
TOP_KEYS = ("title", "author", "description", "album", "pace", "pronounce", "session", "steps")
SESSION_KEYS = ("mode", "length", "tail", "voice", "soundscape", "soundscape_level", "pacer", "chime")
PACE_KEYS = ("hold", "rest", "inhale", "exhale", "guided_breaths", *CUE_KEYS)
STEP_KEYS = ("title", "intro", "say", "point", "pause", "sides", "switch", "hold", "massage", "rest", "repeat",
             "cues", "breathe", "stretch", "cautions", "modes", *CUE_KEYS)
BREATHE_KEYS = ("inhale", "exhale", "cycles")
PLACEHOLDERS = ("side", "point", "location", "find", "hold", "rest", "pause")

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
INLINE_PAUSE = re.compile(r"\[([^\[\]]*)\]")  # [2s] in narration; the timeline splits on it too
# Narration that states a length, which --length must then not change: "ten seconds", "3 minutes".
_NUMBER = (r"(?:\d+(?:\.\d+)?|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
           r"twenty|thirty|forty|forty-five|fifty|sixty|ninety|a few|half an?)")
STATED_DURATION = re.compile(rf"\b{_NUMBER}\s+(?:second|minute|hour)s?\b", re.IGNORECASE)


@dataclass(frozen=True)
class Cues:
    """What is said around a hold or massage. None: the default; "": nothing."""

    start: str | None = None  # "Press." / "Press and massage."
    end: str | None = None  # "And release."
    countdown: str | None = None  # "Thirty seconds left." in massage mode, 30 s before the end of a long hold
    halfway: str | None = ""  # off unless a routine asks for it
    get_ready_ms: int = 0  # silence between the instruction and the start cue


@dataclass(frozen=True)
class Pace:
    hold_ms: int = 10_000
    rest_ms: int = 10_000
    inhale_ms: int = 4_000
    exhale_ms: int = 6_000
    guided_breaths: int = 2
    cues: Cues = Cues()


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
class StepCaution:
    """A caution of the point library as a step speaks it: `say` for a point worked on one side
    only, `first` on the first of its sides (it applies to both, and says what to do instead),
    `remind` on every later side, so a listener who jumps to any chapter hears it."""

    key: str
    say: str
    first: str
    remind: str


@dataclass(frozen=True)
class Step:
    title: str  # may hold {side}; without it, each side's chapter gets " (side)"
    say: str = ""  # said for every side
    intro: str = ""  # said once, before the first side
    pause_ms: int = 0
    sides: tuple[str, ...] = ()
    switch: str = ""
    hold_ms: int | None = None
    massage_ms: int | None = None
    rest_ms: int = 0
    repeat: int = 1
    cues: tuple[str, ...] = ()
    breathing: Breathing | None = None
    point: str = ""  # the point's code, when the step works on a point of the library
    cautions: tuple[StepCaution, ...] = ()  # the point's and the step's own: on every side, before its start cue
    cue: Cues = Cues()
    rest_fixed: bool = False  # the narration names the rest ({rest}): --length keeps it
    pause_fixed: bool = False  # likewise for the pause
    stretch_ms: tuple[int, int] | None = None  # --length may give the hold or massage (else the pause) this range
    modes: tuple[str, ...] = ()  # the listening modes the step is spoken in; () for every mode

    @property
    def timed_ms(self) -> int | None:
        """The hold or massage length, if the step has one."""
        return self.hold_ms if self.hold_ms is not None else self.massage_ms

    def cue_for(self, press: int) -> str:
        if not self.cues:
            return ""
        if len(self.cues) == 1:
            return self.cues[0]
        return self.cues[press] if press < len(self.cues) else ""  # rounds --length added have no cue of their own


@dataclass(frozen=True)
class Session:
    """`[session]`: how the routine asks to be built where the command line does not say
    (`rlsaudio compose` writes one, so building its file again gives the same track). `places`
    holds (key, line) for each key given, so an error can name it."""

    mode: str | None = None
    length_ms: int | None = None
    tail_ms: int | None = None
    voice: str | None = None
    soundscape: str | None = None
    soundscape_db: float | None = None
    pacer: str | None = None
    chime: bool | None = None
    places: tuple[tuple[str, int | None], ...] = ()


@dataclass(frozen=True)
class Routine:
    title: str
    steps: tuple[Step, ...]
    author: str = ""
    description: str = ""
    album: str = ""
    pace: Pace = Pace()
    source: str = ""
    # A composition: (step index, most presses) for each step whose presses --length may repeat in
    # rounds. A routine's --length scales its pauses and rests and stretches what `stretch` allows.
    rounds: tuple[tuple[int, int], ...] = ()
    # The routine's own additions to the pronunciation table: written word -> how the engine says it.
    pronounce: tuple[tuple[str, str], ...] = ()
    session: Session = Session()

    @property
    def fixed_ms(self) -> int:
        """The length of every timed part (holds, rests, pauses, breathing); speech excluded."""
        total = 0
        for step in self.steps:
            once = step.pause_ms + sum(inline_pauses_ms(t) for t in (step.say, *step.cues))
            if step.timed_ms is not None:
                once += step.repeat * step.timed_ms + (step.repeat - 1) * step.rest_ms + step.cue.get_ready_ms
            if step.breathing and step.breathing.cycles:
                once += step.breathing.cycles * step.breathing.cycle_ms
            total += once * max(1, len(step.sides)) + inline_pauses_ms(step.intro)
        return total


def inline_pauses_ms(text: str) -> int:
    total = 0
    for marker in INLINE_PAUSE.findall(text):
        try:
            total += max(0, parse_duration(marker))
        except ValueError:
            pass
    return total


_NEEDS = {
    "side": 'needs sides in the same step; add sides = ["right", "left"]',
    "point": 'needs a point in the same step; add point = "SP 6"',
    "location": 'needs a point in the same step; add point = "SP 6"',
    "find": 'needs a point in the same step; add point = "SP 6"',
    "hold": "needs a hold or massage in the same step",
    "rest": "needs a rest between repeated presses in the same step (repeat and rest)",
    "pause": "needs a pause in the same step",
}


def _check_markup(check: Checker, place: str, text: str, available: set[str], title: bool = False) -> None:
    for name in _PLACEHOLDER.findall(text):
        if name not in PLACEHOLDERS:
            check.problem(place, f'unknown placeholder "{{{name}}}"; use ' + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS))
        elif name not in available:
            check.problem(place, f"{{{name}}} {_NEEDS[name]}")
    if "{" in _PLACEHOLDER.sub("", text) or "}" in _PLACEHOLDER.sub("", text):
        check.problem(place, "has an unmatched { or }; write a placeholder like {side} or remove the brace")
    without_pauses = INLINE_PAUSE.sub("", text)
    if "[" in without_pauses or "]" in without_pauses:
        check.problem(place, "has an unmatched [ or ]; write a pause like [2s] or remove the bracket")
    for marker in INLINE_PAUSE.findall(text):
        if title:
            check.problem(place, f"[{marker}] pauses belong in say, not in a title; remove it")
            continue
        try:
            ms = parse_duration(marker)
        except ValueError:
            check.problem(place, f'inline pause "[{marker}]" is not a duration; write it like [2s] or [500ms]')
            continue
        check.range_ms(place, ms, 1, limits.MAX_INLINE_PAUSE_MS, what=f"inline pause [{marker}]")


# --------------------------------------------------------------------------- bundled


def bundled_ids() -> list[str]:
    return bundled.names(ROUTINES)
