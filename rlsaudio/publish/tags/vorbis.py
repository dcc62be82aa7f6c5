"""Vorbis comments (Ogg Opus): the fields, the cover as METADATA_BLOCK_PICTURE, and chapters as
CHAPTERnn / CHAPTERnnNAME."""

from __future__ import annotations

import base64
import re
import struct
from pathlib import Path
from typing import Any

from ...encode.chapters import ChapterMark
from .fields import Container, TrackTags, join_track, split_track


class Vorbis(Container):
    """Vorbis comments in an Ogg Opus file. The track is TRACKNUMBER plus TRACKTOTAL, the cover a
    base64 FLAC picture block (METADATA_BLOCK_PICTURE), chapters CHAPTER001=HH:MM:SS.mmm with
    CHAPTER001NAME= (the Vorbis chapter extension, which ffmpeg reads)."""

    column = "vorbis"

    def blank(self, path: Path) -> Any:
        audio = self.load(path)
        audio.tags.clear()
        return audio

    def load(self, path: Path) -> Any:
        from mutagen.oggopus import OggOpus, OggOpusHeaderError

        try:
            return OggOpus(str(path))
        except IndexError:  # mutagen 1.48 on an Ogg page without packets
            raise OggOpusHeaderError("no Opus header where one should be") from None

    def put_text(self, audio: Any, key: str, value: str, tags: TrackTags | None) -> None:
        audio.tags[key] = [value]

    def get_text(self, audio: Any, key: str) -> str | None:
        values = audio.tags.get(key)
        return values[0] if values else None

    def put_track(self, audio: Any, keys: list[str], value: str) -> None:
        number, total = split_track(value)
        audio.tags[keys[0]] = [str(number)]
        if total:
            audio.tags[keys[1]] = [str(total)]

    def get_track(self, audio: Any, keys: list[str]) -> str | None:
        number, total = self.get_text(audio, keys[0]), self.get_text(audio, keys[1])
        if number and "/" in number:  # "2/6" in TRACKNUMBER, as some taggers write it
            return number
        return join_track(number, total)

    def put_cover(self, audio: Any, data: bytes, mime: str) -> None:
        from mutagen.flac import Picture

        picture = Picture()
        picture.type, picture.mime, picture.desc, picture.data = 3, mime, "Cover", data
        audio.tags["METADATA_BLOCK_PICTURE"] = [base64.b64encode(picture.write()).decode("ascii")]

    def covers(self, audio: Any) -> list[tuple[bytes, str]]:
        from mutagen import MutagenError
        from mutagen.flac import Picture

        pictures = []
        for value in audio.tags.get("METADATA_BLOCK_PICTURE", []):
            try:
                pictures.append(Picture(base64.b64decode(value)))
            except (ValueError, TypeError, MutagenError, struct.error):
                continue  # one damaged picture does not hide the others
        pictures.sort(key=lambda p: p.type != 3)
        return [(bytes(p.data), p.mime) for p in pictures]

    def put_chapters(self, audio: Any, chapters: tuple[ChapterMark, ...]) -> None:
        for i, chapter in enumerate(chapters, start=1):
            audio.tags[f"CHAPTER{i:03d}"] = [_clock(chapter.start_ms)]
            audio.tags[f"CHAPTER{i:03d}NAME"] = [chapter.title]

    def chapters(self, audio: Any, length_ms: int | None) -> list[ChapterMark]:
        starts, names = {}, {}
        for key, value in audio.tags:
            match = _CHAPTER_KEY.fullmatch(key.upper())
            if match and match[2]:
                names[int(match[1])] = value
            elif match:
                ms = _parse_clock(value)
                if ms is not None:
                    starts[int(match[1])] = ms
        found = sorted((ms, names.get(n, f"ChapterMark {n}")) for n, ms in starts.items())
        return ended(found, length_ms or round(audio.info.length * 1000))

    def save(self, audio: Any, path: Path) -> None:
        audio.save()


_CHAPTER_KEY = re.compile(r"CHAPTER(\d{1,6})(NAME)?")


def _clock(ms: int) -> str:
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _parse_clock(text: str) -> int | None:
    match = re.fullmatch(r"(\d+):(\d\d):(\d\d)(?:\.(\d{1,3}))?", text.strip())
    if not match:
        return None
    h, m, s, frac = match.groups()
    return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int((frac or "0").ljust(3, "0"))


def ended(starts: list[tuple[int, str]], length_ms: int) -> list[ChapterMark]:
    """Chapters from (start, title) in time order: each ends where the next starts, the last at the end."""
    ends = [start for start, _ in starts[1:]] + [max(length_ms, starts[-1][0]) if starts else 0]
    return [ChapterMark(title, start, end) for (start, title), end in zip(starts, ends)]


