"""What the speech engine is given: point codes spoken as names, rare words respelled.

People see the written text everywhere (plan, transcript, chapters, tags, page); only the
engine gets the spoken form. Two steps, in this order:

1. Point codes. "SP 6", "SP6", "SP-6" and "BL 40" are spoken as their channel and number
   ("Spleen 6", "Bladder 40") from the point library's channel table, so a code reads the same
   in every sentence and for every voice. Numbers stay digits: both engines (Piper phonemises
   with espeak-ng) read digits the same way, and both voices are given the same text. A
   library point whose code is not a channel and number ("EX 1" in a user's points file) is
   spoken by its `spoken` name. Reflexology zones ("heart", "sciatic", "foot") are ordinary
   words and are left alone.
2. Respellings, whole words or phrases, case-insensitive, from `data/pronunciations.toml`:
   `[all]`, then the voice's own section (`[joe]`, `[espeak]`), then a routine's own
   additions; a later table overrides an earlier one's entry for the same word. A respelling
   takes the written word's leading capital, so sentence case survives. Respellings are
   applied once, longest match first, so an entry never rewrites another's output.

The speech cache is keyed by the spoken form (synth.py): editing the table re-synthesises
exactly the phrases whose spoken form changed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from ..base import limits
from ..base.errors import InputError, Problem
from ..data import data_table

if TYPE_CHECKING:
    from ..script.points import PointLibrary

# Bump when the same spoken text would reach an engine differently (it is part of every clip's
# cache key); editing the table does not need it, since the key holds the spoken text itself.
VERSION = 1
TABLE = "pronunciations.toml"
ALL = "all"

# A whole word: no letter or digit right before, none right after; "valerian's" still matches
# "valerian", but "don" never matches inside "don't".
_BEFORE = r"(?<![\w'’])"
_AFTER = r"(?!\w)(?!['’](?!s\b)\w)"


@dataclass(frozen=True)
class Pronouncer:
    """Turns written narration into the text one voice's engine is given."""

    voice: str = ""
    channels: tuple[tuple[str, str], ...] = ()  # code prefix -> channel name: ("SP", "Spleen")
    names: tuple[tuple[str, str], ...] = ()  # other acupressure codes -> spoken name
    rules: tuple[tuple[str, str], ...] = ()  # lowercase word or phrase -> respelling
    version: int = VERSION
    _codes: re.Pattern | None = field(default=None, init=False, repr=False, compare=False)
    _names: re.Pattern | None = field(default=None, init=False, repr=False, compare=False)
    _rules: re.Pattern | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.channels:
            prefixes = "|".join(re.escape(p) for p, _ in sorted(self.channels, key=lambda c: -len(c[0])))
            # Capitals only: codes are written in capitals, and "st 3" or "k 3" in lowercase prose
            # is not a point. Separator: nothing, a space (also no-break) or a dash. "Vitamin B12"
            # is a vitamin, not Bladder 12.
            object.__setattr__(self, "_codes", re.compile(
                rf"(?<![\w-])(?<![Vv]itamin )(?<![Vv]itamin\u00a0)"
                rf"(?P<prefix>{prefixes})[ \u00a0\u202f-]?(?P<number>\d{{1,3}})(?![\w]|[.,]\d)"))
        if self.names:
            alternatives = "|".join(_flexible(code) for code, _ in sorted(self.names, key=lambda n: -len(n[0])))
            object.__setattr__(self, "_names", re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w])"))
        if self.rules:
            alternatives = "|".join(_flexible(word) for word, _ in sorted(self.rules, key=lambda r: -len(r[0])))
            object.__setattr__(self, "_rules", re.compile(rf"{_BEFORE}(?:{alternatives}){_AFTER}", re.IGNORECASE))

    def spoken(self, text: str) -> str:
        """The text the engine is given for the written `text`."""
        if self._codes is not None:
            channels = dict(self.channels)
            text = self._codes.sub(lambda m: f"{channels[m['prefix']]} {int(m['number'])}", text)
        if self._names is not None:
            names = {_squash(code): spoken for code, spoken in self.names}
            text = self._names.sub(lambda m: names[_squash(m[0])], text)
        if self._rules is not None:
            rules = dict(self.rules)
            text = self._rules.sub(lambda m: _with_case(m[0], rules[_squash(m[0]).casefold()]), text)
        return text

    __call__ = spoken  # a pronouncer is the function written -> spoken

    def code_names(self, text: str) -> str:
        """Only step 1: point codes spoken as names, every other word as written. The benchmark
        compares what a listener heard with this, never with the respellings."""
        return Pronouncer(self.voice, self.channels, self.names).spoken(text)


