"""The point library: every acupressure point and reflexology zone the routines name.

One job: answer "which point is this code, what is it called, how is it
found, what caution goes with it, and where is it drawn". The knowledge lives in the data
file (read and checked by pointfile.py); this module restates none of it.
"""

from __future__ import annotations

import copyreg
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from ..base.errors import PointsError
from ..base.suggest import closest
from ..base.units import show_value


# Read-only mappings travel to playlist worker processes with the plans that hold them.
def _read_only(items: dict) -> MappingProxyType:
    return MappingProxyType(items)


copyreg.pickle(MappingProxyType, lambda proxy: (_read_only, (dict(proxy),)))

BUNDLED_NAME = "points.toml"
KINDS = ("acupressure", "reflexology")
LATERALITIES = ("paired", "midline", "left", "right")
VIEWS = ("both", "right")

BUNDLED_KEYS = ("sources", "channels", "cautions", "figures", "points")
USER_KEYS = ("points", "cautions")
SOURCE_KEYS = ("title", "text")
CAUTION_KEYS = ("say", "first", "remind", "text", "safety", "longest_press")
FIGURE_KEYS = ("title", "viewbox", "view")
POINT_KEYS = ("code", "aliases", "note", "name", "spoken", "kind", "source", "region", "location", "find",
              "say_location", "limb", "laterality", "figure", "right", "left", "at", "cautions")
POSITION_KEYS = ("right", "left", "at")

_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")  # keys of [sources], [cautions], [figures]
_CHANNEL = re.compile(r"[A-Z]{1,4}")
_CHANNEL_CODE = re.compile(r"([a-z]{1,4})(\d{1,3})")  # a normalised code such as "sp6"
_MARKUP = re.compile(r"[\[\]{}]")  # narration markup: [2s] pauses, {side} placeholders
_VIEWBOX = re.compile(r"""<svg\b[^>]*?\bviewBox\s*=\s*["']([^"']*)["']""", re.DOTALL)


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Source:
    """A text the points come from, keyed like the bundled routine made from it."""

    key: str
    title: str
    text: str  # the file name of its copy under tests/data/seeds/


@dataclass(frozen=True)
class Caution:
    """A warning carried by some points: spoken before the point on every side, shown with it,
    and summed up once in a composition's safety words.

    `say` is spoken for a point worked on one side only; `first` on the first of several sides
    (the caution applies to them all, and what to do instead); `remind` on each later side. A
    caution may also cap how long one press of its points lasts in a composition."""

    key: str
    say: str
    text: str
    safety: str
    first: str = ""
    remind: str = ""
    longest_press_ms: int | None = None


@dataclass(frozen=True)
class Figure:
    """A line drawing the page puts points on.

    `view` is "both" when the drawing shows both sides of the body, "right" when it shows
    the right limb only and the page mirrors it horizontally for the left. Labels are the
    `<text>` elements of `<g class="labels">`: when mirroring, flip each back on its own
    box (CSS `transform-box: fill-box; transform-origin: center; transform: scaleX(-1)`)
    so it still reads left to right.
    """

    name: str
    title: str
    viewbox: tuple[float, float, float, float]
    view: str
    svg: str = field(repr=False)

    def mirror_x(self, x: float) -> float:
        """Where x lands when the drawing is flipped left to right."""
        min_x, _, width, _ = self.viewbox
        return 2 * min_x + width - x


@dataclass(frozen=True)
class Point:
    """One point or zone. `positions` maps "at", or "right"/"left", to (x, y) on its figure."""

    code: str
    spoken: str
    kind: str
    region: str
    location: str  # the source's own words
    find: str  # how to find it, in plain words
    laterality: str
    aliases: tuple[str, ...] = ()
    name: str = ""
    source: str = ""
    figure: str = ""
    positions: Mapping[str, tuple[float, float]] = field(default_factory=lambda: MappingProxyType({}))
    cautions: tuple[str, ...] = ()
    note: str = ""  # what a reader should know about the point's name, e.g. a source's wrong code
    limb: str = "side"  # what one side is called in narration: "Find it on your right leg"
    say_location: bool = True  # false: a composition speaks `find` alone (the source's words are relative or mislead)

    @property
    def sides(self) -> tuple[str, ...]:
        """The sides to press, in the routines' order: () for a midline point."""
        return {"paired": ("right", "left"), "midline": (), "left": ("left",), "right": ("right",)}[self.laterality]


@dataclass(frozen=True)
class Placement:
    """Where the page draws one side of a point: (x, y) is in the figure's viewBox as shown,
    after the drawing is mirrored when `mirrored` is true."""

    figure: Figure
    x: float
    y: float
    mirrored: bool = False


