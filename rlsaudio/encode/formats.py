"""The output formats' table (data/formats.toml): each format's name for people, file suffix,
media type, tag container, default bitrate and the bitrates it takes.

Every other module derives what it needs from here: the encoders (writers.py) their suffix, the
tags their container, the feed and the server their media types, `inspect` the suffixes it reads,
and the CLI its --format and --bitrate help. A leaf module, light enough for the CLI's help.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from ..base.errors import InputError, Problem
from ..data import data_table

# One strict grammar for a bitrate: digits, then nothing, "k" or "kbps" ("64", "64k", "64kbps").
_BITRATE = re.compile(r"(\d{1,4})(?:k|kbps)?", re.IGNORECASE)


@dataclass(frozen=True)
class FormatInfo:
    name: str
    label: str  # MP3, M4B, Opus
    suffix: str  # what rlsaudio writes: ".mp3"
    mime: str
    container: str  # id3, mp4 or vorbis
    help: str
    bitrate_k: int
    bitrates_k: tuple[int, ...]
    bitrate_is: str
    other_suffixes: tuple[str, ...] = ()  # read too (inspect, the feed's scan), never written


@cache
def format_table() -> dict[str, FormatInfo]:
    table = data_table("formats.toml")
    return {name: FormatInfo(name=name, **{k: tuple(v) if isinstance(v, list) else v for k, v in row.items()})
            for name, row in table.items()}


def format_names() -> tuple[str, ...]:
    return tuple(format_table())


def format_info(name: str) -> FormatInfo:
    return format_table()[name]


def label(fmt: str) -> str:
    """MP3, M4B, Opus."""
    return format_info(fmt).label


def default_bitrate(fmt: str) -> int:
    return format_info(fmt).bitrate_k


def written_suffixes() -> dict[str, FormatInfo]:
    """The suffixes rlsaudio writes tracks with (".mp3", ".m4b", ".opus"), each with its format."""
    return {info.suffix: info for info in format_table().values()}


def format_of_suffix(suffix: str) -> FormatInfo | None:
    """The format a file suffix (any case) is read as, including the suffixes only read; or None."""
    suffix = suffix.lower()
    for info in format_table().values():
        if suffix == info.suffix or suffix in info.other_suffixes:
            return info
    return None


def suffix_list() -> str:
    """".mp3, .m4b or .opus", for messages."""
    suffixes = list(written_suffixes())
    return ", ".join(suffixes[:-1]) + " or " + suffixes[-1]


def format_help() -> str:
    return "; ".join(info.help for info in format_table().values()) + "."


def parse_bitrate(text: str, origin: Problem | None = None, fmt: str = "mp3") -> int:
    """A bitrate ("64k", "64", "64kbps") that `fmt` takes, in kbit/s, or one InputError line listing them."""
    spec = format_info(fmt)
    match = _BITRATE.fullmatch(text.strip())
    if match is None or int(match.group(1)) not in spec.bitrates_k:
        base = origin or Problem("--bitrate", "")
        raise InputError(Problem(base.file, f"{text!r} is not {spec.bitrate_is}; use one of "
                                 + ", ".join(f"{b}k" for b in spec.bitrates_k), base.place, base.line))
    return int(match.group(1))
