"""Every limit a user can meet, in one place, with the one check used for files and options alike.

Internal constants of an algorithm (a frame count, a clause length a voice model handles well)
stay with their code; anything that refuses, cuts or skips what a person gave is here.

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
# One phrase as the engine is given it, after the pronunciation table: a [pronounce] entry can
# turn a two-letter word into a long respelling, so a short file could otherwise ask for tens
# of thousands of characters in one breath. Checked when the plan is made (validate too).
MAX_SPOKEN_CHARS = MAX_SAY_CHARS
# Chapters of one track (one per step and side): ID3's CTOC and MP4's chpl count them in one
# byte, so 255 is what every format can hold. Checked when the plan is made (validate too).
MAX_CHAPTERS = 255
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

# Other inputs
MAX_COVER_BYTES = 5 * 1_048_576
MAX_COVER_PIXELS = 4096 * 4096  # a cover's width x height, decoded (64 MB as RGBA)
MAX_TRACKS = 99  # tracks of one playlist
MAX_TEXT_OPTION_CHARS = 200  # --name, --artist, --title
MAX_SOUNDSCAPE_S = 600  # a longer soundscape file is cut to its first 10 minutes before looping

# Output
MAX_NAME_BYTES = 150  # a file name made from a title (UTF-8), before its suffix
MAX_CLIP_BYTES = 64 * 1_048_576  # a cached phrase (over 20 minutes of speech is not one phrase)

# Folders that are scanned (the feed, `serve`)
MAX_SCAN_DEPTH = 8  # folders below the root searched for tracks
MAX_SCAN_TRACKS = 5000  # tracks listed in one feed

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


def header_timeout_s() -> float:
    """Seconds a connection has to send a complete request head: RLSAUDIO_HEADER_TIMEOUT, default 10."""
    import os

    try:
        value = float(os.environ.get("RLSAUDIO_HEADER_TIMEOUT", HEADER_TIMEOUT_S))
    except ValueError:
        return HEADER_TIMEOUT_S
    return value if 0 < value <= 600 else HEADER_TIMEOUT_S


def duration_problem(ms: int, *, min_ms: int = 1, max_ms: int, what: str = "duration") -> str | None:
    """The message for a duration outside [min_ms, max_ms], or None when it is fine."""
    if ms <= 0 and min_ms > 0:
        return f"{what} must be more than zero, got {format_ms(ms) if ms == 0 else '-' + format_ms(-ms)}"
    if ms < min_ms:
        return f"{what} must be at least {format_ms(min_ms)}, got {format_ms(ms)}"
    if ms > max_ms:
        return f"{what} must be at most {format_ms(max_ms)}, got {format_ms(ms)}"
    return None


# Serving (`serve` and the app)
MAX_REQUEST_PATH_BYTES = 4096  # a request's decoded path
MAX_REQUEST_SEGMENT_BYTES = 255  # one name in it
MAX_REQUEST_DEPTH = 16  # folders below the served one
MAX_CONNECTIONS = 256  # open at once; beyond, the longest-idle are closed to make room
HEADER_TIMEOUT_S = 10.0  # from a connection's first byte (or its last response) to a complete request head
KEEP_ALIVE_S = 5.0  # an idle connection between requests
MAX_FOREIGN_FILES = 1000  # files of other kinds in a served folder before it is refused as not an output folder

# The app (`rlsaudio app`): requests that can write
MAX_JSON_BODY_BYTES = 65_536  # a JSON request (settings, a diary night)
MAX_UPLOAD_BYTES = MAX_FILE_BYTES  # an uploaded routine file: the same bound as any routine file
BODY_TIMEOUT_S = 30.0  # to send a request's whole body, once its head has arrived
MAX_QUEUED_BUILDS = 20  # builds waiting or running at once; more are refused (429) until one ends
MAX_UPLOADS = 50  # uploaded routine files kept while the app runs; the oldest goes first
MAX_BUILD_RECORDS = 200  # finished builds whose state GET /api/builds/{id} still answers

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
