"""Listening modes: the same routine for busy hands (massage) or for falling asleep (bedtime).

A mode is a `Style` for the timeline builder plus mix settings (loudness target, fades,
soundscape). Every value a mode sets lives in one table, `data/modes.toml`; this module reads
it, checks a user's mode options (from the command line or a playlist file, with the same
code and the same words) and turns them into a Style and MixSettings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..base import limits
from ..base.errors import InputError, Problem
from ..base.units import format_ms
from ..data import data_table
from .events import Style

if TYPE_CHECKING:
    from ..speech.profile import VoiceProfile

PACERS = ("tones", "silence")


def table() -> dict[str, Any]:
    return data_table("modes.toml")


def defaults() -> dict[str, Any]:
    return table()["defaults"]


def mode_names() -> tuple[str, ...]:
    return tuple(name for name in table() if name != "defaults")


MODES = mode_names()


@dataclass(frozen=True)
class MixSettings:
    """What the mixer needs beyond the timeline."""

    target_lufs: float
    true_peak_db: float = -3.0
    soundscape: str | None = None  # "brown", "pink" or a file path
    soundscape_db: float = -22.0  # relative to the voice
    soundscape_fade_in_ms: int = 8000


@dataclass(frozen=True)
class ModeOptions:
    mode: str = "massage"
    tail_ms: int | None = None
    chime: bool = True
    pacer: str = "tones"
    soundscape: str | None = None
    soundscape_db: float = -22.0


# Where each option came from, for errors: "--tail" on the command line, or a playlist line.
Origins = dict[str, Problem]


def option_origin(option: str) -> Problem:
    return Problem(option, "")


def located(origins: Origins | None, key: str, message: str, fallback: str) -> Problem:
    base = (origins or {}).get(key) or Problem(fallback, "")
    return replace(base, message=message)


def check_options(options: ModeOptions, origins: Origins | None = None) -> None:
    """Every mode option in range, with the same words for files and the command line."""
    problems = []
    if options.mode not in MODES:
        problems.append(located(origins, "mode", f'unknown mode "{options.mode}"; use ' + " or ".join(MODES), "--mode"))
    if options.pacer not in PACERS:
        problems.append(located(origins, "pacer", f'unknown pacer "{options.pacer}"; use tones or silence', "--pacer"))
    d = defaults()
    lo, hi = d["soundscape_min_db"], d["soundscape_max_db"]
    if not lo <= options.soundscape_db <= hi:
        problems.append(located(origins, "soundscape_level",
                                f"must be between {lo:g} and {hi:g} dB (the soundscape stays at least 12 dB under the "
                                f"voice), got {options.soundscape_db:g}", "--soundscape-level"))
    if options.tail_ms is not None:
        message = limits.duration_problem(options.tail_ms, max_ms=limits.MAX_TAIL_MS, what="the tail")
        least = table().get(options.mode, {}).get("min_tail_ms", 0)
        if message is None and options.tail_ms < least:
            message = (f"{options.mode} needs a tail of at least {format_ms(least)} for its fade to silence; use "
                       f"{format_ms(least)} or longer")
        if message:
            problems.append(located(origins, "tail", message, "--tail"))
    if problems:
        raise InputError(problems)


def style_for(options: ModeOptions, voice: "VoiceProfile") -> Style:
    mode = table()[options.mode]
    tail = mode["default_tail_ms"] if options.tail_ms is None else options.tail_ms
    base_rate = getattr(voice, mode["voice_rate"]) if mode["voice_rate"] else 1.0
    # over the mode's share of the tail, at least its shortest tail and at most its longest fade
    least = mode["min_tail_ms"]
    fade = max(least, min(tail, max(tail // mode["fade_divisor"], least), mode["max_fade_ms"])) if tail else 0
    return Style(
        mode=options.mode,
        sentence_gap_ms=round(voice.sentence_pause_ms * mode["sentence_gap_factor"]),
        cue_gap_ms=mode["cue_gap_ms"],
        step_gap_ms=mode["step_gap_ms"],
        chime=mode["chime"] if options.chime else None,
        chime_ms=mode["chime_ms"],
        chime_db=mode["chime_db"],
        closing_bell=mode["closing_bell"],
        time_left=mode["time_left"],
        time_left_min_ms=mode["time_left_min_ms"],
        pacer=options.pacer,
        pacer_db=mode["pacer_db"],
        rate_start=round(base_rate * mode["rate_start"], 3),
        rate_end=round(base_rate * mode["rate_end"], 3),
        gain_end_db=mode["gain_end_db"],
        tail_ms=tail,
        fade_out_ms=fade,
    )


def mix_settings_for(options: ModeOptions) -> MixSettings:
    d = defaults()
    return MixSettings(target_lufs=table()[options.mode]["target_lufs"], true_peak_db=d["true_peak_db"],
                       soundscape=options.soundscape, soundscape_db=options.soundscape_db,
                       soundscape_fade_in_ms=d["soundscape_fade_in_ms"])
