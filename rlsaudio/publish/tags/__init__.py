"""Tags: the fields of a track, written to and read from its container through mutagen.

The fields and where each lives in each container (ID3 in MP3, iTunes atoms in M4B, Vorbis
comments in Opus) are one table, `data/tagfields.toml`; writing, reading, covers (also for the
feed) and `inspect` all go through it. Every mutagen call goes through
`mutagen_errors()`, which turns mutagen's and the OS's errors into one `TagError` naming the file;
any other exception is a bug in rlsaudio and is left to surface as one.

One module per container (id3.py, mp4.py, vorbis.py) behind the functions here; fields.py holds
the table and the shape they share, covers.py the cover art.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...base import limits
from ...encode.formats import format_of_suffix
from .covers import COVER_KIND, default_cover, load_cover, picture_problem, picture_type
from .fields import CODECS, TrackTags, field_value, fields, mutagen_errors
from .id3 import Id3
from .mp4 import Mp4
from .vorbis import Vorbis

__all__ = ["COVER_KIND", "TrackTags", "container_of", "default_cover", "fields", "load_cover", "picture_problem",
           "picture_type",
           "read_cover", "read_tags", "stream_length_ms", "write_tags"]

_BY_MAGIC = ((b"ID3", 0, "id3"), (b"ftyp", 4, "mp4"), (b"OggS", 0, "vorbis"))
_CONTAINERS = {"id3": Id3(), "mp4": Mp4(), "vorbis": Vorbis()}


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
    with mutagen_errors(path, "write"):
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
    with mutagen_errors(path, "read"):
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
    if it passes the same check as a --cover (a complete PNG or JPEG within the limits); its
    type comes from its bytes, whatever the tag claims. A picture that fails is no cover."""
    box = _CONTAINERS[container_of(path)]
    with mutagen_errors(path, "read"):
        covers = box.covers(box.load(path))
    for data, _ in covers:
        if len(data) <= limits.MAX_COVER_BYTES:
            mime, _problem = picture_problem(data)
            if mime:
                return data, mime
    return None


def stream_length_ms(path: Path) -> int:
    """The audio's length as its container's header says (for tracks without a length tag)."""
    import mutagen

    with mutagen_errors(path, "read"):
        audio = mutagen.File(str(path))
    return round(audio.info.length * 1000) if audio is not None and audio.info else 0


