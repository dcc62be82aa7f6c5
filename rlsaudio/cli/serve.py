"""`rlsaudio serve`: a read-only window on an output folder, for a phone on the same network."""

from __future__ import annotations

from pathlib import Path

import click

from .options import TEXT


@click.command()
@click.argument("folder", required=False, default="output", type=click.Path(path_type=Path))
@click.option("--host", metavar="ADDR", help="Address to listen on (default 127.0.0.1: this computer only).")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0 picks a free one).")
@click.option("--lan", is_flag=True, help="Listen on this computer's local network address, to open it on a "
              "phone on the same Wi-Fi (prints the address and a QR code).")
@click.option("--title", type=TEXT, help='The podcast\'s title (default: "rlsaudio: RLS sessions").')
@click.option("--any-folder", "any_folder", is_flag=True, help="Serve FOLDER even if it is not a folder of tracks "
              "(/, a home folder, or one with thousands of other files).")
def serve(folder, host, port, lan, title, any_folder):
    """Serve an output folder to your phone: tracks, pages, playlists and a podcast feed.

    Read-only: GET and HEAD only; only what rlsaudio published in FOLDER (default: output): its
    tracks, their pages, chapters and transcripts, albums' playlists, covers and the feed.
    The feed is at /feed.xml and lists every track in the folder and its subfolders, including
    tracks built while it runs. Ctrl-C stops it.

    \b
    Examples:
      rlsaudio serve
      rlsaudio serve --lan
      rlsaudio serve ~/Music/rls --port 9000 --title "Evening sessions"
    """
    from ..serve.window import serve_folder

    if lan and host:
        raise click.UsageError("give --lan or --host ADDR, not both")
    return serve_folder(folder, host=host, port=port, lan=lan, title=title, any_folder=any_folder)
