"""`rlsaudio validate`: check any of rlsaudio's files, printing every problem on its own line."""

from __future__ import annotations

import click

from ..base.errors import InputError
from .process import err


@click.command()
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
                err(line)
            continue
        for warning in warnings:
            err(f"warning: {warning}")
        click.echo(f"{name}: ok ({summary})")
    return 2 if failed else 0
