"""`rlsaudio routines`: the bundled routines with their estimated length."""

from __future__ import annotations

import click

from ..base.units import format_length
from .options import table


@click.command()
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
    table(("id", "title", "steps", "length"), rows)
