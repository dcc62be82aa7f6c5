"""Tags: the fields of a track, written to and read from its container through mutagen.

The fields and where each lives in each container (ID3 in MP3, iTunes atoms in M4B, Vorbis
comments in Opus) are one table, `data/tagfields.toml`; writing, reading, covers (also for the
feed) and `inspect` all go through it. Every mutagen call goes through
`_mutagen()`, which turns mutagen's and the OS's errors into one `TagError` naming the file;
any other exception is a bug in rlsaudio and is left to surface as one.

ID3 chapter order: mutagen sorts frames by (priority, saved size, HashKey) when it writes
(quodlibet/mutagen#506), so CHAP frames of different sizes come out in size order and
ffmpeg/ffprobe list them out of time order. Element ids are therefore "chp" + a zero-padded
index, padded with "_" until every saved CHAP frame has the same size: equal sizes fall
back to HashKey order, which is the ids' order, which is time order.
"""

from __future__ import annotations

import base64
import io
import re
import struct
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Callable, Iterator

from ...base import limits
from ...base.errors import InputError, Problem, TagError, at_origin
from ...base.safeio import FileKind, read_regular
from ...data import data_file, data_table
from ...encode.chapters import ChapterMark
from ...encode.formats import format_of_suffix

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
def _mutagen(path: Path, doing: str) -> Iterator[None]:
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


def _saved_size(frame: Any) -> int:
    """Bytes the frame takes in a v2.3 tag, measured by saving it alone (mutagen's public API)."""
    from mutagen.id3 import ID3

    buffer = io.BytesIO()
    single = ID3()
    single.add(frame)
    single.save(buffer, v2_version=3, padding=lambda info: 0)
    return len(buffer.getvalue()) - 10  # minus the tag header


def _chapter_frames(chapters: tuple[ChapterMark, ...]) -> list[Any]:
    from mutagen.id3 import CHAP, ID3, TIT2

    def make(i: int, c: ChapterMark, pad: int) -> Any:
        eid = f"chp{i:04d}" + "_" * pad
        return CHAP(element_id=eid, start_time=c.start_ms, end_time=c.end_ms, start_offset=0xFFFFFFFF,
                    end_offset=0xFFFFFFFF, sub_frames=_subframes(ID3, TIT2(encoding=1, text=[c.title])))

    sizes = [_saved_size(make(i, c, 0)) for i, c in enumerate(chapters)]
    biggest = max(sizes, default=0)
    frames = [make(i, c, biggest - size) for i, (c, size) in enumerate(zip(chapters, sizes))]
    if len({_saved_size(f) for f in frames}) > 1:
        raise AssertionError("chapter frames could not be made the same size")
    return frames


def _subframes(id3_class: Any, *frames: Any) -> Any:
    sub = id3_class()
    for frame in frames:
        sub.add(frame)
    return sub


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


def _split_track(value: str) -> tuple[int, int]:
    number, _, total = value.partition("/")
    return int(number), int(total or 0)


def _join_track(number: Any, total: Any) -> str | None:
    if not number:
        return None
    return f"{number}/{total}" if total else str(number)


class _Container:
    column = ""  # the tag table's column: id3, mp4, vorbis

    def put_track(self, store: Any, key: Any, value: str) -> None:
        self.put_text(store, key, value, None)

    def get_track(self, store: Any, key: Any) -> str | None:
        return self.get_text(store, key)

    def toc(self, store: Any) -> list:
        return []


