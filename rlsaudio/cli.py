"""The command line: parse options, call one core function, print the result."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

from . import __version__
from .errors import InputError, RlsaudioError
from .modes import MODES, PACERS, ModeOptions
from .routine import bundled_ids, load_routine
from .session import SessionRequest, estimated_session, exact_session
from .units import format_clock, format_length, parse_duration

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Duration(click.ParamType):
    name = "duration"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            ms = parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if ms <= 0:
            self.fail(f"must be more than zero, got {value}", param, ctx)
        return ms


DURATION = Duration()


def mode_options(f):
    """Options shared by plan, build and playlist."""
    f = click.option("--voice", "voice", metavar="NAME|FILE", help="Voice profile: joe, espeak or a profile .toml "
                     "(default: joe where piper is installed, else espeak).")(f)
    f = click.option("--mode", type=click.Choice(MODES), default="massage", show_default=True,
                     help="massage: clear cues for busy hands; bedtime: slower, softer, fades out.")(f)
    f = click.option("--length", "length_ms", type=DURATION, metavar="DURATION",
                     help="Fit the session to this length (e.g. 15m) by scaling pauses and rests.")(f)
    f = click.option("--tail", "tail_ms", type=DURATION, metavar="DURATION",
                     help="Keep going this long after the last words, then fade (bedtime default 30s).")(f)
    f = click.option("--no-chime", "no_chime", is_flag=True, help="Spoken start cues only, no chime.")(f)
    f = click.option("--pacer", type=click.Choice(PACERS), default="tones", show_default=True,
                     help="What keeps the breathing pace after the first spoken breaths.")(f)
    f = click.option("--soundscape", metavar="brown|pink|FILE",
                     help="Gentle background noise, or an audio file looped under the voice.")(f)
    f = click.option("--soundscape-level", "soundscape_db", type=click.FloatRange(-40, -12), default=-22.0,
                     show_default=True, metavar="DB", help="Soundscape level relative to the voice (-40 to -12 dB).")(f)
    return f


def _request(routine: str, voice, mode, length_ms, tail_ms, no_chime, pacer, soundscape,
             soundscape_db) -> SessionRequest:
    options = ModeOptions(mode, tail_ms, not no_chime, pacer, soundscape, soundscape_db)
    return SessionRequest(routine, voice, options, length_ms)


class _Group(click.Group):
    """Translates the project's errors once, for every command: one line per problem."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except RlsaudioError as exc:
            for line in exc.lines():
                click.echo(line, err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:  # a bug: one line; the traceback only on request
            if os.environ.get("RLSAUDIO_DEBUG"):
                raise
            click.echo(f"internal error: {type(exc).__name__}: {exc} "
                       "(set RLSAUDIO_DEBUG=1 for the traceback and please report it)", err=True)
            ctx.exit(1)


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version")
def cli():
    """Turn restless-legs self-care routines into voice-guided audio sessions.

    \b
    Examples:
      rlsaudio routines
      rlsaudio plan acupressure
      rlsaudio validate my-routine.toml
    """


@cli.command()
def routines():
    """List the bundled routines with their estimated length.

    \b
    Example:
      rlsaudio routines
    """
    rows = []
    for rid in bundled_ids():
        session = estimated_session(SessionRequest(rid))
        rows.append((rid, session.routine.title, str(len(session.routine.steps)),
                     "~" + format_length(session.timeline.length)))
    _table(("id", "title", "steps", "length"), rows)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
def validate(files):
    """Check routine files; print every problem, one per line.

    Exits 0 when all files are valid, 2 otherwise.

    \b
    Example:
      rlsaudio validate calf.toml feet.toml
    """
    failed = False
    for name in files:
        try:
            routine = load_routine(name)
        except InputError as exc:
            failed = True
            for line in exc.lines():
                click.echo(line, err=True)
            continue
        click.echo(f"{name}: ok ({routine.title!r}, {len(routine.steps)} steps)")
    if failed:
        raise click.exceptions.Exit(2)


@cli.command()
@click.argument("routine")
@mode_options
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON (seconds as numbers).")
@click.option("--estimate", is_flag=True, help="Estimate speech from the voice's rate instead of synthesising "
              "(instant, but lengths are approximate).")
def plan(routine, as_json, estimate, **mode):
    """Show the timeline of a routine: every phrase, hold, rest and pause.

    ROUTINE is a bundled id (see `rlsaudio routines`) or a routine file.

    \b
    Speech lengths are exact: phrases are synthesised (or taken from the speech cache) so
    the plan matches the track `rlsaudio build` makes, to the sample.

    \b
    Examples:
      rlsaudio plan acupressure
      rlsaudio plan my-routine.toml --json
      rlsaudio plan foot-reflexology --mode bedtime --length 30m
    """
    request = _request(routine, **mode)
    if estimate:
        session = estimated_session(request)
    else:
        session, _ = exact_session(request, reporter=TerminalReporter())
    timeline = session.timeline
    if as_json:
        click.echo(json.dumps(timeline.to_json(), indent=2, ensure_ascii=False))
        return
    how = "speech lengths estimated" if estimate else "exact speech lengths"
    click.echo(f"{timeline.title}  ({session.voice.name} voice, {timeline.mode} mode, {how})")
    rows = []
    for e in timeline.events:
        what = e.text if e.kind == "speech" else e.reason
        rows.append((format_clock(e.start), e.kind, f"{e.length / 22050:.1f}s", what))
    _table(("start", "kind", "length", "what"), rows, right=(0, 2))
    click.echo(f"Total {format_length(timeline.length)}, {len(timeline.chapters)} chapters")


@cli.command()
def voices():
    """List the voice profiles: engine, whether each can run here, which is the default.

    \b
    Example:
      rlsaudio voices
    """
    from .voices import bundled_voice_names, default_voice_name, load_profile

    try:
        default = default_voice_name()
    except RlsaudioError:
        default = ""
    rows = []
    for name in bundled_voice_names():
        profile = load_profile(name)
        reason = profile.unavailable_reason()
        status = "ready" if reason is None else f"unavailable: {reason}"
        rows.append((name + (" (default)" if name == default else ""), profile.engine, status, profile.description))
    _table(("voice", "engine", "status", "description"), rows)


@cli.command()
@click.argument("routines", nargs=-1, required=True)
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), default=Path("output"),
              show_default=True, help="Folder for the MP3 tracks.")
