"""Output files: safe names inside the output folder, and atomic replacement.

A track is written under a temporary name in the destination folder and renamed into place
only when it is complete and tagged, so an interrupted or failed build never leaves a half
file and never replaces a good one.
"""

from __future__ import annotations

import os
import re
import unicodedata
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import OutputError

_UNSAFE = re.compile(r'(?:\s*[\x00-\x1f\x7f/\\:*?"<>|]+\s*)+')
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
MAX_NAME_BYTES = 150
TEMP_PREFIX = ".rlsaudio-part-"


def safe_name(title: str, fallback: str = "untitled") -> str:
    """A file name (no extension) from a title: no separators, no `..`, no hidden or reserved names."""
    name = unicodedata.normalize("NFC", title)
    name = _UNSAFE.sub(" - ", name)
    name = " ".join(name.split()).strip(" .-")
    name = re.sub(r"\.{2,}", ".", name)
    while len(name.encode("utf-8")) > MAX_NAME_BYTES:
        name = name[:-1].rstrip(" .-")
    if not name:
        name = fallback
    if name.lower().split(".")[0] in _RESERVED:
        name = f"{name}_"
    return name


def output_dir(path: Path) -> Path:
    """Create the output folder if needed and make sure it can be written."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{path}: exists and is not a folder; choose another -o") from None
    except OSError as exc:
        raise OutputError(f"{path}: cannot create the output folder ({exc.strerror or exc}); choose another -o") from None
    if not path.is_dir():
        raise OutputError(f"{path}: exists and is not a folder; choose another -o")
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: the output folder is not writable; choose another with -o")
    return path


def inside(folder: Path, name: str) -> Path:
    path = folder / name
    if path.resolve().parent != folder.resolve():
        raise OutputError(f"{name!r} would be written outside {folder}; this is a bug, please report it")
    return path


@contextmanager
def staged(final: Path, suffix: str) -> Iterator[Path]:
    """A temporary path beside `final`; removed if the block fails or is interrupted."""
    temp = final.parent / f"{TEMP_PREFIX}{os.getpid()}-{final.stem[:40]}{suffix}"
    try:
        yield temp
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def commit(temp: Path, final: Path) -> None:
    try:
        os.replace(temp, final)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise OutputError(f"{final}: could not move the finished file into place ({exc.strerror or exc})") from None
