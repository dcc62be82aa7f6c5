"""`rlsaudio points`: the point library, or one point with its place, sides and cautions."""

from __future__ import annotations

import json

import click

from .options import table


@click.command()
@click.argument("code", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the points as JSON.")
@click.option("--points-file", "points_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also list your own points from this file (same format as the library).")
def points(code, as_json, points_file):
    """List the points of the library, or show one with its location and how to find it.

    Codes are written as in the sources ("SP 6", "B 40"); aliases and spoken names work too
    ("CV 26", "Spleen 6"). The point library holds every point and reflexology zone of the two
    bundled routines' sources.

    \b
    Examples:
      rlsaudio points
      rlsaudio points SP 6
      rlsaudio points --json
    """
    from ..script.pointfile import load_library
    from ..script.points import point_json

    library = load_library(points_file)
    if code:
        chosen = [library.lookup(" ".join(code))]
    else:
        chosen = list(library.points)
    if as_json:
        click.echo(json.dumps([point_json(library, p) for p in chosen], indent=2, ensure_ascii=False))
        return
    if not code:
        sources = {key: source.title for key, source in library.sources.items()}
        table(("code", "name", "region", "source"),
              [(p.code, p.spoken, p.region, sources.get(p.source, p.source or "your points file")) for p in chosen])
        return
    for line in _point_lines(library, chosen[0]):
        click.echo(line)


def _point_lines(library, point) -> list[str]:
    source = library.sources.get(point.source)
    sides = {"paired": "both sides (left and right)", "midline": "one point, on the middle line",
             "left": "the left side only", "right": "the right side only"}[point.laterality]
    rows = [("code", point.code + (f" (also written {', '.join(point.aliases)})" if point.aliases else "")),
            ("name", point.spoken + (f" ({point.name})" if point.name else "")),
            *([("note", point.note)] if point.note else []),
            ("region", point.region),
            ("location", f'"{point.location}"' + (f" ({source.title})" if source else "")),
            ("find it", point.find),
            ("sides", sides)]
    rows += [("caution", c.text) for c in library.cautions_of(point.code)]
    if point.figure:
        rows.append(("figure", library.figures[point.figure].title))
    width = max(len(k) for k, _ in rows)
    return [f"{key.ljust(width)}  {value}" for key, value in rows]
