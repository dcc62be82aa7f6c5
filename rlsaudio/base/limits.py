"""Every limit a user can meet, in one place, with the one check used for files and options alike.

Internal constants of an algorithm (a frame count, a clause length a voice model handles well)
stay with their code; anything that refuses, cuts or skips what a person gave is here.

A routine key such as `pause` and a command-line option such as `--tail` are checked by the
same function, so they accept the same values and fail with the same words.
"""

from __future__ import annotations

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