def _flexible(phrase: str) -> str:
    """A regex for a phrase, literally, except that any run of whitespace matches any other."""
    out = []
    for part in re.split(r"(\s+)", phrase.strip()):
        out.append(r"\s+" if part.isspace() else re.escape(part))
    return "".join(out)


def _squash(text: str) -> str:
    return " ".join(text.split())


def _with_case(written: str, respelling: str) -> str:
    """The respelling, capitalised when the written word starts with a capital."""
    if written[:1].isupper() and respelling[:1].islower():
        return respelling[:1].upper() + respelling[1:]
    return respelling


# --------------------------------------------------------------------------- building


def pronouncer_for(voice_name: str, library: "PointLibrary | None", extra: Mapping[str, str] = {},
                   engine: str = "") -> Pronouncer:
    """The pronouncer of one voice: the library's codes, the bundled table for `[all]`, the
    voice's engine (`[kokoro]`: every voice of that engine) and `[voice_name]`, then `extra` (a
    routine's own respellings, which win)."""
    channels: tuple[tuple[str, str], ...] = ()
    names: tuple[tuple[str, str], ...] = ()
    if library is not None:
        channels = tuple(sorted(library.channels.items()))
        names = tuple(sorted(_named_codes(library)))
    table = bundled_table()
    if extra:
        check_table({"pronounce": dict(extra)}, "the routine")  # an empty word would match everywhere
    rules: dict[str, str] = {}
    sections = [table.get(ALL, {})]
    sections += [table.get(name, {}) for name in dict.fromkeys((engine, voice_name)) if name and name != ALL]
    for section in (*sections, extra):
        for word, respelling in section.items():
            rules[_squash(word).casefold()] = respelling
    return Pronouncer(voice_name, channels, names, tuple(sorted(rules.items())))


def _named_codes(library: "PointLibrary") -> set[tuple[str, str]]:
    """Acupressure codes that are not a channel and number: spoken by the point's name."""
    channel_code = re.compile(rf"(?:{'|'.join(map(re.escape, library.channels))})[ -]?\d{{1,3}}") \
        if library.channels else None
    out = set()
    for point in library.points:
        if point.kind != "acupressure":
            continue
        for code in (point.code, *point.aliases):
            if channel_code is not None and channel_code.fullmatch(code):
                continue
            out.add((_squash(code), point.spoken))
    return out


@functools.cache
def bundled_table() -> dict[str, dict[str, str]]:
    """`data/pronunciations.toml`: section (`all` or a voice name) -> {word: respelling}."""
    return check_table(data_table(TABLE), TABLE)


def check_table(data: Any, name: str) -> dict[str, dict[str, str]]:
    """A pronunciation table's sections, each {word: respelling}; raises InputError naming
    every bad entry."""
    problems = []
    out: dict[str, dict[str, str]] = {}
    for section, rules in data.items():
        if not isinstance(rules, dict):
            problems.append(Problem(name, f"[{section}] should be a table of word = \"respelling\""))
            continue
        seen: dict[str, str] = {}
        for word, respelling in rules.items():
            problem = rule_problem(word, respelling)
            folded = _squash(word).casefold()
            if problem is None and folded in seen:
                problem = f'is the same word as "{seen[folded]}"; keep one of them'
            if problem:
                problems.append(Problem(name, f"{section}.{word}: {problem}"))
            else:
                seen[folded] = word
        out[section] = {w: rules[w] for w in seen.values()}
    if problems:
        raise InputError(problems)
    return out


def rule_problem(word: Any, respelling: Any) -> str | None:
    """Why `word = respelling` cannot be a pronunciation rule (limits.py holds the one rule)."""
    return limits.pronunciation_problem(word, respelling)
