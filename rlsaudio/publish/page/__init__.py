"""The listen-along page: one self-contained HTML file beside each track, and an album index.

The page is a view of the track's timeline, the same data `plan --json` prints, so what it
shows is what is heard. It embeds that timeline, the points its chapters name (spoken name,
location, how to find it, cautions, and where each side is drawn) and each figure it needs,
once, as inline SVG; its CSS and script are inline too. It loads nothing from the network and
plays the audio beside it by relative path, from file:// or any static server.

The templates (page.html, page.css, page.js, album.html) ship as package data beside this
module; figures/*.svg are the point library's drawings.
"""

from __future__ import annotations

import functools
import html
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Iterable, Mapping
from urllib.parse import quote

from ...base.errors import PointsError
from ...base.units import SAMPLE_RATE
from ...script.modes import MODES, defaults
from ...script.timeline import Chapter, Timeline

FILE_ROLES = ("transcript", "chapters_vtt", "chapters_json", "lrc")
_ROOT_SVG = re.compile(r"\A\s*(<svg\b[^>]*>)(.*)</svg>\s*\Z", re.DOTALL)
_SVG_TITLE = re.compile(r"<title>.*?</title>\s*", re.DOTALL)


@dataclass(frozen=True)
class AlbumTrack:
    """One row of an album's index: `length` in samples; hrefs relative to the index."""

    number: int
    title: str
    length: int
    audio_href: str
    page_href: str | None = None


def href(name: str) -> str:
    """A relative link to a file in the same folder: "01 - Title.mp3" -> "01%20-%20Title.mp3"."""
    return quote(name, safe="")


# --------------------------------------------------------------------------- data


def chapter_point(chapter: Chapter, library) -> str:
    """The code of the point a chapter works on (its step's `point = "SP 6"`), or "".

    Only the timeline says which point a chapter works on: the page shows what is heard, so a
    title that merely looks like a code draws nothing (its cautions would not be spoken)."""
    return _known(chapter.point, library) if chapter.point else ""


def _lookup(code: str, library):
    try:
        return library.lookup(code)
    except PointsError:  # a code the library does not know draws nothing
        return None


def _known(code: str, library) -> str:
    point = _lookup(code, library)
    return point.code if point is not None else ""


def _place(placement) -> dict:
    return {"figure": placement.figure.name, "x": placement.x, "y": placement.y, "mirrored": placement.mirrored}


def point_data(code: str, library) -> dict:
    """What the page shows for one point, and where each side of it is drawn.

    `places` maps "right" and "left" (the sides the point can be worked on) and "any" (a
    midline point, a one-sided one, or a paired one worked without a side: every position)
    to a list of marks on one figure."""
    point = library.lookup(code)
    places: dict[str, list[dict]] = {}
    if point.figure:
        if point.laterality == "midline":
            places["any"] = [_place(library.placement(code))]
        else:
            for side in point.sides:
                places[side] = [_place(library.placement(code, side))]
            figure = library.figures[point.figure]
            if point.laterality != "paired" or figure.view == "right":
                places["any"] = list(places[point.sides[0]])
            else:
                places["any"] = [places["right"][0], places["left"][0]]
    return {
        "code": point.code,
        "spoken": point.spoken,
        "name": point.name,
        "region": point.region,
        "location": point.location,
        "find": point.find,
        "aliases": list(point.aliases),
        "laterality": point.laterality,
        "cautions": [c.text for c in library.cautions_of(code)],
        "places": places,
    }


def page_data(timeline: Timeline, library, *, title: str, artist: str, album: str, audio_href: str, mode: str,
              description: str = "", files: Mapping[str, str] | None = None) -> dict:
    """Everything the page's script reads: the timeline as `plan --json` prints it, plus points."""
    codes = [chapter_point(c, library) for c in timeline.chapters]
    points = {code: point_data(code, library) for code in dict.fromkeys(c for c in codes if c)}
    figures = {}
    for point in points.values():
        for marks in point["places"].values():
            for mark in marks:
                figure = library.figures[mark["figure"]]
                figures[figure.name] = {"title": figure.title, "viewbox": list(figure.viewbox), "view": figure.view}
    return {
        "title": title,
        "artist": artist,
        "album": album,
        "description": description,
        "mode": mode if mode in MODES else defaults()["mode"],
        "audio": audio_href,
        "files": {role: files[role] for role in FILE_ROLES if files and files.get(role)},
        "chapter_points": codes,
        "points": points,
        "figures": figures,
        "timeline": timeline.to_json(),
    }


