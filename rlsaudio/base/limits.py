"""Every limit rlsaudio enforces, in one place, with the one check used for files and options alike.

A routine key such as `pause` and a command-line option such as `--tail` are checked by the
same function, so they accept the same values and fail with the same words.
"""

from __future__ import annotations

import re

from .units import format_ms

HOUR_MS = 3_600_000

# Input files (routines, playlists, voice profiles, points files) before and while parsing.
MAX_FILE_BYTES = 1_048_576
MAX_NESTING = 32  # arrays and inline tables inside each other
MAX_KEY_PARTS = 16  # parts of one dotted key or table header: a.b.c
MAX_KEYS = 20_000  # keys and table headers in one file

# Routines
MAX_SPAN_MS = 4 * HOUR_MS  # one hold, massage, pause, rest or breathing exercise
MAX_STEPS = 500
MAX_REPEAT = 100
MAX_SAY_CHARS = 5000
MAX_CUE_CHARS = 300
MAX_INLINE_PAUSE_MS = 60_000
MAX_DESCRIPTION_CHARS = 2000  # a routine's or composition's description (the comment tag)
MAX_POINT_REF_CHARS = 40  # a point named in a routine or composition: code, alias or name
MAX_PATH_CHARS = 1000  # a file named inside a file: a voice profile, a soundscape, a routine
MIN_BREATH_MS, MAX_BREATH_MS = 1000, 30_000  # one inhale or exhale
MAX_BREATH_CYCLES = 2000
MAX_GUIDED_BREATHS = 1000
# --length scales a routine's pauses and the rests its narration does not name by one factor in this range
# (a step's `stretch` gives its own range instead).
FIT_MIN, FIT_MAX = 0.25, 4.0

# Point libraries (the bundled points.toml and a user's points file)
MAX_CODE_CHARS = 20
MAX_POINTS = 500
POINT_TEXT_CHARS = {"name": 60, "note": 400, "spoken": 80, "region": 60, "location": 400, "find": 400, "limb": 30,
                    "say": 300, "first": 300, "remind": 300, "text": 200, "safety": 600, "channel": 40}

# Compositions (rlsaudio compose): pressing within the sources' limits
PRESS_MIN_MS = 60_000  # acupressure: "a minute or more" of press-and-massage per side
PRESS_MAX_MS = 120_000  # continuous pressure at most about two minutes; a longer session adds rounds
ROUND_REST_MS = 20_000  # the rest between two rounds on one side of a point
MAX_ROUNDS = 6  # rounds of pressing on one side of a point
ZONE_PRESS_MS = 10_000  # reflexology: ten-second presses...
ZONE_REST_MS = 10_000  # ...with ten-second rests, as the foot-reflexology source does them
ZONE_PRESSES = 3  # its "several times"
MAX_ZONE_PRESSES = 12
CLOSING_REST_MS = (5_000, 300_000)  # the rest that ends a composition; --length may lengthen it
MAX_COMPOSE_POINTS = 30

# Pronunciations: the bundled table and a routine's [pronounce] entries obey one rule
MAX_RESPELLING_CHARS = 80  # a written word or phrase, and how the engine should say it

# Tracks
MAX_SESSION_MS = 12 * HOUR_MS  # a planned session, speech included, without its tail
MAX_TAIL_MS = 10 * HOUR_MS  # bedtime's --tail
MAX_TRACK_MS = 12 * HOUR_MS  # session plus tail: an 8-hour bedtime track stays possible
MIN_BEDTIME_TAIL_MS = 20_000

# Other inputs
MAX_COVER_BYTES = 5 * 1_048_576
MAX_SOUNDSCAPE_BYTES = 2 * 1024 * 1_048_576  # only the first 10 minutes are decoded
MAX_TRACKS = 99
MAX_TEXT_OPTION_CHARS = 200  # --name, --artist, --title

# Processes
FFMPEG_STALL_S = 120  # an ffmpeg that takes no input and writes nothing this long is stuck


def ffmpeg_stall_s() -> float:
    """Seconds ffmpeg may stall before it is stopped: RLSAUDIO_FFMPEG_TIMEOUT, default 120."""
    import os

    try:
        value = float(os.environ.get("RLSAUDIO_FFMPEG_TIMEOUT", FFMPEG_STALL_S))
    except ValueError:
        return FFMPEG_STALL_S
    return value if 0 < value <= 86_400 else FFMPEG_STALL_S


def duration_problem(ms: int, *, min_ms: int = 1, max_ms: int, what: str = "duration") -> str | None:
    """The message for a duration outside [min_ms, max_ms], or None when it is fine."""
    if ms <= 0 and min_ms > 0:
        return f"{what} must be more than zero, got {format_ms(ms) if ms == 0 else '-' + format_ms(-ms)}"
    if ms < min_ms:
        return f"{what} must be at least {format_ms(min_ms)}, got {format_ms(ms)}"
    if ms > max_ms:
        return f"{what} must be at most {format_ms(max_ms)}, got {format_ms(ms)}"
    return None


_WORD = re.compile(r"\w", re.UNICODE)


def pronunciation_problem(word: object, respelling: object) -> str | None:
    """Why `word = respelling` cannot be a pronunciation rule, or None when it can: the one rule for
    the bundled table and a routine's [pronounce] entries, so `validate` and `build` agree."""
    if not isinstance(word, str) or not _WORD.search(word) or len(word) > MAX_RESPELLING_CHARS:
        return f"a word or phrase of at most {MAX_RESPELLING_CHARS} characters, with at least one letter"
    if not isinstance(respelling, str) or not respelling.strip() or len(respelling) > MAX_RESPELLING_CHARS:
        return f'expected a respelling like "vuh-LEER-ee-un" (text of 1 to {MAX_RESPELLING_CHARS} characters)'
    if word != word.strip() or respelling != respelling.strip():
        return "has spaces at its start or end; remove them"
    return None
