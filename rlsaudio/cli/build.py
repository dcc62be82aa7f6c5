"""`rlsaudio build`: routines rendered to tagged tracks, each with its sidecars and page."""

from __future__ import annotations

import click

from ..system.progress import TerminalReporter
from .options import mode_options, out_dir_option, output_options, request, track_options


@click.command()
@click.argument("routines", nargs=-1, required=True)
@out_dir_option("Folder for the tracks.")
@output_options
@mode_options
def build(routines, out_dir, fmt, bitrate, cover, no_page, force, **mode):
    """Render routines to tagged tracks, one per routine.

    ROUTINE is a bundled id (see `rlsaudio routines`), a routine file or a composition file.
    Each track is written to the output folder under a name made from its title, with its
    transcript, chapters and listen-along page beside it. A --length, --tail or --voice variant
    gets its own name ("... (30 min)", "... (espeak)"); replacing a track of the same name that
    was built as another variant needs --force.

    \b
    Examples:
      rlsaudio build acupressure
      rlsaudio build foot-reflexology my-routine.toml -o ~/Music/rls --voice espeak
      rlsaudio build acupressure --mode bedtime --soundscape brown --tail 30m
    """
    from ..base.units import format_length
    from ..publish.track import build_tracks

    reporter = TerminalReporter()
    requests = [request(ref, **mode) for ref in routines]
    for track in build_tracks(requests, out_dir, track_options(fmt, bitrate, cover, no_page, force), reporter):
        reporter.line(f"{track.path}  {format_length(track.length)}")
