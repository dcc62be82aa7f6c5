"""The command line: parse options, call one core function, print the result.

Errors are translated once, in `_Group.main`: a problem the user can fix is one line per
problem (file, place, problem, fix) and exit status 2; a failure while rendering is one line
and status 1; a bad option is one line, not click's usage text. Ctrl-C, SIGTERM and SIGHUP
stop the work cleanly (staging folders removed, finished tracks kept) with status 128 + the
signal; a closed pipe (`rlsaudio plan x | head`) ends quietly with status 141.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

import click

from .. import __version__
from ..base import limits
from ..base.errors import InputError, Problem, RlsaudioError
from ..base.text import normalise, text_problem
from ..base.units import SAMPLE_RATE, format_clock, format_length, parse_duration
from ..encode.formats import default_bitrate
from ..script.modes import FORMATS, MODES, PACERS, ModeOptions, defaults, option_origin
from ..script.modes import table as mode_table
from ..system.progress import TerminalReporter

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


# --------------------------------------------------------------------------- option types


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
        click.option("--voice", "voice", metavar="NAME|FILE", help="Voice profile: joe, espeak or a profile .toml "
                     "(default: joe where piper is installed, else espeak)."),
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
    return _apply(f, [
        click.option("--format", "fmt", type=click.Choice(FORMATS), default=defaults()["format"], show_default=True,
                     help="mp3; m4b (AAC in MP4 with chapters, for audiobook apps); opus (Ogg Opus, small files)."),
        click.option("--bitrate", default=None, metavar="RATE",
                     help="Bitrate, e.g. 48k (default: " + ", ".join(
                         f"{name} {default_bitrate(name)}k" for name in FORMATS) + ")."),
        click.option("--cover", type=click.Path(path_type=Path), help="Cover art (PNG or JPEG, at most 5 MB)."),
        click.option("--no-page", "no_page", is_flag=True, help="Do not write the listen-along page."),
    ])


def _request(routine: str, voice, mode, length_ms, tail_ms, no_chime, pacer, soundscape, soundscape_db,
             points_file, compose=None):
    from ..plan import TrackRequest

    options = ModeOptions(mode, tail_ms, not no_chime, pacer, soundscape, soundscape_db)
    origins = {key: option_origin(flag) for key, flag in (
        ("length", "--length"), ("tail", "--tail"), ("mode", "--mode"), ("pacer", "--pacer"),
        ("soundscape_level", "--soundscape-level"), ("soundscape", "--soundscape"), ("voice", "--voice"))}
    return TrackRequest(routine, voice, options, length_ms, compose=compose, points_file=points_file, origins=origins)


# --------------------------------------------------------------------------- the group


def _one_line_usage(exc: click.UsageError) -> str:
    ctx = exc.ctx
    where = ctx.command_path if ctx else "rlsaudio"
    hint = f" (see {where} -h)"
    if isinstance(exc, click.BadParameter) and not isinstance(exc, click.MissingParameter) and exc.param is not None:
        names = exc.param.opts or [exc.param.human_readable_name]
        name = max(names, key=len) if exc.param.param_type_name == "option" else exc.param.human_readable_name
        return f"{where}: {name}: {exc.message}{hint}"
    message = exc.format_message()
    return f"{where}: {message[0].lower() + message[1:] if message else 'bad usage'}{hint}"


class _Group(click.Group):
    """Translates the project's errors once, for every command: one line per problem."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else 0
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.UsageError as exc:
            _err(_one_line_usage(exc))
            code = 2
        except click.ClickException as exc:
            _err(exc.format_message())
            code = exc.exit_code
        except (_Interrupted, KeyboardInterrupt, click.exceptions.Abort):
            _err(("\r\033[K" if _isatty(sys.stderr) else "") + "interrupted")
            code = 128 + _Signals.received
        except (_ClosedPipe, BrokenPipeError):
            code = _closed_pipe()
        code = _flush(code)
        if not standalone_mode:
            return code
        sys.exit(code)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except RlsaudioError as exc:
            for line in exc.lines():
                _err(line)
            return exc.exit_code
        except KeyboardInterrupt:
            raise _Interrupted() from None  # past click, which would print a blank line first
        except BrokenPipeError:
            raise _ClosedPipe() from None  # past click, which would exit 1
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:  # a bug: one line; the traceback only on request
            if os.environ.get("RLSAUDIO_DEBUG"):
                raise
            _err(f"internal error: {type(exc).__name__}: {exc} "
                 "(set RLSAUDIO_DEBUG=1 for the traceback and please report it)")
            return 1