@dataclass(frozen=True)
class PointLibrary:
    """The points in file order, with what they refer to, and lookup by any of their names."""

    points: tuple[Point, ...]
    cautions: Mapping[str, Caution]
    figures: Mapping[str, Figure]
    sources: Mapping[str, Source]
    channels: Mapping[str, str]
    _index: Mapping[str, Point] = field(repr=False, compare=False)

    def lookup(self, code: str) -> Point:
        """A point by code, alias, spoken name or name: "SP 6", "sp6", "Spleen 6", "Sanyinjiao", "CV 26"."""
        key = normalise(code)
        point = self._index.get(key)
        if point is None:
            channel = _CHANNEL_CODE.fullmatch(key)
            if channel and channel.group(1).upper() in self.channels:
                spoken = f"{self.channels[channel.group(1).upper()]} {int(channel.group(2))}"
                point = self._index.get(normalise(spoken))  # "KI 3" finds K 3 by its spoken name
        if point is None:
            raise PointsError(self._unknown(code))
        return point

    def spoken(self, code: str) -> str:
        return self.lookup(code).spoken

    def cautions_of(self, code: str) -> tuple[Caution, ...]:
        return tuple(self.cautions[key] for key in self.lookup(code).cautions)

    def __contains__(self, code: object) -> bool:
        try:
            self.lookup(str(code))
        except PointsError:
            return False
        return True

    def placement(self, code: str, side: str | None = None) -> Placement | None:
        """Where to draw `side` ("right", "left", or None for a one-sided point) of a point;
        None when the point has no figure."""
        point = self.lookup(code)
        if not point.figure:
            return None
        figure = self.figures[point.figure]
        if point.laterality == "midline":
            side = None
        elif point.laterality in ("left", "right"):
            if side not in (None, point.laterality):
                raise PointsError(f"{point.code} is on the {point.laterality} side only, not the {side}")
            side = point.laterality
        elif side not in ("right", "left"):
            raise PointsError(f'{point.code} is on both sides; say which: "right" or "left"')
        if "at" in point.positions:
            x, y = point.positions["at"]
            if side == "left" and figure.view == "right":
                return Placement(figure, figure.mirror_x(x), y, mirrored=True)
            return Placement(figure, x, y)
        x, y = point.positions[side or ""]
        return Placement(figure, x, y)

    def _unknown(self, code: str) -> str:
        """The message for a code that names no point. A suggestion may fix how a name is
        written ("hart", "Spleeen 6"), never which point it names: "SP 10" is not SP 12 (another
        body site), so for a number the library lacks it says which points of that channel it holds."""
        shown = show_value(code)
        names = [n for p in self.points for n in (p.code, *p.aliases, p.spoken, *([p.name] if p.name else []))]
        found = closest(code, names, key=normalise, allow=lambda name: self._same_point(code, name))
        if found is not None:
            return f'unknown point {shown}; did you mean "{found}"?'
        letters, _ = _letters_digits(code)
        channel = self._channel(letters)
        held = [] if channel is None else [
            next(n for n in (p.code, *p.aliases) if self._channel(_letters_digits(n)[0]) == channel)
            for p in self.points if any(self._channel(_letters_digits(n)[0]) == channel for n in (p.code, *p.aliases))]
        if held:
            listing = held[0] if len(held) == 1 else ", ".join(held[:-1]) + " and " + held[-1]
            return (f"unknown point {shown}; of the {channel} channel the library holds only {listing} "
                    "(see rlsaudio points)")
        return f"unknown point {shown}; known points: " + ", ".join(p.code for p in self.points)

    def _channel(self, letters: str) -> str | None:
        """The channel a code's letters name, by prefix ("sp") or by name ("spleen")."""
        if letters.upper() in self.channels:
            return self.channels[letters.upper()]
        return next((name for name in self.channels.values() if normalise(name) == letters), None)

    def _same_point(self, code: str, name: str) -> bool:
        """Whether `name` may be what `code` meant: the same number, and the same channel
        when `code` names a real one (GV 2 is not LV 2)."""
        letters, digits = _letters_digits(code)
        other_letters, other_digits = _letters_digits(name)
        if digits != other_digits:
            return False
        mine = self._channel(letters)
        return mine is None or not digits or mine == self._channel(other_letters)


def _letters_digits(code: str) -> tuple[str, str]:
    """("sp", "6") for "SP 6"; ("heart", "") for a zone."""
    key = normalise(code)
    return "".join(ch for ch in key if not ch.isdigit()), "".join(ch for ch in key if ch.isdigit())


def point_json(library: PointLibrary, point: Point) -> dict:
    """Every field of a point, for `rlsaudio points --json` and the app: names, place, sides,
    positions on its figure and the cautions it carries."""
    return {
        "code": point.code, "spoken": point.spoken, "name": point.name, "aliases": list(point.aliases),
        "note": point.note,
        "kind": point.kind, "source": point.source, "region": point.region, "location": point.location,
        "find": point.find, "say_location": point.say_location, "limb": point.limb,
        "laterality": point.laterality, "figure": point.figure,
        "positions": {side: list(xy) for side, xy in point.positions.items()},
        "cautions": [{"key": c.key, "say": c.say, "text": c.text} for c in library.cautions_of(point.code)],
    }


def normalise(code: str) -> str:
    """The form codes are compared in: case, spaces, dashes and a leading "the" ignored."""
    text = code.casefold().strip()
    text = re.sub(r"^the\s+", "", text)
    return "".join(ch for ch in text if ch.isalnum())
