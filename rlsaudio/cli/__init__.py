"""The command line: parse options, call one core function, print the result.

One module per command (`build` is in build.py, `inspect` in inspect.py, ...); process.py
translates errors, signals and closed pipes once for all of them, and options.py holds the
options several commands share. Each command imports its core only when it runs, so
`rlsaudio -h` and `rlsaudio routines` start quickly.
"""

from __future__ import annotations

import click

from .. import __version__
from . import app, build, compose, diary, feed, inspect, plan, playlist, points, routines, serve, validate, voices
from .options import CONTEXT
from .process import Group, run


@click.group(cls=Group, context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version")
def cli():
    """Turn restless-legs self-care routines into voice-guided audio sessions.

    \b
    Examples:
      rlsaudio routines
      rlsaudio plan acupressure
      rlsaudio build foot-reflexology
      rlsaudio compose "SP 6" "K 3" --length 15m --mode bedtime
    """


for _module in (routines, validate, plan, voices, build, playlist, points, compose, inspect, serve, app, feed, diary):
    cli.add_command(getattr(_module, _module.__name__.rsplit(".", 1)[1]))


def main() -> None:
    run(cli)