@click.option("--bitrate", default="64k", show_default=True, help="MP3 bitrate (constant), e.g. 48k, 64k, 96k.")
@click.option("--cover", type=click.Path(dir_okay=False, path_type=Path), help="Cover art (PNG or JPEG).")
@mode_options
def build(routines, out_dir, bitrate, cover, **mode):
    """Render routines to tagged MP3 tracks, one per routine.

    ROUTINE is a bundled id (see `rlsaudio routines`) or a routine file. Each track is written
    to the output folder under a name made from its title, with a .lrc transcript beside it.

    \b
    Examples:
      rlsaudio build acupressure
      rlsaudio build foot-reflexology my-routine.toml -o ~/Music/rls --voice espeak
      rlsaudio build acupressure --mode bedtime --soundscape brown --tail 30m
    """
    from .encode import parse_bitrate
    from .render import TrackOptions, build_track

    options = TrackOptions(bitrate_k=parse_bitrate(bitrate), cover=_cover(cover))
    reporter = TerminalReporter()
    for ref in routines:
        request = _request(ref, **mode)
        track = build_track(request, out_dir, options, reporter)
        reporter.line(f"{track.path}  {format_length(track.length)}")


@cli.command()
@click.argument("sources", nargs=-1, required=True, metavar="ROUTINE... | PLAYLIST.toml")
@click.option("--name", help="Album and playlist name (required unless a playlist file is given).")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path),
              help="Folder for the tracks and the .m3u8 (default: output/NAME).")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), help="Tracks rendered at once (default: the number of cores).")
