"""Reading a points file: the bundled `points.toml` and a user's points file in the same format,
checked key by key (file:line, what is wrong, how to fix it) and turned into a PointLibrary.

The model (Point, Caution, Figure, PointLibrary) lives in points.py; this module only loads and
validates.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from ..base import limits
from ..base.errors import PointsError
from ..base.suggest import hint, one_of
from ..base.tomlfile import Checker, parse_toml_bytes, read_toml
from ..base.tomlfile import Source as TomlSource
from ..base.units import show_value
from ..data import data_file
from .points import (BUNDLED_KEYS, BUNDLED_NAME, CAUTION_KEYS, FIGURE_KEYS, KINDS, LATERALITIES, POINT_KEYS,
                     POSITION_KEYS, SOURCE_KEYS, USER_KEYS, VIEWS, Caution, Figure, Point, PointLibrary,
                     Source, _CHANNEL, _CHANNEL_CODE, _MARKUP, _NAME, _VIEWBOX, normalise)


def load_library(points_file: Path | str | None = None) -> PointLibrary:
    """The bundled points, plus those of a user's points file when one is given."""
    bundled = bundled_library()
    if points_file is None:
        return bundled
    return merge_points(bundled, read_toml(points_file, "points", PointsError))


def parse_points(text: str | bytes, name: str = "<points>") -> PointLibrary:
    """The bundled points plus those in `text` (used by tests and the fuzzer)."""
    return merge_points(bundled_library(), parse_toml_bytes(text, name, "points", PointsError))


@functools.cache
def bundled_library() -> PointLibrary:
    raw = data_file(BUNDLED_NAME).read_bytes()
    source = parse_toml_bytes(raw, BUNDLED_NAME, "points", PointsError)
    check = Checker(source)
    data = source.data
    check.keys(data, "", BUNDLED_KEYS)
    sources = _load_sources(check, data)
    channels = _load_channels(check, data)
    cautions = _load_cautions(check, data, {})
    figures = _load_figures(check, data)
    check.raise_if_any(PointsError)
    base = PointLibrary((), MappingProxyType(cautions), MappingProxyType(figures), MappingProxyType(sources),
                        MappingProxyType(channels), MappingProxyType({}))
    return _add_points(check, data, base, bundled=True)


def merge_points(base: PointLibrary, source: TomlSource) -> PointLibrary:
    """`base` with the points and cautions of a user's points file added."""
    check = Checker(source)
    data = source.data
    for key in ("sources", "channels", "figures"):
        if key in data:
            first = next(iter(data[key]), "") if isinstance(data[key], dict) else ""
            check.problem(f"{key}.{first}" if first else key, f"a points file adds points and cautions only; "
                                                              f"the {key} are rlsaudio's own, so remove [{key}]")
    check.keys({k: v for k, v in data.items() if k not in ("sources", "channels", "figures")}, "", USER_KEYS)
    cautions = {**base.cautions, **_load_cautions(check, data, base.cautions)}
    declared = frozenset(data["cautions"]) if isinstance(data.get("cautions"), dict) else frozenset()
    if "points" not in data:
        check.problem("", "no points; add at least one [[points]] table with code, kind, region, location "
                          "and laterality")
    base = PointLibrary(base.points, MappingProxyType(cautions), base.figures, base.sources, base.channels,
                        base._index)
    return _add_points(check, data, base, bundled=False, declared=declared)


def _load_sources(check: Checker, data: dict[str, Any]) -> dict[str, Source]:
    out = {}
    for key, table in _named_tables(check, data, "sources").items():
        place = f"sources.{key}"
        check.keys(table, place, SOURCE_KEYS)
        title = check.text(table, "title", place, required=True)
        text = check.text(table, "text", place, required=True)
        if title and text:
            out[key] = Source(key, title, text)
    return out


def _load_channels(check: Checker, data: dict[str, Any]) -> dict[str, str]:
    table = check.table(data, "channels")
    out = {}
    for prefix, value in (table or {}).items():
        place = f"channels.{prefix}"
        if not _CHANNEL.fullmatch(prefix):
            check.problem(place, "a channel prefix is 1 to 4 capital letters, like SP")
            continue
        name = check.text_value(value, place, max_chars=limits.POINT_TEXT_CHARS["channel"])
        if name:
            out[prefix] = name
    return out


