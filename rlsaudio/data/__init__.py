"""Package data: the knowledge rlsaudio reads, as files, and the one way to read it.

formats.toml, modes.toml, tagfields.toml, pronunciations.toml, narration.toml (the narrator's
stock words), points.toml (the point library), routines/ (the bundled routines), figures/ (the
body drawings the page and the point library share) and cover.png. Code reads a table here;
nothing restates its values.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any


def data_file(*parts: str) -> Traversable:
    """A file or folder of the package data, e.g. files("routines")."""
    path = resources.files(__name__)
    for part in parts:
        path = path / part
    return path


@cache
def data_table(name: str) -> dict[str, Any]:
    """A TOML table of the package data, parsed once per process (treat it as read-only)."""
    return tomllib.loads(data_file(name).read_text(encoding="utf-8"))
