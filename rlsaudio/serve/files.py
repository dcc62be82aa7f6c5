"""What the server may send, and how: request paths checked, files opened inside the folder,
only what rlsaudio published, conditional and ranged responses.

What a request can reach, checked on every request:
- The decoded path: no NUL or control character, no backslash, at most 4096 bytes, segments
  of at most 255 bytes (else 400); no empty, `.` or `..` segment, no hidden name (dotfiles,
  `.rlsaudio-tmp-*` staging folders, temporary files), at most 16 deep (else 404). The path
  is decoded once, by the server: `%252e%252e` stays the literal name `%2e%2e`.
- Only what rlsaudio published (`published_files`): tracks that carry rlsaudio's GUID tag,
  their own sidecars (page, chapters, transcripts) and an album's .m3u8 and index.html beside
  its tracks. Anything else in the folder (another program's HTML, a JSON file, a photo) is
  404, so no HTML rlsaudio did not write is ever served from the server's origin.
- The path is resolved (symbolic links followed) and must stay inside the folder, and its
  resolved form must have no hidden name; then the file is opened from the folder's own
  descriptor one resolved component at a time with O_NOFOLLOW, so a link swapped in after the
  check is refused, and what is served is the file that was checked (by its descriptor), even
  if it is renamed or replaced while it is sent. FIFOs and devices are refused.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from typing import Any, Iterable

from ..base import limits
from ..encode.formats import written_suffixes
from ..publish.feed import LAST_FEED_TIME, FeedTrack, is_hidden, servable_name
from ..publish.output import SIDECARS, safe_name

# What is served, by suffix, among what rlsaudio published; everything else is 404.
CONTENT_TYPES = {
    **{suffix: info.mime for suffix, info in written_suffixes().items()},
    ".html": "text/html; charset=utf-8",
    ".vtt": "text/vtt; charset=utf-8",
    ".json": "application/json",
    ".lrc": "text/plain; charset=utf-8",
    ".m3u8": "audio/mpegurl",
    ".png": "image/png",
    ".jpg": "image/jpeg",
}
REFUSED_TEXT = {400: "Bad request", 401: "The access key is missing or wrong: open the address rlsaudio printed",
                403: "Forbidden", 404: "Not found", 405: "Method not allowed", 413: "Too large",
                421: "Misdirected request"}
# The latest moment an HTTP date can say (four-digit years, as in the feed): later file times
# (possible on tmpfs, XFS or btrfs, or from an archive) are shown as this.
LAST_HTTP_TIME = LAST_FEED_TIME


class Refused(Exception):
    """A request that is not served, with its status: 400 (malformed), 404, and so on."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


def path_segments(path: str) -> tuple[list[str], bool]:
    """The segments of a decoded request path and whether it ends in "/"; Refused otherwise."""
    if not path.startswith("/"):
        raise Refused(400)
    if len(path.encode("utf-8", "surrogatepass")) > limits.MAX_REQUEST_PATH_BYTES:
        raise Refused(400)
    if "\\" in path or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in path):
        raise Refused(400)
    body = path[1:]
    is_dir = body == "" or body.endswith("/")
    segments = body[:-1].split("/") if body.endswith("/") else body.split("/") if body else []
    if len(segments) > limits.MAX_REQUEST_DEPTH:
        raise Refused(404)
    for segment in segments:
        if len(segment.encode("utf-8", "surrogatepass")) > limits.MAX_REQUEST_SEGMENT_BYTES:
            raise Refused(400)
        if segment in ("", ".", "..") or not servable_name(segment):
            raise Refused(404)
    return segments, is_dir


def published_files(tracks: Iterable[FeedTrack], root: str) -> frozenset[str]:
    """The relative paths rlsaudio published in the folder: each track with rlsaudio's GUID tag,
    its sidecars, and beside an album's tracks its .m3u8 and index.html."""
    out: set[str] = set()
    albums: set[tuple[str, str]] = set()
    for track in tracks:
        if not track.guid:
            continue  # another program's audio file: not ours to publish
        out.add(track.rel)
        stem = os.path.splitext(track.rel)[0]
        out.update(rel for rel in (stem + suffix for suffix in SIDECARS.values()) if _is_file(root, rel))
        if track.album:
            albums.add((track.folder, track.album))
    for folder, album in albums:
        for name in (f"{safe_name(album)}.m3u8", "index.html"):
            rel = f"{folder}/{name}" if folder else name
            if _is_file(root, rel):
                out.add(rel)
    return frozenset(out)


def _is_file(root: str, rel: str) -> bool:
    """A regular file, not a link (as the scan finds tracks): what open_inside then opens."""
    try:
        return stat.S_ISREG(os.stat(os.path.join(root, *rel.split("/")), follow_symlinks=False).st_mode)
    except OSError:
        return False


