"""The Library: every track rlsaudio published in the output folder, and deleting one.

A track is found by the folder's scan (serve/window.Folder: only tracks with rlsaudio's GUID
tag), and named by its path below the folder without its suffix ("Calm evening",
"Week 1/01 - Monday"). A request's name is only ever compared with the names the scan found,
never joined to a path: a name that is not one of them is 404, whatever it holds.

Deleting removes the track and its own sidecars (page, chapters, transcripts, lyrics); its
editable routine file only when asked, and only one that rlsaudio compose (or the app) wrote.
Nothing else in the folder is touched.

What the folder cannot tell (the voice a track was built with) the app remembers for the tracks
it built, in a small JSON file beside the diary (its data folder, or RLSAUDIO_HOME).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
from pathlib import Path

from ..base.safeio import without_stamp, write_atomic
from ..publish.feed import FeedTrack, url_path
from ..publish.output import SIDECARS

ROUTINE_MARKS = ("# Made by `rlsaudio compose`", "# Composed for --length")
RECORD_NAME = "app-tracks.json"
MAX_RECORDS = 2000
_PAGE_MODE = re.compile(rb'"mode":"([a-z]+)"')


def track_name(track: FeedTrack) -> str:
    return os.path.splitext(track.rel)[0]


def routine_path(root: str, track: FeedTrack) -> Path:
    return Path(root, *track_name(track).split("/")).with_name(Path(track_name(track)).name + ".toml")


def is_our_routine(path: Path) -> bool:
    """A regular file (not a link) that rlsaudio compose or the app wrote."""
    try:
        if not path.is_file() or path.is_symlink():
            return False
        with open(path, "rb") as f:
            head = f.read(400).decode("utf-8", "replace")
    except OSError:
        return False
    return without_stamp(head).startswith(ROUTINE_MARKS)  # compose's header, under the checksum line


class Records:
    """What the app remembers of the tracks it built: {real path: {"voice", "mode"}}."""

    def __init__(self):
        from ..diary import data_folder

        self.path = data_folder() / RECORD_NAME
        self.lock = threading.Lock()

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def get(self, path: str) -> dict:
        value = self._read().get(os.path.realpath(path))
        return value if isinstance(value, dict) else {}

    def put(self, path: str, **values) -> None:
        with self.lock:
            data = self._read()
            data[os.path.realpath(path)] = {k: str(v) for k, v in values.items()}
            data = {k: v for k, v in data.items() if os.path.exists(k)}
            while len(data) > MAX_RECORDS:
                data.pop(next(iter(data)))
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(self.path, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))
            except OSError:
                pass  # a read-only data folder: the Library shows "—" for the voice


def page_mode(root: str, track: FeedTrack) -> str:
    """The mode the track's page was made for (its data says), or ""."""
    rel = track.sidecars.get("page")
    if not rel:
        return ""
    try:
        with open(os.path.join(root, *rel.split("/")), "rb") as f:
            found = _PAGE_MODE.search(f.read(400_000))
    except OSError:
        return ""
    return found.group(1).decode() if found else ""


def track_json(root: str, track: FeedTrack, records: Records, key_query: str) -> dict:
    record = records.get(os.path.join(root, *track.rel.split("/")))
    page = track.sidecars.get("page")
    routine = routine_path(root, track)
    return {
        "name": track_name(track),
        "title": track.title,
        "length": round(track.length_ms / 1000, 3),
        "mode": record.get("mode") or page_mode(root, track),
        "voice": record.get("voice", ""),
        "format": os.path.splitext(track.rel)[1].lstrip(".").lower(),
        "date": dt.datetime.fromtimestamp(min(track.mtime, 253402300799)).isoformat(timespec="minutes"),
        "size": track.size,
        "album": track.album,
        "audio": "/" + url_path(track.rel) + key_query,
        "page": ("/" + url_path(page) + key_query) if page else None,
        "routine_file": is_our_routine(routine),
    }


def find(tracks: list[FeedTrack], name: str) -> FeedTrack | None:
    for track in tracks:
        if track_name(track) == name:
            return track
    return None


def delete(root: str, track: FeedTrack, with_routine: bool) -> list[str]:
    """Remove the track, its sidecars and (when asked, if ours) its routine file; the names removed."""
    stem = track_name(track)
    candidates = [track.rel] + [stem + suffix for suffix in SIDECARS.values()]
    removed = []
    for rel in candidates:
        path = os.path.join(root, *rel.split("/"))
        try:
            if os.path.isfile(path) and not os.path.islink(path):
                os.unlink(path)
                removed.append(rel)
        except OSError:
            continue
    routine = routine_path(root, track)
    if with_routine and is_our_routine(routine):
        try:
            routine.unlink()
            removed.append(stem + ".toml")
        except OSError:
            pass
    return removed
