"""The narrator's stock words (data/narration.toml): the cues a Style carries, numbers and lengths.

The cues rlsaudio speaks on its own ("Press.", "And release.", "Thirty seconds left.", the
guided breaths) and the words a composition is made of are knowledge, not code: they live in
one data table, read once, so the timeline builder stays pure and a translation is a new table.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ..data import data_table


@dataclass(frozen=True)
class Words:
    press: str
    release: str
    massage_start: str
    massage_end: str
    switch: str
    time_left: str
    breathe_in: str
    breathe_out: str
    follow_tones: str
    breathing_pattern: str


@dataclass(frozen=True)
class ComposeWords:
    """What `rlsaudio compose` writes into a composed routine: its introduction, safety words,
    how it names a point, a side and a zone's presses, and its closing."""

    intro: str
    safety: tuple[str, ...]
    breathing: str
    point: str
    location: str
    start: str
    switch: str
    zone: str
    closing: str
    description: str


@cache
def stock_words() -> Words:
    return Words(**data_table("narration.toml")["cues"])


def number_words(n: int) -> str:
    """0 to 999 in words, as a narrator says them: 45 -> "forty-five"."""
    words = data_table("narration.toml")["numbers"]
    ones, tens = words["ones"], words["tens"]
    if not 0 <= n < 1000:
        return str(n)
    if n < 20:
        return ones[n]
    if n < 100:
        ten, one = divmod(n, 10)
        return tens[ten] + (f"-{ones[one]}" if one else "")
    hundreds, rest = divmod(n, 100)
    return f"{ones[hundreds]} {words['hundred']}" + (f" and {number_words(rest)}" if rest else "")


def spoken_duration(ms: int) -> str:
    """A duration as it is spoken in narration: "ten seconds", "two minutes", "one minute and thirty seconds".

    Exact to the millisecond it describes, so a spoken duration is always true: a half second is
    said as "and a half", any other fraction with its tenths ("two point three seconds").
    """
    words = data_table("narration.toml")["durations"]
    if ms % 1000:
        whole, frac = divmod(ms, 1000)
        if frac == 500:
            return words["and_a_half"].format(whole=number_words(whole)) if whole else words["half_second"]
        if frac % 100 == 0:
            return words["point"].format(whole=number_words(whole), tenths=number_words(frac // 100))
        return words["milliseconds"].format(ms=ms)
    hours, rest = divmod(ms // 1000, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{number_words(v)} {words[unit][0 if v == 1 else 1]}"
             for v, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second")) if v]
    if not parts:
        return words["zero"]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + f" {words['and']} " + parts[-1]


@cache
def compose_words() -> ComposeWords:
    table = dict(data_table("narration.toml")["compose"])
    return ComposeWords(**{**table, "safety": tuple(table["safety"])})