class _Id3(_Container):
    """ID3v2.3 in an MP3. The track is "2/6" text, like every other field."""

    column = "id3"

    def blank(self, path: Path) -> Any:
        from mutagen.id3 import ID3
        from mutagen.mp3 import MP3

        MP3(str(path))  # refuse a missing file or one that is not MP3 audio before writing anything
        return ID3()

    def load(self, path: Path) -> Any:
        from mutagen.id3 import ID3, ID3NoHeaderError
        from mutagen.mp3 import MP3

        try:
            return ID3(str(path))
        except ID3NoHeaderError:
            MP3(str(path))  # an untagged MP3 is fine; anything else is not
            return ID3()

    def put_text(self, id3: Any, frame_id: str, value: str, tags: TrackTags | None) -> None:
        from mutagen.id3 import COMM, TXXX, USLT, Encoding, Frames

        lang = tags.language if tags else "eng"
        if frame_id == "COMM":
            id3.add(COMM(encoding=Encoding.UTF16, lang=lang, desc="", text=[value]))
        elif frame_id == "USLT":
            id3.add(USLT(encoding=Encoding.UTF16, lang=lang, desc="", text=value))
        elif frame_id.startswith("TXXX:"):
            id3.add(TXXX(encoding=Encoding.UTF16, desc=frame_id[5:], text=[value]))
        else:
            id3.add(Frames[frame_id](encoding=Encoding.UTF16, text=[value]))

    def get_text(self, id3: Any, frame_id: str) -> str | None:
        if frame_id in ("COMM", "USLT"):
            found = id3.getall(frame_id)
            if not found:
                return None
            return found[0].text if frame_id == "USLT" else str(found[0].text[0])
        if frame_id.startswith("TXXX:"):
            frame = id3.get(frame_id)
        else:  # mutagen reads a v2.3 TYER back as TDRC
            frame = id3.get("TDRC" if frame_id == "TYER" and "TDRC" in id3 else frame_id)
        return str(frame.text[0]) if frame is not None and frame.text else None

    def put_cover(self, id3: Any, data: bytes, mime: str) -> None:
        from mutagen.id3 import APIC, Encoding

        id3.add(APIC(encoding=Encoding.UTF16, mime=mime, type=3, desc="Cover", data=data))

    def covers(self, id3: Any) -> list[tuple[bytes, str]]:
        frames = sorted(id3.getall("APIC"), key=lambda f: f.type != 3)  # the front cover first
        return [(bytes(f.data), f.mime) for f in frames]

    def put_chapters(self, id3: Any, chapters: tuple[ChapterMark, ...]) -> None:
        from mutagen.id3 import CTOC, ID3, TIT2, CTOCFlags, Encoding

        frames = _chapter_frames(chapters)
        if frames:
            id3.add(CTOC(element_id=TOC_ID, flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                         child_element_ids=[c.element_id for c in frames],
                         sub_frames=_subframes(ID3, TIT2(encoding=Encoding.UTF16, text=["Chapters"]))))
            for frame in frames:
                id3.add(frame)

    def chapters(self, id3: Any, length_ms: int | None) -> list[ChapterMark]:
        return sorted(
            (ChapterMark(str(c.sub_frames["TIT2"].text[0]) if "TIT2" in c.sub_frames else c.element_id,
                     c.start_time, c.end_time) for c in id3.getall("CHAP")),
            key=lambda c: c.start_ms,
        )

    def toc(self, id3: Any) -> list:
        return [(t.element_id, int(t.flags), list(t.child_element_ids)) for t in id3.getall("CTOC")]

    def save(self, id3: Any, path: Path) -> None:
        id3.save(str(path), v2_version=3, v23_sep="/")


class _Mp4(_Container):
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
        audio.tags[key] = [_split_track(value)]

    def get_track(self, audio: Any, key: str) -> str | None:
        values = (audio.tags or {}).get(key)
        return _join_track(*values[0]) if values else None

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
        return _ended(found, length_ms or round(audio.info.length * 1000))

    def save(self, audio: Any, path: Path) -> None:
        audio.save()


class _Vorbis(_Container):
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
        number, total = _split_track(value)
        audio.tags[keys[0]] = [str(number)]
        if total:
            audio.tags[keys[1]] = [str(total)]

    def get_track(self, audio: Any, keys: list[str]) -> str | None:
        number, total = self.get_text(audio, keys[0]), self.get_text(audio, keys[1])
        if number and "/" in number:  # "2/6" in TRACKNUMBER, as some taggers write it
            return number
        return _join_track(number, total)

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
        return _ended(found, length_ms or round(audio.info.length * 1000))

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


def _ended(starts: list[tuple[int, str]], length_ms: int) -> list[ChapterMark]:
    """Chapters from (start, title) in time order: each ends where the next starts, the last at the end."""
    ends = [start for start, _ in starts[1:]] + [max(length_ms, starts[-1][0]) if starts else 0]
    return [ChapterMark(title, start, end) for (start, title), end in zip(starts, ends)]


