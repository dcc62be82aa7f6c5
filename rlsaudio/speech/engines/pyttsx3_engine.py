"""espeak-ng through pyttsx3 2.99, made reliable.

pyttsx3's Engine synthesises on espeak's own thread, writes a file from a callback and
signals completion through its own event loop. Used naively it drops or swaps files and
loses rate changes (shared/NOTES.md; nateshmbhat/pyttsx3#170, #283). Even with the
recipe from NOTES.md (Synchronize() around each phrase, waiting for finished-utterance)
we saw phrases come back empty once scipy had been imported: a timing race inside the
driver. So this engine uses pyttsx3's own espeak binding (`pyttsx3.drivers._espeak`) in
espeak's synchronous mode, the other option NOTES.md verifies: `Synth()` returns only
after every sample has been delivered to our callback, on the calling thread. No files,
no event loop, no race; one espeak initialisation for the whole process.

No system package is needed: when no libespeak-ng is installed, the one shipped by the
`espeakng-loader` wheel is loaded (ESPEAK_DATA_PATH set) before pyttsx3 looks for it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.metadata
import os
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ...base.errors import EngineError
from .base import Engine, Option, chunks, segment

if TYPE_CHECKING:
    from pydub import AudioSegment

    from ..profile import VoiceProfile

MIN_WPM, MAX_WPM = 80, 450  # espeak clamps below 80
# espeak-ng's memory grows with the text of one Synth() call (a 4.9 KB sentence: 1 GB), so
# longer text is spoken in pieces (engines.base.chunks) and their audio joined: each piece
# ends with espeak's own pause, as at a comma. Phrases within the limit are spoken as before.
MAX_CHUNK_CHARS = 300


class Pyttsx3Engine(Engine):
    name: ClassVar[str] = "pyttsx3"
    options: ClassVar[dict[str, Option]] = {}

    def __init__(self) -> None:
        self._espeak: Any = None
        self._library = ""
        self._voices: set[str] = set()
        self._voice = ""
        self._rate = 0
        self._sample_rate = 22050
        self._chunks: list[bytes] = []
        self._callback: Any = None  # kept referenced: espeak holds a raw pointer to it

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
        if self._espeak is not None:
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
            from pyttsx3.drivers import _espeak

            self._sample_rate = _espeak.Initialize(_espeak.AUDIO_OUTPUT_SYNCHRONOUS, 0)
            if self._sample_rate <= 0:
                raise EngineError("espeak-ng could not initialise")
        except EngineError:
            raise
        except Exception as exc:  # ctypes and pyttsx3 raise plain RuntimeError/OSError
            raise EngineError(f"pyttsx3 could not start espeak-ng ({kind} library {path}): {exc}") from exc
        self._callback = _espeak.t_espeak_callback(self._on_audio)
        _espeak.cSetSynthCallback(self._callback)
        self._voices = {v.identifier.decode("utf-8").lower() for v in _espeak.ListVoices(None)}
        self._espeak = _espeak
        self._library = f"{kind}:{Path(path).name}"

    def _on_audio(self, wav: Any, numsamples: int, events: Any) -> int:
        if wav and numsamples > 0:
            self._chunks.append(ctypes.string_at(wav, numsamples * 2))
        return 0  # continue

    def version(self) -> str:
        self._load()
        espeak_version = (self._espeak.Info() or b"?").decode(errors="replace")
        return f"pyttsx3-{importlib.metadata.version('pyttsx3')}/espeak-ng-{espeak_version}/{self._library}/sync"

    # -- synthesis

    def synthesize(self, text: str, profile: "VoiceProfile", rate: float) -> "AudioSegment":
        self._load()
        espeak = self._espeak
        if profile.voice and profile.voice != self._voice:
            if espeak.SetVoiceByName(profile.voice.encode("utf-8")) != espeak.EE_OK:
                raise EngineError(f'espeak could not select the voice "{profile.voice}"')
            self._voice = profile.voice
        wpm = max(MIN_WPM, min(MAX_WPM, round(profile.words_per_minute * rate)))
        if wpm != self._rate:
            espeak.SetParameter(espeak.RATE, wpm, 0)
            self._rate = wpm
        pieces = []
        for part in chunks(text, MAX_CHUNK_CHARS):
            self._chunks = []
            # ENDPAUSE lets the last phoneme decay naturally (without it espeak stops mid-sound);
            # the clip pipeline trims the pause it adds.
            status = espeak.Synth(part.encode("utf-8"), flags=espeak.CHARS_UTF8 | espeak.ENDPAUSE)
            if status != espeak.EE_OK:
                self._chunks = []
                raise EngineError(f"espeak failed on {text[:80]!r} (status {status})")
            pieces.append(b"".join(self._chunks))
            self._chunks = []
        return segment(b"".join(pieces), self._sample_rate)
