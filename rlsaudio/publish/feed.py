"""The podcast feed: every track in a folder as one RSS 2.0 feed (iTunes and Podcasting 2.0 tags).

One builder serves both ways out: `rlsaudio feed` writes feed.xml for a static host with URLs
under --base-url, and `rlsaudio serve` answers /feed.xml with URLs from the request's own host.

Finding tracks: files ending .mp3, .m4b or .opus in the folder and its subfolders, read through
`tags.read_tags` and `tags.read_cover` (all mutagen use is in tags.py). Hidden names
(rlsaudio's `.rlsaudio-tmp-*` staging folders, the temporary files of atomic writes) and
symbolic links are skipped, as is any file whose tags cannot be read: one damaged file never
takes the feed down. Items are newest first (modification time,
which is build time: a track is renamed into place when it is finished).

Text from tags is data: the XML is built with ElementTree (which escapes), characters XML 1.0
cannot carry are dropped, and URLs percent-encode every path segment.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import socket
import stat
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from pathlib import Path
from typing import Iterable
from urllib.parse import quote, urlsplit, urlunsplit

from .. import __version__
from ..base import limits
from ..base.errors import InputError, OutputError, Problem, TagError
from ..base.safeio import clean_stale, disk_message, write_atomic
from ..encode.formats import suffix_list, written_suffixes
from .output import SIDECARS
from .sidecars import one_line
from .tags import default_cover, read_cover, read_tags, stream_length_ms

# The audio a feed lists, with the type its enclosure (and `serve`) gives it.
COVER_SUFFIXES = {"image/png": ".png", "image/jpeg": ".jpg"}
COVERS_DIR = "covers"  # content-addressed track covers, beside feed.xml and served by `serve`
FEED_NAME = "feed.xml"
FEED_TYPE = "application/rss+xml; charset=utf-8"

NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
    "atom": "http://www.w3.org/2005/Atom",
    "psc": "http://podlove.org/simple-chapters",  # Podlove Simple Chapters, which gPodder reads
}
# The Podcasting 2.0 namespace's UUID for podcast:guid (docs/tags/guid.md).
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
# For items without an rlsaudio GUID tag: a UUID of their relative path.
PATH_GUID_NAMESPACE = uuid.UUID("0d8f4a52-7c1e-4f55-b3a4-2f6f9c8e1b07")

# RSS dates (RFC 822) have four-digit years: a later file time (tmpfs, XFS and btrfs allow it, an
# archive can carry one) is shown as the last moment of 9999 instead of failing the feed.
LAST_FEED_TIME = 253402300799
CATEGORY = ("Health & Fitness", "Alternative Health")
DESCRIPTION = "Voice-guided self-care sessions for restless legs, made with rlsaudio."

for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)


@dataclass(frozen=True)
class Cover:
    data: bytes
    mime: str

    @property
    def name(self) -> str:
        """Content-addressed file name: the same picture always has the same URL."""
        return hashlib.sha256(self.data).hexdigest()[:12] + COVER_SUFFIXES[self.mime]


@dataclass(frozen=True)
class FeedTrack:
    """One track as the feed (and `serve`'s index) shows it."""

    rel: str  # POSIX path relative to the folder
    size: int
    mtime: float
    title: str
    artist: str
    album: str
    comment: str
    track: int | None
    track_total: int | None
    length_ms: int
    guid: str  # the tagged GUID, "" when the file has none
    cover: Cover | None
    sidecars: dict[str, str] = field(default_factory=dict)  # role -> relative path, for those present
    chapters: tuple[tuple[int, str], ...] = ()  # (start ms, title) from the track's own tags

    @property
    def folder(self) -> str:
        return self.rel.rpartition("/")[0]

    @property
    def type(self) -> str:
        return written_suffixes()[os.path.splitext(self.rel)[1].lower()].mime


@dataclass(frozen=True)
class Skipped:
    rel: str
    reason: str


@dataclass
class Scan:
    tracks: list[FeedTrack]
    skipped: list[Skipped]


# --------------------------------------------------------------------------- finding tracks


def is_hidden(name: str) -> bool:
    """Hidden names are never listed or served: dotfiles, staging folders, temporary files."""
    return name.startswith(".")


def servable_name(name: str) -> bool:
    """A file or folder name that `serve` serves and the feed lists: not hidden, no control
    character or backslash, at most 255 bytes."""
    if not name or is_hidden(name) or "\\" in name or len(name.encode("utf-8", "surrogatepass")) > 255:
        return False
    return not any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name)


