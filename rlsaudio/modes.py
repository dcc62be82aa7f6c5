"""Listening modes: the same routine for busy hands (massage) or for falling asleep (bedtime).

A mode is a `Style` for the timeline builder plus mix settings (loudness target, fades,
soundscape). Everything a mode changes is listed here, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InputError, Problem
from .timeline import Style
from .voices import VoiceProfile

MODES = ("massage", "bedtime")
PACERS = ("tones", "silence")
MIN_BEDTIME_TAIL_MS = 20_000
DEFAULT_BEDTIME_TAIL_MS = 30_000
MAX_TAIL_MS = 10 * 3_600_000
DEFAULT_SOUNDSCAPE_DB = -22.0
SOUNDSCAPE_DB_RANGE = (-40.0, -12.0)  # never closer than 12 dB to the voice


@dataclass(frozen=True)
class MixSettings:
    """What the mixer needs beyond the timeline."""

    target_lufs: float
    true_peak_db: float = -3.0  # PCM ceiling: the MP3 encoder overshoots speech peaks by 1-2 dB; -1.5 dBTP must hold
    soundscape: str | None = None  # "brown", "pink" or a file path
    soundscape_db: float = DEFAULT_SOUNDSCAPE_DB  # relative to the voice
    soundscape_fade_in_ms: int = 8000


@dataclass(frozen=True)
class ModeOptions:
    mode: str = "massage"
    tail_ms: int | None = None
    chime: bool = True
    pacer: str = "tones"
    soundscape: str | None = None
    soundscape_db: float = DEFAULT_SOUNDSCAPE_DB


def style_for(options: ModeOptions, voice: VoiceProfile) -> Style:
    if options.mode not in MODES:
        raise InputError(Problem("--mode", f'unknown mode "{options.mode}"; use massage or bedtime'))
    if options.pacer not in PACERS:
        raise InputError(Problem("--pacer", f'unknown pacer "{options.pacer}"; use tones or silence'))
    if options.mode == "massage":
        return Style(
            mode="massage",
            sentence_gap_ms=voice.sentence_pause_ms,
            chime="chime" if options.chime else None,
            pacer=options.pacer,
            tail_ms=options.tail_ms or 0,
            fade_out_ms=min(options.tail_ms or 0, 10_000),
        )
    tail = DEFAULT_BEDTIME_TAIL_MS if options.tail_ms is None else options.tail_ms
    if tail < MIN_BEDTIME_TAIL_MS:
        raise InputError(Problem("--tail", "bedtime needs a tail of at least 20s for its fade to silence; "
                                 "use --tail 20s or longer"))
    return Style(
        mode="bedtime",
        sentence_gap_ms=round(voice.sentence_pause_ms * 1.5),
        cue_gap_ms=1000,
        step_gap_ms=3000,
        chime="chime-soft" if options.chime else None,
        chime_ms=1400,
        chime_db=-16.0,
        closing_bell=False,
        time_left=False,
        pacer=options.pacer,
        pacer_db=-24.0,
        # Speech starts at the voice's bedtime rate and slows by another 10% by the last step,
        # while its level falls by 3 dB: the wind-down.
        rate_start=voice.bedtime_rate,
        rate_end=round(voice.bedtime_rate * 0.9, 3),
        gain_end_db=-3.0,
        tail_ms=tail,
        fade_out_ms=max(MIN_BEDTIME_TAIL_MS, min(tail, max(tail // 3, MIN_BEDTIME_TAIL_MS), 600_000)),
    )


def mix_settings_for(options: ModeOptions) -> MixSettings:
    lo, hi = SOUNDSCAPE_DB_RANGE
    if not lo <= options.soundscape_db <= hi:
        raise InputError(Problem("--soundscape-level", f"must be between {lo:g} and {hi:g} dB (the soundscape stays "
                                 f"at least 12 dB under the voice), got {options.soundscape_db:g}"))
    target = -24.0 if options.mode == "bedtime" else -19.0
    return MixSettings(target_lufs=target, soundscape=options.soundscape, soundscape_db=options.soundscape_db)
