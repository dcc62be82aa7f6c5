"""Voice profiles: which engine speaks, with which voice, how fast, with what pauses.

Profiles are TOML files. The bundled ones live in the repository's `voices/` folder,
which is installed as the package `rlsaudio._voices`, so `--voice joe` works the same from
a checkout and from a wheel. `--voice path/to/profile.toml` loads any other file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .engines.base import Engine, engine_class, engine_names, get_engine
from .errors import EngineError, Problem, VoiceError
from .tomlfile import Checker, Source, parse_toml_bytes, read_toml

COMMON_KEYS = ("name", "description", "engine", "voice", "words_per_minute", "sentence_pause",
               "volume", "bedtime_rate", "timeout")
PREFERRED_DEFAULTS = ("joe", "espeak")


@dataclass(frozen=True)
class VoiceProfile:
    name: str
    engine: str
    voice: str = ""
    description: str = ""
    words_per_minute: float = 140.0
    sentence_pause_ms: int = 450
    volume_db: float = 0.0
    bedtime_rate: float = 0.85
    timeout_s: float = 60.0
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    source: str = ""

    def cache_identity(self) -> dict[str, Any]:
        """Everything that changes how a phrase sounds (not pauses, volume or timeouts)."""
        speaking = {k: v for k, v in self.options.items() if k not in ("hang_on", "fail_on", "unavailable")}
        return {"engine": self.engine, "voice": self.voice, "wpm": self.words_per_minute, "options": speaking}

    def fingerprint(self) -> str:
        raw = json.dumps(self.cache_identity(), sort_keys=True).encode()
        return hashlib.sha256(raw).hexdigest()[:16]

    @property
    def engine_impl(self) -> Engine:
        return get_engine(self.engine)

    def unavailable_reason(self) -> str | None:
        try:
            return self.engine_impl.unavailable_reason(self)
        except EngineError as exc:
            return str(exc)


def bundled_voice_names() -> list[str]:
    folder = resources.files("rlsaudio._voices")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_profile(ref: str) -> VoiceProfile:
    """A bundled profile name (`joe`) or a path to a profile file."""
    if ref in bundled_voice_names() and not Path(ref).is_file():
        resource = resources.files("rlsaudio._voices") / f"{ref}.toml"
        source = parse_toml_bytes(resource.read_bytes(), f"{ref}.toml", "voice profile", VoiceError)
        return profile_from_source(source, ref)
    path = Path(ref)
    if not path.exists() and not ref.endswith(".toml") and "/" not in ref:
        raise VoiceError(Problem(ref, "unknown voice; available voices: " + ", ".join(available_voice_names())
                                 + " (or give a profile file path)"))
    return profile_from_source(read_toml(path, "voice profile", VoiceError, ref), path.stem)


def profile_from_source(source: Source, default_name: str) -> VoiceProfile:
    check = Checker(source)
    data = source.data
    engine = check.text(data, "engine", "", required=True)
    options: dict[str, Any] = {}
    allowed: tuple[str, ...] = COMMON_KEYS
    if engine is not None:
        if engine not in engine_names():
            check.problem("engine", f'unknown engine "{engine}"; use one of: ' + ", ".join(engine_names()))
        else:
            cls = engine_class(engine)
            allowed = COMMON_KEYS + tuple(cls.options)
            for key, opt in cls.options.items():
                if opt.kind is float:
                    value = check.number(data, key, "", lo=opt.lo or 0.0, hi=opt.hi or 1e9)
                elif opt.kind is int:
                    value = check.integer(data, key, "", lo=int(opt.lo or 0), hi=int(opt.hi or 10**9))
                else:
                    value = check.text(data, key, "")
                options[key] = opt.default if value is None else value
    check.keys(data, "", allowed)
    name = check.text(data, "name", "") or default_name
    voice = check.text(data, "voice", "") or ""
    description = check.text(data, "description", "", max_chars=300) or ""
    wpm = check.number(data, "words_per_minute", "", lo=60, hi=400)
    pause = check.duration(data, "sentence_pause", "", min_ms=0, max_ms=10_000)
    volume = check.number(data, "volume", "", lo=-30, hi=12)
    bedtime = check.number(data, "bedtime_rate", "", lo=0.5, hi=1.0)
    timeout = check.number(data, "timeout", "", lo=1, hi=3600)
    check.raise_if_any(VoiceError)
    return VoiceProfile(
        name=name, engine=engine or "", voice=voice, description=description,
        words_per_minute=wpm or 140.0, sentence_pause_ms=450 if pause is None else pause,
        volume_db=volume or 0.0, bedtime_rate=bedtime or 0.85, timeout_s=timeout or 60.0,
        options=options, source=source.name,
    )


def available_voice_names() -> list[str]:
    return [name for name in bundled_voice_names() if load_profile(name).unavailable_reason() is None]


def default_voice_name() -> str:
    """`joe` where piper can run, otherwise `espeak`."""
    for name in PREFERRED_DEFAULTS:
        if name in bundled_voice_names() and load_profile(name).unavailable_reason() is None:
            return name
    raise VoiceError("no speech engine can run here: install rlsaudio with its engines "
                     "(pip install 'rlsaudio[espeak,piper]') or run scripts/run")


def resolve_voice(ref: str | None, *, need_available: bool = True) -> VoiceProfile:
    profile = load_profile(ref or default_voice_name())
    if need_available:
        reason = profile.unavailable_reason()
        if reason:
            others = [n for n in available_voice_names() if n != profile.name]
            raise VoiceError(Problem(ref or profile.name, f"voice cannot run here: {reason}; available voices: "
                                     + (", ".join(others) or "none")))
    return profile
