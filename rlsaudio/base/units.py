"""Durations and the sample clock.

The whole project keeps time in integer samples at SAMPLE_RATE (both speech engines
produce 22 050 Hz mono). User-facing durations are parsed to integer milliseconds first.
"""

from __future__ import annotations

import re

SAMPLE_RATE = 22050

# One strict grammar for every duration a person writes (options, routine keys, inline [pauses]):
# a plain number of seconds, or parts with the units h, m, s and ms, each at most once and the
# largest first ("1h30m", "90s", "1m30s", "500ms"). "10m10m", "10s5m" and "1m30" are refused.
_NUMBER = r"(\d+(?:\.\d+)?)"
_UNITS = ("h", "m", "s", "ms")
_WITH_UNITS = re.compile(r"\s*".join(rf"(?:{_NUMBER}\s*{unit}(?![a-z]))?" for unit in _UNITS), re.IGNORECASE)
_PLAIN = re.compile(_NUMBER)
_SCALE_MS = {"h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}
MAX_DIGITS = 12  # in one number: far beyond every limit, small enough that nothing overflows
_MAX_NUMBER = 10 ** MAX_DIGITS

DURATION_HINT = 'expected a duration like 10 or "90s"'
DURATION_GRAMMAR = "each of h, m, s and ms at most once, the largest first (1h30m, 1m30s)"


def parse_duration(value: object) -> int:
    """Return milliseconds for 10, 2.5, "500ms", "90s", "2m", "1m30s", "1h".

    Raises ValueError with a message fit for the user. Zero and negative values are
    returned as they are; callers decide what range is allowed. Never OverflowError: a
    number of more than MAX_DIGITS digits is refused.
    """
    if isinstance(value, bool):
        raise ValueError(f"{DURATION_HINT}, got {_show(value)}")
    if isinstance(value, int):
        if abs(value) >= _MAX_NUMBER:
            raise ValueError(f"{DURATION_HINT}, got a number of more than {MAX_DIGITS} digits")
        return value * 1000
    if isinstance(value, float):
        if value != value or abs(value) >= _MAX_NUMBER:  # NaN, infinities and huge values
            raise ValueError(f"{DURATION_HINT}, got {_show(value)}")
        return round(value * 1000)
    if isinstance(value, str):
        text = value.strip()
        sign = -1 if text.startswith("-") else 1
        body = text[1:].lstrip() if sign < 0 else text
        ms = _parse_text(body)
        if ms is not None:
            return sign * ms
        if any(len(digits) > MAX_DIGITS for digits in re.findall(r"\d+", body)):
            raise ValueError(f"{DURATION_HINT}, got {_show(value)}: a number of more than {MAX_DIGITS} digits")
        if re.fullmatch(r"[\d.\s]*\d[\d.\shHmMsS]*", body):  # units, but out of order or twice
            raise ValueError(f"{DURATION_HINT}, got {_show(value)}; use {DURATION_GRAMMAR}")
    raise ValueError(f"{DURATION_HINT}, got {_show(value)}")


def _parse_text(text: str) -> int | None:
    """Milliseconds for text in the grammar (no sign), else None."""
    from fractions import Fraction

    if _PLAIN.fullmatch(text):
        numbers, units = [text], ["s"]
    else:
        match = _WITH_UNITS.fullmatch(text)
        if not text or match is None or not any(match.groups()):
            return None
        numbers, units = zip(*[(n, u) for n, u in zip(match.groups(), _UNITS) if n is not None])
    if any(len(n.split(".")[0]) > MAX_DIGITS or len(n) > 2 * MAX_DIGITS for n in numbers):
        return None
    return round(sum(Fraction(n) * _SCALE_MS[u] for n, u in zip(numbers, units)))


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
    """Samples as m:ss (or h:mm:ss), for tables; a negative time is "-0:01", never "-1:59:59"."""
    if n < 0:
        return "-" + format_clock(-n)
    total = n // SAMPLE_RATE
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_length(n: int) -> str:
    """Samples as a human length: 45.0s, 12m 05s, 1h 02m 03s (a negative one with a minus sign)."""
    if n < 0:
        return "-" + format_length(-n)
    seconds = n / SAMPLE_RATE
    if seconds < 60:
        return f"{seconds:.1f}s"
    total = round(seconds)
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h {m:02d}m {s:02d}s" if h else f"{m}m {s:02d}s"


def format_ms(ms: int) -> str:
    """Milliseconds the way a routine file would write them: 500ms, 90s, 2m, 1m30s (and -5s)."""
    if ms < 0:
        return "-" + format_ms(-ms)
    if ms % 1000:
        return f"{ms}ms"
    s = ms // 1000
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    out = (f"{h}h" if h else "") + (f"{m}m" if m else "") + (f"{sec}s" if sec else "")
    return out or "0s"
