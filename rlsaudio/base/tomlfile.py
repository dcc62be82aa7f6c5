"""Reading user-written TOML files (routines, playlists, voice profiles, points) with good errors.

Before tomllib sees a file, one linear pass over its text does two jobs:
- it bounds the work: nesting depth, dotted-key depth and key count are limited (tomllib is
  recursive on nesting and quadratic on dotted keys, so a 200 kB file could otherwise take
  minutes or crash with RecursionError);
- it records the line of every key, table header and array element, so a problem at a place
  such as `steps[2].cues[1]` names its line (tomllib gives no positions for values).
Every problem becomes a `Problem` naming the file, the line and the place; `Checker` collects
them so a file with three mistakes reports all three at once.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import limits
from .errors import InputError, Problem
from .safeio import FileKind, read_regular
from .suggest import hint
from .text import normalise, text_problem
from .units import parse_duration, show_value

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_BASIC = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_LITERAL = re.compile(r"'[^'\n]*'")
_SPACE = re.compile(r"[ \t]*")
_SCALAR = re.compile(r"[^\s,\[\]{}#\"']+")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


class _Bounds(Exception):
    def __init__(self, line: int, message: str):
        self.line, self.message = line, message


class Locator:
    """Maps a place such as `steps[2].cues[1]` to the line that defines it, and bounds the file.

    A single left-to-right pass: every regular expression here matches without backtracking,
    multi-line strings are skipped with str.find, so the time is linear in the text's length.
    Text that is not valid TOML is scanned as well as it can be; tomllib reports the error.
    """

    def __init__(self, text: str):
        self._lines: dict[str, int] = {}
        self._text = text
        self._pos = 0
        self._line = 1
        self._keys = 0
        self._counters: dict[str, int] = {}
        self._table = ""
        self._scan()

    # -- the public part

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

    # -- scanning

    def _record(self, place: str, line: int) -> None:
        if place:
            self._lines.setdefault(place, line)

    def _count_key(self, parts: int) -> None:
        self._keys += 1
        if self._keys > limits.MAX_KEYS:
            raise _Bounds(self._line, f"more than {limits.MAX_KEYS} keys; a file this large is not a settings "
                                      "file, split it")
        if parts > limits.MAX_KEY_PARTS:
            raise _Bounds(self._line, f"a key with more than {limits.MAX_KEY_PARTS} dotted parts; "
                                      "write shorter keys")

    def _skip_space(self) -> None:
        self._pos = _SPACE.match(self._text, self._pos).end()

    def _scan(self) -> None:
        text = self._text
        while self._pos < len(text):
            self._skip_space()
            if self._pos >= len(text):
                break
            ch = text[self._pos]
            if ch == "\n":
                self._newline()
            elif ch == "#":
                self._comment()
            elif ch == "[":
                self._header()
            else:
                self._statement()

    def _newline(self) -> None:
        self._pos += 1
        self._line += 1

    def _comment(self) -> None:
        end = self._text.find("\n", self._pos)
        self._pos = len(self._text) if end == -1 else end

    def _rest_of_line(self) -> None:
        """Skip to the end of the line (after an error the scanner cannot follow)."""
        self._comment()

    def _key(self) -> list[str] | None:
        """A possibly dotted key at the current position; None if there is none."""
        parts: list[str] = []
        while True:
            self._skip_space()
            part = self._key_part()
            if part is None:
                return parts or None
            parts.append(part)
            if len(parts) > limits.MAX_KEY_PARTS:
                raise _Bounds(self._line, f"a key with more than {limits.MAX_KEY_PARTS} dotted parts; "
                                          "write shorter keys")
            self._skip_space()
            if self._text.startswith(".", self._pos):
                self._pos += 1
                continue
            return parts

    def _key_part(self) -> str | None:
        text, pos = self._text, self._pos
        for pattern in (_BARE, _BASIC, _LITERAL):
            m = pattern.match(text, pos)
            if m:
                self._pos = m.end()
                token = m.group()
                if token[0] == '"':
                    return re.sub(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", _unescape, token[1:-1])
                return token[1:-1] if token[0] == "'" else token
        return None

    def _header(self) -> None:
        line = self._line
        double = self._text.startswith("[[", self._pos)
        self._pos += 2 if double else 1
        names = self._key()
        self._skip_space()
        closing = "]]" if double else "]"
        if names is None or not self._text.startswith(closing, self._pos):
            self._rest_of_line()
            return
        self._pos += len(closing)
        self._count_key(len(names))
        if double:
            plain = ".".join(names)
            self._counters[plain] = self._counters.get(plain, 0) + 1
        self._table = self._resolve(names)
        self._record(self._table, line)
        if double:  # `step` alone (an unknown [[step]]) is located at its first header too
            self._record(re.sub(r"\[\d+\]$", "", self._table), line)

    def _resolve(self, names: list[str]) -> str:
        # `[steps.breathe]` after the third `[[steps]]` means steps[2].breathe
        path = plain = ""
        for name in names:
            plain = f"{plain}.{name}" if plain else name
            path = f"{path}.{name}" if path else name
            if plain in self._counters:
                path = f"{path}[{self._counters[plain] - 1}]"
        return path

    def _statement(self) -> None:
        line = self._line
        names = self._key()
        self._skip_space()
        if names is None or not self._text.startswith("=", self._pos):
            self._rest_of_line()
            return
        self._pos += 1
        self._count_key(len(names))
        place = ".".join([self._table, *names]) if self._table else ".".join(names)
        self._record(place, line)
        self._value(place, depth=0)

    def _value(self, place: str, depth: int) -> None:
        """Skip one value, recording the lines of array elements and inline-table keys."""
        self._skip_space()
        text = self._text
        if self._pos >= len(text):
            return
        ch = text[self._pos]
        if ch == "[":
            self._array(place, depth + 1)
        elif ch == "{":
            self._inline_table(place, depth + 1)
        elif ch in "\"'":
            self._string()
        else:
            m = _SCALAR.match(text, self._pos)
            if m:
                self._pos = m.end()
                # a date-time may continue after one space: 1979-05-27 07:32:00
                if text.startswith(" ", self._pos) and re.match(r" \d\d:", text[self._pos:self._pos + 4]):
                    self._pos = _SCALAR.match(text, self._pos + 1).end()
            else:
                self._pos += 1

    def _check_depth(self, depth: int) -> None:
        if depth > limits.MAX_NESTING:
            raise _Bounds(self._line, f"arrays or tables nested more than {limits.MAX_NESTING} deep; "
                                      "flatten the structure")

    def _array(self, place: str, depth: int) -> None:
        self._check_depth(depth)
        self._pos += 1
        index = 0
        text = self._text
        while self._pos < len(text):
            self._skip_space()
            if self._pos >= len(text):
                return
            ch = text[self._pos]
            if ch == "\n":
                self._newline()
            elif ch == "#":
                self._comment()
            elif ch == ",":
                self._pos += 1
            elif ch == "]":
                self._pos += 1
                return
            elif ch in "}=":  # not valid here; let tomllib say so
                self._pos += 1
            else:
                element = f"{place}[{index}]"
                self._record(element, self._line)
                index += 1
                self._value(element, depth)

    def _inline_table(self, place: str, depth: int) -> None:
        self._check_depth(depth)
        self._pos += 1
        text = self._text
        while self._pos < len(text):
            self._skip_space()
            if self._pos >= len(text):
                return
            ch = text[self._pos]
            if ch == "}":
                self._pos += 1
                return
            if ch == "\n":  # invalid in TOML 1.0, tolerated by the scan
                self._newline()
                continue
            if ch == ",":
                self._pos += 1
                continue
            line = self._line
            names = self._key()
            self._skip_space()
            if names is None or not text.startswith("=", self._pos):
                self._pos += 1 if names is None else 0
                if names is not None:
                    return
                continue
            self._pos += 1
            self._count_key(len(names))
            key_place = ".".join([place, *names])
            self._record(key_place, line)
            self._value(key_place, depth)

    def _string(self) -> None:
        text, pos = self._text, self._pos
        for quote in ('"""', "'''"):
            if text.startswith(quote, pos):
                self._multiline(quote)
                return
        m = (_BASIC if text[pos] == '"' else _LITERAL).match(text, pos)
        if m:
            self._pos = m.end()
        else:  # unterminated: tomllib reports it
            self._rest_of_line()

    def _multiline(self, quote: str) -> None:
        text = self._text
        start = self._pos + 3
        search = start
        while True:
            end = text.find(quote, search)
            if end == -1:
                end = len(text)
                break
            if quote == '"""':
                backslashes = len(text[max(start, end - 64):end]) - len(text[max(start, end - 64):end].rstrip("\\"))
                if backslashes % 2:
                    search = end + 1
                    continue
            end += 3
            extra = 0
            while extra < 2 and text.startswith(quote[0], end):  # """" ends with a quote inside
                end += 1
                extra += 1
            break
        self._line += text.count("\n", self._pos, end)
        self._pos = end


