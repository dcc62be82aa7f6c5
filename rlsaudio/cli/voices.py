"""`rlsaudio voices`: the voice profiles, their engines, whether each can run here."""

from __future__ import annotations

import click

from ..base.errors import RlsaudioError
from .options import table


@click.command()
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
    table(("voice", "engine", "status", "description"), rows)
