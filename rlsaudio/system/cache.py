"""The speech cache: content-addressed clips and mix measurements, shared safely between builds.

A clip's key hashes everything that changes its sound (engine, engine version, voice
settings, rate, text, and the clip pipeline's own version). Entries are written under a
random temporary name and renamed into place, so a reader sees a whole entry or none, two
builds at once can share the folder, and a symlink at an entry's name is replaced, never
written through. Every entry carries a checksum, and a mix measurement a sanity check too:
a corrupt, truncated or implausible entry is removed and made again, never used.

The same folder keeps the measured loudness of finished mixes, so a rebuild whose audio
has not changed neither re-measures nor imports the loudness meter.

A problem with one entry (a folder where a file should be, a damaged file) affects that
entry only; the cache is given up for the build only when the folder itself cannot be
written (a full disk, no permission), and the build carries on with clips in memory.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..base import limits
from ..base.safeio import stale_temp_file, write_atomic

MAGIC = b"RLSCLIP1"
CLIP_PIPELINE_VERSION = 12  # bump when trimming, leveling, fading or what reaches the engine changes
MIX_FIELDS = ("integrated", "true_peak", "max_short_term")
# Errors that mean the cache folder as a whole cannot be written.
_WHOLE_CACHE = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS}


def default_cache_dir() -> Path:
    if os.environ.get("RLSAUDIO_CACHE"):
        return Path(os.environ["RLSAUDIO_CACHE"]).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "rlsaudio"
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA", Path.home())) / "rlsaudio" / "cache"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG Base Directory spec: a relative path is invalid and must be ignored (it would
    # put the cache wherever the command happens to run).
    return Path(xdg if os.path.isabs(xdg) else Path.home() / ".cache") / "rlsaudio"


def content_key(*parts: Any) -> str:
    raw = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class Clip:
    samples: np.ndarray  # int16, trimmed, leveled, faded
    level: float  # the engine's original level, for information


_tidied: set[str] = set()  # cache folders this process has already cleaned


class Cache:
    """Clips and mix measurements under one folder. Unwritable folders degrade to memory.

    The first Cache of a folder in a process removes the temporary files that writers killed
    outright left there (`tidy=False` for the speech pool's workers: the build's own process
    has done it)."""

    def __init__(self, root: Path | None = None, tidy: bool = True):
        self.root = root or default_cache_dir()
        self.writable = True
        self.warning = ""
        self._memory: dict[str, bytes] = {}
        try:
            for sub in ("clips", "mixes"):
                _real_dir(self.root / sub)
            probe = tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-", delete=True)
            probe.close()
        except OSError as exc:
            self._give_up(exc)
        if tidy and self.writable and str(self.root) not in _tidied:
            _tidied.add(str(self.root))
            remove_stale_temps(self.root)

    def _give_up(self, exc: OSError) -> None:
        """Carry on with clips in memory for this build; the caller shows the warning."""
        self.writable = False
        self.warning = (f"warning: cannot write the speech cache at {self.root} ({exc.strerror or exc}); "
                        "carrying on without it (set RLSAUDIO_CACHE to a writable folder)")

    def _write(self, path: Path, data: bytes, keep_existing: bool = False) -> bool:
        """Write one entry; False if it could not be kept (the cache stays on unless the folder failed).
        With `keep_existing`, an entry another process wrote meanwhile is kept, not replaced."""
        try:
            _real_dir(path.parent)
            _clear_non_file(path)
            write_atomic(path, data, replace=not keep_existing)
            return True
        except OSError as exc:
            if exc.errno in _WHOLE_CACHE:
                self._give_up(exc)
            return False

    # -- clips

    def _clip_path(self, key: str) -> Path:
        return self.root / "clips" / key[:2] / f"{key}.clip"

    def get_clip(self, key: str) -> Clip | None:
        raw = self._memory.get(key)
        if raw is None and self.writable:
            raw = _read_entry(self._clip_path(key), limits.MAX_CLIP_BYTES)
        if raw is None:
            return None
        clip = decode_clip(raw)
        if clip is None:  # corrupt or truncated: forget it; the caller synthesises again
            self._memory.pop(key, None)
            if self.writable:
                _remove(self._clip_path(key))
        return clip

    def put_clip(self, key: str, clip: Clip) -> Clip:
        """Keep a clip; returns the clip every build will use for this key.

        The first clip written for a key wins: espeak's output depends a little on what the
        process spoke before, so two builds synthesising one phrase at once can get clips a few
        samples apart. Whoever comes second adopts the first, so every timeline made from the
        cache (plan, build, another playlist worker) uses the same clip, to the sample."""
        raw = encode_clip(clip)
        if self.writable:
            existing = self.get_clip(key)
            if existing is not None:
                return existing
            if self._write(self._clip_path(key), raw, keep_existing=True):
                return self.get_clip(key) or clip
        return decode_clip(self._memory.setdefault(key, raw)) or clip

    # -- mix measurements

    def _mix_path(self, key: str) -> Path:
        return self.root / "mixes" / f"{key}.json"

    def get_mix(self, key: str) -> dict[str, float] | None:
        if not self.writable:
            return None
        raw = _read_entry(self._mix_path(key), 4096)
        if raw is None:
            return None
        values = _decode_mix(raw, key)
        if values is None:  # damaged or implausible: measure again
            _remove(self._mix_path(key))
        return values

    def put_mix(self, key: str, values: dict[str, float]) -> None:
        if self.writable and _plausible(values):
            self._write(self._mix_path(key), _encode_mix(values, key))


def remove_stale_temps(root: Path) -> int:
    """Remove the temporary files of entries whose writer died (see safeio.stale_temp_file), in
    the cache folder and its entry folders; never a file being written now. Returns how many."""
    removed = 0
    folders = [root, root / "mixes", root / "clips"]
    try:
        with os.scandir(root / "clips") as it:
            folders += [Path(e.path) for e in it if e.is_dir(follow_symlinks=False)]
    except OSError:
        pass
    for folder in folders:
        try:
            with os.scandir(folder) as it:
                stale = [e.path for e in it if (e.name.startswith(".probe-") and _old(e)) or stale_temp_file(e)]
        except OSError:
            continue
        for path in stale:
            try:
                os.unlink(path)
                removed += 1
            except OSError:
                pass
    return removed


def _old(entry: os.DirEntry) -> bool:
    """A write probe left by a process killed within its microseconds of life: an hour is safe."""
    import time

    try:
        return entry.is_file(follow_symlinks=False) and time.time() - entry.stat(follow_symlinks=False).st_mtime > 3600
    except OSError:
        return False


def _real_dir(path: Path) -> None:
    """Create `path` as a real folder; a symlink or file in its place is an error (never written through)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        path.mkdir(parents=True, exist_ok=True)
        info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise OSError(errno.ENOTDIR, f"{path} is not a folder")


