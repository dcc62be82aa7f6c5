"""The text files published beside a track, made from its timeline: .lrc, WebVTT, chapters JSON.

Pure functions from the timeline (and the tags) to text; `publish.py` writes and commits them
with the track. Every text that reaches these formats passes `one_line`: titles and artists
were checked when they were read, but no control character or line break can reach a file
format whose lines mean something (an .lrc or .m3u8 line, a WebVTT cue). Then each format's
own meaningful characters are escaped in every field: square brackets in .lrc (a "]" would
close a tag, and "[00:00.00]" inside text is a time tag to some players), "&", "<", ">" and
"-->" in WebVTT; JSON escapes its own.
"""

from __future__ import annotations

import json

from ..base.text import bad_character
from ..base.units import SAMPLE_RATE, samples_to_ms, samples_to_seconds
from ..script.timeline import Timeline


def one_line(text: str) -> str:
    """Text safe inside one line of a line-based format: controls and line breaks become spaces."""
    return " ".join("".join(" " if bad_character(ch) else ch for ch in text).split())


def _lrc_time(t: int) -> str:
    minutes, rest = divmod(t, 60_000)
    return f"{minutes:02d}:{rest // 1000:02d}.{rest % 1000 // 10:02d}"


def _vtt_time(t: int) -> str:
    hours, rest = divmod(t, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def spoken_lines(timeline: Timeline) -> list[tuple[int, int, str]]:
    """(start ms, end ms, sentence) for every spoken sentence."""
    return [(samples_to_ms(e.start), samples_to_ms(e.end), e.text) for e in timeline.events if e.kind == "speech"]


def lrc_text(text: str) -> str:
    """Text inside an .lrc tag or line: one line, square brackets as round ones."""
    return one_line(text).replace("[", "(").replace("]", ")")


def lrc(timeline: Timeline, *, title: str, artist: str, album: str) -> str:
    """Synced lyrics: one timed line per spoken sentence."""
    minutes, seconds = divmod(round(timeline.length / SAMPLE_RATE), 60)
    head = [f"[ti:{lrc_text(title)}]", f"[ar:{lrc_text(artist)}]", f"[al:{lrc_text(album)}]",
            f"[length: {minutes:02d}:{seconds:02d}]", "[re:rlsaudio]"]
    body = [f"[{_lrc_time(start)}]{lrc_text(text)}" for start, _, text in spoken_lines(timeline)]
    return "\n".join(head + body) + "\n"


def _vtt_text(text: str) -> str:
    return one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("-->", "->")


def transcript_vtt(timeline: Timeline) -> str:
    """WebVTT captions: every sentence while it is spoken (podcast:transcript, players' captions)."""
    cues = [f"{i}\n{_vtt_time(start)} --> {_vtt_time(end)}\n{_vtt_text(text)}"
            for i, (start, end, text) in enumerate(spoken_lines(timeline), start=1)]
    return "WEBVTT\n\n" + "\n\n".join(cues) + ("\n" if cues else "")


def chapters_vtt(timeline: Timeline) -> str:
    """WebVTT chapters: one cue per chapter, for players and <track kind="chapters">."""
    cues = [f"chapter-{i}\n{_vtt_time(samples_to_ms(c.start))} --> {_vtt_time(samples_to_ms(c.end))}\n{_vtt_text(c.title)}"
            for i, c in enumerate(timeline.chapters, start=1)]
    return "WEBVTT\n\n" + "\n\n".join(cues) + ("\n" if cues else "")


def chapters_json(timeline: Timeline, *, title: str, artist: str, album: str, variant: dict | None = None) -> str:
    """Podcasting 2.0 chapters (https://github.com/Podcastindex-org/podcast-namespace, chapters.md).
    `variant` (what makes the track this variant of its routine) is kept under "rlsaudio", a key
    chapter readers ignore, so that a later build can tell whether it would replace another."""
    doc: dict = {
        "version": "1.2.0",
        "title": one_line(title),
        "author": one_line(artist),
        "podcastName": one_line(album),
        "chapters": [{"startTime": samples_to_seconds(c.start), "endTime": samples_to_seconds(c.end),
                      "title": one_line(c.title)} for c in timeline.chapters],
    }
    if variant is not None:
        doc["rlsaudio"] = {"variant": variant}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def transcript_text(timeline: Timeline) -> str:
    """Every spoken sentence, under its chapter's title (the tag's full transcript)."""
    parts: list[str] = []
    for chapter in timeline.chapters:
        said = [e.text for e in timeline.events if e.kind == "speech" and chapter.start <= e.start < chapter.end]
        parts.append(chapter.title + "\n" + "\n".join(said))
    return "\n\n".join(parts)
