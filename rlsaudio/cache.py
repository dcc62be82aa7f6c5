"""The speech cache: content-addressed clips, shared safely between concurrent builds.

A clip's key hashes everything that changes its sound (engine, engine version, voice
settings, rate, text, and the clip pipeline's own version). Entries are written to a
temporary file and renamed into place, so a reader sees a whole entry or none, and two
builds at once can share the folder. Every entry carries a checksum of its samples: a
corrupt or truncated entry is detected on read, deleted and synthesised again.

The same folder keeps the measured loudness of finished mixes, so a rebuild whose audio
has not changed neither re-measures nor imports the loudness meter.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"RLSCLIP1"
CLIP_PIPELINE_VERSION = 10  # bump when trimming, leveling or fading changes


def default_cache_dir() -> Path:
    if os.environ.get("RLSAUDIO_CACHE"):
        return Path(os.environ["RLSAUDIO_CACHE"]).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "rlsaudio"
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA", Path.home())) / "rlsaudio" / "cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rlsaudio"


def content_key(*parts: Any) -> str:
    raw = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class Clip:
    samples: np.ndarray  # int16, trimmed, leveled, faded
    level: float  # the engine's original level, for information


class Cache:
    """Clips and mix measurements under one folder. Unwritable folders degrade to memory."""

    def __init__(self, root: Path | None = None):
        self.root = root or default_cache_dir()
        self.writable = True
        self.warning = ""
        self._memory: dict[str, bytes] = {}
        try:
            (self.root / "clips").mkdir(parents=True, exist_ok=True)
            (self.root / "mixes").mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-", delete=True)
            probe.close()
        except OSError as exc:
            self._give_up(exc)

    def _give_up(self, exc: OSError) -> None:
        """Carry on with clips in memory for this build; the caller shows the warning."""
        self.writable = False
        self.warning = (f"warning: cannot write the speech cache at {self.root} ({exc.strerror or exc}); "
                        "carrying on without it (set RLSAUDIO_CACHE to a writable folder)")

    # -- clips

    def _clip_path(self, key: str) -> Path:
        return self.root / "clips" / key[:2] / f"{key}.clip"

    def get_clip(self, key: str) -> Clip | None:
        raw = self._memory.get(key)
        if raw is None and self.writable:
            try:
                raw = self._clip_path(key).read_bytes()
            except OSError:
                return None
        if raw is None:
            return None
        clip = _decode_clip(raw)
        if clip is None:  # corrupt or truncated: forget it; the caller synthesises again
            self._memory.pop(key, None)
            if self.writable:
                self._clip_path(key).unlink(missing_ok=True)
        return clip

    def put_clip(self, key: str, clip: Clip) -> None:
        raw = _encode_clip(clip)
        if not self.writable:
            self._memory[key] = raw
            return
        path = self._clip_path(key)
        try:
            path.parent.mkdir(exist_ok=True)
            _atomic_write(path, raw)
        except OSError as exc:
            self._give_up(exc)
            self._memory[key] = raw

    # -- mix measurements

    def get_mix(self, key: str) -> dict[str, float] | None:
        if not self.writable:
            return None
        try:
            data = json.loads((self.root / "mixes" / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and all(isinstance(v, (int, float)) for v in data.values()) else None

    def put_mix(self, key: str, values: dict[str, float]) -> None:
        if self.writable:
            try:
                _atomic_write(self.root / "mixes" / f"{key}.json", json.dumps(values).encode())
            except OSError:
                pass  # a measurement we cannot keep is measured again next time


def _encode_clip(clip: Clip) -> bytes:
    pcm = clip.samples.astype("<i2").tobytes()
    header = json.dumps({
        "samples": int(clip.samples.size), "level": clip.level,
        "sha256": hashlib.sha256(pcm).hexdigest(),
    }).encode()
    return MAGIC + len(header).to_bytes(4, "little") + header + pcm


def _decode_clip(raw: bytes) -> Clip | None:
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
    except (ValueError, KeyError, TypeError):
        return None


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