def _clear_non_file(path: Path) -> None:
    """A folder sitting where an entry belongs is removed, so the entry can be written."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)


def _read_entry(path: Path, limit: int) -> bytes | None:
    """An entry's bytes; None if it is missing, not a regular file, or too large."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read(limit + 1)
    except OSError:
        return None
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass


def encode_clip(clip: Clip) -> bytes:
    pcm = clip.samples.astype("<i2").tobytes()
    header = json.dumps({
        "samples": int(clip.samples.size), "level": clip.level,
        "sha256": hashlib.sha256(pcm).hexdigest(),
    }).encode()
    return MAGIC + len(header).to_bytes(4, "little") + header + pcm


def decode_clip(raw: bytes) -> Clip | None:
    try:
        if raw[:8] != MAGIC:
            return None
        size = int.from_bytes(raw[8:12], "little")
        header = json.loads(raw[12:12 + size])
        pcm = raw[12 + size:]
        if len(pcm) != 2 * header["samples"] or header["samples"] == 0:
            return None
        if hashlib.sha256(pcm).hexdigest() != header["sha256"]:
            return None
        return Clip(np.frombuffer(pcm, dtype="<i2").astype(np.int16), float(header["level"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _mix_digest(values: dict[str, float], key: str) -> str:
    body = json.dumps([key, [repr(float(values[f])) for f in MIX_FIELDS]])
    return hashlib.sha256(body.encode()).hexdigest()


def _encode_mix(values: dict[str, float], key: str) -> bytes:
    entry = {f: float(values[f]) for f in MIX_FIELDS}
    entry["sha256"] = _mix_digest(entry, key)
    return json.dumps(entry).encode()


def _decode_mix(raw: bytes, key: str) -> dict[str, float] | None:
    try:
        data = json.loads(raw)
        values = {f: data[f] for f in MIX_FIELDS}
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values.values()):
            return None
        values = {f: float(v) for f, v in values.items()}
        if data.get("sha256") != _mix_digest(values, key) or not _plausible(values):
            return None
        return values
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _plausible(values: dict[str, float]) -> bool:
    """A measurement a real mix could give: no NaN, loudness within BS.1770's gate, peaks above it."""
    integrated, peak, short = (values.get(f) for f in MIX_FIELDS)
    if any(not isinstance(v, float) or math.isnan(v) for v in (integrated, peak, short)):
        return False
    if integrated == -math.inf:  # a silent session
        return peak <= 0.0 or peak == -math.inf
    return (-70.0 <= integrated <= 6.0 and (short == -math.inf or -70.0 <= short <= 12.0)
            and math.isfinite(peak) and integrated - 12.0 <= peak <= 20.0)