class _Interrupted(Exception):
    """Ctrl-C, SIGTERM or SIGHUP, carried past click's own handling."""


class _ClosedPipe(Exception):
    """Our reader closed the pipe, carried past click's own handling."""


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _err(line: str) -> None:
    try:
        click.echo(line, err=True)
    except (BrokenPipeError, OSError):
        pass


def _closed_pipe() -> int:
    """Whoever read our output stopped (`| head`): nothing more to say, and no error to print."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 128 + signal.SIGPIPE


def _flush(code: int) -> int:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return _closed_pipe()
    except (OSError, ValueError):
        pass
    return code


class _Signals:
    """SIGTERM and SIGHUP stop rlsaudio like Ctrl-C: the work unwinds and cleans up."""

    received = signal.SIGINT

    @classmethod
    def install(cls) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, cls._interrupt)

    @classmethod
    def _interrupt(cls, signum, frame):
        cls.received = signum
        raise KeyboardInterrupt


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version")
def cli():
    """Turn restless-legs self-care routines into voice-guided audio sessions.

    \b
    Examples:
      rlsaudio routines
      rlsaudio plan acupressure
      rlsaudio build foot-reflexology
      rlsaudio compose "SP 6" "K 3" --length 12m --mode bedtime
    """


# --------------------------------------------------------------------------- commands


@cli.command()
def routines():
    """List the bundled routines with their estimated length.

    \b
    Example:
      rlsaudio routines
    """
    from ..plan import TrackRequest, plan_track
    from ..script.routine import bundled_ids

    rows = []
    for rid in bundled_ids():
        plan = plan_track(TrackRequest(rid), need_voice=False)
        rows.append((rid, plan.routine.title, str(len(plan.routine.steps)), "~" + format_length(plan.estimated().length)))
    _table(("id", "title", "steps", "length"), rows)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--points-file", "points_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Your own points, for routines that name them.")
def validate(files, points_file):
    """Check routine, composition, playlist, voice profile or points files.

    Prints every problem, one per line, and warnings about narration that states a length
    --length could change. Exits 0 when all files are valid, 2 otherwise.

    \b
    Example:
      rlsaudio validate calf.toml week.toml
    """
    from ..validate import check_file

    failed = False
    for name in files:
        try:
            summary, warnings = check_file(name, points_file)
        except InputError as exc:
            failed = True
            for line in exc.lines():
                _err(line)
            continue
        for warning in warnings:
            _err(f"warning: {warning}")
        click.echo(f"{name}: ok ({summary})")
    return 2 if failed else 0


@cli.command()
@click.argument("routine")
@mode_options
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON (seconds as numbers).")
@click.option("--estimate", is_flag=True, help="Estimate speech from the voice's rate instead of synthesising "
              "(instant, but lengths are approximate).")
def plan(routine, as_json, estimate, **mode):
    """Show the timeline of a routine: every phrase, hold, rest and pause.

    ROUTINE is a bundled id (see `rlsaudio routines`), a routine file or a composition file.

    \b
    Speech lengths are exact: phrases are synthesised (or taken from the speech cache) so
    the plan matches the track `rlsaudio build` makes, to the sample.

    \b
    Examples:
      rlsaudio plan acupressure
      rlsaudio plan my-routine.toml --json
      rlsaudio plan foot-reflexology --mode bedtime --length 30m
    """
    from ..plan import plan_track
    from ..publish.render import speak
    from ..system.cache import Cache

    reporter = TerminalReporter()
    session = plan_track(_request(routine, **mode), need_voice=not estimate)
    if estimate:
        timeline = session.estimated()
    else:
        timeline = session.timeline(speak(session, Cache(), reporter).length)
    _print_plan(session, timeline, as_json, estimate)


def _print_plan(session, timeline, as_json: bool, estimate: bool) -> None:
    if as_json:
        click.echo(json.dumps(timeline.to_json(), indent=2, ensure_ascii=False))
        return
    how = "speech lengths estimated" if estimate else "exact speech lengths"
    click.echo(f"{timeline.title}  ({session.voice.name} voice, {timeline.mode} mode, {how})")
    rows = []
    for e in timeline.events:
        what = e.text if e.kind == "speech" else e.reason
        rows.append((format_clock(e.start), e.kind, f"{e.length / SAMPLE_RATE:.1f}s", what))
    _table(("start", "kind", "length", "what"), rows, right=(0, 2))
    click.echo(f"Total {format_length(timeline.length)}, {len(timeline.chapters)} chapters")


@cli.command()
def voices():
    """List the voice profiles: engine, whether each can run here, which is the default.

    \b
    Example:
      rlsaudio voices
    """
    from ..speech.voices import bundled_voice_names, default_voice_name, load_profile, unavailable_reason

    try:
        default = default_voice_name()
    except RlsaudioError:
        default = ""
    rows = []
    for name in bundled_voice_names():
        profile = load_profile(name)
        reason = unavailable_reason(profile)
        status = "ready" if reason is None else f"unavailable: {reason}"
        rows.append((name + (" (default)" if name == default else ""), profile.engine, status, profile.description))
    _table(("voice", "engine", "status", "description"), rows)


def _track_options(fmt, bitrate, cover, no_page):
    from ..encode.formats import parse_bitrate
    from ..publish.tags import load_cover
    from ..publish.track import TrackOptions

    return TrackOptions(format=fmt, bitrate_k=parse_bitrate(bitrate, fmt=fmt) if bitrate else default_bitrate(fmt),
                        cover=load_cover(cover) if cover else None, page=not no_page)


def _build_all(requests, out_dir, options, reporter) -> None:
    """Plan every track first (nothing is written if one is invalid), refuse name clashes, then build."""
    from ..plan import plan_track
    from ..publish.output import safe_name, same_file_key
    from ..publish.track import build_track, file_stem

    plans = [plan_track(r) for r in requests]
    seen: dict[str, str] = {}
    for p in plans:
        key = same_file_key(file_stem(p, options))
        if key in seen:
            raise InputError(Problem(p.request.shown, f"would be written to the same file as {seen[key]} "
                                     f"({safe_name(p.title)}{'.' + options.format}); give one of them another title, "
                                     "or build them one at a time with -o"))
        seen[key] = p.request.shown
    for p in plans:
        for warning in p.warnings:
            reporter.warn(f"warning: {warning}")
    for p in plans:
        track = build_track(p, out_dir, options, reporter)
        reporter.line(f"{track.path}  {format_length(track.length)}")


@cli.command()
@click.argument("routines", nargs=-1, required=True)
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), default=Path("output"),
              show_default=True, help="Folder for the tracks.")
@output_options
@mode_options
def build(routines, out_dir, fmt, bitrate, cover, no_page, **mode):
    """Render routines to tagged tracks, one per routine.

    ROUTINE is a bundled id (see `rlsaudio routines`), a routine file or a composition file.
    Each track is written to the output folder under a name made from its title, with its
    transcript, chapters and listen-along page beside it.

    \b
    Examples:
      rlsaudio build acupressure
      rlsaudio build foot-reflexology my-routine.toml -o ~/Music/rls --voice espeak
      rlsaudio build acupressure --mode bedtime --soundscape brown --tail 30m
    """
    reporter = TerminalReporter()
    _build_all([_request(ref, **mode) for ref in routines], out_dir, _track_options(fmt, bitrate, cover, no_page),
               reporter)


@cli.command()
@click.argument("sources", nargs=-1, required=True, metavar="ROUTINE... | PLAYLIST.toml")
@click.option("--name", type=TEXT, help="Album and playlist name (required unless a playlist file is given).")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path),
              help="Folder for the tracks and the .m3u8 (default: output/NAME).")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), help="Tracks rendered at once (default: the number of cores).")
@click.option("--artist", type=TEXT, help="Artist tag for every track (default: each routine's author).")
@output_options
@mode_options
def playlist(sources, name, out_dir, jobs, artist, fmt, bitrate, cover, no_page, **mode):
    """Render several routines as one album with numbered tracks and an .m3u8 playlist.

    Give routines and --name, or one playlist file (see the README). A track that fails
    does not stop the others; failures are reported at the end and the exit status is
    non-zero.

    \b
    Examples:
      rlsaudio playlist acupressure foot-reflexology --name "RLS evening"
      rlsaudio playlist week.toml -o ~/Music/rls --jobs 2
    """
    from ..publish.album import build_playlist, from_arguments, load_playlist
    from ..publish.output import safe_name
    from ..system.workers import default_jobs

    if len(sources) == 1 and sources[0].endswith(".toml") and name is None:
        spec = _playlist_file(sources[0], lambda f: load_playlist(f, mode["points_file"]))
    else:
        if name is None:
            raise click.UsageError('give --name "Album name" to make an album of these routines, or a single '
                                   "playlist .toml file with [[tracks]]")
        options = _track_options(fmt, bitrate, cover, no_page)
        spec = from_arguments(sources, name, lambda r: _request(r, **mode), artist, options.cover, options.bitrate_k,
                              fmt)
    folder = out_dir or Path("output") / safe_name(spec.name)
    reporter = TerminalReporter()

    def report(n, outcome):
        if hasattr(outcome, "path"):
            reporter.line(f"{outcome.path}  {format_length(outcome.length)}")

    result = build_playlist(spec, folder, jobs or default_jobs(), reporter, report, page=not no_page)
    if result.playlist:
        reporter.line(f"{result.playlist}  {len(result.tracks)} of {len(spec.tracks)} tracks")
    for failure in result.failures:
        for line in failure.lines:
            _err(f"track {failure.number} ({failure.routine}) failed: {line}")
    return result.exit_code


def _playlist_file(name: str, load):
    """A playlist file; a routine file given alone gets told what to do instead."""
    from ..base.errors import PlaylistError
    from ..base.tomlfile import read_toml

    source = read_toml(name, "playlist", PlaylistError)
    if "steps" in source.data or "compose" in source.data:
        raise InputError(Problem(name, 'is a routine file, not a playlist; give --name "Album name" to make an album '
                                       "of routines, or a playlist file with [[tracks]]"))
    return load(name)


@cli.command()
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
    from ..script.points import load_library

    library = load_library(points_file)
    if code:
        chosen = [library.lookup(" ".join(code))]
    else:
        chosen = list(library.points)
    if as_json:
        click.echo(json.dumps([_point_json(library, p) for p in chosen], indent=2, ensure_ascii=False))
        return
    if not code:
        sources = {key: source.title for key, source in library.sources.items()}
        _table(("code", "name", "region", "source"),
               [(p.code, p.spoken, p.region, sources.get(p.source, p.source or "your points file")) for p in chosen])
        return
    for line in _point_lines(library, chosen[0]):
        click.echo(line)


def _point_json(library, point) -> dict:
    return {
        "code": point.code, "spoken": point.spoken, "name": point.name, "aliases": list(point.aliases),
        "note": point.note,
        "kind": point.kind, "source": point.source, "region": point.region, "location": point.location,
        "find": point.find, "laterality": point.laterality, "figure": point.figure,
        "positions": {side: list(xy) for side, xy in point.positions.items()},
        "cautions": [{"key": c.key, "say": c.say, "text": c.text} for c in library.cautions_of(point.code)],
    }


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


def _codes(words: tuple[str, ...]) -> tuple[str, ...]:
    """Point codes from the command line: `SP 6 K 3` as well as `"SP 6" "K 3"`."""
    codes: list[str] = []
    for word in words:
        if word.isdigit() and codes and codes[-1].isalpha():
            codes[-1] = f"{codes[-1]} {word}"
        else:
            codes.append(word)
    return tuple(codes)


@cli.command()
@click.argument("codes", nargs=-1, required=True, metavar="POINT...")
@click.option("--hold", "hold_ms", type=Duration(300_000, 20_000, what="a hold", example="1m"), metavar="DURATION",
              help="Hold each point this long per side (20s to 5m). Default: 1 minute, or what --length leaves.")
@click.option("--title", type=TEXT, help='Track title (default: the points, e.g. "Acupressure: SP 6, K 3").')
@click.option("--breathe", is_flag=True, help="Paced breathing cues inside every hold.")
@click.option("--routine-only", is_flag=True, help="Write the routine file only; build nothing.")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), default=Path("output"),
              show_default=True, help="Folder for the track and its routine file.")
@output_options
@mode_options
def compose(codes, hold_ms, title, breathe, routine_only, out_dir, fmt, bitrate, cover, no_page, **mode):
    """Make a session of your own from points of the library, and build it.

    Writes an editable routine file beside the track: an introduction, the safety words,
    slow breathing, each point with its name, location and both sides where paired, and a
    closing. --length sets the whole session (the hold per side is chosen to fit it
    exactly); --hold fixes the hold instead.

    \b
    Examples:
      rlsaudio compose "SP 6" "K 3" "LV 3" --length 12m --mode bedtime
      rlsaudio compose SP 6 K 3 --hold 90s --breathe --routine-only
    """
    from ..plan import plan_track
    from ..publish.track import build_track, file_stem
    from ..script.compose import Composition, routine_text

    if hold_ms is not None and mode["length_ms"] is not None:
        raise click.UsageError("give --length (the session) or --hold (each hold), not both")
    composition = Composition(_codes(codes), title, hold_ms, breathe, source="")
    plan = plan_track(_request("", compose=composition, **mode))
    options = _track_options(fmt, bitrate, cover, no_page)
    name = file_stem(plan, options) + ".toml"
    reporter = TerminalReporter()

    def routine_file(timeline) -> dict[str, str]:
        fitted = composition
        if timeline is not None and mode["length_ms"] is not None:
            holds = [s.end - s.start for s in timeline.spans if s.kind == "hold"]
            fitted = replace(composition, hold_ms=round(min(holds) * 1000 / SAMPLE_RATE))
        head = f"# Composed for --length {format_length(timeline.length)}; build it with the same --length to match " \
               "it exactly.\n" if timeline is not None and mode["length_ms"] is not None else ""
        return {name: head + routine_text(fitted, plan.library)}

    if routine_only:
        timeline = None
        if mode["length_ms"] is not None:
            from ..publish.render import speak
            from ..system.cache import Cache

            timeline = plan.timeline(speak(plan, Cache(), reporter).length)
        _write_files(out_dir, routine_file(timeline))
        reporter.line(str(out_dir / name))
        return
    track = build_track(plan, out_dir, options, reporter, extras=routine_file)
    reporter.line(f"{track.path}  {format_length(track.length)}")
    reporter.line(f"{out_dir / name}  the routine, to edit and build again")


def _write_files(folder: Path, files: dict[str, str]) -> None:
    from ..base.safeio import Staging
    from ..publish.output import output_dir

    output_dir(folder)
    with Staging(folder) as stage:
        stage.commit([stage.text(folder / name, text) for name, text in files.items()])


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
    from ..publish.inspect import inspect_track

    info = inspect_track(file)
    if as_json:
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return
    rows = [(key, "" if info[key] is None else str(info[key])) for key in
            ("title", "artist", "album", "track", "genre", "year", "comment")]
    rows.append(("length", format_length(round(info["duration"] * SAMPLE_RATE)) + f" ({info['duration']:.3f}s)"))
    if info["session_duration"] is not None:
        session = format_length(round(info["session_duration"] * SAMPLE_RATE))
        rows.append(("loudness", f"{info['loudness_lufs']} LUFS integrated over the session ({session}; the "
                                 "mode's target applies here)"))
        rows.append(("", f"{info['whole_file_lufs']} LUFS over the whole file, with its quiet tail"))
    else:
        rows.append(("loudness", f"{info['loudness_lufs']} LUFS integrated"))
    rows += [("true peak", f"{info['true_peak_dbtp']} dBTP"),
             ("cover", info["cover"] or "none"),
             ("transcript", f"{info['transcript_lines']} lines")]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key.ljust(width)}  {value}")
    click.echo(f"chapters ({len(info['chapters'])}):")
    for chapter in info["chapters"]:
        click.echo(f"  {format_clock(round(chapter['start'] * SAMPLE_RATE)):>7}  {chapter['title']}")


@cli.command()
@click.argument("folder", required=False, default="output", type=click.Path(path_type=Path))
@click.option("--host", metavar="ADDR", help="Address to listen on (default 127.0.0.1: this computer only).")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0 picks a free one).")
@click.option("--lan", is_flag=True, help="Listen on this computer's local network address, to open it on a "
              "phone on the same Wi-Fi (prints the address and a QR code).")
@click.option("--title", type=TEXT, help="The podcast's title (default: the folder's name).")
def serve(folder, host, port, lan, title):
    """Serve an output folder to your phone: tracks, pages, playlists and a podcast feed.

    Read-only: GET and HEAD only, nothing outside FOLDER (default: output), no hidden files.
    The feed is at /feed.xml and lists every track in the folder and its subfolders, including
    tracks built while it runs. Ctrl-C stops it.

    \b
    Examples:
      rlsaudio serve
      rlsaudio serve --lan
      rlsaudio serve ~/Music/rls --port 9000 --title "Evening sessions"
    """
    from ..serve.app import serve_folder

    if lan and host:
        raise click.UsageError("give --lan or --host ADDR, not both")
    return serve_folder(folder, host=host, port=port, lan=lan, title=title)


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--base-url", "base_url", required=True, metavar="URL",
              help="Where FOLDER will be published, e.g. https://example.org/rls/")
@click.option("-o", "--output", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The feed file (default: FOLDER/feed.xml); its URL is taken to be BASE-URL/ plus its "
              "place in FOLDER (or its name). Covers always go to FOLDER/covers/.")
@click.option("--title", type=TEXT, help="The podcast's title (default: the folder's name).")
def feed(folder, base_url, out_file, title):
    """Write a podcast feed of every track in FOLDER, for a static web host.

    Writes FOLDER/feed.xml (RSS with iTunes and Podcasting 2.0 tags: chapters, transcripts) and
    each track's cover into FOLDER/covers/. Upload the whole folder to BASE-URL and subscribe
    to BASE-URL/feed.xml in a podcast app.

    \b
    Example:
      rlsaudio feed output --base-url https://example.org/rls/
    """
    from ..publish.feed import write_feed

    written = write_feed(folder, base_url, out_file, title)
    for skipped in written.skipped:
        _err(f"warning: skipped {skipped.rel}: {skipped.reason}")
    click.echo(f"{written.path}  {written.tracks} tracks")


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], right: tuple[int, ...] = ()) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        click.echo("  ".join(cells).rstrip())


def main() -> None:
    from ..speech.engines.base import loaded_engines
    from ..system.threads import one_blas_thread

    _Signals.install()
    one_blas_thread()
    code = cli.main(prog_name="rlsaudio", standalone_mode=False)
    if loaded_engines():
        # A speech engine's native threads (onnxruntime) may still be inside a call; letting the
        # interpreter tear them down aborts the process (SIGABRT). Everything of ours is closed.
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os._exit(code)
    sys.exit(code)
