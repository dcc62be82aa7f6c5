"""Cover art: what kind of picture bytes are, the default cover, and a user's --cover checked.

A cover is embedded in every track, served by `serve` and published beside the feed, so it is
decoded in full before it is used (Pillow): a PNG or JPEG only, its format the one its first
bytes claim, at most limits.MAX_COVER_PIXELS (a header is read before any pixel, so one that
claims 2^31 x 2^31 pixels is refused without decoding), and a complete stream (a JPEG cut in
half, or a PNG signature followed by HTML, is refused). The same check keeps a foreign track's
embedded picture out of the feed.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from pathlib import Path

from ...base import limits
from ...base.errors import InputError, Problem, at_origin
from ...base.safeio import FileKind, read_regular
from ...data import data_file

_PNG = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the IEND chunk: nothing may follow it


def picture_type(data: bytes) -> str | None:
    """The type of an image by its first bytes: image/png, image/jpeg or None."""
    if data.startswith(_PNG):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


def picture_problem(data: bytes) -> tuple[str | None, str]:
    """(type, "") for a complete PNG or JPEG within the limits, else (None, why not, with the fix)."""
    mime = picture_type(data)
    if mime is None:
        return None, "not a PNG or JPEG image; give a .png or .jpg cover"
    if len(data) > limits.MAX_COVER_BYTES:
        return None, f"is larger than {limits.MAX_COVER_BYTES // 1_048_576} MB; use a smaller image"
    side = int(limits.MAX_COVER_PIXELS ** 0.5)
    fix = f"use an image of at most {side}x{side} pixels (600x600 is plenty)"
    from PIL import Image, UnidentifiedImageError

    name = "PNG" if mime == "image/png" else "JPEG"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning: the size is checked below
            with Image.open(io.BytesIO(data), formats=[name]) as image:
                width, height = image.size
                if width * height > limits.MAX_COVER_PIXELS:
                    return None, f"is {width}x{height} pixels, more than a cover may have; {fix}"
                image.load()  # every pixel: a cut or damaged stream fails here
    except Image.DecompressionBombError as exc:  # Pillow refuses far too many pixels before we see the size
        claimed = re.search(r"\((\d+) pixels\)", str(exc))
        many = f"{int(claimed.group(1)):,} pixels" if claimed else "more pixels than a cover may have"
        return None, f"claims {many}, more than a cover may have; {fix}"
    except (UnidentifiedImageError, SyntaxError):
        return None, f"starts like a {name} image but is not one; give a real .png or .jpg image"
    except (OSError, ValueError, EOFError, MemoryError, IndexError, TypeError, struct.error) as exc:
        detail = str(exc).split("\n")[0][:80] or type(exc).__name__
        return None, f"is a damaged or incomplete {name} image ({detail}); save it again or use another"
    if mime == "image/png" and not data.endswith(_PNG_END):
        return None, "has data after the end of its PNG image; save it again or use another"
    return mime, ""


def default_cover() -> tuple[bytes, str]:
    return data_file("cover.png").read_bytes(), "image/png"


COVER_KIND = FileKind("cover", "give a .png or .jpg image", too_big="use a smaller image (600x600 is plenty)")


def load_cover(path: Path, origin: Problem | None = None) -> tuple[bytes, str]:
    """A cover image (a complete PNG or JPEG, at most 5 MB and limits.MAX_COVER_PIXELS).
    `origin` names where it was asked for (a playlist line)."""
    shown = str(path)
    try:
        data = read_regular(path, limits.MAX_COVER_BYTES, shown, COVER_KIND, InputError)
        mime, problem = picture_problem(data)
        if mime:
            return data, mime
        raise InputError(Problem(shown, problem))
    except InputError as exc:
        raise InputError([at_origin(origin, p) for p in exc.problems]) from None
