"""Durations and the sample clock.

The whole project keeps time in integer samples at SAMPLE_RATE (both speech engines
produce 22 050 Hz mono). User-facing durations are parsed to integer milliseconds first.
"""

from __future__ import annotations

import re

SAMPLE_RATE = 22050

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|h|m|s)", re.IGNORECASE)
_WHOLE = re.compile(r"\s*(?:\d+(?:\.\d+)?\s*(?:ms|h|m|s)\s*)+", re.IGNORECASE)
_SCALE_MS = {"h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}

DURATION_HINT = 'expected a duration like 10 or "90s"'


def parse_duration(value: object) -> int:
    """Return milliseconds for 10, 2.5, "500ms", "90s", "2m", "1m30s", "1h".

    Raises ValueError with a message fit for the user. Zero and negative values are
    returned as they are; callers decide what range is allowed.
    """
    if isinstance(value, bool):
        raise ValueError(f"{DURATION_HINT}, got {_show(value)}")
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{DURATION_HINT}, got {value}")
        return round(value * 1000)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+(?:\.\d+)?", text):
            return round(float(text) * 1000)
        if text.startswith("-") and _WHOLE.fullmatch(text[1:]):
            return -parse_duration(text[1:])
        if text and _WHOLE.fullmatch(text):
            return round(sum(float(n) * _SCALE_MS[u.lower()] for n, u in _PART.findall(text)))
    raise ValueError(f"{DURATION_HINT}, got {_show(value)}")


def _show(value: object) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return '"' + shown.replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return str(value)


def show_value(value: object) -> str:
    """How a TOML value is quoted back to the user in error messages."""
    return _show(value)


def ms_to_samples(ms: int) -> int:
    return (ms * SAMPLE_RATE + 500) // 1000


def samples_to_ms(n: int) -> int:
    """Samples as whole milliseconds, rounded to the nearest (the inverse of ms_to_samples)."""
    return (n * 1000 + SAMPLE_RATE // 2) // SAMPLE_RATE


def samples_to_seconds(n: int) -> float:
    return round(n / SAMPLE_RATE, 3)


def format_clock(n: int) -> str:
    """Samples as m:ss (or h:mm:ss), for tables."""
    total = n // SAMPLE_RATE
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_length(n: int) -> str:
    """Samples as a human length: 45.0s, 12m 05s, 1h 02m 03s."""
    seconds = n / SAMPLE_RATE
    if seconds < 60:
        return f"{seconds:.1f}s"
    total = round(seconds)
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h {m:02d}m {s:02d}s" if h else f"{m}m {s:02d}s"


def format_ms(ms: int) -> str:
    """Milliseconds the way a routine file would write them: 500ms, 90s, 2m, 1m30s."""
    if ms % 1000:
        return f"{ms}ms"
    s = ms // 1000
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    out = (f"{h}h" if h else "") + (f"{m}m" if m else "") + (f"{sec}s" if sec else "")
    return out or "0s"