@dataclass
class Opened:
    fd: int
    st: os.stat_result
    rel: list[str]  # the resolved path's segments below the root

    @property
    def path(self) -> str:
        return "/".join(self.rel)


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


def fd_path(fd: int) -> str:
    """A path that opens the same file as `fd` (Linux /proc, BSD and macOS /dev/fd)."""
    for base in ("/proc/self/fd", "/dev/fd"):
        if os.path.isdir(base):
            return f"{base}/{fd}"
    raise OSError(errno.ENOSYS, "no /proc/self/fd or /dev/fd on this system")


# --------------------------------------------------------------------------- responses


def http_date(mtime: float) -> str:
    """A file time as an HTTP date, clamped to what the format can say."""
    return formatdate(min(max(mtime, 0), LAST_HTTP_TIME), usegmt=True)


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
            return int(min(mtime, LAST_HTTP_TIME)) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
    return False


def not_modified_response(etag: str, last_modified: str | None):
    from starlette.responses import Response

    headers = {"etag": etag, "cache-control": "no-cache"}
    if last_modified:
        headers["last-modified"] = last_modified
    return Response(status_code=304, headers=headers)


def bytes_response(request, body: bytes, media_type: str, mtime: float | None = None):
    """An in-memory document (feed, index, cover) with an ETag of its content, and 304 for a match."""
    from starlette.responses import Response

    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    last_modified = http_date(mtime) if mtime is not None else None
    if not_modified(request.headers, etag, mtime):
        return not_modified_response(etag, last_modified)
    headers = {"etag": etag, "cache-control": "no-cache"}
    if last_modified:
        headers["last-modified"] = last_modified
    return Response(body, media_type=media_type, headers=headers)


def plain(status: int, text: str | None = None):
    from starlette.responses import PlainTextResponse

    return PlainTextResponse((text or REFUSED_TEXT[status]) + "\n", status_code=status,
                             headers={"cache-control": "no-cache"})


# RFC 9110 14.1.1: bytes=first-last, first-, -suffix; several, comma-separated.
_RANGE = re.compile(r"\s*bytes\s*=\s*(?:\d+\s*-\s*\d*|-\s*\d+)(?:\s*,\s*(?:\d+\s*-\s*\d*|-\s*\d+))*\s*",
                    re.IGNORECASE)


def usable_range(value: str) -> bool:
    """Whether a Range header is one a server must consider: well formed, each first <= last.
    A malformed one is ignored and the whole file sent (RFC 9110 14.2), not refused with 400."""
    if not _RANGE.fullmatch(value):
        return False
    for part in value.split("=", 1)[1].split(","):
        first, _, last = (p.strip() for p in part.partition("-"))
        if first and last and int(first) > int(last):
            return False
    return True


class OpenFileResponse:
    """A file already opened (and checked) by descriptor, sent by starlette's FileResponse
    (ranges, HEAD, If-Range); the descriptor is closed however the response ends."""

    def __init__(self, opened: Opened, media_type: str, headers: dict[str, str]):
        self.opened, self.media_type, self.headers = opened, media_type, headers

    async def __call__(self, scope, receive, send) -> None:
        from starlette.responses import FileResponse

        headers = scope.get("headers", [])
        ranges = [v for k, v in headers if k == b"range"]
        if ranges and not (len(ranges) == 1 and usable_range(ranges[0].decode("latin-1"))):
            scope = {**scope, "headers": [(k, v) for k, v in headers if k != b"range"]}
        try:
            response = FileResponse(fd_path(self.opened.fd), stat_result=self.opened.st, media_type=self.media_type,
                                    headers=self.headers)
            await response(scope, receive, send)
        finally:
            self.close()

    def close(self) -> None:
        if self.opened.fd >= 0:
            os.close(self.opened.fd)
            self.opened.fd = -1


def file_response(request, opened: Opened):
    """The response for a published file opened inside the folder: 404 for an unknown type, 304
    when the client has it, else the file (ranges honoured)."""
    media_type = CONTENT_TYPES.get(os.path.splitext(opened.rel[-1])[1].lower()) if opened.rel else None
    if media_type is None:
        os.close(opened.fd)
        return plain(404)
    etag = etag_of(opened.st)
    last_modified = http_date(opened.st.st_mtime)
    if not_modified(request.headers, etag, opened.st.st_mtime):
        os.close(opened.fd)
        return not_modified_response(etag, last_modified)
    return OpenFileResponse(opened, media_type, {"etag": etag, "last-modified": last_modified,
                                                 "cache-control": "no-cache"})
