"""Variants of a track, and the full set of files each track writes.

A routine built with another --length, --tail or bundled --voice is another variant: its file
name says so ("Acupressure for restless legs (30 min)", "... (espeak)"; the mode's "(bedtime)"
is in its title already), so variants sit side by side. Every variant records what makes it
one (routine, mode, length, tail, voice, soundscape, pacer, chime) in its chapters JSON, shared
by the formats (MP3, M4B, Opus) of one variant. Replacing a track of the same name that was
built as another variant needs --force; the same variant (in any format) is simply rebuilt.

Names are checked as the full set of files each track writes (the audio and every sidecar),
not only stems: titles "Foo" and "Foo.chapters" would both write Foo.chapters.vtt (Foo's
chapters, the other's transcript). Two tracks of one build that share a file, or a track that
would replace a file of another track already in the folder, are refused before rendering.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..base.errors import InputError, Problem
from ..base.units import format_ms
from ..encode.formats import written_suffixes
from ..plan import SessionPlan
from .output import SIDECARS, same_file_key

IDENTITY_KEY = "rlsaudio"  # the chapters JSON's own object for rlsaudio: {"variant": {...}}


def _span(ms: int) -> str:
    return f"{ms // 60_000} min" if ms % 60_000 == 0 else format_ms(ms)


def variant_suffix(plan: SessionPlan) -> str:
    """What the file name adds to the title for a --length, --tail or bundled --voice variant."""
    from ..speech.voices import bundled_voice_names

    request = plan.request
    parts = []
    if request.length_ms is not None:
        parts.append(_span(request.length_ms))
    if request.mode.tail_ms is not None:
        parts.append(f"{_span(request.mode.tail_ms)} tail")
    if plan.voice.name in bundled_voice_names() and plan.voice.name != _default_voice():
        parts.append(plan.voice.name)
    return "".join(f" ({part})" for part in parts)


def _default_voice() -> str:
    from ..base.errors import EngineError
    from ..speech.voices import default_voice_name

    try:
        return default_voice_name()
    except EngineError:  # no voice can run here (then no track is built with one either)
        return ""


def _reference(plan: SessionPlan) -> str:
    request = plan.request
    if request.compose is not None or not request.routine:
        c = request.compose
        points = ",".join(c.points) if c is not None else ""
        return f"compose:{points}:{c.hold_ms if c else None}:{c.breathe if c else False}:{plan.routine.title}"
    from ..script.routine import bundled_ids

    if request.routine in bundled_ids() and not os.path.exists(request.routine):
        return request.routine
    return os.path.realpath(request.routine)


def variant_identity(plan: SessionPlan) -> dict:
    """What makes this track one variant of its routine (the format aside)."""
    mode = plan.request.mode
    scape = mode.soundscape
    if scape and os.path.exists(scape):
        scape = os.path.realpath(scape)
    return {"routine": _reference(plan), "mode": mode.mode, "length_ms": plan.request.length_ms,
            "tail_ms": plan.style.tail_ms, "voice": plan.voice.name, "engine": plan.voice.engine,
            "soundscape": scape, "soundscape_db": mode.soundscape_db if scape else None, "pacer": mode.pacer,
            "chime": mode.chime}


def recorded_identity(chapters_json: Path) -> dict | None:
    """The variant a chapters JSON records, or None (none recorded, or not readable)."""
    try:
        with open(chapters_json, "rb") as f:
            data = json.loads(f.read(1_048_576 + 1))
        found = data.get(IDENTITY_KEY, {}).get("variant")
    except (OSError, ValueError, AttributeError):
        return None
    return found if isinstance(found, dict) else None


def _difference(old: dict, new: dict) -> str:
    names = {"routine": "routine", "mode": "mode", "length_ms": "length", "tail_ms": "tail", "voice": "voice",
             "engine": "engine", "soundscape": "soundscape", "soundscape_db": "soundscape level", "pacer": "pacer",
             "chime": "chime"}
    for key, name in names.items():
        if old.get(key) != new.get(key):
            def show(value):
                if value is None:
                    return "none"
                if key.endswith("_ms") and isinstance(value, int):
                    return format_ms(value)
                return str(value).lower() if isinstance(value, bool) else str(value)

            return f"{name} {show(old.get(key))}, now {show(new.get(key))}"
    return "another variant"


def check_variant(plan: SessionPlan, audio: Path, chapters_json: Path, force: bool) -> None:
    """Refuse to replace a track of the same name that was built as another variant, unless --force."""
    if force:
        return
    old = recorded_identity(chapters_json)
    new = variant_identity(plan)
    if old is not None and old != new:
        raise InputError(Problem(str(audio), f"was built as another variant of this title ({_difference(old, new)}); "
                                             "give --force to replace it, or -o another folder"))


def file_names(stem: str, audio_suffix: str, page: bool = True) -> dict[str, str]:
    """Every file a track of this stem writes, by role: the audio and each sidecar."""
    names = {"audio": stem + audio_suffix}
    names.update({role: stem + suffix for role, suffix in SIDECARS.items() if page or role != "page"})
    return names


def check_build_names(tracks: list[tuple[str, str, str]]) -> None:
    """(shown, stem, audio suffix) of every track of one build: no two may write one file."""
    seen: dict[str, tuple[str, str]] = {}
    for shown, stem, suffix in tracks:
        for role, name in file_names(stem, suffix).items():
            key = same_file_key(name)
            if key in seen and seen[key][0] != shown:
                other, other_name = seen[key]
                raise InputError(Problem(shown, f"would write {name}, as {other} would ({other_name}); give one "
                                                "of them another title, or build them one at a time with -o"))
            seen.setdefault(key, (shown, name))


def check_folder_names(shown: str, folder: Path, stem: str, audio_suffix: str) -> None:
    """No file this track writes may be a file of another track already in `folder` (by its stem)."""
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    audio = written_suffixes()
    others = {os.path.splitext(name)[0] for name in entries if os.path.splitext(name)[1].lower() in audio}
    ours = {same_file_key(name): name for name in file_names(stem, audio_suffix).values()}
    mine = same_file_key(stem)
    for other in sorted(others):
        if same_file_key(other) == mine:
            continue  # our own track (this format or another): its files are ours
        for role, name in file_names(other, "").items():
            if role != "audio" and same_file_key(name) in ours:
                raise InputError(Problem(shown, f"would replace {name}, the {role.replace('_', ' ')} file of the "
                                                f"track {other} in {folder}; give it another title, or -o another "
                                                "folder"))
        for suffix in audio:
            if same_file_key(other + suffix) in ours:
                raise InputError(Problem(shown, f"would replace the track {other + suffix} in {folder}; give it "
                                                "another title, or -o another folder"))