def _audio_files(root: Path) -> Iterable[tuple[str, os.stat_result]]:
    """(relative path, stat) of every audio file below root: no hidden names, no symlinks, bounded depth."""
    tracks = written_suffixes()
    stack: list[tuple[str, int]] = [("", 0)]
    while stack:
        rel_dir, depth = stack.pop()
        try:
            with os.scandir(root / rel_dir if rel_dir else root) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if not servable_name(entry.name):
                continue
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    if depth < limits.MAX_SCAN_DEPTH:
                        stack.append((rel, depth + 1))
                elif entry.is_file(follow_symlinks=False) and os.path.splitext(entry.name)[1].lower() in tracks:
                    yield rel, entry.stat(follow_symlinks=False)
            except OSError:
                continue


def scan(root: Path, cache: dict | None = None) -> Scan:
    """Every readable track below root, newest first. `cache` (a dict kept between calls) saves
    re-reading files that have not changed; entries of vanished files are dropped from it."""
    tracks, skipped, seen = [], [], {}
    for rel, st in _audio_files(root):
        if len(tracks) >= limits.MAX_SCAN_TRACKS:
            skipped.append(Skipped(rel, f"more than {limits.MAX_SCAN_TRACKS} tracks in the folder"))
            continue
        key = _key(st)
        hit = cache.get(rel) if cache is not None else None
        if hit is not None and hit[0] == key:
            result = hit[1]
        else:
            result = _read_track(root, rel, st)
            try:  # replaced while it was read (a rebuild renames the new track into place): read it again
                again = os.stat(root / rel, follow_symlinks=False)
                if _key(again) != key:
                    key, result = _key(again), _read_track(root, rel, again)
            except OSError:
                continue
        seen[rel] = (key, result)
        if isinstance(result, FeedTrack):
            tracks.append(_with_sidecars(root, result))
        else:
            skipped.append(result)
    if cache is not None:
        cache.clear()
        cache.update(seen)
    tracks.sort(key=lambda t: (-t.mtime, t.rel))
    return Scan(tracks, skipped)


def _key(st: os.stat_result) -> tuple[int, int, int]:
    return st.st_ino, st.st_size, st.st_mtime_ns


def _read_track(root: Path, rel: str, st: os.stat_result) -> FeedTrack | Skipped:
    path = root / rel
    try:
        tags = read_tags(path)
        cover = track_cover(path) if tags.get("has_cover") else None
        length_ms = tags.get("length_ms") or stream_length_ms(path)
    except TagError as exc:
        return Skipped(rel, str(exc))
    except Exception as exc:  # a damaged file must not take the whole feed down
        return Skipped(rel, f"could not read its tags: {type(exc).__name__}: {exc}")
    number, total = _track_number(tags.get("track"))
    stem = os.path.splitext(os.path.basename(rel))[0]
    return FeedTrack(
        rel=rel, size=st.st_size, mtime=min(max(st.st_mtime, 0), LAST_FEED_TIME), title=tags.get("title") or stem,
        artist=tags.get("artist") or "", album=tags.get("album") or "", comment=tags.get("comment") or "",
        track=number, track_total=total, length_ms=length_ms or 0, guid=tags.get("guid") or "", cover=cover,
        chapters=tuple((max(0, c.start_ms), c.title) for c in (tags.get("chapters") or ())),
    )


def _with_sidecars(root: Path, track: FeedTrack) -> FeedTrack:
    """The track with the sidecars that exist now (checked every scan: they can come and go)."""
    stem = os.path.splitext(track.rel)[0]
    present = {}
    for role in ("chapters_json", "transcript", "page"):
        rel = stem + SIDECARS[role]
        try:
            if stat.S_ISREG(os.stat(root / rel, follow_symlinks=False).st_mode):  # no symlinks, as for tracks
                present[role] = rel
        except OSError:
            pass
    return replace(track, sidecars=present)


