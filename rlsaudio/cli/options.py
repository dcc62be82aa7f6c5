"""The options several commands share, their types, and the plain table the commands print.

Option values are checked by the same functions as the keys of routine and playlist files
(limits, modes, formats), so both accept the same values and fail with the same words.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..base import limits
from ..base.text import normalise, text_problem
from ..base.units import parse_duration
from ..encode.formats import default_bitrate, format_help, format_names
from ..script.modes import MODES, PACERS, ModeOptions, defaults, option_origin
from ..script.modes import table as mode_table
from ..speech.voices import bundled_voice_names

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Duration(click.ParamType):
    """A duration option, checked by the same limits as the routine keys."""

    name = "duration"

    def __init__(self, max_ms: int, min_ms: int = 1, what: str = "duration", example: str = "15m"):
        self.max_ms, self.min_ms, self.what, self.example = max_ms, min_ms, what, example

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            ms = parse_duration(value)
        except ValueError as exc:
            self.fail(f"{exc}; give a {self.what} like {self.example}", param, ctx)
        problem = limits.duration_problem(ms, min_ms=self.min_ms, max_ms=self.max_ms, what=self.what)
        if problem:
            self.fail(problem, param, ctx)
        return ms


class Text(click.ParamType):
    """A short text option (--name, --artist, --title): no control or invisible characters."""

    name = "text"

    def convert(self, value, param, ctx):
        breaks = [ch for ch in value if ch in "\n\r\t\u2028\u2029\x85"]
        if breaks:
            self.fail(f"contains a line break or tab (U+{ord(breaks[0]):04X}); remove it", param, ctx)
        problem = text_problem(value)
        if problem:
            self.fail(problem, param, ctx)
        cleaned = normalise(value)
        if not cleaned:
            self.fail("is empty; give some text", param, ctx)
        if len(cleaned) > limits.MAX_TEXT_OPTION_CHARS:
            self.fail(f"is {len(cleaned)} characters long, more than the {limits.MAX_TEXT_OPTION_CHARS} allowed",
                      param, ctx)
        return cleaned


TEXT = Text()


def _apply(f, options):
    """Apply click options so that --help lists them in the order written."""
    for option in reversed(options):
        f = option(f)
    return f


def mode_options(f):
    """Options shared by plan, build, compose and playlist."""
    d = defaults()
    return _apply(f, [
        click.option("--voice", "voice", metavar="NAME|FILE", help=f"Voice: {', '.join(bundled_voice_names())} "
                     "(see `rlsaudio voices`) or a profile .toml (default: joe where piper is installed, else "
                     "espeak)."),
        click.option("--mode", type=click.Choice(MODES), default=d["mode"], show_default=True,
                     help="; ".join(f"{m}: {mode_table()[m]['description']}" for m in MODES) + "."),
        click.option("--length", "length_ms", type=Duration(limits.MAX_SESSION_MS, what="length"), metavar="DURATION",
                     help="Fit the session to this length (e.g. 15m)."),
        click.option("--tail", "tail_ms", type=Duration(limits.MAX_TAIL_MS, what="tail", example="30m"),
                     metavar="DURATION", help="Keep going this long after the last words, then fade (bedtime "
                     "default 30s, at most 10h)."),
        click.option("--soundscape", metavar="brown|pink|FILE",
                     help="Gentle background noise, or an audio file looped under the voice."),
        click.option("--soundscape-level", "soundscape_db", type=float, default=d["soundscape_db"],
                     show_default=True, metavar="DB",
                     help=f"Soundscape level relative to the voice ({d['soundscape_min_db']:g} to "
                          f"{d['soundscape_max_db']:g} dB)."),
        click.option("--pacer", type=click.Choice(PACERS), default=d["pacer"], show_default=True,
                     help="What keeps the breathing pace after the first spoken breaths."),
        click.option("--no-chime", "no_chime", is_flag=True, help="Spoken start cues only, no chime."),
        click.option("--points-file", "points_file", type=click.Path(dir_okay=False), metavar="FILE",
                     help="Your own points, in the points library's format (see rlsaudio points)."),
    ])


def output_options(f):
    """Options shared by build, compose and playlist: what is written."""
    names = format_names()
    return _apply(f, [
        click.option("--format", "fmt", type=click.Choice(names), default=defaults()["format"], show_default=True,
                     help=format_help()),
        click.option("--bitrate", default=None, metavar="RATE",
                     help="Bitrate, e.g. 48k (default: " + ", ".join(
                         f"{name} {default_bitrate(name)}k" for name in names) + ")."),
        click.option("--cover", type=click.Path(path_type=Path), help="Cover art (PNG or JPEG, at most 5 MB)."),
        click.option("--no-page", "no_page", is_flag=True, help="Do not write the listen-along page."),
        click.option("--force", is_flag=True, help="Replace a track of the same name built as another variant "
                     "(routine, mode, length, tail, voice, soundscape, pacer, chime), or a file rlsaudio wrote "
                     "that you have changed since."),
    ])


def out_dir_option(help_text: str, default: Path | None = Path("output")):
    return click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), default=default,
                        show_default=default is not None, help=help_text)


def request(routine: str, voice, mode, length_ms, tail_ms, no_chime, pacer, soundscape, soundscape_db,
            points_file, compose=None):
    """The track request the mode options describe, each value given on the command line remembering
    its option (one left at its default has none, so a routine's [session] may set it instead)."""
    from ..plan import TrackRequest

    options = ModeOptions(mode, tail_ms, not no_chime, pacer, soundscape, soundscape_db)
    origins = {key: option_origin(flag) for key, flag, name in (
        ("length", "--length", "length_ms"), ("tail", "--tail", "tail_ms"), ("mode", "--mode", "mode"),
        ("pacer", "--pacer", "pacer"), ("soundscape_level", "--soundscape-level", "soundscape_db"),
        ("soundscape", "--soundscape", "soundscape"), ("voice", "--voice", "voice"),
        ("chime", "--no-chime", "no_chime")) if _given(name)}
    return TrackRequest(routine, voice, options, length_ms, compose=compose, points_file=points_file, origins=origins)


def _given(name: str) -> bool:
    """Whether an option was given on the command line (not left at its default)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return True
    source = ctx.get_parameter_source(name)
    return source is not None and source not in (click.core.ParameterSource.DEFAULT,
                                                  click.core.ParameterSource.DEFAULT_MAP)


def track_options(fmt, bitrate, cover, no_page, force=False):
    from ..publish.track import track_options as options

    return options(fmt, bitrate, cover, page=not no_page, force=force)


def table(header: tuple[str, ...], rows: list[tuple[str, ...]], right: tuple[int, ...] = ()) -> None:
    """Columns padded to their widest cell, two spaces apart; `right` columns aligned right."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        click.echo("  ".join(cells).rstrip())
