"""The output formats' table (data/formats.toml): each format's name for people, default bitrate
and the bitrates it takes. A leaf module, light enough for the CLI's help: how each format is
encoded and checked lives in encode.py.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from ..base.errors import InputError, Problem


@cache
def format_table() -> dict[str, dict]:
    return tomllib.loads((resources.files("rlsaudio.data") / "formats.toml").read_text(encoding="utf-8"))


def format_names() -> tuple[str, ...]:
    return tuple(format_table())


def label(fmt: str) -> str:
    """MP3, M4B, Opus."""
    return format_table()[fmt]["label"]


def default_bitrate(fmt: str) -> int:
    return format_table()[fmt]["bitrate_k"]


def parse_bitrate(text: str, origin: Problem | None = None, fmt: str = "mp3") -> int:
    """A bitrate ("64k", "64", "64kbps") that `fmt` takes, in kbit/s, or one InputError line listing them."""
    spec = format_table()[fmt]
    value = text.strip().lower().removesuffix("k").removesuffix("bps").removesuffix("k")
    if not value.isdigit() or int(value) not in spec["bitrates_k"]:
        base = origin or Problem("--bitrate", "")
        raise InputError(Problem(base.file, f"{text!r} is not {spec['bitrate_is']}; use one of "
                                 + ", ".join(f"{b}k" for b in spec["bitrates_k"]), base.place, base.line))
    return int(value)
