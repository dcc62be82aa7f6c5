"""Rendering a planned session to an audio file: speech, mixing, loudness, encoding.

The stations in order, each given what the one before made:
    SessionPlan --speak (engine + cache)--> SpeechSource --time--> Timeline
        --mix (chunks)--> PCM --measure (or reuse) loudness--> gain --encode--> audio file
The audio file is a staged temporary one; `publish.py` verifies, tags and commits it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..audio import soundscape as soundscapes
from ..audio.mix import MixInput, chunks, to_int16
from ..base.units import SAMPLE_RATE, ms_to_samples
from ..encode.writers import AudioFormat, encoder_jobs
from ..plan import SessionPlan
from ..script.modes import MixSettings
from ..script.timeline import Timeline
from ..speech.pool import parallel_worth_it, speak_in_pool
from ..speech.profile import VoiceProfile
from ..speech.synth import SpeechSource
from ..system.cache import Cache, content_key
from ..system.progress import Reporter, start_counted

MIX_VERSION = 1  # bump when mixing or the meter changes what a measured loudness refers to


SAY_HOW_LONG_FROM_S = 15  # a first synthesis expected to take this long or more is announced


@dataclass(frozen=True)
class Rendered:
    """What rendering measured: the delivered loudness and whether it was measured now."""

    integrated_lufs: float  # the session's loudness as the encoded file will read
    gain_db: float
    measured: bool  # False when the loudness came from the cache


def speak(plan: SessionPlan, cache: Cache, reporter: Reporter) -> SpeechSource:
    """Every phrase of the plan, from the cache or synthesised now (with a progress bar).
    The engine is given each phrase's spoken form for this voice, points and routine."""
    speech = SpeechSource(plan.voice, cache, plan.pronounce)
    phrases = plan.phrases
    start_counted(reporter, f"Speaking with {plan.voice.name}", len(phrases), "phrases")
    missing = speech.missing(phrases, reporter.advance)
    jobs = encoder_jobs()
    pooled = parallel_worth_it(plan.voice, len(missing), jobs)
    _say_how_long(reporter, plan.voice, missing, jobs if pooled else 1)
    if pooled:
        speak_in_pool(plan.voice, cache, missing, jobs, speech.adopt, reporter.advance, speech.pronounce)
    else:
        speech.prepare(missing, reporter.advance)
    return speech


def _say_how_long(reporter: Reporter, voice: VoiceProfile, missing: list[tuple[str, float]], processes: int) -> None:
    """Before a long first synthesis, say on the terminal about how long it will take (once
    spoken, phrases come from the cache in a moment)."""
    seconds = voice.synthesis_seconds(missing, processes)
    note = getattr(reporter, "note", None)
    if note is None or seconds is None or seconds < SAY_HOW_LONG_FROM_S:
        return
    about = f"{round(seconds / 60)} min" if seconds >= 90 else f"{max(10, round(seconds, -1)):.0f} s"
    note(f"Speaking {len(missing)} new phrases with {voice.name}: about {about} on this computer "
         "(the first time only; later builds reuse them).")


def speak_and_time(plan: SessionPlan, cache: Cache, reporter: Reporter) -> tuple[SpeechSource, Timeline]:
    """Speak every phrase (from the cache or now), then time the session with their exact lengths:
    the one way a plan becomes its timeline, for `plan`, `build`, `compose` and playlists alike."""
    speech = speak(plan, cache, reporter)
    return speech, plan.timeline(speech.length)


def mix_input(plan: SessionPlan, timeline: Timeline, speech: SpeechSource, ffmpeg: str | None) -> MixInput:
    settings = plan.mix
    scape = soundscapes.resolve(settings.soundscape, ffmpeg, plan.request.origins.get("soundscape"))
    return MixInput(
        timeline=timeline, speech=speech, volume_db=plan.voice.volume_db,
        soundscape=scape, soundscape_db=settings.soundscape_db,
        soundscape_fade_in=ms_to_samples(settings.soundscape_fade_in_ms),
        soundscape_fade_out=max(timeline.fade_out, 5 * SAMPLE_RATE),
    )


def mix_key(mix: MixInput, speech: SpeechSource) -> str:
    def event_id(e):
        source = speech.key(e.text, e.rate) if e.kind == "speech" else e.reason
        return (e.start, e.length, e.kind, source, e.gain_db)

    tl = mix.timeline
    scape = mix.soundscape.identity if mix.soundscape else None
    return content_key("mix", MIX_VERSION, [event_id(e) for e in tl.events], tl.fade_out, tl.tail, mix.volume_db,
                       scape, mix.soundscape_db, mix.soundscape_fade_in, mix.soundscape_fade_out)


def loudness(mix: MixInput, speech: SpeechSource, cache: Cache, reporter: Reporter) -> tuple[dict[str, float], bool]:
    """The session's loudness at unity gain: from the cache, or measured in one pass.

    Measured from the start to the end of the session proper, soundscape included, but not
    through a bedtime tail: a tail of soundscape alone can last hours, would dominate a
    whole-file measurement, and the normalisation would then push the voice far above the
    target. The tail keeps the session's gain and fades out.
    """
    key = mix_key(mix, speech)
    known = cache.get_mix(key)
    if known is not None:
        return known, False
    from ..audio.loudness import LoudnessMeter  # the meter's filters cost time to set up: only when something changed

    meter = LoudnessMeter(SAMPLE_RATE)
    reporter.start("Measuring loudness", mix.timeline.program_end)
    for chunk in chunks(mix, end=mix.timeline.program_end):
        meter.add(chunk)
        reporter.advance(len(chunk))
    result = meter.result()
    values = {"integrated": result.integrated, "true_peak": result.true_peak,
              "max_short_term": result.max_short_term}
    cache.put_mix(key, values)
    return values, True


def gain_for(level: dict[str, float], settings: MixSettings, codec_gain_db: float) -> float:
    """Gain in dB for the PCM sent to the encoder: the file lands on the mode's target, and the
    PCM's true peak stays at or under the ceiling."""
    integrated = level["integrated"]
    if integrated == float("-inf"):
        return 0.0
    gain = settings.target_lufs - integrated + codec_gain_db
    return min(gain, settings.true_peak_db - level["true_peak"])


def render_audio(plan: SessionPlan, timeline: Timeline, speech: SpeechSource, cache: Cache, path: Path,
                 fmt: AudioFormat, bitrate_k: int, ffmpeg: str, reporter: Reporter, shown: str) -> Rendered:
    """Mix the timed session and encode it to `path` (a staged file)."""
    mix = mix_input(plan, timeline, speech, ffmpeg)
    level, measured = loudness(mix, speech, cache, reporter)
    gain_db = gain_for(level, plan.mix, fmt.codec_gain_db)
    writer = fmt.writer(path, bitrate_k, ffmpeg, shown, timeline.length)
    reporter.start(f"Encoding {Path(shown).name}", timeline.length)
    try:
        for chunk in chunks(mix, 10 ** (gain_db / 20)):
            writer.write(to_int16(chunk))
            reporter.advance(len(chunk))
    except BaseException:
        writer.abort()
        raise
    writer.close()
    integrated = level["integrated"]
    delivered = integrated + gain_db - fmt.codec_gain_db if math.isfinite(integrated) else integrated
    return Rendered(delivered, gain_db, measured)
