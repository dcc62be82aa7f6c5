"""`rlsaudio playlist`: several routines as one album, numbered, with an .m3u8 and an index page."""

from __future__ import annotations

from pathlib import Path

import click

from ..base.errors import InputError, Problem
from ..base.units import format_length
from ..system.progress import TerminalReporter
from .options import TEXT, mode_options, out_dir_option, output_options, request, track_options
from .process import err


@click.command()
@click.argument("sources", nargs=-1, required=True, metavar="ROUTINE... | PLAYLIST.toml")
@click.option("--name", type=TEXT, help="Album and playlist name (required unless a playlist file is given).")
@out_dir_option("Folder for the tracks and the .m3u8 (default: output/NAME).", default=None)
@click.option("-j", "--jobs", type=click.IntRange(1, 64), help="Tracks rendered at once (default: the number of cores).")
@click.option("--artist", type=TEXT, help="Artist tag for every track (default: each routine's author).")
@output_options
@mode_options
def playlist(sources, name, out_dir, jobs, artist, fmt, bitrate, cover, no_page, force, **mode):
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
        options = track_options(fmt, bitrate, cover, no_page)
        spec = from_arguments(sources, name, lambda r: request(r, **mode), artist, options.cover, options.bitrate_k,
                              fmt)
    folder = out_dir or Path("output") / safe_name(spec.name)
    reporter = TerminalReporter()

    def report(n, outcome):
        if hasattr(outcome, "path"):
            reporter.line(f"{outcome.path}  {format_length(outcome.length)}")

    result = build_playlist(spec, folder, jobs or default_jobs(), reporter, report, page=not no_page, force=force)
    if result.playlist:
        reporter.line(f"{result.playlist}  {len(result.tracks)} of {len(spec.tracks)} tracks")
    for failure in result.failures:
        for line in failure.lines:
            err(f"track {failure.number} ({failure.routine}) failed: {line}")
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
