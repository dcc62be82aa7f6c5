"""The voice profile as data: which engine speaks, with which voice, how fast, with what pauses.

A leaf module: engines read profiles and `voices.py` loads them, and neither needs the other
to know what a profile is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Options the fake engine uses to simulate faults in tests; they do not change the sound.
FAULT_OPTIONS = ("hang_on", "fail_on", "unavailable", "crash_on")


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
    compute: float | None = None  # CPU-seconds to speak one second of speech (scripts/bench --voices)
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    source: str = ""

    def synthesis_seconds(self, phrases: "list[tuple[str, float]]", processes: int) -> float | None:
        """About how long speaking `phrases` (text, rate) takes here with `processes` at work, or
        None when the profile does not say what its voice costs."""
        from ..base.units import SAMPLE_RATE
        from ..script.events import estimate_speech  # the one words-to-seconds rule of plans

        if not self.compute or not phrases:
            return None
        speech = estimate_speech(self.words_per_minute)
        speech_s = sum(speech(text, rate) for text, rate in phrases) / SAMPLE_RATE
        return self.compute * speech_s / max(1, min(processes, len(phrases)))

    def cache_identity(self) -> dict[str, Any]:
        """Everything that changes how a phrase sounds (not pauses, volume or timeouts)."""
        speaking = {k: v for k, v in self.options.items() if k not in FAULT_OPTIONS}
        return {"engine": self.engine, "voice": self.voice, "wpm": self.words_per_minute, "options": speaking}

