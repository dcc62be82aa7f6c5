"""Tags: the fields of a track, written to and read from its container through mutagen.

The fields and where each lives in each container are one table, `data/tagfields.toml`;
writing, reading and `inspect` all go through it. Every mutagen call goes through
`_mutagen()`, which turns mutagen's and the OS's errors into one `TagError` naming the file;
any other exception is a bug in rlsaudio and is left to surface as one.

ID3 chapter order: mutagen sorts frames by (priority, saved size, HashKey) when it writes
(quodlibet/mutagen#506), so CHAP frames of different sizes come out in size order and
ffmpeg/ffprobe list them out of time order. Element ids are therefore "chp" + a zero-padded
index, padded with "_" until every saved CHAP frame has the same size: equal sizes fall
back to HashKey order, which is the ids' order, which is time order.
"""

from __future__ import annotations

import io
import struct
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

from . import limits
from .errors import InputError, Problem, TagError, at_origin
from .safeio import FileKind, read_regular

TOC_ID = "toc"


@dataclass(frozen=True)
class Chapter:
    title: str
    start_ms: int
    end_ms: int


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
    chapters: tuple[Chapter, ...] = ()
    genre: str = "Speech"
    year: str = ""
    comment: str = ""
    language: str = "eng"
    guid: str = ""
    session_ms: int = 0


@cache
def fields() -> dict[str, dict[str, str]]:
    """The tag field table: field -> {"kind", "id3", "mp4", "vorbis"}."""
    table = tomllib.loads((resources.files("rlsaudio.data") / "tagfields.toml").read_text(encoding="utf-8"))
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


def _chapter_frames(chapters: tuple[Chapter, ...]) -> list[Any]:
    from mutagen.id3 import CHAP, ID3, TIT2

    def make(i: int, c: Chapter, pad: int) -> Any:
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


def write_tags(path: Path, tags: TrackTags) -> None:
    """Write ID3v2.3 tags (replacing any) to an MP3 file."""
    from mutagen.id3 import APIC, COMM, CTOC, ID3, TIT2, TXXX, USLT, CTOCFlags, Encoding, Frames
    from mutagen.mp3 import MP3

    with _mutagen(path, "write"):
        MP3(str(path))  # refuse a missing file or one that is not MP3 audio before writing anything
        id3 = ID3()
        for name, spec in fields().items():
            value = field_value(tags, name)
            frame_id = spec.get("id3", "")
            if not value or not frame_id:
                continue
            if frame_id == "COMM":
                id3.add(COMM(encoding=Encoding.UTF16, lang=tags.language, desc="", text=[value]))
            elif frame_id == "USLT":
                id3.add(USLT(encoding=Encoding.UTF16, lang=tags.language, desc="", text=value))
            elif frame_id.startswith("TXXX:"):
                id3.add(TXXX(encoding=Encoding.UTF16, desc=frame_id[5:], text=[value]))
            else:
                id3.add(Frames[frame_id](encoding=Encoding.UTF16, text=[value]))
        id3.add(APIC(encoding=Encoding.UTF16, mime=tags.cover_mime, type=3, desc="Cover", data=tags.cover))
        chapters = _chapter_frames(tags.chapters)
        if chapters:
            id3.add(CTOC(element_id=TOC_ID, flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                         child_element_ids=[c.element_id for c in chapters],
                         sub_frames=_subframes(ID3, TIT2(encoding=Encoding.UTF16, text=["Chapters"]))))
            for frame in chapters:
                id3.add(frame)
        id3.save(str(path), v2_version=3, v23_sep="/")


def read_tags(path: Path) -> dict[str, Any]:
    """Every field rlsaudio writes; an MP3 without tags gives empty fields."""
    from mutagen.id3 import ID3, ID3NoHeaderError
    from mutagen.mp3 import MP3

    with _mutagen(path, "read"):
        try:
            id3 = ID3(str(path))
        except ID3NoHeaderError:
            MP3(str(path))  # an untagged MP3 is fine; anything else is not
            id3 = ID3()

    def text(frame_id: str) -> str | None:
        if frame_id.startswith("TXXX:"):
            frame = id3.get(frame_id)
        elif frame_id in ("COMM", "USLT"):
            found = id3.getall(frame_id)
            if not found:
                return None
            return found[0].text if frame_id == "USLT" else str(found[0].text[0])
        else:
            frame = id3.get("TDRC" if frame_id == "TYER" and "TDRC" in id3 else frame_id)
        return str(frame.text[0]) if frame is not None and frame.text else None

    out: dict[str, Any] = {}
    for name, spec in fields().items():
        value = text(spec["id3"]) if spec.get("id3") else None
        if spec["kind"] == "number":
            value = int(value) if (value or "").isdigit() else None
        out[name] = value
    covers = id3.getall("APIC")
    chapters = sorted(
        (Chapter(str(c.sub_frames["TIT2"].text[0]) if "TIT2" in c.sub_frames else c.element_id,
                 c.start_time, c.end_time) for c in id3.getall("CHAP")),
        key=lambda c: c.start_ms,
    )
    out["transcript"] = out.get("transcript") or ""
    out.update({
        "chapters": chapters, "has_cover": bool(covers), "cover_mime": covers[0].mime if covers else None,
        "toc": [(t.element_id, int(t.flags), list(t.child_element_ids)) for t in id3.getall("CTOC")],
    })
    return out


def default_cover() -> tuple[bytes, str]:
    return (resources.files("rlsaudio.assets") / "cover.png").read_bytes(), "image/png"


COVER_KIND = FileKind("cover", "give a .png or .jpg image", too_big="use a smaller image (600x600 is plenty)")


def load_cover(path: Path, origin: Problem | None = None) -> tuple[bytes, str]:
    """A cover image (PNG or JPEG, at most 5 MB). `origin` names where it was asked for (a playlist line)."""
    shown = str(path)
    try:
        data = read_regular(path, limits.MAX_COVER_BYTES, shown, COVER_KIND, InputError)
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            return data, "image/png"
        if data.startswith(b"\xff\xd8\xff"):
            return data, "image/jpeg"
        raise InputError(Problem(shown, "not a PNG or JPEG image; give a .png or .jpg cover"))
    except InputError as exc:
        raise InputError([at_origin(origin, p) for p in exc.problems]) from None
