"""Output names and folders: safe file names from titles, the files of one track, the folder.

Names come from titles a user wrote, so they are made safe: no separators, no `..`, no
control or invisible characters, no hidden or reserved names, at most 150 bytes; a track
always lands inside its folder. Two tracks whose names would be the same file (the same
title twice, or one title spelled in two Unicode forms, or differing only in case on a
case-insensitive disk) are refused before anything is rendered.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..base import limits
from ..base.errors import OutputError
from ..base.text import bad_character

_UNSAFE = re.compile(r'(?:\s*[\x00-\x1f\x7f/\\:*?"<>|]+\s*)+')
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}

# The files published beside a track, by role: (suffix after the stem, description).
SIDECARS = {
    "lrc": ".lrc",  # synced lyrics: one timed line per sentence
    "transcript": ".vtt",  # WebVTT captions: every sentence (podcast:transcript)
    "chapters_vtt": ".chapters.vtt",  # WebVTT chapters
    "chapters_json": ".chapters.json",  # Podcasting 2.0 chapters
    "page": ".html",  # the listen-along page
}


def safe_name(title: str, fallback: str = "untitled") -> str:
    """A file name (no extension) from a title: no separators, no `..`, no hidden or reserved names."""
    name = unicodedata.normalize("NFC", title)
    name = "".join(" " if bad_character(ch) else ch for ch in name)
    name = _UNSAFE.sub(" - ", name)
    name = " ".join(name.split()).strip(" .-")
    name = re.sub(r"\.{2,}", ".", name)
    while len(name.encode("utf-8")) > limits.MAX_NAME_BYTES:
        name = name[:-1].rstrip(" .-")
    if not name:
        name = fallback
    if name.lower().split(".")[0] in _RESERVED:
        name = f"{name}_"
    return name


def same_file_key(name: str) -> str:
    """Names that would be one file on some disk (Unicode forms, case) share this key."""
    return unicodedata.normalize("NFC", name).casefold()


@dataclass(frozen=True)
class TrackFiles:
    """Where one track's files go: the audio and each sidecar, all in one folder."""

    folder: Path
    stem: str
    suffix: str

    @property
    def audio(self) -> Path:
        return self.folder / (self.stem + self.suffix)

    def sidecar(self, role: str) -> Path:
        return self.folder / (self.stem + SIDECARS[role])


def check_output_dir(path: Path) -> None:
    """Fail early, before minutes of work, if the output folder could not be made or written;
    create nothing yet (a build that fails later must not leave an empty folder tree)."""
    probe = path
    while not probe.exists():
        if probe.is_symlink() or probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        if probe == path:
            raise OutputError(f"{path}: exists and is not a folder; choose another -o")
        raise OutputError(f"{path}: cannot create the output folder ({probe} is a file, not a folder); "
                          "choose another -o")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        what = "the output folder" if probe == path else f"{probe}, where the output folder would be made,"
        raise OutputError(f"{path}: {what} is not writable; choose another with -o")


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
