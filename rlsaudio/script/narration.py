"""The narrator's stock words (data/narration.toml), as one frozen value a Style carries.

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


@cache
def compose_words() -> ComposeWords:
    table = dict(data_table("narration.toml")["compose"])
    return ComposeWords(**{**table, "safety": tuple(table["safety"])})
