"""Voice profiles: loading and validating profile files, the bundled voices, the default voice.

Profiles are TOML files. The bundled ones live in the repository's `voices/` folder, which is
installed as the package `rlsaudio._voices`, so `--voice joe` works the same from a checkout
and from a wheel. `--voice path/to/profile.toml` loads any other file.
"""

from __future__ import annotations

from typing import Any

from ..base import bundled
from ..base.errors import EngineError, Problem, VoiceError, at_origin
from ..base.suggest import hint
from ..base.tomlfile import Checker, Source
from ..data import data_file
from .engines.base import engine_class, engine_names, get_engine
from .profile import VoiceProfile

PROFILES = data_file("voices")  # the bundled voice profiles (voices/ at the top of a checkout)
COMMON_KEYS = ("name", "description", "engine", "voice", "words_per_minute", "sentence_pause",
               "volume", "bedtime_rate", "timeout", "compute")
PREFERRED_DEFAULTS = ("joe", "espeak")


def bundled_voice_names() -> list[str]:
    return bundled.names(PROFILES)


def load_profile(ref: str) -> VoiceProfile:
    """A bundled profile name (`joe`) or a path to a profile file."""
    source, name = bundled.resolve(
        ref, PROFILES, "voice profile", VoiceError,
        lambda r: "unknown voice; " + hint(r, available_voice_names(), lambda names: "available voices: "
                                           + ", ".join(names) + " (or give a profile file path)"))
    return profile_from_source(source, name)


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
                    value = check.text(data, key, "", max_chars=1000)
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
    compute = check.number(data, "compute", "", lo=0, hi=100)
    check.raise_if_any(VoiceError)
    return VoiceProfile(
        name=name, engine=engine or "", voice=voice, description=description,
        words_per_minute=wpm or 140.0, sentence_pause_ms=450 if pause is None else pause,
        volume_db=volume or 0.0, bedtime_rate=bedtime or 0.85, timeout_s=timeout or 60.0,
        compute=compute,
        options=options, source=source.name,
    )


def unavailable_reason(profile: VoiceProfile) -> str | None:
    """None when the profile can speak on this machine, else why not."""
    try:
        return get_engine(profile.engine).unavailable_reason(profile)
    except EngineError as exc:
        return str(exc)


def available_voice_names() -> list[str]:
    return [name for name in bundled_voice_names() if unavailable_reason(load_profile(name)) is None]


def default_voice_name() -> str:
    """`joe` where piper can run, otherwise `espeak`."""
    for name in PREFERRED_DEFAULTS:
        if name in bundled_voice_names() and unavailable_reason(load_profile(name)) is None:
            return name
    raise EngineError("no speech engine can run here: reinstall rlsaudio (pip install rlsaudio, or scripts/run "
                      "in a checkout), which brings both voices")


def resolve_voice(ref: str | None, *, need_available: bool = True, origin: Problem | None = None) -> VoiceProfile:
    """A profile by name or path. An unknown voice is bad input (exit 2); a known voice whose engine
    cannot run on this machine is a failure of the installation (exit 1)."""
    try:
        profile = load_profile(ref or default_voice_name())
    except VoiceError as exc:
        only = exc.problems[0] if len(exc.problems) == 1 else None
        if only is not None and only.file == ref and only.line is None:
            raise VoiceError(at_origin(origin, only)) from None
        raise
    if need_available:
        reason = unavailable_reason(profile)
        if reason:
            others = [n for n in available_voice_names() if n != profile.name]
            raise EngineError(f"{ref or profile.name}: voice cannot run here: {reason}; available voices: "
                              + (", ".join(others) or "none"))
    return profile