@click.option("--artist", help="Artist tag for every track (default: each routine's author).")
@click.option("--bitrate", default="64k", show_default=True, help="MP3 bitrate (constant).")
@click.option("--cover", type=click.Path(dir_okay=False, path_type=Path), help="Cover art for every track.")
@mode_options
def playlist(sources, name, out_dir, jobs, artist, bitrate, cover, **mode):
    """Render several routines as one album with numbered tracks and an .m3u8 playlist.

    Give routines and --name, or one playlist file (see the README). A track that fails
    does not stop the others; failures are reported at the end and the exit status is
    non-zero.

    \b
    Examples:
      rlsaudio playlist acupressure foot-reflexology --name "RLS evening"
      rlsaudio playlist week.toml -o ~/Music/rls --jobs 2
    """
    from .playlist import build_playlist, default_jobs, from_arguments, load_playlist

    if len(sources) == 1 and sources[0].endswith(".toml") and name is None:
        spec = load_playlist(sources[0])
    else:
        if name is None:
            raise click.UsageError('give --name "Album name" (or a single playlist .toml file)')
        spec = from_arguments(sources, name, lambda r: _request(r, **mode), artist, cover, bitrate)
    folder = out_dir or Path("output") / _safe(spec.name)
    reporter = TerminalReporter()

    def report(n, outcome):
        if hasattr(outcome, "path"):
            reporter.line(f"{outcome.path}  {format_length(outcome.length)}")

    result = build_playlist(spec, folder, jobs or default_jobs(), reporter, report)
    if result.playlist:
        click.echo(f"{result.playlist}  {len(result.tracks)} of {len(spec.tracks)} tracks")
    for failure in result.failures:
        for line in failure.lines:
            click.echo(f"track {failure.number} ({failure.routine}) failed: {line}", err=True)
    if result.failures:
        raise click.exceptions.Exit(result.exit_code)


def _safe(name):
    from .output import safe_name

    return safe_name(name)


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
def inspect(file, as_json):
    """Show a track's tags, length, chapters and loudness, read from the file itself.

    \b
    Examples:
      rlsaudio inspect "output/Acupressure for restless legs.mp3"
      rlsaudio inspect track.mp3 --json
    """
    from .trackinfo import inspect_track

    info = inspect_track(file)
    if as_json:
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return
    rows = [(key, "" if info[key] is None else str(info[key])) for key in
            ("title", "artist", "album", "track", "genre", "year", "comment")]
    rows += [("length", format_length(round(info["duration"] * 22050)) + f" ({info['duration']:.3f}s)"),
             ("loudness", f"{info['loudness_lufs']} LUFS integrated, true peak {info['true_peak_dbtp']} dBTP"),
             ("cover", info["cover"] or "none"),
             ("transcript", f"{info['transcript_lines']} lines")]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key.ljust(width)}  {value}")
    click.echo(f"chapters ({len(info['chapters'])}):")
    for chapter in info["chapters"]:
        click.echo(f"  {format_clock(round(chapter['start'] * 22050)):>7}  {chapter['title']}")


def _cover(path):
    if path is None:
        return None
    from .tags import load_cover

    return load_cover(path)


class TerminalReporter:
    """A progress bar on stderr when it is a terminal; nothing when piped."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.label, self.total, self.done, self._drawn = "", 0, 0, 0.0

    def start(self, label: str, total: int) -> None:
        self._finish()
        self.label, self.total, self.done = label, max(1, total), 0
        self._draw(force=True)

    def advance(self, n: int = 1) -> None:
        self.done = min(self.total, self.done + n)
        self._draw(force=self.done == self.total)

    def warn(self, message: str) -> None:
        self._finish()
        click.echo(message, err=True)

    def line(self, message: str) -> None:
        """A result line on stdout, printed cleanly over any progress bar."""
        self._finish()
        click.echo(message)

    def _draw(self, force: bool = False) -> None:
        if not self.enabled or (not force and time.monotonic() - self._drawn < 0.1):
            return
        self._drawn = time.monotonic()
        filled = int(30 * self.done / self.total)
        self.stream.write(f"\r{self.label[:40]:40} [{'#' * filled}{' ' * (30 - filled)}] {100 * self.done // self.total:3d}%")
        self.stream.flush()
        if self.done == self.total:
            self._finish()

    def _finish(self) -> None:
        if self.enabled and self.label:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.label = ""


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], right: tuple[int, ...] = ()) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        click.echo("  ".join(cells).rstrip())


def main() -> None:
    cli(prog_name="rlsaudio")


