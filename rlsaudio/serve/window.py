"""`rlsaudio serve`: a read-only window on a folder of published tracks, over HTTP.

A starlette app run by uvicorn (network.run_server). It serves what rlsaudio published in the
folder (files.published_files: its tracks, their sidecars and pages, the albums' .m3u8
playlists and indexes), a podcast feed made per request (/feed.xml, so tracks built while it
runs appear at once), the tracks' covers (/covers/<sha256-12>.png), a favicon, and a small
index of the tracks at / and in each album folder. Files go through starlette's FileResponse:
byte ranges (206, 416; a malformed Range is ignored), HEAD, If-Range; ETag, Last-Modified and
304 are answered here. Before anything runs, the guard (guard.py) checks the method (GET and
HEAD only), the Host header (the bound address or this machine's names) and the path.

A folder that is not an output folder (/, a home folder or one of its parents, or a folder with
more than MAX_FOREIGN_FILES files of other kinds) is refused unless --any-folder is given: the
server would otherwise be asked to scan it on every request.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import threading
from pathlib import Path

from ..base import limits
from ..base.errors import InputError, Problem
from ..base.text import printable
from ..data import data_file
from ..publish.feed import (
    COVERS_DIR,
    FEED_NAME,
    FEED_TYPE,
    Cover,
    FeedTrack,
    Scan,
    channel_cover,
    check_folder,
    is_hidden,
    scan,
    servable_name,
    served_feed,
    url_path,
)
from .files import (
    CONTENT_TYPES,
    Refused,
    bytes_response,
    file_response,
    open_inside,
    path_segments,
    plain,
    published_files,
)
from .guard import Guard, Policy
from .index import FAVICON, count, index_html
from .network import (
    DEFAULT_PORT,
    bind,
    host_names,
    is_loopback,
    lan_address,
    qr_text,
    run_server,
    shown_host,
    url_for,
)

COVER_NAME = re.compile(r"[0-9a-f]{12}\.(?:png|jpg)")


class Folder:
    """The served folder: its resolved root, and its tracks (scanned per request, with a cache
    of the tags of files that have not changed)."""

    def __init__(self, path: Path, title: str | None = None):
        self.path = path
        self.real = os.path.realpath(path)
        self.title = title
        self._cache: dict = {}
        self._lock = threading.Lock()

    def scan(self) -> Scan:
        with self._lock:
            return scan(Path(self.real), self._cache)

    def tracks(self) -> list[FeedTrack]:
        """The tracks rlsaudio wrote (with its GUID tag): other programs' audio is not published."""
        return [t for t in self.scan().tracks if t.guid]

    def published(self) -> frozenset[str]:
        return published_files(self.tracks(), self.real)

    def feed(self, base_url: str) -> bytes:
        return served_feed(self.tracks(), base_url, self.path, self.title)

    def cover(self, name: str) -> Cover | None:
        tracks = self.tracks()
        for cover in [t.cover for t in tracks if t.cover is not None] + [channel_cover(tracks)]:
            if cover.name == name:
                return cover
        return None


def check_served_folder(folder: Path, any_folder: bool = False) -> None:
    """Refuse a folder that is plainly not one of tracks, unless the person insists (--any-folder)."""
    check_folder(folder)
    if any_folder:
        return
    real = Path(os.path.realpath(folder))
    home = Path(os.path.realpath(Path.home()))
    why = ""
    if real == Path(real.anchor):
        why = "is the top of the file system"
    elif real == home:
        why = "is your home folder"
    elif home.is_relative_to(real):
        why = "holds your home folder"
    else:
        foreign = _foreign_files(real)
        if foreign > limits.MAX_FOREIGN_FILES:
            why = f"holds more than {limits.MAX_FOREIGN_FILES} files that are not tracks or their pages"
    if why:
        raise InputError(Problem(str(folder), f"{why}: it is not a folder of tracks; serve the folder your tracks "
                                              "are in (rlsaudio build writes them to output/), or give --any-folder "
                                              "to serve it anyway"))


def _foreign_files(root: Path) -> int:
    """Files below root (to the feed's scan depth) of kinds rlsaudio does not write, counted up to
    just past the limit."""
    found, stack = 0, [(root, 0)]
    while stack and found <= limits.MAX_FOREIGN_FILES:
        here, depth = stack.pop()
        try:
            with os.scandir(here) as entries:
                for entry in entries:
                    if is_hidden(entry.name):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        if depth < limits.MAX_SCAN_DEPTH:
                            stack.append((Path(entry.path), depth + 1))
                    elif os.path.splitext(entry.name)[1].lower() not in CONTENT_TYPES:
                        found += 1
                        if found > limits.MAX_FOREIGN_FILES:
                            break
        except OSError:
            continue
    return found


# --------------------------------------------------------------------------- the app


def _base_url(request) -> str:
    return str(request.base_url)


def favicon(request):
    return bytes_response(request, data_file("favicon.png").read_bytes(), "image/png")


