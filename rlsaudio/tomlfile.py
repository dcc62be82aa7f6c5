"""Reading user-written TOML files (routines, playlists, voice profiles) with good errors.

tomllib gives no positions for values, so a small scanner maps key paths such as
`steps[2].hold` back to the line that set them. Every problem becomes a `Problem`
naming the file, the line and the place; `Checker` collects them so a file with three
mistakes reports all three at once.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import InputError, Problem
from .units import format_ms, parse_duration, show_value

MAX_FILE_BYTES = 1_048_576
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab, LF and CR are whitespace
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")


def _clean_key(part: str) -> str:
    part = part.strip()
    return part[1:-1] if part[:1] in "\"'" else part


class Locator:
    """Maps a place such as `steps[2].cues[1]` to the line that defines it."""

    def __init__(self, text: str):
        self._lines: dict[str, int] = {}
        counters: dict[str, int] = {}
        table = ""
        in_multiline: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if in_multiline:
                if line.count(in_multiline) % 2 == 1:
                    in_multiline = None
                continue
            header = _HEADER.match(line)
            if header and not _KEY.match(line):
                names = [_clean_key(p) for p in header.group(2).split(".")]
                if header.group(1) == "[[":
                    plain = ".".join(names)
                    counters[plain] = counters.get(plain, 0) + 1
                table = self._resolve(names, counters)
                self._lines.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if key:
                names = [_clean_key(p) for p in re.split(r"\s*\.\s*", key.group(1))]
                place = ".".join([table, *names]) if table else ".".join(names)
                self._lines.setdefault(place, number)
                rest = line[key.end():]
                for quote in ('"""', "'''"):
                    if rest.count(quote) % 2 == 1:
                        in_multiline = quote

    @staticmethod
    def _resolve(names: list[str], counters: dict[str, int]) -> str:
        # `[steps.breathe]` after the third `[[steps]]` means steps[2].breathe
        path = plain = ""
        for name in names:
            plain = f"{plain}.{name}" if plain else name
            path = f"{path}.{name}" if path else name
            if plain in counters:
                path = f"{path}[{counters[plain] - 1}]"
        return path

    def line(self, place: str) -> int | None:
        """The line of `place`, else of its nearest parent that has one."""
        while place:
            if place in self._lines:
                return self._lines[place]
            last = re.search(r"(\[\d+\]|\.[^.\[\]]*)$", place)
            if not last:
                return None
            place = place[: last.start()]
        return None


@dataclass
class Source:
    """A TOML file read and parsed: its shown name, data and line locator."""

    name: str
    path: Path | None
    data: dict[str, Any]
    locator: Locator


def read_toml(path: Path | str, kind: str, error: type[InputError], shown: str | None = None) -> Source:
    """Read and parse a TOML file. `kind` names it for messages ("routine", "playlist")."""
    path = Path(path)
    name = shown or str(path)
    if not path.exists():
        raise error(Problem(name, f"no such {kind} file; check the path"))
    if path.is_dir():
        raise error(Problem(name, f"is a folder, not a {kind} file; give the path of a .toml file"))
    try:
        raw = path.read_bytes() if path.stat().st_size <= MAX_FILE_BYTES else None
    except OSError as exc:
        raise error(Problem(name, f"cannot read the {kind} file: {exc.strerror or exc}; check its permissions")) from None
    if raw is None:
        raise error(Problem(name, f"{kind} file is larger than 1 MB; a {kind} file holds text settings only"))
    return parse_toml_bytes(raw, name, kind, error, path)


def parse_toml_bytes(raw: bytes | str, name: str, kind: str, error: type[InputError],
                     path: Path | None = None) -> Source:
    if isinstance(raw, str):  # text from tests and the fuzzer; lone surrogates become invalid UTF-8
        raw = raw.encode("utf-8", "surrogatepass")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(Problem(name, f"invalid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8", line=line)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column \d+\)|\(at end of document\)", message)
        line = int(match.group(1)) if match and match.group(1) else None
        if match and line is None:
            line = text.count("\n") + 1
        reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
        raise error(Problem(name, f"TOML syntax error: {reason}; see https://toml.io for the syntax", line=line)) from None
    return Source(name, path, data, Locator(text))


