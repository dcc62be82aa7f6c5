"""ID3v2.3 tags, chapters and transcripts, through mutagen; the .lrc sidecar.

Every mutagen call goes through `_mutagen()`, which turns library and OS errors into one
`TagError` naming the file. Simple text frames are a table, not a chain of ifs.

Chapter order: mutagen sorts frames by (priority, saved size, HashKey) when it writes
(quodlibet/mutagen#506), so CHAP frames of different sizes come out in size order and
ffmpeg/ffprobe list them out of time order. Element ids are therefore "chp" + a zero-padded
index, padded with "_" until every saved CHAP frame has the same size: equal sizes fall
back to HashKey order, which is the ids' order, which is time order.
"""

from __future__ import annotations

import io
import os
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

from .errors import InputError, OutputError, Problem, TagError
from .output import commit, staged

MAX_COVER_BYTES = 5 * 1024 * 1024
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


# (frame id, TrackTags attribute or a function of it) for plain text frames
TEXT_FRAMES: tuple[tuple[str, Any], ...] = (
    ("TIT2", "title"),
    ("TPE1", "artist"),
    ("TALB", "album"),
    ("TRCK", lambda t: f"{t.track}/{t.track_total}"),
    ("TCON", "genre"),
    ("TYER", "year"),  # v2.3's year frame (TDRC is v2.4; mutagen reads TYER back as TDRC)
    ("TLEN", lambda t: str(t.length_ms)),
)


@contextmanager
def _mutagen(path: Path, doing: str) -> Iterator[None]:
    try:
        yield
    except TagError:
        raise
    except Exception as exc:  # mutagen raises many types (MutagenError, ID3NoHeaderError, struct.error ...)
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise TagError(f"{path}: could not {doing} the tags: {reason}") from None


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
        raise TagError("chapter frames could not be made the same size; this is a bug, please report it")
    return frames


def _subframes(id3_class: Any, *frames: Any) -> Any:
    sub = id3_class()
    for frame in frames:
        sub.add(frame)
    return sub


def write_tags(path: Path, tags: TrackTags) -> None:
    """Write ID3v2.3 tags (replacing any) to an MP3 file."""
    from mutagen.id3 import APIC, COMM, CTOC, ID3, TIT2, USLT, CTOCFlags, Encoding, Frames
    from mutagen.mp3 import MP3

    with _mutagen(path, "write"):
        MP3(str(path))  # refuse a missing file or one that is not MP3 audio before writing anything
        id3 = ID3()
        for frame_id, source in TEXT_FRAMES:
            value = source(tags) if callable(source) else getattr(tags, source)
            if value:
                id3.add(Frames[frame_id](encoding=Encoding.UTF16, text=[value]))
        if tags.comment:
            id3.add(COMM(encoding=Encoding.UTF16, lang=tags.language, desc="", text=[tags.comment]))
        id3.add(APIC(encoding=Encoding.UTF16, mime=tags.cover_mime, type=3, desc="Cover", data=tags.cover))
        if tags.transcript:
            id3.add(USLT(encoding=Encoding.UTF16, lang=tags.language, desc="", text=tags.transcript))
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
        frame = id3.get(frame_id)
        return str(frame.text[0]) if frame is not None and frame.text else None

    comments = id3.getall("COMM")
    covers = id3.getall("APIC")
    lyrics = id3.getall("USLT")
    chapters = sorted(
        (Chapter(str(c.sub_frames["TIT2"].text[0]) if "TIT2" in c.sub_frames else c.element_id,
                 c.start_time, c.end_time) for c in id3.getall("CHAP")),
        key=lambda c: c.start_ms,
    )
    year = text("TDRC") or text("TYER")
    return {
        "title": text("TIT2"), "artist": text("TPE1"), "album": text("TALB"), "track": text("TRCK"),
        "genre": text("TCON"), "year": year, "comment": str(comments[0].text[0]) if comments else None,
        "length_ms": int(text("TLEN")) if (text("TLEN") or "").isdigit() else None,
        "chapters": chapters, "has_cover": bool(covers), "cover_mime": covers[0].mime if covers else None,
        "transcript": lyrics[0].text if lyrics else "",
        "toc": [(t.element_id, int(t.flags), list(t.child_element_ids)) for t in id3.getall("CTOC")],
    }


def _lrc_time(ms: int) -> str:
    minutes, rest = divmod(ms, 60_000)
    return f"{minutes:02d}:{rest // 1000:02d}.{rest % 1000 // 10:02d}"


def write_lrc(path: Path, lines: list[tuple[int, str]], *, title: str, artist: str, album: str,
              length_ms: int) -> None:
    """A synced-lyrics sidecar: one timed line per spoken sentence. Written atomically."""
    minutes, seconds = divmod(round(length_ms / 1000), 60)
    head = [f"[ti:{title}]", f"[ar:{artist}]", f"[al:{album}]", f"[length: {minutes:02d}:{seconds:02d}]",
            "[re:rlsaudio]"]
    body = [f"[{_lrc_time(ms)}]{text}" for ms, text in lines]
    data = ("\n".join(head + body) + "\n").encode("utf-8")
    if path.name.startswith(".rlsaudio-part-"):  # already a staged file: the caller commits it
        _write(path, data, path)
        return
    with staged(path, ".lrc") as temp:
        _write(temp, data, path)
        commit(temp, path)


def _write(path: Path, data: bytes, shown: Path) -> None:
    try:
        with open(path, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise OutputError(f"{shown}: could not write ({exc.strerror or exc}); check the disk and the folder") from None


def default_cover() -> tuple[bytes, str]:
    return (resources.files("rlsaudio.assets") / "cover.png").read_bytes(), "image/png"


def load_cover(path: Path) -> tuple[bytes, str]:
    shown = str(path)
    if not path.exists():
        raise InputError(Problem(shown, "no such cover file; give a .png or .jpg image"))
    if path.is_dir():
        raise InputError(Problem(shown, "is a folder; give a .png or .jpg image"))
    try:
        with path.open("rb") as f:
            data = f.read(MAX_COVER_BYTES + 1)  # bounded: /dev/zero is not a cover
    except OSError as exc:
        raise InputError(Problem(shown, f"cannot read the cover ({exc.strerror or exc}); check its permissions")) \
            from None
    if len(data) > MAX_COVER_BYTES:
        raise InputError(Problem(shown, "cover is larger than 5 MB; use a smaller image (600x600 is plenty)"))
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data, "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return data, "image/jpeg"
    raise InputError(Problem(shown, "not a PNG or JPEG image; give a .png or .jpg cover"))