def _track_number(value) -> tuple[int | None, int | None]:
    """"2/6" -> (2, 6); "3" -> (3, None); anything else -> (None, None)."""
    text = str(value or "")
    number, _, total = text.partition("/")

    def as_int(s: str) -> int | None:
        s = s.strip()
        return int(s) if s.isascii() and s.isdigit() and 0 < int(s) < 100_000 else None

    return as_int(number), as_int(total)


def track_cover(path: Path) -> Cover | None:
    """The front cover embedded in a track, if it is a PNG or JPEG within the cover size limit."""
    found = read_cover(path)
    return Cover(*found) if found else None


def channel_cover(tracks: list[FeedTrack]) -> Cover:
    """The feed's picture: the newest track's cover, or rlsaudio's own."""
    for track in tracks:
        if track.cover is not None:
            return track.cover
    data, mime = default_cover()
    return Cover(data, mime)


# --------------------------------------------------------------------------- building the feed


def url_path(rel: str) -> str:
    """A relative file path as a URL path: every segment percent-encoded (spaces, '#', '?', non-ASCII)."""
    return "/".join(quote(segment, safe="") for segment in rel.split("/"))


def feed_guid(identity: str) -> str:
    """podcast:guid: a UUIDv5 in the Podcasting 2.0 namespace."""
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, identity))


def url_identity(feed_url: str) -> str:
    """A feed URL without its scheme and trailing slashes, as podcast:guid is derived from it."""
    parts = urlsplit(feed_url)
    return (parts.netloc + parts.path).rstrip("/")


def _xml_text(text: str) -> str:
    """Text XML 1.0 can carry: control characters (other than tab and line breaks) and
    non-characters are dropped; ElementTree does the escaping."""
    return "".join(ch for ch in text if ch in "\t\n\r" or ("\x20" <= ch <= "\ud7ff") or ("\ue000" <= ch <= "\ufffd")
                   or ch >= "\U00010000")


def _line(text: str) -> str:
    return _xml_text(one_line(text))


def _sub(parent: ET.Element, tag: str, text: str | None = None, attrs: dict[str, str] | None = None) -> ET.Element:
    if ":" in tag:
        prefix, local = tag.split(":", 1)
        tag = f"{{{NS[prefix]}}}{local}"
    element = ET.SubElement(parent, tag, {k: _xml_text(v) for k, v in (attrs or {}).items()})
    if text is not None:
        element.text = _xml_text(text)
    return element


def _item_guids(tracks: list[FeedTrack]) -> dict[str, str]:
    """Each track's GUID: its tag, or a UUID of its path; the same tag twice (a routine twice in an
    album, a copied folder) is made unique by path, the first (by path) keeping the tag."""
    guids, used = {}, set()
    for track in sorted(tracks, key=lambda t: t.rel):
        guid = track.guid or str(uuid.uuid5(PATH_GUID_NAMESPACE, track.rel))
        if guid in used:
            guid = str(uuid.uuid5(PATH_GUID_NAMESPACE, guid + "\x1f" + track.rel))
        used.add(guid)
        guids[track.rel] = guid
    return guids


def _seasons(tracks: list[FeedTrack]) -> dict[str, int]:
    """Albums (tracks numbered n of N > 1) as seasons, numbered in the order they were first built."""
    first: dict[str, float] = {}
    for track in tracks:
        if track.album and track.track and (track.track_total or 0) > 1:
            first[track.album] = min(first.get(track.album, track.mtime), track.mtime)
    return {album: n for n, album in enumerate(sorted(first, key=lambda a: (first[a], a)), start=1)}