def _unescape(m: re.Match) -> str:
    code = m.group(1)
    if code[0] in "uU":
        try:
            return chr(int(code[1:], 16))
        except ValueError:
            return ""
    return _ESCAPES.get(code, code)


@dataclass
class Source:
    """A TOML file read and parsed: its shown name, data and line locator."""

    name: str
    path: Path | None
    data: dict[str, Any]
    locator: Locator


def toml_kind(kind: str) -> FileKind:
    return FileKind(kind, "give the path of a .toml file", too_big=f"a {kind} file holds text settings only")


def read_toml(path: Path | str, kind: str, error: type[InputError], shown: str | None = None) -> Source:
    """Read and parse a TOML file. `kind` names it for messages ("routine", "playlist")."""
    path = Path(path)
    name = shown or str(path)
    raw = read_regular(path, limits.MAX_FILE_BYTES, name, toml_kind(kind), error)
    return parse_toml_bytes(raw, name, kind, error, path)


def parse_toml_bytes(raw: bytes | str, name: str, kind: str, error: type[InputError],
                     path: Path | None = None) -> Source:
    if isinstance(raw, str):  # text from tests and the fuzzer; lone surrogates become invalid UTF-8
        raw = raw.encode("utf-8", "surrogatepass")
    if len(raw) > limits.MAX_FILE_BYTES:
        raise error(Problem(name, f"{kind} file is larger than 1 MB; a {kind} file holds text settings only"))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(Problem(name, f"invalid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8", line=line)) from None
    try:
        locator = Locator(text)
    except _Bounds as exc:
        raise error(Problem(name, exc.message, line=exc.line)) from None
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
    except RecursionError:  # the bounds above make this unreachable; kept so no traceback can escape
        raise error(Problem(name, "nested too deeply to read; flatten the structure")) from None
    return Source(name, path, data, locator)


