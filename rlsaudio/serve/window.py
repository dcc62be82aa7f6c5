"""`rlsaudio serve`: a read-only window on a folder of published tracks, over HTTP.

A starlette app run by uvicorn. It serves the folder's tracks, their sidecars and pages, the
albums' .m3u8 playlists, a podcast feed made per request (/feed.xml, so tracks built while it
runs appear at once) and the tracks' covers (/covers/<sha256-12>.png), plus a small index of
the tracks at / and in each album folder. Files go through starlette's FileResponse: byte
ranges (206, 416), HEAD, If-Range; ETag, Last-Modified and 304 are answered here.

What a request can reach, checked on every request:
- GET and HEAD only; any other method gets 405.
- A Host header that names this machine (an IP address, localhost, its host name, *.local):
  a web page elsewhere cannot use DNS rebinding to read the folder through a browser.
- The decoded path: no NUL or control character, no backslash, at most 4096 bytes, segments
  of at most 255 bytes (else 400); no empty, `.` or `..` segment, no hidden name (dotfiles,
  `.rlsaudio-tmp-*` staging folders, temporary files), at most 16 deep (else 404). The path
  is decoded once, by the server: `%252e%252e` stays the literal name `%2e%2e`.
- Only known file types (audio, pages, sidecars, playlists, images); anything else is 404.
- The path is resolved (symbolic links followed) and must stay inside the folder, and its
  resolved form must have no hidden name; then the file is opened from the folder's own
  descriptor one resolved component at a time with O_NOFOLLOW, so a link swapped in after the
  check is refused, and what is served is the file that was checked (by its descriptor), even
  if it is renamed or replaced while it is sent. FIFOs and devices are refused.
- No directory listing: / and folders that hold tracks get an index of their tracks only.
"""

from __future__ import annotations

import errno
import hashlib
import html
import ipaddress
import logging
import os
import re
import signal
import socket
import stat
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any, Callable, Iterator

from ..base.errors import InputError, Problem, RlsaudioError
from ..base.text import printable
from ..base.units import SAMPLE_RATE, format_length
from ..encode.formats import written_suffixes
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

DEFAULT_PORT = 8765
# What is served, by suffix; everything else is 404.
CONTENT_TYPES = {
    **{suffix: info.mime for suffix, info in written_suffixes().items()},
    ".html": "text/html; charset=utf-8",
    ".vtt": "text/vtt; charset=utf-8",
    ".json": "application/json",
    ".lrc": "text/plain; charset=utf-8",
    ".m3u8": "audio/mpegurl",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}
MAX_PATH_BYTES = 4096
MAX_SEGMENT_BYTES = 255
MAX_DEPTH = 16
# The pages are self-contained (inline script and style, same-origin audio): allow exactly that.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; media-src 'self' blob:; font-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
ALLOWED_METHODS = ("GET", "HEAD")
COVER_NAME = re.compile(r"[0-9a-f]{12}\.(?:png|jpg)")


# --------------------------------------------------------------------------- the folder


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
        return self.scan().tracks

    def feed(self, base_url: str) -> bytes:
        return served_feed(self.tracks(), base_url, self.path, self.title)

    def cover(self, name: str) -> Cover | None:
        tracks = self.tracks()
        for cover in [t.cover for t in tracks if t.cover is not None] + [channel_cover(tracks)]:
            if cover.name == name:
                return cover
        return None


# --------------------------------------------------------------------------- paths


class Refused(Exception):
    """A request path that is not served: 400 (malformed) or 404."""

    def __init__(self, status: int):
        self.status = status


