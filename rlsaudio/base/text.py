"""What text rlsaudio accepts from a user, and how it is cleaned, for files and options alike.

Text reaches file names, tags, .m3u8 and .lrc lines, pages and the terminal, so no control or
invisible formatting character gets in: C0 and C1 controls, bidirectional overrides (U+202E
can make "evil.3pm.exe" look like "evil.exe.mp3"), zero-width spaces and other invisible
format characters, and characters that draw nothing although they are letters or symbols
(the Hangul fillers U+3164, U+FFA0, U+115F and U+1160, the blank Braille pattern U+2800, the
combining grapheme joiner, Khmer's inherent vowels, Mongolian's free variation selectors): a
title made of them looks empty, or like another title. The zero-width joiner and non-joiner
and the variation selectors stay allowed: emoji sequences and several scripts need them.
Whitespace runs (tabs, newlines, U+2028) become one space.
"""

from __future__ import annotations

import unicodedata

_ALLOWED_FORMAT = {"\u200c", "\u200d"}  # zero-width non-joiner and joiner
# Letters and symbols that show as nothing (Unicode's default-ignorable code points outside the
# format category, and the blank Braille pattern). Variation selectors (U+FE00-FE0F,
# U+E0100-E01EF) are default-ignorable too, but emoji and CJK text need them: they stay.
BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5\u180b\u180c\u180d\u180f")


def bad_character(text: str) -> str | None:
    """The first character a user text may not contain, or None."""
    for ch in text:
        if ch in "\t\n\r":
            continue
        if ch in BLANK_LOOKING:
            return ch
        category = unicodedata.category(ch)
        if category == "Cc" or (category in ("Cf", "Co", "Cs") and ch not in _ALLOWED_FORMAT):
            return ch
    return None


def describe(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def text_problem(value: str) -> str | None:
    """Why `value` cannot be used as text, or None. Callers add the place."""
    ch = bad_character(value)
    if ch is None:
        return None
    if unicodedata.category(ch) == "Cc":
        return f"contains a control character ({describe(ch)}); remove it"
    if ch in BLANK_LOOKING:
        return f"contains a character that shows as blank ({describe(ch)}); remove it"
    return f"contains an invisible formatting character ({describe(ch)}); remove it"


def normalise(value: str) -> str:
    return " ".join(value.split())


def speakable(text: str) -> bool:
    """True when the text has something a voice can say: a letter or a digit."""
    return any(ch.isalnum() for ch in text)


def printable(text: str) -> str:
    """Text for a single output line (terminal, .m3u8, .lrc): controls escaped, never a line break."""
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode() for ch in text)


def printable_json(data: object, indent: int | None = 2) -> str:
    """JSON whose every string shows on a terminal as itself: characters that are not printable
    (C0 and C1 controls, DEL, bidirectional overrides, zero-width characters) are written as
    \\uXXXX escapes, which JSON readers decode back to the same text."""
    import json

    def escape(ch: str) -> str:
        code = ord(ch)
        if code > 0xFFFF:  # a surrogate pair, as JSON writes characters beyond the BMP
            code -= 0x10000
            return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
        return f"\\u{code:04x}"

    text = json.dumps(data, indent=indent, ensure_ascii=False)
    # Outside strings JSON has only printable ASCII, spaces and line breaks: every other
    # character is inside a string, where an escape means the same character.
    return "".join(ch if ch.isprintable() or ch in " \n" else escape(ch) for ch in text)