def _load_cautions(check: Checker, data: dict[str, Any], existing: Mapping[str, Caution]) -> dict[str, Caution]:
    out = {}
    for key, table in _named_tables(check, data, "cautions").items():
        place = f"cautions.{key}"
        if key in existing:
            check.problem(place, f'rlsaudio already has a caution "{key}"; use it as it is, or give yours '
                                 "another name")
            continue
        check.keys(table, place, CAUTION_KEYS)
        say = _plain(check, table, "say", place, required=True)
        first = _plain(check, table, "first", place) or ""
        remind = _plain(check, table, "remind", place) or ""
        text = _plain(check, table, "text", place, required=True)
        safety = _plain(check, table, "safety", place, required=True)
        longest = check.duration(table, "longest_press", place, min_ms=limits.PRESS_MIN_MS,
                                 max_ms=limits.PRESS_MAX_MS)  # a composition still presses a minute or more
        if say and text and safety:
            out[key] = Caution(key, say, text, safety, first, remind, longest)
    return out


def _load_figures(check: Checker, data: dict[str, Any]) -> dict[str, Figure]:
    out = {}
    folder = data_file("figures")
    for key, table in _named_tables(check, data, "figures").items():
        place = f"figures.{key}"
        check.keys(table, place, FIGURE_KEYS)
        title = check.text(table, "title", place, required=True)
        view = _choice(check, table, "view", place, VIEWS, "view")
        viewbox = _viewbox(check, table, place)
        resource = folder / f"{key}.svg"
        if not resource.is_file():
            check.problem(place, f"no drawing rlsaudio/data/figures/{key}.svg; add it or remove [{place}]")
            continue
        svg = resource.read_text(encoding="utf-8")
        drawn = _VIEWBOX.search(svg)
        if viewbox and (not drawn or _numbers(drawn.group(1)) != viewbox):
            found = f'viewBox "{drawn.group(1)}"' if drawn else "no viewBox"
            check.problem(f"{place}.viewbox", f"{key}.svg has {found}; make the two the same")
            continue
        if title and view and viewbox:
            out[key] = Figure(key, title, viewbox, view, svg)
    return out


def _numbers(text: str) -> tuple[float, ...] | None:
    try:
        return tuple(float(n) for n in text.replace(",", " ").split())
    except ValueError:
        return None


def _viewbox(check: Checker, table: dict[str, Any], place: str) -> tuple[float, float, float, float] | None:
    if "viewbox" not in table:
        check.problem(place, 'missing "viewbox"; add viewbox = [0, 0, width, height] as in the SVG')
        return None
    value = table["viewbox"]
    if (not isinstance(value, list) or len(value) != 4 or not all(_is_number(v) for v in value)
            or value[2] <= 0 or value[3] <= 0):
        check.problem(f"{place}.viewbox", f"expected [min_x, min_y, width, height] with a positive width and "
                                          f"height, got {show_value(value)}")
        return None
    return tuple(float(v) for v in value)  # type: ignore[return-value]


