"""`rlsaudio feed`: a podcast feed of a folder's tracks, for a static web host."""

from __future__ import annotations

from pathlib import Path

import click

from .options import TEXT
from .process import err


@click.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--base-url", "base_url", required=True, metavar="URL",
              help="Where FOLDER will be published, e.g. https://example.org/rls/")
@click.option("-o", "--output", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The feed file (default: FOLDER/feed.xml); its URL is taken to be BASE-URL/ plus its "
              "place in FOLDER (or its name). Covers always go to FOLDER/covers/.")
@click.option("--title", type=TEXT, help='The podcast\'s title (default: "rlsaudio: RLS sessions").')
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
        err(f"warning: skipped {skipped.rel}: {skipped.reason}")
    click.echo(f"{written.path}  {written.tracks} track{'' if written.tracks == 1 else 's'}")
