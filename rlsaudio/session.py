"""Putting a session together: routine + voice + mode -> timeline.

The one place that knows how the stations connect; the CLI and the playlist builder
both call it, so `plan` and `build` can never disagree about a timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .cache import Cache
from .modes import MixSettings, ModeOptions, mix_settings_for, style_for
from .routine import Routine, resolve_routine
from .timeline import SpeechLength, Timeline, build_timeline, estimate_speech
from .synth import SpeechSource
from .voices import VoiceProfile, resolve_voice

if TYPE_CHECKING:
    from .render import Reporter


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


def exact_session(request: SessionRequest, cache: Cache | None = None,
                  reporter: "Reporter | None" = None) -> tuple[Session, SpeechSource]:
    """A session with the exact length of every phrase: cached clips, or synthesised now."""
    routine = resolve_routine(request.routine)
    voice = resolve_voice(request.voice)
    speech = SpeechSource(voice, cache or Cache())
    # The estimated plan names every phrase; speaking them first gives a progress bar.
    # Phrases do not depend on --length, and an estimate must not decide whether it fits.
    style = style_for(request.mode, voice)
    phrases = build_timeline(routine, style, estimate_speech(voice.words_per_minute)).phrases()
    if reporter:
        reporter.start(f"Speaking with {voice.name}", len(phrases))
    speech.prepare(phrases, reporter.advance if reporter else None)
    return _session(routine, voice, request, speech.length), speech


def _session(routine: Routine, voice: VoiceProfile, request: SessionRequest, speech_len: SpeechLength) -> Session:
    style = style_for(request.mode, voice)
    timeline = build_timeline(routine, style, speech_len, target_ms=request.length_ms)
    return Session(routine, voice, timeline, mix_settings_for(request.mode))
