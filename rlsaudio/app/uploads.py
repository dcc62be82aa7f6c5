"""Routine files uploaded from the person's computer, checked like any routine file.

An upload is kept in a private folder of the app's own (mode 0700, removed when the app stops)
under a name the app chooses; the request's file name is only shown, never used as a path.
It must be a routine ([[steps]]) or a composition (compose = [...]): those name no other file.
A playlist, voice profile or points file, or any key that names a file the server would then
read (a cover, a soundscape, a voice or points file), is refused before anything reads it.
The checks are `rlsaudio validate`'s, and a bad file gets the lines `validate` prints, with the
uploaded file's name where validate would print the path.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from ..base import limits
from ..base.errors import InputError, Problem
from ..base.text import printable

# Keys that name a file to read: valid in playlists and voice profiles, never in an upload.
FILE_KEYS = ("cover", "soundscape", "voice", "points_file", "points", "routine", "tracks", "engine")
KIND_WORDS = {"tracks": "a playlist", "engine": "a voice profile", "points": "a points file"}


@dataclass(frozen=True)
class Upload:
    id: str
    name: str  # as the person's file was called (shown only)
    path: Path  # the app's own copy
    title: str
    kind: str  # "routine" or "composition"
    warnings: tuple[str, ...] = ()

    def as_json(self) -> dict:
        return {"id": self.id, "name": self.name, "title": self.title, "kind": self.kind,
                "warnings": list(self.warnings)}


def shown_name(raw: str | None) -> str:
    """The uploaded file's name as messages show it: its last part, printable, short, a .toml name."""
    name = re.split(r"[\\/]", raw or "")[-1].strip()
    name = printable(name)[:80] or "routine.toml"
    return name


class Uploads:
    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="rlsaudio-app-uploads-"))
        os.chmod(self.root, 0o700)
        self.items: OrderedDict[str, Upload] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, upload_id: str) -> Upload | None:
        with self.lock:
            return self.items.get(upload_id)

    def add(self, data: bytes, raw_name: str | None) -> Upload:
        """Check an uploaded routine file and keep it; InputError with validate's lines otherwise."""
        from ..base.tomlfile import parse_toml_bytes
        from ..plan import TrackRequest, plan_track

        name = shown_name(raw_name)
        if len(data) > limits.MAX_UPLOAD_BYTES:
            raise InputError(Problem(name, "routine file is larger than 1 MB; a routine file holds text settings "
                                           "only"))
        source = parse_toml_bytes(data, name, "TOML", InputError)  # as validate reads any file
        top = source.data
        if "steps" not in top and "compose" not in top:
            for key, kind in KIND_WORDS.items():
                if key in top:
                    raise InputError(Problem(name, f"this is {kind}; the app takes routine files ([[steps]]) and "
                                                   "compositions (compose = [...]) only"))
        named = [key for key in FILE_KEYS if key in top]
        if named:
            raise InputError(Problem(name, f"{named[0]}: a file uploaded to the app cannot name another file; "
                                           "remove the key"))
        upload_id = secrets.token_hex(8)
        folder = self.root / upload_id
        folder.mkdir(mode=0o700)
        path = folder / "routine.toml"
        path.write_bytes(data)
        try:
            # validate's check of a routine or composition (validate.check_file: the app comes before it)
            warnings = plan_track(TrackRequest(str(path)), need_voice=False).warnings
        except InputError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise InputError([_renamed(p, str(path), name) for p in exc.problems]) from None
        kind = "composition" if "compose" in top else "routine"
        title = top["title"] if isinstance(top.get("title"), str) and top["title"].strip() else name
        upload = Upload(upload_id, name, path, title, kind, tuple(str(_renamed(w, str(path), name)) for w in warnings))
        with self.lock:
            self.items[upload_id] = upload
            while len(self.items) > limits.MAX_UPLOADS:
                _, old = self.items.popitem(last=False)
                shutil.rmtree(old.path.parent, ignore_errors=True)
        return upload

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _renamed(problem: Problem, path: str, name: str) -> Problem:
    """A problem as validate would print it for the person's file: its name, not the app's copy."""
    return Problem(problem.file.replace(path, name), problem.message.replace(path, name), problem.place,
                   problem.line)
