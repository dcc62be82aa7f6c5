"""The speech engine interface and registry.

Engines are found through the `rlsaudio.engines` entry point group, exactly as a third
party plugin would register one; the built-in pyttsx3, piper and fake engines are
declared in pyproject.toml. An engine module must be cheap to import: heavy libraries
load on first use, so a warm-cache build never loads a voice model.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..errors import EngineError, VoiceError
from ..units import SAMPLE_RATE

if TYPE_CHECKING:
    from ..voices import VoiceProfile


@dataclass(frozen=True)
class Option:
    """An engine-specific key of a voice profile."""

    kind: type
    default: Any
    lo: float | None = None
    hi: float | None = None
    help: str = ""


class Engine:
    """One speech engine. Subclasses set `name` and implement the three methods below.

    `synthesize` returns mono int16 samples at SAMPLE_RATE. It is called from one worker
    thread at a time per engine (see `Synthesizer`), so engines need no locking of their own.
    """

    name: ClassVar[str] = ""
    options: ClassVar[dict[str, Option]] = {}

    def unavailable_reason(self, profile: "VoiceProfile") -> str | None:
        """None when this profile can be spoken here, else why not (one short sentence)."""
        return None

    def version(self) -> str:
        """Part of every cache key: a new engine version never reuses old clips."""
        raise NotImplementedError

    def synthesize(self, text: str, profile: "VoiceProfile", rate: float) -> np.ndarray:
        raise NotImplementedError


def engine_names() -> list[str]:
    return sorted(ep.name for ep in entry_points(group="rlsaudio.engines"))


_instances: dict[str, Engine] = {}
_instances_lock = threading.Lock()


def get_engine(name: str) -> Engine:
    """The process-wide instance of an engine: each is initialised at most once."""
    with _instances_lock:
        if name not in _instances:
            _instances[name] = engine_class(name)()
        return _instances[name]


@cache
def engine_class(name: str) -> type[Engine]:
    matches = [ep for ep in entry_points(group="rlsaudio.engines") if ep.name == name]
    if not matches:
        raise VoiceError(f"unknown speech engine {name!r}; installed engines: {', '.join(engine_names())}")
    try:
        cls = matches[0].load()
    except Exception as exc:  # a broken plugin must not crash the CLI
        raise EngineError(f"speech engine {name!r} failed to load: {exc}") from exc
    return cls


def check_pcm(samples: np.ndarray, text: str, engine: str) -> np.ndarray:
    """Engines must return non-empty mono int16 audio; anything else is an engine failure."""
    if samples.dtype != np.int16 or samples.ndim != 1:
        raise EngineError(f"{engine} returned audio in the wrong format for {text!r}")
    if samples.size < SAMPLE_RATE // 100 or not np.any(samples):
        raise EngineError(f"{engine} produced no audio for {text!r}; try the other voice with --voice")
    return samples
