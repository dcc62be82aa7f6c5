"""The narrator's stock words (data/narration.toml), as one frozen value a Style carries.

The cues rlsaudio speaks on its own ("Press.", "And release.", "Thirty seconds left.", the
guided breaths) are knowledge, not code: they live in one data table, read once, so the
timeline builder stays pure and a translation is a new table.
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
    breathing_pattern: str


@cache
def stock_words() -> Words:
    return Words(**data_table("narration.toml")["cues"])