def build_feed(tracks: list[FeedTrack], *, base_url: str, title: str, identity: str, feed_url: str | None = None,
               description: str = DESCRIPTION, language: str = "en", url_query: str = "") -> bytes:
    """The feed document. `base_url` (ending in "/") is where the folder is published: every
    track, sidecar and cover URL is under it; the feed itself is at `feed_url` (default
    `base_url`feed.xml). `identity` seeds the feed's podcast:guid. `url_query` ("?key=...", the
    app's access key) is added to every URL under `base_url`. Pure: the same tracks give the same bytes."""
    assert base_url.endswith("/")
    cover = channel_cover(tracks)
    feed_url = feed_url or base_url + FEED_NAME + url_query
    rss = ET.Element("rss", {"version": "2.0"})
    channel = _sub(rss, "channel")
    _sub(channel, "title", _line(title))
    _sub(channel, "link", base_url + url_query)
    _sub(channel, "description", description)
    _sub(channel, "language", language)
    _sub(channel, "generator", f"rlsaudio {__version__}")
    if tracks:
        _sub(channel, "lastBuildDate", formatdate(max(t.mtime for t in tracks), usegmt=True))
    _sub(channel, "atom:link", attrs={"href": feed_url, "rel": "self", "type": "application/rss+xml"})
    _sub(channel, "itunes:image", attrs={"href": base_url + f"{COVERS_DIR}/{cover.name}" + url_query})
    image = _sub(channel, "image")
    _sub(image, "url", base_url + f"{COVERS_DIR}/{cover.name}" + url_query)
    _sub(image, "title", _line(title))
    _sub(image, "link", base_url + url_query)
    category = _sub(channel, "itunes:category", attrs={"text": CATEGORY[0]})
    _sub(category, "itunes:category", attrs={"text": CATEGORY[1]})
    _sub(channel, "itunes:explicit", "false")
    _sub(channel, "itunes:type", "episodic")
    owner = _sub(channel, "itunes:owner")  # who publishes it: the tracks' artist, else rlsaudio
    _sub(owner, "itunes:name", _line(next((t.artist for t in tracks if t.artist), "") or "rlsaudio"))
    _sub(channel, "itunes:summary", description)
    _sub(channel, "podcast:guid", feed_guid(identity))
    guids, seasons, titles = _item_guids(tracks), _seasons(tracks), unique_titles(tracks)
    for track in tracks:
        _item(channel, track, base_url, guids[track.rel], seasons.get(track.album), titles[track.rel], url_query)
    ET.indent(rss, space="  ")
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True) + b"\n"