def _named_tables(check: Checker, data: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    table = check.table(data, key)
    out = {}
    for name, value in (table or {}).items():
        place = f"{key}.{name}"
        if not _NAME.fullmatch(name):
            check.problem(place, "a name is lowercase letters, digits and dashes (at most 40), like pregnancy")
        elif not isinstance(value, dict):
            check.problem(place, f"expected a table like [{place}], got {show_value(value)}")
        else:
            out[name] = value
    return out


def _choice(check: Checker, table: dict[str, Any], key: str, place: str, choices: tuple[str, ...] | list[str],
            what: str, *, required: bool = True) -> str | None:
    value = check.text(table, key, place, required=required)
    if value is None:
        return None
    if value not in choices:
        check.problem(f"{place}.{key}", f"unknown {what} {show_value(value)}; {_suggest(value, choices)}")
        return None
    return value


def _suggest(value: str, choices: tuple[str, ...] | list[str]) -> str:
    return hint(value, choices, one_of)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# --------------------------------------------------------------------------- points


def _add_points(check: Checker, data: dict[str, Any], base: PointLibrary, *, bundled: bool,
                declared: frozenset[str] = frozenset()) -> PointLibrary:
    """Load the [[points]] of `data` after those of `base`. `declared` names the file's own
    cautions, so a point naming one that failed validation is not reported twice."""
    raw = data.get("points", [])
    if not isinstance(raw, list) or not all(isinstance(p, dict) for p in raw):
        check.problem("points", f"expected [[points]] tables, got {show_value(raw)}")
        raw = []
    elif len(raw) > limits.MAX_POINTS:
        check.problem("points", f"{len(raw)} points, more than the {limits.MAX_POINTS} allowed; split the file")
        raw = []
    index = dict(base._index)
    owners = _owners(base.points)  # who holds each lookup key, for messages about clashes
    points = list(base.points)
    for i, table in enumerate(raw):
        point = _load_point(check, table, f"points[{i}]", base, bundled, declared)
        if point is not None and _register(check, point, f"points[{i}]", table, index, owners, bundled):
            points.append(point)
    check.raise_if_any(PointsError)
    return PointLibrary(tuple(points), base.cautions, base.figures, base.sources, base.channels,
                        MappingProxyType(index))


def _owners(points: tuple[Point, ...]) -> dict[str, str]:
    owners: dict[str, str] = {}
    for point in points:
        for article, names in (("the code", [point.code]), ("an alias", point.aliases),
                               ("the spoken name", [point.spoken]), ("the name", [point.name] if point.name else [])):
            for name in names:
                owners.setdefault(normalise(name), f"{article} of the bundled point {point.code}")
    return owners


def _load_point(check: Checker, table: dict[str, Any], place: str, lib: PointLibrary, bundled: bool,
                declared: frozenset[str]) -> Point | None:
    before = len(check.problems)
    check.keys(table, place, POINT_KEYS)
    code = _code(check, table.get("code"), f"{place}.code") if "code" in table else None
    if "code" not in table:
        check.problem(place, 'missing "code"; add code = "..." (the code routines use, like "SP 6")')
    aliases = _aliases(check, table, place)
    name = _plain(check, table, "name", place) or ""
    note = _plain(check, table, "note", place) or ""
    spoken = _plain(check, table, "spoken", place)
    kind = _choice(check, table, "kind", place, KINDS, "kind")
    source = _choice(check, table, "source", place, list(lib.sources), "source", required=bundled)
    region = _plain(check, table, "region", place, required=True)
    location = _plain(check, table, "location", place, required=True)
    find = _plain(check, table, "find", place, required=bundled)
    say_location = check.boolean(table, "say_location", place)
    limb = _plain(check, table, "limb", place)
    laterality = _choice(check, table, "laterality", place, LATERALITIES, "laterality")
    figure = _choice(check, table, "figure", place, list(lib.figures), "figure", required=bundled)
    cautions = _caution_refs(check, table, place, lib, declared)
    if spoken is None and code is not None:
        spoken = _default_spoken(code, lib.channels)
        if spoken is None:
            check.problem(place, f'missing "spoken"; "{code}" is not a channel and number like "SP 6", so say '
                                 f'how to speak it: spoken = "..."')
    positions = _positions(check, table, place, lib.figures.get(figure or ""), laterality)
    if len(check.problems) > before or None in (code, spoken, kind, region, location, laterality):
        return None
    return Point(
        code=code, spoken=spoken, kind=kind, region=region, location=location, find=find or location,
        laterality=laterality, aliases=aliases, name=name, source=source or "", figure=figure or "",
        positions=MappingProxyType(positions), cautions=cautions, note=note, limb=limb or "side",
        say_location=say_location is not False,
    )


def _plain(check: Checker, table: dict[str, Any], key: str, place: str, *, required: bool = False) -> str | None:
    """A text of the library, which narration speaks as it is: markup is refused, never interpreted."""
    text = check.text(table, key, place, required=required, max_chars=limits.POINT_TEXT_CHARS[key])
    return None if text is None else _no_markup(check, text, f"{place}.{key}")


def _no_markup(check: Checker, text: str, where: str) -> str | None:
    found = _MARKUP.search(text)
    if found is None:
        return text
    check.problem(where, f'contains "{found.group()}", which narration would read as markup (a [2s] pause or a '
                         "{side} placeholder); write it in words or remove it")
    return None


def _code(check: Checker, value: Any, where: str) -> str | None:
    code = check.text_value(value, where, max_chars=limits.MAX_CODE_CHARS)
    if code is None:
        return None
    if _no_markup(check, code, where) is None:
        return None
    odd = next((ch for ch in code if not ch.isprintable()), None)
    if odd is not None:
        check.problem(where, f"contains U+{ord(odd):04X}, which is not printable; use letters, digits, "
                             "spaces and dashes")
        return None
    if not normalise(code):
        check.problem(where, f'"{code}" has no letter or digit; use a code like "SP 6"')
        return None
    return code


def _aliases(check: Checker, table: dict[str, Any], place: str) -> tuple[str, ...]:
    if "aliases" not in table:
        return ()
    value = table["aliases"]
    if not isinstance(value, list):
        check.problem(f"{place}.aliases", f'expected a list like ["BL 40"], got {show_value(value)}')
        return ()
    codes = [_code(check, item, f"{place}.aliases[{i}]") for i, item in enumerate(value)]
    return tuple(c for c in codes if c is not None)


def _caution_refs(check: Checker, table: dict[str, Any], place: str, lib: PointLibrary,
                  declared: frozenset[str]) -> tuple[str, ...]:
    if "cautions" not in table:
        return ()
    value = table["cautions"]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        check.problem(f"{place}.cautions", f'expected a list like ["pregnancy"], got {show_value(value)}')
        return ()
    for i, key in enumerate(value):
        if key not in lib.cautions and key not in declared:
            check.problem(f"{place}.cautions[{i}]", f"unknown caution {show_value(key)}; "
                                                    f"{_suggest(key, list(lib.cautions))}")
    if len(set(value)) != len(value):
        check.problem(f"{place}.cautions", "names a caution twice; list each once")
    return tuple(value)


def _default_spoken(code: str, channels: Mapping[str, str]) -> str | None:
    match = _CHANNEL_CODE.fullmatch(normalise(code))
    if not match or match.group(1).upper() not in channels:
        return None
    return f"{channels[match.group(1).upper()]} {int(match.group(2))}"


def _positions(check: Checker, table: dict[str, Any], place: str, figure: Figure | None,
               laterality: str | None) -> dict[str, tuple[float, float]]:
    given = [k for k in POSITION_KEYS if k in table]
    if figure is None:
        if "figure" not in table:
            for key in given:
                check.problem(f"{place}.{key}", f'a position needs a figure; add figure = "..." or remove {key}')
        return {}
    if laterality is None:
        return {}
    if figure.view == "right":
        wanted, why = ("at",), (f'figure "{figure.name}" draws the right side only (the page mirrors it for '
                                "the left), so give at = [x, y]")
    elif laterality == "paired":
        wanted, why = ("right", "left"), (f'figure "{figure.name}" draws both sides, so a paired point gives '
                                          "right = [x, y] and left = [x, y]")
    elif laterality == "midline":
        wanted, why = ("at",), "a midline point has one position: at = [x, y]"
    else:
        wanted, why = (laterality,), f"a {laterality}-only point gives {laterality} = [x, y]"
    missing = [f'"{key}"' for key in wanted if key not in table]
    if missing:
        check.problem(place, f"missing {' and '.join(missing)}; {why}")
    for key in given:
        if key not in wanted:
            check.problem(f"{place}.{key}", f"not used here; {why}")
    out = {}
    for key in wanted:
        if key in table:
            xy = _xy(check, table[key], f"{place}.{key}", figure)
            if xy is not None:
                out[key] = xy
    return out


def _xy(check: Checker, value: Any, where: str, figure: Figure) -> tuple[float, float] | None:
    if not isinstance(value, list) or len(value) != 2 or not all(_is_number(v) for v in value):
        check.problem(where, f"expected a position [x, y], got {show_value(value)}")
        return None
    x, y = float(value[0]), float(value[1])
    min_x, min_y, width, height = figure.viewbox
    if not (min_x <= x <= min_x + width and min_y <= y <= min_y + height):
        box = " ".join(f"{v:g}" for v in figure.viewbox)
        check.problem(where, f'[{x:g}, {y:g}] is outside figure "{figure.name}" (viewBox {box}); '
                             f"x goes from {min_x:g} to {min_x + width:g}, y from {min_y:g} to {min_y + height:g}")
        return None
    return x, y


def _register(check: Checker, point: Point, place: str, table: dict[str, Any], index: dict[str, Point],
              owners: dict[str, str], bundled: bool) -> bool:
    """Index the point's code, aliases, spoken name and name; a name another point holds is an error."""
    names = [(f"{place}.code", "code", point.code),
             *((f"{place}.aliases[{i}]", "alias", a) for i, a in enumerate(point.aliases)),
             (f"{place}.spoken" if "spoken" in table else place, "spoken name", point.spoken),
             *([(f"{place}.name", "name", point.name)] if point.name else [])]
    mine = {normalise(name) for _, _, name in names}
    clashes = 0
    for where, role, name in names:
        key = normalise(name)
        if key not in owners or (clashes and (role == "name" or (role == "spoken name" and "spoken" not in table))):
            continue  # a copy of a point that clashes by its code clashes by its names too: say it once
        clashes += 1
        said = f'"{name}"' if role != "spoken name" or "spoken" in table else f'its spoken name "{name}"'
        fix = {"code": "choose another code", "alias": "remove the alias", "name": "give it another name",
               "spoken name": "choose another code or set spoken" if "spoken" not in table else
               'give it another spoken = "..."'}[role]
        check.problem(where, f"{said} is already {owners[key]}; {fix}")
    if clashes:
        return False
    owner = f"the bundled point {point.code}" if bundled else f"{place} ({point.code})"
    for _, role, name in names:
        article = {"code": "the code", "alias": "an alias", "spoken name": "the spoken name", "name": "the name"}[role]
        owners.setdefault(normalise(name), f"{article} of {owner}")
    for key in mine:
        index[key] = point
    return True
