"""The tag fields (data/tagfields.toml), the values a track carries, and the containers' shared
shape; every mutagen call goes through `mutagen_errors()`, which turns mutagen's and the OS's
errors into one TagError naming the file."""

from __future__ import annotations

import struct
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Callable, Iterator

from ...base.errors import TagError
from ...data import data_table
from ...encode.chapters import ChapterMark

TOC_ID = "toc"


@dataclass(frozen=True)
class TrackTags:
    title: str
    artist: str
    album: str
    track: int
    track_total: int
    length_ms: int
    cover: bytes
    cover_mime: str
    transcript: str = ""
    chapters: tuple[ChapterMark, ...] = ()
    genre: str = "Speech"
    year: str = ""
    comment: str = ""
    language: str = "eng"
    guid: str = ""
    session_ms: int = 0


@cache
def fields() -> dict[str, dict[str, Any]]:
    """The tag field table: field -> {"kind", "id3", "mp4", "vorbis"}."""
    table = data_table("tagfields.toml")
    return {name: {"kind": "text", **spec} for name, spec in table.items()}


def field_value(tags: TrackTags, name: str) -> str:
    """A field as text, "" when empty: "2/6" for the track, milliseconds as digits."""
    if name == "track":
        return f"{tags.track}/{tags.track_total}"
    value = getattr(tags, name)
    if isinstance(value, int):
        return str(value) if value else ""
    return value or ""


@contextmanager
def mutagen_errors(path: Path, doing: str) -> Iterator[None]:
    from mutagen import MutagenError

    try:
        yield
    except TagError:
        raise
    except (MutagenError, OSError, EOFError, struct.error) as exc:
        raise TagError(f"{path}: could not {doing} the tags: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    if not text or text == "error":
        return "the tag is damaged (its size or layout does not match the file); rebuild the track"
    return text


# --------------------------------------------------------------------------- containers
#
# One class per container, each with the same small vocabulary: open a file's tags empty
# (`blank`) or as they are (`load`), put and get a field's text, covers, chapters, save.
# Which field goes where is the table's business; how a kind of field is stored in a
# container is a codec (`CODECS`): nearly everything is text, and the track number is the one
# field whose shape differs ("2/6" in ID3, a (2, 6) pair in MP4's trkn, TRACKNUMBER plus
# TRACKTOTAL in Vorbis comments).


@dataclass(frozen=True)
class Codec:
    put: Callable[[Any, Any, Any, str, TrackTags], None]  # (container, store, key, text, the tags)
    get: Callable[[Any, Any, Any], str | None]  # (container, store, key) -> text


TEXT = Codec(lambda box, store, key, value, tags: box.put_text(store, key, value, tags),
             lambda box, store, key: box.get_text(store, key))
TRACK = Codec(lambda box, store, key, value, tags: box.put_track(store, key, value),
              lambda box, store, key: box.get_track(store, key))
CODECS = {"text": TEXT, "number": TEXT, "lyrics": TEXT, "track": TRACK}


def split_track(value: str) -> tuple[int, int]:
    number, _, total = value.partition("/")
    return int(number), int(total or 0)


def join_track(number: Any, total: Any) -> str | None:
    if not number:
        return None
    return f"{number}/{total}" if total else str(number)


class Container:
    column = ""  # the tag table's column: id3, mp4, vorbis

    def put_track(self, store: Any, key: Any, value: str) -> None:
        self.put_text(store, key, value, None)

    def get_track(self, store: Any, key: Any) -> str | None:
        return self.get_text(store, key)

    def toc(self, store: Any) -> list:
        return []


