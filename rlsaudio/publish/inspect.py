"""`rlsaudio inspect`: what a built track (MP3, M4B or Opus) holds, read back from the file itself.

Tags, cover and chapters come from the container (see tags.py); the length, loudness and true
peak from the decoded audio. A bedtime track's loudness target applies to its session, not to the tail of
soundscape after it, so both are measured: the session (up to the point the track's own
tag records) and the whole file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..base.errors import InputError, Problem, RenderError, TagError
from ..base.safeio import FileKind, check_regular
from ..base.units import SAMPLE_RATE, samples_to_seconds
from ..encode.formats import format_table, suffix_list
from ..system.ffmpeg import Decoder, last_line

TRACK_KIND = FileKind("track", f"give the path of a track built by rlsaudio ({suffix_list()})")


def decoded_stats(path: Path, session_samples: int | None = None, give: str = TRACK_KIND.give) -> dict[str, float]:
    """Samples, whole-file and session loudness, and true peak of the decoded audio, streamed."""
    from ..audio.loudness import LoudnessMeter

    whole = LoudnessMeter(SAMPLE_RATE)
    session = LoudnessMeter(SAMPLE_RATE) if session_samples else None
    decoder = Decoder(path)
    count = 0
    try:
        for block in decoder.blocks():
            samples = block.astype("float32") / 32768.0
            whole.add(samples)
            if session is not None and count < session_samples:
                session.add(samples[: max(0, session_samples - count)])
            count += samples.size
    finally:
        code, messages = decoder.finish()
    if decoder.stalled:
        raise RenderError(f"{path}: ffmpeg stopped responding while decoding it; try again")
    if code != 0 or count == 0:
        raise InputError(Problem(str(path), f"not a playable audio file ({last_line(messages, 'no audio')}); "
                                            + give))
    result = whole.result()
    session_result = session.result() if session is not None else result
    return {"samples": count, "whole_lufs": result.integrated, "session_lufs": session_result.integrated,
            "true_peak": result.true_peak}


def readable_formats() -> str:
    """"MP3, M4B or Opus": what inspect reads, from the formats' table."""
    labels = [info.label for info in format_table().values()]
    return ", ".join(labels[:-1]) + " or " + labels[-1]


def inspect_track(path: Path) -> dict[str, Any]:
    from ..encode.formats import format_of_suffix
    from .tags import container_of, read_tags

    check_regular(path, str(path), TRACK_KIND, InputError)
    container = container_of(path)
    name = next(info.label for info in format_table().values() if info.container == container)
    give = f"give the path of an {name} built by rlsaudio"
    if format_of_suffix(path.suffix) is None and not _says_its_format(path):
        # Neither its name nor its first bytes say it is a track: say what inspect reads.
        name, give = readable_formats(), f"give the path of a track built by rlsaudio ({suffix_list()})"
    try:
        tags = read_tags(path)
    except TagError as exc:
        if _not_this_format(str(exc)):
            raise InputError(Problem(str(path), f"not an {name} file; {give}")) from None
        raise InputError(Problem(str(path), str(exc).split(": ", 1)[-1])) from None
    session_ms = tags.get("session_ms")
    session_samples = round(session_ms * SAMPLE_RATE / 1000) if session_ms else None
    stats = decoded_stats(path, session_samples, give)
    has_tail = session_samples is not None and stats["samples"] - session_samples > SAMPLE_RATE
    return {
        "file": str(path),
        **{key: tags.get(key) for key in ("title", "artist", "album", "track", "genre", "year", "comment", "guid")},
        "duration": samples_to_seconds(stats["samples"]),
        "session_duration": samples_to_seconds(session_samples) if has_tail else None,
        "loudness_lufs": _round(stats["session_lufs"] if has_tail else stats["whole_lufs"]),
        "whole_file_lufs": _round(stats["whole_lufs"]),
        "true_peak_dbtp": _round(stats["true_peak"]),
        "cover": tags.get("cover_mime") if tags.get("has_cover") else None,
        "transcript_lines": len((tags.get("transcript") or "").splitlines()),
        "chapters": [{"title": c.title, "start": c.start_ms / 1000, "end": c.end_ms / 1000}
                     for c in tags.get("chapters") or []],
    }


def _says_its_format(path: Path) -> bool:
    """True when the file's first bytes are those of a track container (ID3, MP4, Ogg, MPEG audio)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return (head[:3] == b"ID3" or head[4:8] == b"ftyp" or head[:4] == b"OggS"
            or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0))


def _not_this_format(message: str) -> bool:
    """mutagen's words for a file that is not of the container it was opened as."""
    lowered = message.lower()
    return any(words in lowered for words in (
        "can't sync to mpeg frame", "not a mp3 file",  # MP3
        "not a mp4 file",  # MP4
        "unable to read full header", "no opus header",  # Ogg Opus (the second is tags.py's)
    ))


def _round(value: float) -> float | None:
    return round(value, 1) if value != float("-inf") else None
