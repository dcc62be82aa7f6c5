"""espeak-ng through pyttsx3 2.99, made reliable.

pyttsx3's espeak driver synthesises on espeak's own thread, and used naively it drops or
swaps files and loses rate changes (shared/NOTES.md; nateshmbhat/pyttsx3#170, #283). This
engine follows the recipe verified there: one pyttsx3 engine for the whole process, kept
referenced; espeak's Synchronize() before and after each phrase; wait for the
finished-utterance callback; a fresh file name per phrase; the WAV checked non-empty.

No system package is needed: when no libespeak-ng is installed, the one shipped by the
`espeakng-loader` wheel is loaded (ESPEAK_DATA_PATH set) before pyttsx3 looks.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.metadata
import itertools
import os
import tempfile
import threading
import time
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..errors import EngineError
from .base import Engine, Option, check_pcm

if TYPE_CHECKING:
    from ..voices import VoiceProfile

MIN_WPM, MAX_WPM = 80, 450  # espeak clamps below 80
FINISH_WAIT_S = 30.0


def _quiet(*_args: Any, **_kwargs: Any) -> None:
    """Replaces print() inside the driver, which announces every saved file on stdout."""


class Pyttsx3Engine(Engine):
    name: ClassVar[str] = "pyttsx3"
    options: ClassVar[dict[str, Option]] = {}

    def __init__(self) -> None:
        self._engine: Any = None
        self._espeak: Any = None
        self._library = ""
        self._voices: set[str] = set()
        self._voice = ""
        self._finished = threading.Event()
        self._workdir: Path | None = None
        self._counter = itertools.count()

    # -- availability and loading

    @staticmethod
    def _library_source() -> tuple[str, str] | None:
        """("system", name) for an installed libespeak-ng, else ("wheel", path), else None."""
        system = ctypes.util.find_library("espeak-ng")
        if system:
            return "system", system
        if find_spec("espeakng_loader") is not None:
            import espeakng_loader

            path = espeakng_loader.get_library_path()
            if os.path.exists(path):
                return "wheel", path
        return None

    def unavailable_reason(self, profile: "VoiceProfile") -> str | None:
        if find_spec("pyttsx3") is None:
            return "pyttsx3 is not installed (pip install 'rlsaudio[espeak]')"
        if self._library_source() is None:
            return "no libespeak-ng found (pip install espeakng-loader, or install espeak-ng)"
        try:
            self._load()
        except EngineError as exc:
            return str(exc)
        if profile.voice and profile.voice not in self._voices:
            return f'espeak has no voice "{profile.voice}" (try gmw/en-us or gmw/en)'
        return None

    def _load(self) -> None:
        if self._engine is not None:
            return
        source = self._library_source()
        if source is None:
            raise EngineError("pyttsx3 cannot run: no libespeak-ng found; pip install espeakng-loader")
        kind, path = source
        try:
            if kind == "wheel":
                import espeakng_loader

                os.environ["ESPEAK_DATA_PATH"] = espeakng_loader.get_data_path()
                # Loaded RTLD_LOCAL: pyttsx3's dlopen("libespeak-ng.so.1") still finds it by its
                # SONAME, and piper's own espeakbridge keeps its symbols. RTLD_GLOBAL made piper
                # crash (SIGSEGV) when both engines ran in one process.
                ctypes.CDLL(path)
            import pyttsx3
            from pyttsx3.drivers import _espeak
            from pyttsx3.drivers import espeak as driver

            driver.print = _quiet  # type: ignore[attr-defined]
            engine = pyttsx3.init("espeak")
        except Exception as exc:  # ctypes and pyttsx3 raise plain RuntimeError/OSError
            raise EngineError(f"pyttsx3 could not start espeak-ng ({kind} library {path}): {exc}") from exc
        engine.connect("finished-utterance", self._on_finished)
        self._voices = {v.id for v in engine.getProperty("voices")}
        self._espeak = _espeak
        self._engine = engine
        self._library = f"{kind}:{Path(path).name}"
        self._workdir = Path(tempfile.mkdtemp(prefix="rlsaudio-espeak-"))

    def _on_finished(self, name: Any = None, completed: bool = True) -> None:
        self._finished.set()

    def version(self) -> str:
        self._load()
        espeak_version = (self._espeak.Info() or b"?").decode(errors="replace")
        return f"pyttsx3-{importlib.metadata.version('pyttsx3')}/espeak-ng-{espeak_version}/{self._library}"

    # -- synthesis

    def synthesize(self, text: str, profile: "VoiceProfile", rate: float) -> np.ndarray:
        self._load()
        engine, espeak = self._engine, self._espeak
        if profile.voice and profile.voice != self._voice:
            engine.setProperty("voice", profile.voice)
            self._voice = profile.voice
        wpm = max(MIN_WPM, min(MAX_WPM, round(profile.words_per_minute * rate)))
        engine.setProperty("rate", wpm)
        espeak.Synchronize()  # a rate change still queued would be dropped by runAndWait's Cancel()
        assert self._workdir is not None
        path = self._workdir / f"{next(self._counter)}.wav"
        self._finished.clear()
        engine.save_to_file(text, str(path))  # a Path breaks the driver's callback silently
        engine.runAndWait()
        espeak.Synchronize()
        if not self._finished.wait(FINISH_WAIT_S):
            raise EngineError(f"espeak never finished speaking {text!r}")
        try:
            samples = _read_wav(path)
        finally:
            path.unlink(missing_ok=True)
        return check_pcm(samples, text, "pyttsx3/espeak")


def _read_wav(path: Path) -> np.ndarray:
    from ..encode import audio_segment_class

    AudioSegment = audio_segment_class()
    deadline = time.monotonic() + 2.0
    while not path.exists() and time.monotonic() < deadline:  # the callback writes it, then notifies
        time.sleep(0.005)
    if not path.exists():
        raise EngineError("espeak wrote no audio file")
    segment = AudioSegment.from_wav(str(path))
    if segment.frame_rate != 22050 or segment.channels != 1 or segment.sample_width != 2:
        raise EngineError(f"espeak wrote {segment.frame_rate} Hz, {segment.channels} channels; expected 22050 Hz mono")
    return np.frombuffer(segment.raw_data, dtype=np.int16).copy()