def window_routes(folder: Folder, key_query=lambda request: ""):
    """The routes of the window on a folder (the read-only `serve`, and the app's own folder)."""
    from starlette.routing import Route

    def feed(request):
        return bytes_response(request, folder.feed(_base_url(request)), FEED_TYPE)

    def cover(request):
        name = request.path_params["name"]
        found = folder.cover(name) if COVER_NAME.fullmatch(name) else None
        if found is None:
            return static(request)  # an album may be called "covers"
        return bytes_response(request, found.data, found.mime)

    def static(request):
        try:
            segments, is_dir = path_segments(request.scope["path"])
            opened = open_inside(folder.real, segments)
        except Refused as exc:
            return plain(exc.status)
        if stat.S_ISDIR(opened.st.st_mode):
            os.close(opened.fd)
            return _index(request, folder, opened.rel, segments, is_dir, key_query(request))
        if is_dir or opened.path not in folder.published():
            os.close(opened.fd)
            return plain(404)
        return file_response(request, opened)

    return [
        Route("/" + FEED_NAME, feed, methods=["GET", "HEAD"]),
        Route(FAVICON, favicon, methods=["GET", "HEAD"]),
        Route("/" + COVERS_DIR + "/{name}", cover, methods=["GET", "HEAD"]),
        Route("/{path:path}", static, methods=["GET", "HEAD"]),
    ]


def create_app(folder: Folder, hosts: frozenset[str], port: int | None = None):
    """The ASGI app of `serve` for one folder: the window's routes behind a read-only guard."""
    from starlette.applications import Starlette

    return Guard(Starlette(routes=window_routes(folder)), Policy(hosts=hosts, port=port))


def _index(request, folder: Folder, rel: list[str], segments: list[str], is_dir: bool, key_query: str):
    from starlette.responses import RedirectResponse

    here = "/".join(rel)
    tracks = folder.tracks()
    mine = [t for t in tracks if t.folder == here]
    if here and not mine:
        return plain(404)  # only the root and folders with tracks have an index
    if not is_dir:  # a folder's address ends in a slash, as on any static server
        return RedirectResponse("/" + "/".join(url_path(s) for s in segments) + "/", status_code=301)
    albums: dict[str, int] = {}
    if not here:
        for t in tracks:
            if t.folder:
                albums[t.folder] = albums.get(t.folder, 0) + 1
    published = folder.published()
    playlists = sorted(name for name in _names(folder.real, rel)
                       if name.endswith(".m3u8") and ("/".join([*rel, name]) in published))
    title = rel[-1] if here else (folder.title or os.path.basename(folder.real))
    body = index_html(title, mine, albums, playlists, here, _base_url(request) + FEED_NAME, key_query)
    return bytes_response(request, body.encode("utf-8"), "text/html; charset=utf-8")


def _names(root: str, rel: list[str]) -> list[str]:
    try:
        with os.scandir(os.path.join(root, *rel)) as it:
            return [e.name for e in it if servable_name(e.name) and e.is_file(follow_symlinks=False)]
    except OSError:
        return []


# --------------------------------------------------------------------------- running


def _echo(text: str = "", out=None) -> None:
    out = out or sys.stdout
    out.write(text + "\n")
    out.flush()


def serve_folder(folder: Path, host: str | None = None, port: int = DEFAULT_PORT, lan: bool = False,
                 title: str | None = None, out=None, any_folder: bool = False) -> int:
    """Serve `folder` until Ctrl-C or SIGTERM; returns the exit status (0)."""
    check_served_folder(folder, any_folder)
    host = lan_address() if lan else (host or "127.0.0.1")
    sock = bind(host, port)
    port = sock.getsockname()[1]
    bound = sock.getsockname()[0]
    url = url_for(shown_host(host), port)
    served = Folder(folder, title)
    app = create_app(served, host_names(bound), port)
    found = served.scan()
    _banner(folder, bound, url, len([t for t in found.tracks if t.guid]), out)  # the address bound, not a name
    for skipped in found.skipped:
        print(f"warning: not in the feed: {printable(skipped.rel)}: {printable(skipped.reason)}", file=sys.stderr)
    run_server(app, sock)
    tty = getattr(out or sys.stdout, "isatty", lambda: False)()
    _echo(("\r\033[K" if tty else "") + "stopped", out)
    return 0


def _banner(folder: Path, host: str, url: str, tracks: int, out) -> None:
    """What is served where; for an address other machines can reach, a QR code and what that exposes."""
    stream = out or sys.stdout
    if is_loopback(host):
        _echo(f"Serving {folder} ({count(tracks, 'track')}) at {url}  (this computer only; --lan to open it on "
              "your phone)", out)
    else:
        import ipaddress

        ip = ipaddress.ip_address(host)
        _echo(f"Serving {folder} ({count(tracks, 'track')}) on the network at {url}", out)
        _echo("On your phone, on the same Wi-Fi, open that address or scan:", out)
        encoding = (getattr(stream, "encoding", None) or "ascii").lower().replace("-", "")
        colour = bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")
        stream.write(qr_text(url, colour=colour, unicode=encoding in ("utf8", "utf16", "utf32")))
        if ip.is_unspecified:
            _echo(f"warning: {host} listens on every network this computer is on", out)
        elif not ip.is_private:
            _echo(f"warning: {host} is not a private address: anyone who can reach this computer can read the "
                  "tracks", out)
        _echo("Anyone on this network can read the tracks, pages and feed while this runs (nothing can be "
              "changed).", out)
    _echo(f"Podcast feed: {url}{FEED_NAME}", out)
    _echo("Press Ctrl-C to stop.", out)
