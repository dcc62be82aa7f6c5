"""`rlsaudio compose`: a session of your own from points of the library, with its routine file."""

from __future__ import annotations

from pathlib import Path

import click

from ..base import limits
from ..base.units import format_length, format_ms
from ..system.progress import TerminalReporter
from .options import TEXT, Duration, mode_options, out_dir_option, output_options, request, track_options

HOLDS = f"{format_ms(limits.PRESS_MIN_MS)} to {format_ms(limits.PRESS_MAX_MS)}"


def _codes(words: tuple[str, ...]) -> tuple[str, ...]:
    """Point codes from the command line: `SP 6 K 3` as well as `"SP 6" "K 3"`."""
    codes: list[str] = []
    for word in words:
        if word.isdigit() and codes and codes[-1].isalpha():
            codes[-1] = f"{codes[-1]} {word}"
        else:
            codes.append(word)
    return tuple(codes)


@click.command()
@click.argument("codes", nargs=-1, required=True, metavar="POINT...")
@click.option("--hold", "hold_ms", metavar="DURATION",
              type=Duration(limits.PRESS_MAX_MS, limits.PRESS_MIN_MS, what="a hold", example="90s"),
              help=f"Press and massage each acupressure point this long per side ({HOLDS}, less where a point's "
                   "caution says so). Default: 1 minute, or what --length chooses.")
@click.option("--title", type=TEXT, help='Track title (default: the points, e.g. "Acupressure: SP 6, K 3").')
@click.option("--breathe", is_flag=True, help="Paced breathing cues inside every hold.")
@click.option("--routine-only", is_flag=True, help="Write the routine file only; build nothing.")
@out_dir_option("Folder for the track and its routine file.")
@output_options
@mode_options
def compose(codes, hold_ms, title, breathe, routine_only, out_dir, fmt, bitrate, cover, no_page, force, **mode):
    """Make a session of your own from points of the library, and build it.

    Writes an editable routine file beside the track: an introduction, the safety words,
    slow breathing, each point with its name, location and both sides where paired, and a
    closing. Each acupressure point is pressed and massaged for 1 to 2 minutes at a time, each
    reflexology zone in ten-second presses with ten-second rests. --length sets the whole
    session: longer sessions add rounds with rests; --hold fixes each press instead.

    \b
    Examples:
      rlsaudio compose "SP 6" "K 3" "LV 3" --length 15m --mode bedtime
      rlsaudio compose SP 6 K 3 --hold 90s --breathe --routine-only
    """
    from ..base.safeio import check_replaceable, stamped
    from ..plan import plan_track
    from ..publish.output import tidy_folders
    from ..publish.track import build_track, file_stem
    from ..script.compose import Composition, routine_file

    if hold_ms is not None and mode["length_ms"] is not None:
        raise click.UsageError("give --length (the session) or --hold (each hold), not both")
    composition = Composition(_codes(codes), title, hold_ms, breathe, source="")
    plan = plan_track(request("", compose=composition, **mode))
    options = track_options(fmt, bitrate, cover, no_page, force)
    name = file_stem(plan, options) + ".toml"
    reporter = TerminalReporter()
    # The routine file is yours to edit: once changed, it is never replaced without --force.
    check_replaceable(out_dir / name, force, "give --force to replace it, or --title for another name")

    def files(timeline) -> dict[str, str]:
        return {name: stamped(routine_file(composition, plan.library, timeline, plan.request.mode,
                                   plan.request.voice or plan.voice.name, plan.request.length_ms))}

    if routine_only:
        timeline = None
        if mode["length_ms"] is not None:
            from ..publish.render import speak_and_time
            from ..system.cache import Cache

            _, timeline = speak_and_time(plan, Cache(), reporter)
        _write_files(out_dir, files(timeline), force)
        reporter.line(str(out_dir / name))
        return
    with tidy_folders(out_dir):  # a failed or stopped compose leaves no empty folder tree
        track = build_track(plan, out_dir, options, reporter, extras=files)
    reporter.line(f"{track.path}  {format_length(track.length)}")
    reporter.line(f"{out_dir / name}  the routine, to edit and build again")


def _write_files(folder: Path, files: dict[str, str], force: bool) -> None:
    from ..base.safeio import Staging, check_replaceable
    from ..publish.output import output_dir, tidy_folders

    with tidy_folders(folder):
        output_dir(folder)
        with Staging(folder) as stage:
            stage.commit([stage.text(folder / name, text) for name, text in files.items()],
                         check=lambda: [check_replaceable(folder / name, force) for name in files])