@dataclass
class Checker:
    """Collects problems while a loader walks a parsed file."""

    source: Source
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def where(self, place: str) -> Problem:
        """A located problem with no message yet: file, line and place, for errors raised later."""
        return Problem(self.source.name, "", place, self.source.locator.line(place))

    def problem(self, place: str, message: str) -> None:
        self.problems.append(Problem(self.source.name, message, place, self.source.locator.line(place)))

    def warn(self, place: str, message: str) -> None:
        self.warnings.append(Problem(self.source.name, message, place, self.source.locator.line(place)))

    def raise_if_any(self, error: type[InputError]) -> None:
        if self.problems:
            # Report in file order; problems without a line (a missing key) come first.
            raise error(sorted(self.problems, key=lambda p: p.line or 0))

    def keys(self, table: dict[str, Any], place: str, allowed: tuple[str, ...]) -> None:
        """Unknown keys are errors, with a did-you-mean suggestion."""
        for key in table:
            if key not in allowed:
                where = f"{place}.{key}" if place else key
                listing = lambda keys: "allowed keys: " + ", ".join(keys)  # noqa: E731
                self.problem(where, "unknown key; " + hint(key, allowed, listing))

    def text(self, table: dict[str, Any], key: str, place: str, *, required: bool = False,
             max_chars: int = 200) -> str | None:
        where = f"{place}.{key}" if place else key
        if key not in table:
            if required:
                self.problem(place or key, f'missing "{key}"; add {key} = "..."')
            return None
        return self.text_value(table[key], where, max_chars=max_chars)

    def text_value(self, value: Any, where: str, *, max_chars: int = 200) -> str | None:
        """Text with whitespace normalised; control and invisible characters, empty and huge texts are errors."""
        if not isinstance(value, str):
            self.problem(where, f"expected text in quotes, got {show_value(value)}")
            return None
        problem = text_problem(value)
        if problem:
            self.problem(where, problem)
            return None
        cleaned = normalise(value)
        if not cleaned:
            name = re.sub(r"\[\d+\]$", "", where.rsplit(".", 1)[-1])
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
        problem = limits.duration_problem(ms, min_ms=min_ms, max_ms=max_ms, what=what)
        if problem:
            self.problem(where, problem)
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

    def choice(self, table: dict[str, Any], key: str, place: str, allowed: tuple[str, ...]) -> str | None:
        value = self.text(table, key, place)
        if value is not None and value not in allowed:
            self.problem(f"{place}.{key}" if place else key, f'unknown {key} "{value}"; '
                         + hint(value, allowed, lambda known: "use " + " or ".join(known)))
            return None
        return value

