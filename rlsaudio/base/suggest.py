"""The one "did you mean": a close known name for a mistyped one, worded the same everywhere.

Unknown keys in TOML files, routine and voice names, point codes, sources, figures and
cautions all ask the same question: which known name did the user most likely mean? The
answer is found here, once, with one closeness rule, so every message reads alike:
`did you mean "hold"?`, or, with nothing close, the list of what is known.
"""

from __future__ import annotations

import difflib
from typing import Callable, Iterable

CUTOFF = 0.6  # difflib's ratio: "holdd" -> "hold" (0.89), "acupresure" -> "acupressure" (0.95)


def closest(value: str, choices: Iterable[str], *, key: Callable[[str], str] = str,
            allow: Callable[[str], bool] = lambda choice: True) -> str | None:
    """The choice closest to `value`, compared through `key`, among those `allow` lets through."""
    by_key: dict[str, str] = {}
    for choice in choices:
        if allow(choice):
            by_key.setdefault(key(choice), choice)
    close = difflib.get_close_matches(key(value), list(by_key), n=1, cutoff=CUTOFF)
    return by_key[close[0]] if close else None


def did_you_mean(value: str, choices: Iterable[str], **how) -> str | None:
    """`did you mean "x"?` for the closest choice, or None when nothing is close."""
    found = closest(value, choices, **how)
    return f'did you mean "{found}"?' if found is not None else None


def hint(value: str, choices: Iterable[str], otherwise: Callable[[list[str]], str], **how) -> str:
    """`did you mean "x"?`, or `otherwise(choices)` (say what is known) when nothing is close."""
    choices = list(choices)
    return did_you_mean(value, choices, **how) or otherwise(choices)


def one_of(choices: list[str]) -> str:
    """`use "a", "b" or "c"`: the known choices, quoted."""
    quoted = [f'"{c}"' for c in choices]
    return "use " + (quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1])