def path_segments(path: str) -> tuple[list[str], bool]:
    """The segments of a decoded request path and whether it ends in "/"; Refused otherwise."""
    if not path.startswith("/"):
        raise Refused(400)
    if len(path.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise Refused(400)
    if "\\" in path or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in path):
        raise Refused(400)
    body = path[1:]
    is_dir = body == "" or body.endswith("/")
    segments = body[:-1].split("/") if body.endswith("/") else body.split("/") if body else []
    if len(segments) > MAX_DEPTH:
        raise Refused(404)
    for segment in segments:
        if len(segment.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES:
            raise Refused(400)
        if segment in ("", ".", "..") or not servable_name(segment):
            raise Refused(404)
    return segments, is_dir


@dataclass
class Opened:
    fd: int
    st: os.stat_result
    rel: list[str]  # the resolved path's segments below the root


def open_inside(root: str, segments: list[str]) -> Opened:
    """Open a path below `root` (resolved) that stays inside it, or raise Refused(404)."""
    candidate = os.path.join(root, *segments)
    real = os.path.realpath(candidate)
    if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
        raise Refused(404)  # a link out of the folder
    rel = [] if real == root else os.path.relpath(real, root).split(os.sep)
    if any(is_hidden(part) or part in ("", "..") for part in rel):
        raise Refused(404)  # a link to a hidden name inside the folder
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(root, flags | os.O_DIRECTORY)
    except OSError:
        raise Refused(404) from None
    try:
        for i, part in enumerate(rel):
            last = i == len(rel) - 1
            mode = flags | os.O_NOFOLLOW | (os.O_NONBLOCK if last else os.O_DIRECTORY)
            next_fd = os.open(part, mode, dir_fd=fd)
            os.close(fd)
            fd = next_fd
        st = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise Refused(404) from None
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        os.close(fd)
        raise Refused(404)
    return Opened(fd, st, rel)


def _fd_path(fd: int) -> str:
    """A path that opens the same file as `fd` (Linux /proc, BSD and macOS /dev/fd)."""
    for base in ("/proc/self/fd", "/dev/fd"):
        if os.path.isdir(base):
            return f"{base}/{fd}"
    raise OSError(errno.ENOSYS, "no /proc/self/fd or /dev/fd on this system")


# --------------------------------------------------------------------------- responses


def etag_of(st: os.stat_result) -> str:
    return '"' + hashlib.sha256(f"{st.st_ino}-{st.st_size}-{st.st_mtime_ns}".encode()).hexdigest()[:20] + '"'


def not_modified(headers: Any, etag: str, mtime: float | None) -> bool:
    """RFC 9110 13.1: If-None-Match (weak comparison) wins over If-Modified-Since."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        tags = [t.strip() for t in if_none_match.split(",")]
        return "*" in tags or etag.removeprefix("W/") in [t.removeprefix("W/") for t in tags]
    since = headers.get("if-modified-since")
    if since and mtime is not None:
        try:
            return int(mtime) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
    return False


def _not_modified_response(etag: str, last_modified: str | None):
    from starlette.responses import Response

    headers = {"etag": etag, "cache-control": "no-cache"}
    if last_modified:
        headers["last-modified"] = last_modified
    return Response(status_code=304, headers=headers)


def _bytes_response(request, body: bytes, media_type: str, mtime: float | None = None):
    """An in-memory document (feed, index, cover) with an ETag of its content, and 304 for a match."""
    from starlette.responses import Response

    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    last_modified = formatdate(mtime, usegmt=True) if mtime is not None else None
    if not_modified(request.headers, etag, mtime):
        return _not_modified_response(etag, last_modified)
    headers = {"etag": etag, "cache-control": "no-cache"}
    if last_modified:
        headers["last-modified"] = last_modified
    return Response(body, media_type=media_type, headers=headers)


def _plain(status: int, text: str):
    from starlette.responses import PlainTextResponse

    return PlainTextResponse(text + "\n", status_code=status, headers={"cache-control": "no-cache"})


REFUSED_TEXT = {400: "Bad request", 404: "Not found", 405: "Method not allowed"}


class OpenFileResponse:
    """A file already opened (and checked) by descriptor, sent by starlette's FileResponse
    (ranges, HEAD, If-Range); the descriptor is closed however the response ends."""

    def __init__(self, opened: Opened, media_type: str, headers: dict[str, str]):
        self.opened, self.media_type, self.headers = opened, media_type, headers

    async def __call__(self, scope, receive, send) -> None:
        from starlette.responses import FileResponse

        try:
            response = FileResponse(_fd_path(self.opened.fd), stat_result=self.opened.st, media_type=self.media_type,
                                    headers=self.headers)
            await response(scope, receive, send)
        finally:
            self.close()

    def close(self) -> None:
        if self.opened.fd >= 0:
            os.close(self.opened.fd)
            self.opened.fd = -1


# --------------------------------------------------------------------------- endpoints


def _base_url(request) -> str:
    return str(request.base_url)


def create_app(folder: Folder, host_names: frozenset[str] = frozenset()):
    """The ASGI app for one folder. `host_names`: host names (besides IP addresses, localhost,
    this machine's name and *.local) that the Host header may carry."""
    from starlette.applications import Starlette
    from starlette.routing import Route

    def feed(request):
        return _bytes_response(request, folder.feed(_base_url(request)), FEED_TYPE)

    def cover(request):
        name = request.path_params["name"]
        found = folder.cover(name) if COVER_NAME.fullmatch(name) else None
        if found is None:
            return static(request)  # an album may be called "covers"
        return _bytes_response(request, found.data, found.mime)

    def static(request):
        try:
            segments, is_dir = path_segments(request.scope["path"])
            opened = open_inside(folder.real, segments)
        except Refused as exc:
            return _plain(exc.status, REFUSED_TEXT[exc.status])
        if stat.S_ISDIR(opened.st.st_mode):
            os.close(opened.fd)
            return _index(request, folder, opened.rel, segments, is_dir)
        media_type = CONTENT_TYPES.get(os.path.splitext(opened.rel[-1])[1].lower()) if opened.rel else None
        if media_type is None or is_dir:
            os.close(opened.fd)
            return _plain(404, REFUSED_TEXT[404])
        etag = etag_of(opened.st)
        last_modified = formatdate(opened.st.st_mtime, usegmt=True)
        if not_modified(request.headers, etag, opened.st.st_mtime):
            os.close(opened.fd)
            return _not_modified_response(etag, last_modified)
        return OpenFileResponse(opened, media_type, {"etag": etag, "last-modified": last_modified,
                                                     "cache-control": "no-cache"})

    routes = [
        Route("/" + FEED_NAME, feed, methods=["GET", "HEAD"]),
        Route("/" + COVERS_DIR + "/{name}", cover, methods=["GET", "HEAD"]),
        Route("/{path:path}", static, methods=["GET", "HEAD"]),
    ]
    app = Starlette(routes=routes)
    return Guard(app, host_names)


class Guard:
    """Outermost: security headers on every response; 405 for methods other than GET and HEAD;
    400 for a Host header that does not name this machine."""

    def __init__(self, app, host_names: frozenset[str]):
        self.app = app
        self.host_names = frozenset(n.lower() for n in host_names) | _own_names()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        if scope["method"] not in ALLOWED_METHODS:
            response = _plain(405, REFUSED_TEXT[405])
            response.headers["allow"] = ", ".join(ALLOWED_METHODS)
            return await response(scope, receive, send_with_headers)
        hosts = [value for name, value in scope.get("headers", []) if name.lower() == b"host"]
        if len(hosts) > 1 or (hosts and not host_allowed(hosts[0].decode("latin-1"), self.host_names)):
            response = _plain(400, "Unknown host name: open the address rlsaudio serve printed")
            return await response(scope, receive, send_with_headers)
        try:
            path_segments(scope["path"])  # every route: odd paths never reach the router
        except Refused as exc:
            return await _plain(exc.status, REFUSED_TEXT[exc.status])(scope, receive, send_with_headers)
        await self.app(scope, receive, send_with_headers)


def _own_names() -> frozenset[str]:
    name = socket.gethostname().lower().rstrip(".")
    return frozenset({name, name.split(".")[0]} - {""})


def host_allowed(host: str, names: frozenset[str]) -> bool:
    """Whether a Host header names this machine: an IP address, localhost, one of `names`, or *.local."""
    host = host.strip().lower()
    if host.startswith("["):
        name, sep, port = host[1:].partition("]")
        if not sep or (port and not (port.startswith(":") and port[1:].isdigit())):
            return False
    else:
        name, _, port = host.partition(":")
        if port and not port.isdigit():
            return False
    name = name.rstrip(".")
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    return name == "localhost" or name.endswith((".localhost", ".local")) or name in names


# --------------------------------------------------------------------------- the index


def _index(request, folder: Folder, rel: list[str], segments: list[str], is_dir: bool):
    from starlette.responses import RedirectResponse

    here = "/".join(rel)
    tracks = folder.tracks()
    mine = [t for t in tracks if t.folder == here]
    if here and not mine:
        return _plain(404, REFUSED_TEXT[404])  # only the root and folders with tracks have an index
    if not is_dir:  # a folder's address ends in a slash, as on any static server
        return RedirectResponse("/" + "/".join(url_path(s) for s in segments) + "/", status_code=301)
    albums: dict[str, int] = {}
    if not here:
        for t in tracks:
            if t.folder:
                albums[t.folder] = albums.get(t.folder, 0) + 1
    playlists = _playlists(folder.real, rel)
    title = rel[-1] if here else (folder.title or os.path.basename(folder.real))
    body = index_html(title, mine, albums, playlists, here, _base_url(request))
    return _bytes_response(request, body.encode("utf-8"), "text/html; charset=utf-8")


def _playlists(root: str, rel: list[str]) -> list[str]:
    try:
        with os.scandir(os.path.join(root, *rel)) as it:
            return sorted(e.name for e in it if e.name.endswith(".m3u8") and servable_name(e.name)
                          and e.is_file(follow_symlinks=False))
    except OSError:
        return []


def index_html(title: str, tracks: list[FeedTrack], albums: dict[str, int], playlists: list[str], here: str,
               base_url: str) -> str:
    """A small page listing tracks (names escaped, links percent-encoded), for a phone's browser."""
    esc = html.escape
    prefix = "/" + url_path(here) + "/" if here else "/"
    rows = []
    for t in sorted(tracks, key=lambda t: (t.track or 0, t.rel)):
        audio = "/" + url_path(t.rel)
        page = ""
        if "page" in t.sidecars:
            page = f' <a href="/{esc(url_path(t.sidecars["page"]))}">listen-along page</a> ·'
        length = format_length(round(t.length_ms * SAMPLE_RATE / 1000)) if t.length_ms else ""
        rows.append(f'<li><strong>{esc(t.title)}</strong> <span class="dim">{esc(length)}</span><br>{page} '
                    f'<a href="{esc(audio)}">audio</a>'
                    f'<br><audio controls preload="none" src="{esc(audio)}"></audio></li>')
    sections = []
    if rows:
        sections.append("<ul>" + "\n".join(rows) + "</ul>")
    if albums:
        links = "".join(f'<li><a href="/{esc(url_path(a))}/">{esc(a)}</a> <span class="dim">{n} tracks</span></li>'
                        for a, n in sorted(albums.items()))
        sections.append(f"<h2>Albums</h2><ul>{links}</ul>")
    if playlists:
        links = "".join(f'<li><a href="{esc(prefix + url_path(p))}">{esc(p)}</a></li>' for p in playlists)
        sections.append(f"<h2>Playlists</h2><ul>{links}</ul>")
    if not sections:
        sections.append("<p>No tracks yet. Build some with <code>rlsaudio build</code>; they appear here "
                        "without a restart.</p>")
    back = '<p><a href="/">All tracks</a></p>' if here else ""
    feed_url = base_url + FEED_NAME
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>body{{font:17px/1.5 system-ui,sans-serif;margin:1rem auto;max-width:40rem;padding:0 1rem}}
li{{margin:0 0 1rem}}audio{{width:100%}}.dim{{color:#666}}ul{{padding-left:1.2rem}}</style>
</head><body>
<h1>{esc(title)}</h1>
{back}
{chr(10).join(sections)}
<p class="dim">Podcast feed: <a href="/{FEED_NAME}">{esc(feed_url)}</a> (add it in your podcast app by URL)</p>
</body></html>
"""


# --------------------------------------------------------------------------- addresses


def lan_address(probe: Callable[[str], str | None] | None = None,
                interfaces: Callable[[], list[tuple[str, str]]] | None = None) -> str:
    """This machine's address on the local network, found without sending anything: the source
    address the system would use towards a private address (a UDP connect sends no packet),
    else the first private address of a network interface."""
    probe = probe or _route_source
    interfaces = interfaces or _interface_addresses
    for target in ("192.168.0.1", "10.0.0.1", "172.16.0.1"):
        found = probe(target)
        if found and _usable(found):
            return found
    for name, address in interfaces():
        if _usable(address) and not name.startswith(("lo", "docker", "br-", "veth", "virbr")):
            return address
    raise RlsaudioError("no local network address found: is this computer connected to Wi-Fi or a network? "
                        "Connect it, or give the address with --host ADDR")


def _usable(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_unspecified or ip.is_multicast or ip.is_link_local)


def _route_source(target: str) -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((target, 9))  # UDP: chooses a route, sends nothing
            return s.getsockname()[0]
    except OSError:
        return None


def _interface_addresses() -> list[tuple[str, str]]:
    """(interface, IPv4 address) pairs, read with SIOCGIFADDR on Linux; [] elsewhere."""
    if not sys.platform.startswith("linux"):
        return []
    import fcntl
    import struct

    found = []
    for _, name in socket.if_nameindex():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name[:15].encode()))
            except OSError:
                continue
            found.append((name, socket.inet_ntoa(packed[20:24])))
    return found


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, or one clear error: a port in use (1), an address that is not this
    machine's or a port that needs privileges (2)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError):
        raise InputError(Problem("--host", f"{host!r} is not an address of this computer; give an IP address "
                                           "such as 127.0.0.1, or use --lan")) from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise RlsaudioError(f"port {port} on {host} is already in use (is rlsaudio serve already running?); "
                                "stop that, or choose another port with --port") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise InputError(Problem("--host", f"{host} is not an address of this computer; give one of its "
                                               "addresses, or use --lan")) from None
        if exc.errno == errno.EACCES:
            raise InputError(Problem("--port", f"{port}: ports below 1024 need administrator rights; use "
                                               f"--port {DEFAULT_PORT}")) from None
        raise RlsaudioError(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from None
    return sock


def url_for(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def qr_text(data: str, colour: bool, unicode: bool = True) -> str:
    """A QR code as text: black on white whatever the terminal's colours (ANSI) with half blocks,
    two rows a line; or, without colour, dark modules as blocks."""
    import segno

    rows = [list(row) for row in segno.make_qr(data, error="m").matrix_iter(scale=1, border=2)]
    if len(rows) % 2:
        rows.append([0] * len(rows[0]))
    if not unicode:
        return "\n".join("".join("##" if dark else "  " for dark in row) for row in rows) + "\n"
    chars = {(0, 0): " ", (1, 0): "\u2580", (0, 1): "\u2584", (1, 1): "\u2588"}
    lines = []
    for top, bottom in zip(rows[::2], rows[1::2]):
        line = "".join(chars[(bool(a), bool(b))] for a, b in zip(top, bottom))
        lines.append(f"\033[30;107m{line}\033[0m" if colour else line)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- running


class _LogLine(logging.Formatter):
    """One line per event, controls escaped; a traceback only with RLSAUDIO_DEBUG."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            text += f": {type(exc).__name__}: {exc}"
        text = printable(text)
        if len(text) > 300:  # a request line can be kilobytes of an attacker's choosing
            text = text[:200] + " ... " + text[-80:]
        line = f"{self.formatTime(record, '%H:%M:%S')} {text}"
        if exc is not None and os.environ.get("RLSAUDIO_DEBUG"):
            line += "\n" + self.formatException(record.exc_info)
        return line


@contextmanager
def _server_logging() -> Iterator[None]:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LogLine())
    loggers = {"uvicorn.error": logging.WARNING, "uvicorn.access": logging.INFO, "uvicorn.asgi": logging.WARNING}
    saved = []
    for name, level in loggers.items():
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.handlers[:], logger.propagate))
        logger.handlers, logger.propagate = [handler], False
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, level, handlers, propagate in saved:
            logger.handlers, logger.propagate = handlers, propagate
            logger.setLevel(level)


@contextmanager
def _stop_on_signals(server) -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP ask the server to finish; uvicorn catches SIGINT and SIGTERM
    itself while it runs and raises them again once stopped, which lands here, harmlessly."""

    def stop(signum, frame):
        server.should_exit = True

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _echo(text: str = "", out=None) -> None:
    out = out or sys.stdout
    out.write(text + "\n")
    out.flush()


def serve_folder(folder: Path, host: str | None = None, port: int = DEFAULT_PORT, lan: bool = False,
                 title: str | None = None, out=None) -> int:
    """Serve `folder` until Ctrl-C or SIGTERM; returns the exit status (0)."""
    import uvicorn

    check_folder(folder)
    host = lan_address() if lan else (host or "127.0.0.1")
    sock = bind(host, port)
    port = sock.getsockname()[1]
    url = url_for(_shown_host(host), port)
    served = Folder(folder, title)
    app = create_app(served, frozenset({host.lower()}))
    config = uvicorn.Config(app, http="h11", ws="none", lifespan="off", interface="asgi3", proxy_headers=False,
                            server_header=False, log_config=None, access_log=True, timeout_graceful_shutdown=2,
                            limit_concurrency=100, timeout_keep_alive=5)
    server = uvicorn.Server(config)
    found = served.scan()
    _banner(folder, sock.getsockname()[0], url, len(found.tracks), out)  # the address bound, not a name
    for skipped in found.skipped:
        print(f"warning: not in the feed: {printable(skipped.rel)}: {printable(skipped.reason)}", file=sys.stderr)
    with _server_logging(), _stop_on_signals(server):
        server.run(sockets=[sock])
    tty = getattr(out or sys.stdout, "isatty", lambda: False)()
    _echo(("\r\033[K" if tty else "") + "stopped", out)
    return 0


def _banner(folder: Path, host: str, url: str, count: int, out) -> None:
    """What is served where; for an address other machines can reach, a QR code and what that exposes."""
    stream = out or sys.stdout
    tracks = f"{count} track{'s' if count != 1 else ''}"
    ip = _ip(host)
    if ip is not None and ip.is_loopback:
        _echo(f"Serving {folder} ({tracks}) at {url}  (this computer only; --lan to open it on your phone)", out)
    else:
        _echo(f"Serving {folder} ({tracks}) on the network at {url}", out)
        _echo("On your phone, on the same Wi-Fi, open that address or scan:", out)
        encoding = (getattr(stream, "encoding", None) or "ascii").lower().replace("-", "")
        colour = bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")
        stream.write(qr_text(url, colour=colour, unicode=encoding in ("utf8", "utf16", "utf32")))
        if ip is not None and ip.is_unspecified:
            _echo(f"warning: {host} listens on every network this computer is on", out)
        elif ip is not None and not ip.is_private:
            _echo(f"warning: {host} is not a private address: anyone who can reach this computer can read the "
                  "tracks", out)
        _echo("Anyone on this network can read the tracks, pages and feed while this runs (nothing can be "
              "changed).", out)
    _echo(f"Podcast feed: {url}{FEED_NAME}", out)
    _echo("Press Ctrl-C to stop.", out)


def _shown_host(host: str) -> str:
    """The address to print: for "every interface" (0.0.0.0, ::), the LAN address if there is one."""
    ip = _ip(host)
    if ip is None or not ip.is_unspecified:
        return host
    try:
        return lan_address()
    except RlsaudioError:
        return "127.0.0.1" if ip.version == 4 else "::1"


def _ip(host: str):
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
