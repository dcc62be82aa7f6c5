"""A chapter as a container stores it: a title and its start and end in milliseconds.

The timeline's chapters are in samples (script/events.py); the encoders that write chapters
themselves (M4B's muxer) and the tags (ID3 CHAP, MP4 chpl, Vorbis CHAPTERnn) take these.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChapterMark:
    title: str
    start_ms: int
    end_ms: int
