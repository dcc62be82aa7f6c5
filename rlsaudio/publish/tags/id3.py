"""ID3 (MP3): text frames, the cover, the transcript, and chapters (CTOC + CHAP) in time order.

mutagen sorts frames by (priority, saved size, HashKey) when it writes (quodlibet/mutagen#506),
so CHAP frames of different sizes come out in size order and ffmpeg/ffprobe list them out of
time order. Element ids are therefore "chp" + a zero-padded index, padded with "_" until every
saved CHAP frame has the same size: equal sizes fall back to HashKey order, which is the ids'
order, which is time order.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ...encode.chapters import ChapterMark
from .fields import TOC_ID, Container, TrackTags


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



class Id3(Container):
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


