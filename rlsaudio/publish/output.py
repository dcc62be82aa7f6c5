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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

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


def _exists(path: Path, shown: Path) -> bool:
    """Whether `path` exists; a folder on the way that cannot be entered is the same clear error
    as a folder that cannot be written (never a PermissionError from deep inside)."""
    try:
        os.stat(path)
        return True
    except FileNotFoundError:
        return False
    except NotADirectoryError:
        return False
    except PermissionError:
        raise OutputError(f"{shown}: the output folder is not writable ({path.parent} cannot be entered: permission "
                          "denied); choose another with -o") from None
    except OSError as exc:
        raise OutputError(f"{shown}: cannot use the output folder ({exc.strerror or exc}); choose another with -o") \
            from None


def check_output_dir(path: Path) -> None:
    """Fail early, before minutes of work, if the output folder could not be made or written;
    create nothing yet (a build that fails later must not leave an empty folder tree)."""
    probe = path
    while not _exists(probe, path):
        if probe.is_symlink() or probe.parent == probe:
            break
        probe = probe.parent
    if _exists(probe, path) and not probe.is_dir():
        if probe == path:
            raise OutputError(f"{path}: exists and is not a folder; choose another -o")
        raise OutputError(f"{path}: cannot create the output folder ({probe} is a file, not a folder); "
                          "choose another -o")
    if _exists(probe, path) and not os.access(probe, os.W_OK | os.X_OK):
        what = "the output folder" if probe == path else f"{probe}, where the output folder would be made,"
        raise OutputError(f"{path}: {what} is not writable; choose another with -o")


def output_dir(path: Path) -> Path:
    """Create the output folder if needed and make sure it can be written."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{path}: exists and is not a folder; choose another -o") from None
    except PermissionError:
        raise OutputError(f"{path}: the output folder is not writable (permission denied); choose another with -o") \
            from None
    except OSError as exc:
        raise OutputError(f"{path}: cannot create the output folder ({exc.strerror or exc}); choose another -o") from None
    if not path.is_dir():
        raise OutputError(f"{path}: exists and is not a folder; choose another -o")
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: the output folder is not writable; choose another with -o")
    return path


@contextmanager
def tidy_folders(path: Path) -> Iterator[None]:
    """Around a build or a playlist: the folders of `path` that do not exist yet and that the
    block creates are removed again at its end if they are empty (the build failed, or was
    stopped by a signal, before writing a track), deepest first; never a folder that was there
    before or that holds anything (the output folder's hidden lock file aside)."""
    missing: list[Path] = []
    probe = Path(os.path.abspath(path))
    while True:
        try:
            os.lstat(probe)
            break
        except FileNotFoundError:
            missing.append(probe)
        except OSError:
            break
        if probe.parent == probe:
            break
        probe = probe.parent
    try:
        yield
    finally:
        for folder in missing:  # deepest first
            if not _remove_if_empty(folder):
                break


def _remove_if_empty(folder: Path) -> bool:
    """rmdir, after the commit lock file if that is all the folder holds; False if it stays."""
    from ..base.safeio import COMMIT_LOCK, remove_lock_file

    try:
        entries = os.listdir(folder)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    if entries == [COMMIT_LOCK] and not remove_lock_file(folder):
        return False
    try:
        os.rmdir(folder)
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False
