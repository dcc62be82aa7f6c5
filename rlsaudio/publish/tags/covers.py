"""Cover art: what kind of picture bytes are, the default cover, and a user's --cover checked."""

from __future__ import annotations

from pathlib import Path

from ...base import limits
from ...base.errors import InputError, Problem, at_origin
from ...base.safeio import FileKind, read_regular
from ...data import data_file


def picture_type(data: bytes) -> str | None:
    """The type of an image by its first bytes: image/png, image/jpeg or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


def default_cover() -> tuple[bytes, str]:
    return data_file("cover.png").read_bytes(), "image/png"


COVER_KIND = FileKind("cover", "give a .png or .jpg image", too_big="use a smaller image (600x600 is plenty)")


def load_cover(path: Path, origin: Problem | None = None) -> tuple[bytes, str]:
    """A cover image (PNG or JPEG, at most 5 MB). `origin` names where it was asked for (a playlist line)."""
    shown = str(path)
    try:
        data = read_regular(path, limits.MAX_COVER_BYTES, shown, COVER_KIND, InputError)
        mime = picture_type(data)
        if mime:
            return data, mime
        raise InputError(Problem(shown, "not a PNG or JPEG image; give a .png or .jpg cover"))
    except InputError as exc:
        raise InputError([at_origin(origin, p) for p in exc.problems]) from None
