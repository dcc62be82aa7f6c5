"""`rlsaudio plan`: the timeline of a session, every phrase, hold, rest and pause, before building."""

from __future__ import annotations

import json

import click

from ..base.units import SAMPLE_RATE, format_clock, format_length
from ..system.progress import TerminalReporter
from .options import mode_options, request, table


@click.command()
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
    from ..publish.render import speak_and_time
    from ..system.cache import Cache

    session = plan_track(request(routine, **mode), need_voice=not estimate)
    if estimate:
        timeline = session.estimated()
    else:
        _, timeline = speak_and_time(session, Cache(), TerminalReporter())
    if as_json:
        click.echo(json.dumps(timeline.to_json(), indent=2, ensure_ascii=False))
        return
    how = "speech lengths estimated" if estimate else "exact speech lengths"
    click.echo(f"{timeline.title}  ({session.voice.name} voice, {timeline.mode} mode, {how})")
    rows = []
    for e in timeline.events:
        what = e.text if e.kind == "speech" else e.reason
        rows.append((format_clock(e.start), e.kind, f"{e.length / SAMPLE_RATE:.1f}s", what))
    table(("start", "kind", "length", "what"), rows, right=(0, 2))
    click.echo(f"Total {format_length(timeline.length)}, {len(timeline.chapters)} chapters")
