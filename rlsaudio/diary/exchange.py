"""The diary as a file to keep, to read in a spreadsheet or to move: CSV or JSON, by the file's suffix.

JSON is the list `rlsaudio diary show --json` prints: one object per night with exactly the
fields of FIELDS. CSV has one column per field, in the same order, with one row per night;
a cell with several tracks or factors holds one per line (a title never holds a line break).
A text cell that a spreadsheet would run as a formula (it starts with = + - @) gets a leading
apostrophe, as spreadsheets themselves do, and loses it again on import.

Reading turns a file into raw nights (dicts of JSON fields) with the place of each, for
`validate_fields` to check: nothing here decides what a value may be.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..base.errors import Problem
from ..base.safeio import write_atomic
from .entry import FIELDS, Entry
from .errors import DiaryError, DiaryStorageError

FORMATS = (".csv", ".json")
_FORMULA = ("=", "+", "-", "@", "\t", "\r", "'")
_LISTS = ("tracks", "factors")


def format_of(path: Path) -> str:
    """".csv" or ".json", or a DiaryError that says which suffixes work."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise DiaryError(Problem(str(path), f"cannot tell the format from the name ({suffix or 'no suffix'}); "
                                            "give a file name ending in .csv or .json"))
    return suffix


def save(path: Path, data: bytes, force: bool) -> None:
    """Write an export or a report: whole or not at all, and over an existing file only with `force`."""
    shown = str(path)
    if path.is_dir():
        raise DiaryError(Problem(shown, "is a folder; give a file name"))
    if os.path.lexists(path) and not force:
        raise DiaryError(Problem(shown, "already exists; give --force to replace it, or choose another name"))
    if not path.parent.is_dir():
        raise DiaryError(Problem(shown, f"the folder {path.parent} does not exist; make it first"))
    try:
        write_atomic(path, data, replace=force, mode=0o600)  # private: health data; never over a new file unforced
    except OSError as exc:
        raise DiaryStorageError(f"{shown}: could not write: {exc.strerror or exc}; check the disk and the "
                                "folder") from None


def dump(entries: list[Entry], suffix: str) -> bytes:
    return _dump_csv(entries) if suffix == ".csv" else dump_json(entries).encode("utf-8")


def dump_json(entries: list[Entry]) -> str:
    return json.dumps([e.as_json() for e in entries], ensure_ascii=False, indent=2) + "\n"


def _dump_csv(entries: list[Entry]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for entry in entries:
        row = []
        for field in FIELDS:
            value = getattr(entry, field)
            if field in _LISTS:
                value = "\n".join(value)
            row.append("" if value is None else _guard(value) if isinstance(value, str) else str(value))
        writer.writerow(row)
    # With a byte-order mark, spreadsheets read the file as UTF-8 and show accents right.
    return out.getvalue().encode("utf-8-sig")


def _guard(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA) else text


def _unguard(text: str) -> str:
    return text[1:] if len(text) > 1 and text[0] == "'" and text[1] in _FORMULA else text


@dataclass(frozen=True)
class RawNight:
    """One night as the file gives it: its place in the file and its fields, not yet checked."""

    place: str  # "line 4" or "[3]"
    line: int | None
    values: dict


def load(data: bytes, suffix: str, shown: str) -> list[RawNight]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DiaryError(Problem(shown, f"is not UTF-8 text (byte {exc.start}); "
                                        "export it again as UTF-8 CSV or JSON")) from None
    return _load_csv(text, shown) if suffix == ".csv" else _load_json(text, shown)


def _load_json(text: str, shown: str) -> list[RawNight]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DiaryError(Problem(shown, f"is not valid JSON: {exc.msg}", line=exc.lineno)) from None
    if not isinstance(data, list):
        raise DiaryError(Problem(shown, "must hold a list of nights ([{\"date\": ...}, ...]), "
                                        "as rlsaudio diary export writes"))
    return [RawNight(f"[{i}]", None, item) for i, item in enumerate(data)]


def _load_csv(text: str, shown: str) -> list[RawNight]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise DiaryError(Problem(shown, "is empty; a diary CSV starts with the line " + ",".join(FIELDS)))
        header = [h.strip().lower() for h in header]
        unknown = [h for h in header if h not in FIELDS]
        if unknown or "date" not in header or len(set(header)) != len(header):
            raise DiaryError(Problem(shown, "the first line must name the columns, from: " + ",".join(FIELDS),
                                     line=1))
        nights = []
        while True:
            line = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                break
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise DiaryError(Problem(shown, f"has {len(row)} cells, the header {len(header)}", line=line))
            values = {}
            for name, cell in zip(header, row):
                if name in _LISTS:
                    values[name] = [item for item in _unguard(cell).split("\n") if item.strip()]
                elif cell.strip():
                    values[name] = _unguard(cell)
            nights.append(RawNight(f"line {line}", line, values))
        return nights
    except csv.Error as exc:
        raise DiaryError(Problem(shown, f"is not valid CSV: {exc}", line=reader.line_num)) from None