def _npt(ms: int) -> str:
    """A Podlove Simple Chapters time: HH:MM:SS.mmm (normal play time)."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def unique_titles(tracks: list[FeedTrack]) -> dict[str, str]:
    """Each track's title in the feed, told apart from every other: where titles repeat, a track
    whose file name says more (a variant, "... (30 min)"; an album's "01 - ...") goes by its file
    name, then the format is added ("... (M4B)"), then a number, so no two episodes look alike."""
    from collections import Counter

    titles = {t.rel: _line(t.title) for t in tracks}

    def repeated() -> set[str]:
        counts = Counter(title.casefold() for title in titles.values())
        return {title for title, n in counts.items() if n > 1}

    for track in tracks:
        stem = _line(os.path.splitext(os.path.basename(track.rel))[0])
        if titles[track.rel].casefold() in repeated() and stem.casefold() != titles[track.rel].casefold():
            titles[track.rel] = stem
    labels = {suffix: info.label for suffix, info in written_suffixes().items()}
    twice = repeated()
    for track in tracks:
        if titles[track.rel].casefold() in twice:
            titles[track.rel] += f" ({labels[os.path.splitext(track.rel)[1].lower()]})"
    twice, seen = repeated(), Counter()
    for track in sorted(tracks, key=lambda t: t.rel):
        key = titles[track.rel].casefold()
        if key in twice:
            seen[key] += 1
            if seen[key] > 1:
                titles[track.rel] += f" ({seen[key]})"
    return titles


def _item(channel: ET.Element, track: FeedTrack, base_url: str, guid: str, season: int | None,
          title: str | None = None, url_query: str = "") -> None:
    item = _sub(channel, "item")
    _sub(item, "title", title or _line(track.title))
    # Podcast apps read <description> as HTML (some only when it looks like HTML): the comment is
    # plain text, so it goes in as one escaped HTML paragraph (a "<b>" in it is shown, not obeyed),
    # then ElementTree escapes that as XML.
    _sub(item, "description", "<p>" + html.escape(track.comment or track.title, quote=False) + "</p>")
    _sub(item, "itunes:summary", track.comment or track.title)  # the same words as plain text
    if "page" in track.sidecars:
        _sub(item, "link", base_url + url_path(track.sidecars["page"]) + url_query)
    _sub(item, "enclosure", attrs={"url": base_url + url_path(track.rel) + url_query, "length": str(track.size),
                                   "type": track.type})
    _sub(item, "guid", guid, {"isPermaLink": "false"})
    _sub(item, "pubDate", formatdate(track.mtime, usegmt=True))
    _sub(item, "itunes:duration", str(round(track.length_ms / 1000)))
    if track.artist:
        _sub(item, "itunes:author", _line(track.artist))
    if track.cover is not None:
        _sub(item, "itunes:image", attrs={"href": base_url + f"{COVERS_DIR}/{track.cover.name}" + url_query})
    _sub(item, "itunes:explicit", "false")
    _sub(item, "itunes:episodeType", "full")
    if season is not None and track.track is not None:
        _sub(item, "itunes:season", str(season))
        _sub(item, "itunes:episode", str(track.track))
        _sub(item, "podcast:season", str(season), {"name": _line(track.album)})
        _sub(item, "podcast:episode", str(track.track))
    if "chapters_json" in track.sidecars:
        _sub(item, "podcast:chapters", attrs={"url": base_url + url_path(track.sidecars["chapters_json"]) + url_query,
                                              "type": "application/json+chapters"})
    if track.chapters:
        chapters = _sub(item, "psc:chapters", attrs={"version": "1.2"})
        for start_ms, title in track.chapters:
            _sub(chapters, "psc:chapter", attrs={"start": _npt(start_ms), "title": _line(title)})
    if "transcript" in track.sidecars:
        _sub(item, "podcast:transcript", attrs={"url": base_url + url_path(track.sidecars["transcript"]) + url_query,
                                                "type": "text/vtt", "rel": "captions"})


# --------------------------------------------------------------------------- `rlsaudio feed`


@dataclass(frozen=True)
class Written:
    path: Path
    tracks: int
    covers: int  # cover files written (the others were there already)
    skipped: list[Skipped]


def check_base_url(text: str) -> str:
    """--base-url as a URL ending in "/": http(s), a host, no query or fragment; its path's
    spaces and non-ASCII characters are percent-encoded (existing escapes are kept)."""
    example = "give a URL like https://example.org/rls/"
    if any(not ch.isprintable() for ch in text):
        raise InputError(Problem("--base-url", f"{text!r} contains control characters; {example}"))
    parts = urlsplit(text.strip())
    try:
        parts.port  # noqa: B018 (raises for a port that is not a number from 0 to 65535)
        host_ok = bool(parts.hostname) and re.fullmatch(r"[\w.-]+|[0-9a-fA-F:.]+", parts.hostname) is not None
    except ValueError:
        host_ok = False
    if parts.scheme not in ("http", "https") or not host_ok:
        raise InputError(Problem("--base-url", f"{text!r} is not an http(s) URL; {example}"))
    if parts.query or parts.fragment:
        raise InputError(Problem("--base-url", f"{text!r} has a query or fragment; give the folder's URL, "
                                               "like https://example.org/rls/"))
    if parts.username is not None or parts.password is not None:
        raise InputError(Problem("--base-url", "contains a user name or password, which the published feed "
                                               f"would show to everyone; {example}"))
    host = parts.hostname
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise InputError(Problem("--base-url", f"{text!r} is not an http(s) URL; {example}")) from None
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port is not None else "")
    path = quote(parts.path, safe="/%:@!$&'()*+,;=")
    if not path.endswith("/"):
        path += "/"
    return urlunsplit((parts.scheme, netloc, path, "", ""))


DEFAULT_TITLE = "rlsaudio: RLS sessions"  # the podcast's title unless --title says another


def folder_title(folder: Path) -> str:
    """The podcast's default title: one a person would choose, not the folder's name ("output")."""
    return DEFAULT_TITLE


def write_feed(folder: Path, base_url: str, out_file: Path | None = None, title: str | None = None) -> Written:
    """Write `folder`/feed.xml (or `out_file`) for a static host, and each track's cover into
    `folder`/covers/ (the folder is what is published at base_url). Atomic: readers of the old
    feed never see half a new one."""
    base_url = check_base_url(base_url)
    check_folder(folder)
    found = scan(folder)
    if not found.tracks:
        raise InputError(Problem(str(folder), f"no tracks found ({suffix_list()} files with readable tags); "
                                              "build some with rlsaudio build -o " + str(folder)))
    out_file = out_file or folder / FEED_NAME
    feed_url = base_url + _published_path(folder, out_file)
    feed = build_feed(found.tracks, base_url=base_url, title=title or folder_title(folder), feed_url=feed_url,
                      identity=url_identity(feed_url))
    covers = {t.cover.name: t.cover for t in found.tracks if t.cover is not None}
    cover = channel_cover(found.tracks)
    covers[cover.name] = cover
    for place in {out_file.parent, folder / COVERS_DIR}:  # what a feed killed outright left
        clean_stale(place)
    # Both or neither: the covers the feed names are written first (a reader of the new feed
    # finds them), and taken back if the feed itself cannot be written.
    made = _write_covers(folder / COVERS_DIR, covers.values())
    try:
        write_atomic(out_file, feed)
    except OSError as exc:
        made.undo()
        raise OutputError(f"{out_file}: could not write the feed: {disk_message(exc)}") from None
    written = len(made.files)
    return Written(out_file, len(found.tracks), written, found.skipped)


def _published_path(folder: Path, out_file: Path) -> str:
    """The feed file's URL path below base_url: its place in the folder, or (written elsewhere)
    its name, as if uploaded into the folder."""
    real_folder, real_file = os.path.realpath(folder), os.path.realpath(out_file)
    if real_file.startswith(real_folder.rstrip(os.sep) + os.sep):
        return url_path(os.path.relpath(real_file, real_folder).replace(os.sep, "/"))
    return url_path(out_file.name)


@dataclass
class _Made:
    """What _write_covers created, so that a feed that fails can take it back."""

    directory: Path | None = None  # the covers folder, when this run made it
    files: list[Path] = field(default_factory=list)

    def undo(self) -> None:
        for path in self.files:
            try:
                path.unlink()
            except OSError:
                pass
        if self.directory is not None:
            try:
                self.directory.rmdir()  # only if empty: never a file someone else put there
            except OSError:
                pass


def _write_covers(directory: Path, covers: Iterable[Cover]) -> _Made:
    made = _Made()
    try:
        if directory.is_symlink():
            raise OutputError(f"{directory}: is a symbolic link; remove it so covers are written inside the folder")
        if not directory.is_dir():
            directory.mkdir()
            made.directory = directory
        for cover in covers:
            path = directory / cover.name
            if path.is_file() and not path.is_symlink() and path.read_bytes() == cover.data:
                continue  # content-addressed: the same name holds the same picture
            existed = os.path.lexists(path)
            write_atomic(path, cover.data)
            if not existed:
                made.files.append(path)
    except OSError as exc:
        made.undo()
        raise OutputError(f"{directory}: could not write the covers: {disk_message(exc)}") from None
    except BaseException:
        made.undo()
        raise
    return made


def check_folder(folder: Path) -> Path:
    """The folder of tracks, or one clear error."""
    try:
        os.stat(folder)
    except PermissionError:
        raise InputError(Problem(str(folder), "cannot be read (a folder on its path cannot be entered: permission "
                                              "denied); check its permissions")) from None
    except OSError:
        raise InputError(Problem(str(folder), "no such folder; give the folder your tracks are in "
                                              "(rlsaudio build writes them to output/)")) from None
    if not folder.is_dir():
        raise InputError(Problem(str(folder), "is not a folder; give the folder your tracks are in"))
    if not os.access(folder, os.R_OK | os.X_OK):
        raise InputError(Problem(str(folder), "cannot be read; check its permissions"))
    return folder


def machine_identity(folder: Path) -> str:
    """What `serve`'s podcast:guid is derived from: this machine and the folder, so the feed keeps
    its identity whichever address (loopback, LAN) it is fetched from."""
    return f"rlsaudio-serve:{socket.gethostname()}:{os.path.realpath(folder)}"


def served_feed(tracks: list[FeedTrack], base_url: str, folder: Path, title: str | None) -> bytes:
    return build_feed(tracks, base_url=base_url, title=title or folder_title(folder), identity=machine_identity(folder))