@dataclass
class Checker:
    """Collects problems while a loader walks a parsed file."""

    source: Source
    problems: list[Problem] = field(default_factory=list)

    def problem(self, place: str, message: str) -> None:
        self.problems.append(Problem(self.source.name, message, place, self.source.locator.line(place)))

    def raise_if_any(self, error: type[InputError]) -> None:
        if self.problems:
            # Report in file order; problems without a line (a missing key) come first.
            raise error(sorted(self.problems, key=lambda p: p.line or 0))

    def keys(self, table: dict[str, Any], place: str, allowed: tuple[str, ...]) -> None:
        """Unknown keys are errors, with a did-you-mean suggestion."""
        for key in table:
            if key not in allowed:
                where = f"{place}.{key}" if place else key
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = f'did you mean "{close[0]}"?' if close else "allowed keys: " + ", ".join(allowed)
                self.problem(where, f"unknown key; {hint}")

    def text(self, table: dict[str, Any], key: str, place: str, *, required: bool = False,
             max_chars: int = 200) -> str | None:
        where = f"{place}.{key}" if place else key
        if key not in table:
            if required:
                self.problem(place or key, f'missing "{key}"; add {key} = "..."')
            return None
        return self.text_value(table[key], where, max_chars=max_chars)

    def text_value(self, value: Any, where: str, *, max_chars: int = 200) -> str | None:
        """Text with whitespace normalised; control characters, empty and huge texts are errors."""
        if not isinstance(value, str):
            self.problem(where, f"expected text in quotes, got {show_value(value)}")
            return None
        if _CONTROL.search(value):
            self.problem(where, "contains a control character; remove it")
            return None
        cleaned = " ".join(value.split())
        if not cleaned:
            name = where.rsplit(".", 1)[-1]
            self.problem(where, f'is empty; write some text or remove "{name}"')
            return None
        if len(cleaned) > max_chars:
            self.problem(where, f"is {len(cleaned)} characters long, more than the {max_chars} allowed; shorten it")
            return None
        return cleaned

    def duration(self, table: dict[str, Any], key: str, place: str, *, max_ms: int,
                 min_ms: int = 1, what: str = "duration") -> int | None:
        where = f"{place}.{key}" if place else key
        if key not in table:
            return None
        try:
            ms = parse_duration(table[key])
        except ValueError as exc:
            self.problem(where, str(exc))
            return None
        return self.range_ms(where, ms, min_ms, max_ms, what)

    def range_ms(self, where: str, ms: int, min_ms: int, max_ms: int, what: str = "duration") -> int | None:
        if ms <= 0 and min_ms > 0:
            self.problem(where, f"{what} must be more than zero, got {format_ms(ms) if ms == 0 else '-' + format_ms(-ms)}")
            return None
        if ms < min_ms:
            self.problem(where, f"{what} must be at least {format_ms(min_ms)}, got {format_ms(ms)}")
            return None
        if ms > max_ms:
            self.problem(where, f"{what} must be at most {format_ms(max_ms)}, got {format_ms(ms)}")
            return None
        return ms

    def integer(self, table: dict[str, Any], key: str, place: str, *, lo: int, hi: int) -> int | None:
        where = f"{place}.{key}" if place else key
        if key not in table:
            return None
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(where, f"expected a whole number, got {show_value(value)}")
            return None
        if not lo <= value <= hi:
            self.problem(where, f"must be between {lo} and {hi}, got {value}")
            return None
        return value

    def number(self, table: dict[str, Any], key: str, place: str, *, lo: float, hi: float) -> float | None:
        where = f"{place}.{key}" if place else key
        if key not in table:
            return None
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            self.problem(where, f"expected a number, got {show_value(value)}")
            return None
        if not lo <= value <= hi:
            self.problem(where, f"must be between {lo:g} and {hi:g}, got {value:g}")
            return None
        return float(value)

    def boolean(self, table: dict[str, Any], key: str, place: str) -> bool | None:
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, bool):
            self.problem(f"{place}.{key}" if place else key, f"expected true or false, got {show_value(value)}")
            return None
        return value

    def table(self, data: dict[str, Any], key: str, place: str = "") -> dict[str, Any] | None:
        where = f"{place}.{key}" if place else key
        if key not in data:
            return None
        value = data[key]
        if not isinstance(value, dict):
            self.problem(where, f"expected a table like [{key}], got {show_value(value)}")
            return None
        return value

    def each(self, items: list[Any], place: str, check: Callable[[Any, str], Any]) -> list[Any]:
        return [check(item, f"{place}[{i}]") for i, item in enumerate(items)]
