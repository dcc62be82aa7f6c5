"""Putting a session together: routine + voice + mode -> timeline.

The one place that knows how the stations connect; the CLI and the playlist builder
both call it, so `plan` and `build` can never disagree about a timeline.
"""

from __future__ import annotations

from dataclasses import dataclass

from .modes import MixSettings, ModeOptions, mix_settings_for, style_for
from .routine import Routine, resolve_routine
from .timeline import SpeechLength, Timeline, build_timeline, estimate_speech
from .voices import VoiceProfile, resolve_voice


@dataclass(frozen=True)
class SessionRequest:
    routine: str  # bundled id or path
    voice: str | None = None
    mode: ModeOptions = ModeOptions()
    length_ms: int | None = None


@dataclass(frozen=True)
class Session:
    routine: Routine
    voice: VoiceProfile
    timeline: Timeline
    mix: MixSettings


def estimated_session(request: SessionRequest) -> Session:
    """A session whose speech lengths are estimated from the voice's words per minute."""
    routine = resolve_routine(request.routine)
    voice = resolve_voice(request.voice, need_available=False)
    return _session(routine, voice, request, estimate_speech(voice.words_per_minute))


def _session(routine: Routine, voice: VoiceProfile, request: SessionRequest, speech_len: SpeechLength) -> Session:
    style = style_for(request.mode, voice)
    timeline = build_timeline(routine, style, speech_len, target_ms=request.length_ms)
    return Session(routine, voice, timeline, mix_settings_for(request.mode))
