"""MP4 (M4B): iTunes atoms for the fields and the cover; chapters read from the Nero chpl atom
(the muxer writes them: see encode/writers.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...encode.chapters import ChapterMark
from .fields import Container, TrackTags, join_track, split_track
from .vorbis import ended


class Mp4(Container):
    """iTunes-style atoms in an M4B. "----:mean:name" atoms are freeform and hold UTF-8 bytes;
    the track is trkn's (number, total) pair. Chapters are the muxer's (see encode.M4bWriter):
    mutagen reads the Nero chpl list but cannot write chapters."""

    column = "mp4"

    def blank(self, path: Path) -> Any:
        from mutagen.mp4 import MP4

        audio = MP4(str(path))
        if audio.tags is None:
            audio.add_tags()
        audio.tags.clear()  # replacing any, as for ID3 (ffmpeg's encoder tag included)
        return audio

    def load(self, path: Path) -> Any:
        from mutagen.mp4 import MP4

        return MP4(str(path))

    def put_text(self, audio: Any, key: str, value: str, tags: TrackTags | None) -> None:
        from mutagen.mp4 import MP4FreeForm

        audio.tags[key] = [MP4FreeForm(value.encode("utf-8"))] if key.startswith("----:") else [value]

    def get_text(self, audio: Any, key: str) -> str | None:
        values = (audio.tags or {}).get(key)
        if not values:
            return None
        value = values[0]
        return bytes(value).decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)

    def put_track(self, audio: Any, key: str, value: str) -> None:
        audio.tags[key] = [split_track(value)]

    def get_track(self, audio: Any, key: str) -> str | None:
        values = (audio.tags or {}).get(key)
        return join_track(*values[0]) if values else None

    def put_cover(self, audio: Any, data: bytes, mime: str) -> None:
        from mutagen.mp4 import MP4Cover

        kind = MP4Cover.FORMAT_PNG if mime == "image/png" else MP4Cover.FORMAT_JPEG
        audio.tags["covr"] = [MP4Cover(data, imageformat=kind)]

    def covers(self, audio: Any) -> list[tuple[bytes, str]]:
        from mutagen.mp4 import MP4Cover

        return [(bytes(c), "image/png" if c.imageformat == MP4Cover.FORMAT_PNG else "image/jpeg")
                for c in (audio.tags or {}).get("covr", [])]

    def put_chapters(self, audio: Any, chapters: tuple[ChapterMark, ...]) -> None:
        pass  # already in the file: written by the muxer, which mutagen's save keeps

    def chapters(self, audio: Any, length_ms: int | None) -> list[ChapterMark]:
        found = [(round(c.start * 1000), c.title) for c in (audio.chapters or [])]
        return ended(found, length_ms or round(audio.info.length * 1000))

    def save(self, audio: Any, path: Path) -> None:
        audio.save()


