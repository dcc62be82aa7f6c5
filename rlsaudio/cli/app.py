"""`rlsaudio app`: the whole evening in a browser, on this computer (or, with --lan, a phone)."""

from __future__ import annotations

from pathlib import Path

import click

from .options import out_dir_option


@click.command()
@out_dir_option("Folder for the tracks (the one `build` uses).")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0 picks a free one).")
@click.option("--lan", is_flag=True, help="Listen on this computer's local network address, to use the app on a "
              "phone on the same Wi-Fi (prints a QR code).")
@click.option("--no-browser", "no_browser", is_flag=True, help="Do not open the browser; only print the address.")
@click.option("--voice", "voice_files", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="Also offer this voice profile file (repeatable); the bundled voices are always offered.")
def app(out_dir: Path, port, lan, no_browser, voice_files):
    """Open the app: make sessions, build them, listen, keep the diary, in your browser.

    Starts a small web server on this computer and opens your browser on it. Everything the
    command line does for a listener is there: choose points on the body figures or a
    routine, see the plan, build with a progress bar, play tracks in their listen-along
    pages, delete them, send them to your phone and keep the sleep diary. The address it
    prints carries a private key; the app answers nobody without it. Ctrl-C stops it.

    \b
    Examples:
      rlsaudio app
      rlsaudio app --lan
      rlsaudio app -o ~/Music/rls --port 9000 --no-browser
    """
    from ..app.server import run_app

    return run_app(out_dir, port=port, lan=lan, browser=not no_browser, voice_files=tuple(voice_files))
