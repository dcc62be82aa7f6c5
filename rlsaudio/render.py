"""Rendering one track: session -> speech -> loudness -> MP3 -> tags, written atomically."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from . import output, soundscape as soundscapes
from .cache import Cache, content_key
from .encode import CODEC_GAIN_DB, Mp3Writer, configure_pydub, find_ffmpeg, gapless_skip
from .mix import MixInput, chunks, to_int16
from .modes import MixSettings
from .session import Session, SessionRequest, exact_session
from .synth import SpeechSource
from .timeline import Timeline
from .units import SAMPLE_RATE

MIX_VERSION = 1  # bump when mixing or the meter changes what a measured loudness refers to


class Reporter(Protocol):
    """Progress for long work; the CLI shows a bar on a terminal and nothing when piped."""

    def start(self, label: str, total: int) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def warn(self, message: str) -> None: ...


class Quiet:
    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def warn(self, message: str) -> None:
        pass


@dataclass(frozen=True)
class TrackOptions:
    bitrate_k: int = 64
    file_stem: str | None = None  # default: the safe title
    album: str | None = None
    artist: str | None = None
    track: int = 1
    track_total: int = 1
    cover: tuple[bytes, str] | None = None


@dataclass(frozen=True)
class Track:
    path: Path
    title: str
    artist: str
    length: int  # samples
    integrated_lufs: float
    synthesised: int
    measured: bool  # False when the loudness came from the cache


def display_title(session: Session) -> str:
    title = session.routine.title
    return f"{title} (bedtime)" if session.timeline.mode == "bedtime" else title


def build_track(request: SessionRequest, out_dir: Path, options: TrackOptions = TrackOptions(),
                reporter: Reporter | None = None, cache: Cache | None = None) -> Track:
    reporter = reporter or Quiet()
    cache = cache or Cache()
    warned = cache.warning
    if warned:
        reporter.warn(warned)
    ffmpeg = find_ffmpeg()
    configure_pydub(ffmpeg)
    folder = output.output_dir(out_dir)
    session, speech = exact_session(request, cache, reporter)
    title = display_title(session)
    final = output.inside(folder, (options.file_stem or output.safe_name(title)) + ".mp3")
    mix = mix_input(session, speech, ffmpeg)
    level, measured = loudness(mix, session.mix, speech, cache, reporter)
    gain_db = gain_for(level, session.mix)
    artist = options.artist or session.routine.author or "rlsaudio"

    with output.staged(final, ".mp3") as temp_mp3, output.staged(final, ".lrc") as temp_lrc:
        encode(mix, temp_mp3, options.bitrate_k, ffmpeg, 10 ** (gain_db / 20), reporter, str(final))
        _tag(temp_mp3, temp_lrc, session, title, artist, options)
        output.commit(temp_mp3, final)
        output.commit(temp_lrc, final.with_suffix(".lrc"))
    if cache.warning and cache.warning != warned:  # the cache failed during this build (a full disk)
        reporter.warn(cache.warning)
    return Track(final, title, artist, session.timeline.length, level["integrated"] + gain_db - CODEC_GAIN_DB,
                 speech.synthesised, measured)


def mix_input(session: Session, speech: SpeechSource, ffmpeg: str | None) -> MixInput:
    settings = session.mix
    scape = soundscapes.resolve(settings.soundscape, ffmpeg)
    timeline = session.timeline
    return MixInput(
        timeline=timeline, speech=speech, volume_db=session.voice.volume_db,
        soundscape=scape, soundscape_db=settings.soundscape_db,
        soundscape_fade_in=settings.soundscape_fade_in_ms * SAMPLE_RATE // 1000,
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


def loudness(mix: MixInput, settings: MixSettings, speech: SpeechSource, cache: Cache,
             reporter: Reporter) -> tuple[dict[str, float], bool]:
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
    from .loudness import LoudnessMeter  # imports scipy: only when something changed

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


def gain_for(level: dict[str, float], settings: MixSettings) -> float:
    """Gain in dB for the PCM sent to the encoder: the MP3 lands on the mode's target, and the
    PCM's true peak stays at or under the ceiling."""
    integrated = level["integrated"]
    if integrated == float("-inf"):
        return 0.0
    gain = settings.target_lufs - integrated + CODEC_GAIN_DB
    return min(gain, settings.true_peak_db - level["true_peak"])


def encode(mix: MixInput, path: Path, bitrate_k: int, ffmpeg: str, gain: float, reporter: Reporter,
           shown: str) -> None:
    writer = Mp3Writer(path, bitrate_k, ffmpeg, shown)
    reporter.start(f"Rendering {Path(shown).name}", mix.timeline.length)
    try:
        for chunk in chunks(mix, gain):
            writer.write(to_int16(chunk))
            reporter.advance(len(chunk))
    except BaseException:
        writer.abort()
        raise
    writer.close()


def _tag(mp3: Path, lrc: Path, session: Session, title: str, artist: str, options: TrackOptions) -> None:
    from . import tags

    timeline = session.timeline
    cover = options.cover or tags.default_cover()
    album = options.album or session.routine.album or session.routine.title
    length_ms = _ms(timeline.length)
    # Players that play gaplessly (ffmpeg, mpv) shift chapter times back by the encoder delay.
    delay = gapless_skip(mp3)
    tags.write_tags(mp3, tags.TrackTags(
        title=title, artist=artist, album=album, track=options.track, track_total=options.track_total,
        genre="Speech", year=str(datetime.date.today().year), comment=session.routine.description,
        length_ms=length_ms, cover=cover[0], cover_mime=cover[1], transcript=transcript(timeline),
        chapters=tuple(tags.Chapter(c.title, _ms(c.start + delay), _ms(c.end + delay)) for c in timeline.chapters),
    ))
    lines = [(_ms(e.start), e.text) for e in timeline.events if e.kind == "speech"]
    tags.write_lrc(lrc, lines, title=title, artist=artist, album=album, length_ms=length_ms)


def _ms(samples: int) -> int:
    return (samples * 1000 + SAMPLE_RATE // 2) // SAMPLE_RATE


def transcript(timeline: Timeline) -> str:
    """Every spoken sentence, under its chapter's title."""
    parts: list[str] = []
    for chapter in timeline.chapters:
        said = [e.text for e in timeline.events if e.kind == "speech" and chapter.start <= e.start < chapter.end]
        parts.append(chapter.title + "\n" + "\n".join(said))
    return "\n\n".join(parts)
