"""The one resolver for "a bundled name or a path": routines, voice profiles.

`acupressure` names a file shipped inside the package; anything else is a path. A file in the
working directory with a bundled name wins, so a user can always override a bundled one.
"""

from __future__ import annotations

from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Callable

from .errors import InputError, Problem
from .tomlfile import Source, parse_toml_bytes, read_toml


def names(folder: Traversable) -> list[str]:
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml") and not p.name.startswith("_"))


def read_bundled(folder: Traversable, name: str, kind: str, error: type[InputError]) -> Source:
    resource = folder / f"{name}.toml"
    return parse_toml_bytes(resource.read_bytes(), f"{name}.toml", kind, error)


def resolve(ref: str, folder: Traversable, kind: str, error: type[InputError],
            unknown: Callable[[str], str]) -> tuple[Source, str]:
    """(parsed source, default name) for a bundled name or a path; `unknown(ref)` words the miss."""
    path = Path(ref)
    if ref in names(folder) and not path.is_file():
        return read_bundled(folder, ref, kind, error), ref
    if not ref.endswith(".toml") and "/" not in ref and not path.exists() and not path.is_symlink():
        raise error(Problem(ref, unknown(ref)))
    return read_toml(path, kind, error, ref), path.stem
