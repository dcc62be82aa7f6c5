"""`rlsaudio inspect`: what a built track holds, read back from the file itself."""

from __future__ import annotations

from pathlib import Path

import click

from ..base.text import printable, printable_json
from ..base.units import SAMPLE_RATE, format_clock, format_length


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
def inspect(file, as_json):
    """Show a track's tags, length, chapters and loudness, read from the file itself.

    Text from the file (tags, chapter titles) is shown with its control characters escaped,
    on a terminal, in a pipe and in --json alike: a foreign file cannot drive the terminal.

    \b
    Examples:
      rlsaudio inspect "output/Acupressure for restless legs.mp3"
      rlsaudio inspect track.mp3 --json
    """
    from ..publish.inspect import inspect_track

    info = inspect_track(file)
    if as_json:
        click.echo(printable_json(info))
        return
    rows = [(key, "" if info[key] is None else printable(str(info[key]))) for key in
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
        click.echo(f"  {format_clock(round(chapter['start'] * SAMPLE_RATE)):>7}  {printable(chapter['title'])}")