_BY_MAGIC = ((b"ID3", 0, "id3"), (b"ftyp", 4, "mp4"), (b"OggS", 0, "vorbis"))
_CONTAINERS = {"id3": _Id3(), "mp4": _Mp4(), "vorbis": _Vorbis()}


def container_of(path: Path) -> str:
    """The container a track's tags live in (id3, mp4, vorbis), from its first bytes; a file
    whose bytes say nothing (empty, damaged, not audio) goes by its suffix, so its error names
    the format it claims to be. MP3 is the default."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        head = b""
    for magic, at, column in _BY_MAGIC:
        if head[at:at + len(magic)] == magic:
            return column
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # an MPEG audio frame, untagged
        return "id3"
    claimed = format_of_suffix(path.suffix)
    return claimed.container if claimed else "id3"


def write_tags(path: Path, tags: TrackTags) -> None:
    """Write every field of the table, the cover and the chapters (replacing any tags) to a
    track: ID3v2.3 in an MP3, iTunes atoms in an M4B, Vorbis comments in an Opus file."""
    box = _CONTAINERS[container_of(path)]
    with _mutagen(path, "write"):
        store = box.blank(path)
        for name, spec in fields().items():
            key, value = spec.get(box.column), field_value(tags, name)
            if key and value:
                CODECS[spec["kind"]].put(box, store, key, value, tags)
        box.put_cover(store, tags.cover, tags.cover_mime)
        box.put_chapters(store, tags.chapters)
        box.save(store, path)


def read_tags(path: Path) -> dict[str, Any]:
    """Every field rlsaudio writes, with the chapters and whether there is a cover; a track
    without tags gives empty fields."""
    box = _CONTAINERS[container_of(path)]
    out: dict[str, Any] = {}
    with _mutagen(path, "read"):
        store = box.load(path)
        for name, spec in fields().items():
            key = spec.get(box.column)
            value = CODECS[spec["kind"]].get(box, store, key) if key else None
            if spec["kind"] == "number":
                value = int(value) if (value or "").isascii() and (value or "").isdigit() else None
            out[name] = value
        covers = box.covers(store)
        out["transcript"] = out.get("transcript") or ""
        out.update({
            "chapters": box.chapters(store, out.get("length_ms")), "has_cover": bool(covers),
            "cover_mime": covers[0][1] if covers else None, "toc": box.toc(store),
        })
    return out


def read_cover(path: Path) -> tuple[bytes, str] | None:
    """The track's front cover (ID3 APIC, MP4 covr, Ogg METADATA_BLOCK_PICTURE) as (bytes, type)
    if it is a PNG or JPEG within the cover size limit; its type comes from its bytes, whatever
    the tag claims."""
    box = _CONTAINERS[container_of(path)]
    with _mutagen(path, "read"):
        covers = box.covers(box.load(path))
    for data, _ in covers:
        mime = picture_type(data)
        if mime and len(data) <= limits.MAX_COVER_BYTES:
            return data, mime
    return None


def stream_length_ms(path: Path) -> int:
    """The audio's length as its container's header says (for tracks without a length tag)."""
    import mutagen

    with _mutagen(path, "read"):
        audio = mutagen.File(str(path))
    return round(audio.info.length * 1000) if audio is not None and audio.info else 0


def picture_type(data: bytes) -> str | None:
    """The type of an image by its first bytes: image/png, image/jpeg or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


def default_cover() -> tuple[bytes, str]:
    return data_file("cover.png").read_bytes(), "image/png"


COVER_KIND = FileKind("cover", "give a .png or .jpg image", too_big="use a smaller image (600x600 is plenty)")


def load_cover(path: Path, origin: Problem | None = None) -> tuple[bytes, str]:
    """A cover image (PNG or JPEG, at most 5 MB). `origin` names where it was asked for (a playlist line)."""
    shown = str(path)
    try:
        data = read_regular(path, limits.MAX_COVER_BYTES, shown, COVER_KIND, InputError)
        mime = picture_type(data)
        if mime:
            return data, mime
        raise InputError(Problem(shown, "not a PNG or JPEG image; give a .png or .jpg cover"))
    except InputError as exc:
        raise InputError([at_origin(origin, p) for p in exc.problems]) from None