# --------------------------------------------------------------------------- html


@functools.cache
def _template(name: str) -> str:
    return (resources.files(__name__) / name).read_text(encoding="utf-8")


def _fill(template: str, values: Mapping[str, str]) -> str:
    """Replace each @@KEY@@ once, in one pass, so no value is ever read as a placeholder."""
    return re.sub(r"@@([A-Z_]+)@@", lambda m: values[m.group(1)], template)


def _script_json(data: object) -> str:
    """JSON safe inside a <script> element: no "</script>", no "<!--"."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def figure_svg(figure) -> str:
    """A figure as the page embeds it: the drawing in <g class="drawing"> (mirrored for the
    left side of a right-only figure), an empty <g class="marks"> for the point marks."""
    match = _ROOT_SVG.match(figure.svg)
    if not match:
        raise ValueError(f"figures/{figure.name}.svg: expected one <svg> root element")
    root, inner = match.groups()
    root = root[:-1].rstrip("/") + (f' class="figure" data-figure="{html.escape(figure.name)}" role="img" '
                                     f'aria-label="{html.escape(figure.title)}" hidden>')
    inner = _SVG_TITLE.sub("", inner, count=1).strip()
    return f'{root}<g class="drawing">{inner}</g><g class="marks"></g></svg>'


def page_html(timeline: Timeline, library, *, title: str, artist: str, album: str, audio_href: str, mode: str,
              description: str = "", files: Mapping[str, str] | None = None,
              formats: Mapping[str, str] | None = None) -> str:
    """The listen-along page of one track: one self-contained HTML file.

    `audio_href` and the values of `files` (sidecar roles "transcript", "chapters_vtt",
    "chapters_json", "lrc") are links relative to the page, already percent-encoded (`href`).
    `formats` (label -> link: "MP3", "M4B", "Opus") lists every format of the track beside the
    page (they share it): each is a link in the page's list of files."""
    data = page_data(timeline, library, title=title, artist=artist, album=album, audio_href=audio_href, mode=mode,
                     description=description, files=files)
    figures = "".join(figure_svg(library.figures[name]) for name in data["figures"])
    theme = data["mode"]
    page = _fill(_template("page.html"), {
        "THEME": theme,
        "THEME_COLOR": "#17110c" if theme == "bedtime" else "#fbf7ef",
        "OTHER_THEME": "massage" if theme == "bedtime" else "bedtime",
        "TITLE": html.escape(title),
        "SUBTITLE": html.escape(" · ".join(dict.fromkeys(t for t in (artist, album) if t and t != title))),
        "DURATION": _clock(timeline.length),
        "AUDIO": html.escape(audio_href),
        "FIGURES": figures,
        "CSS": _template("page.css"),
        "DATA": _script_json(data),
        "JS": _template("page.js"),
    })
    if formats and len(formats) > 1:  # the script adds the other files after these links
        links = " · ".join(f'<a href="{html.escape(link)}" class="format">{html.escape(label)}</a>'
                           for label, link in formats.items())
        page = page.replace('<p id="files" class="files"></p>', f'<p id="files" class="files">{links}</p>', 1)
    return page


def _clock(samples: int) -> str:
    total = round(samples / SAMPLE_RATE)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def album_html(name: str, tracks: Iterable[AlbumTrack]) -> str:
    """An album's index.html: each track with its length, its listen-along page and its audio."""
    rows = []
    for t in tracks:
        title = html.escape(t.title)
        link = (f'<a class="page" href="{html.escape(t.page_href)}">{title}</a>' if t.page_href
                else f'<span class="page">{title}</span>')
        rows.append(f'<li><span class="n">{t.number:02d}</span>{link}'
                    f'<span class="len">{_clock(t.length)}</span>'
                    f'<a class="audio" href="{html.escape(t.audio_href)}" '
                    f'aria-label="Audio file of {title}">audio</a></li>')
    return _fill(_template("album.html"), {"TITLE": html.escape(name), "ROWS": "\n".join(rows)})
