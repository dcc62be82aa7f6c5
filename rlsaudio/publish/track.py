"""Publishing one track: render, verify, tag, write its sidecars, and commit them all as a unit.

Everything is written into a private staging folder inside the destination first (see
safeio.Staging). The audio is checked against the plan (its decoded length, to the sample)
before and after tagging; only then are the track and all its sidecars moved into place
together. If any part fails, nothing at the destination changes.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from ..base.safeio import Staging, clean_stale
from ..base.units import SAMPLE_RATE, samples_to_ms
from ..encode.chapters import ChapterMark
from ..encode.formats import default_bitrate
from ..encode.writers import audio_format, gapless_skip
from ..plan import SessionPlan
from ..script.timeline import Timeline
from ..speech.engines.base import configure_pydub
from ..system import ffmpeg as ff
from ..system.cache import Cache
from ..system.progress import Quiet, Reporter
from . import sidecars, tags
from .output import TrackFiles, check_output_dir, output_dir, safe_name, tidy_folders
from .render import render_audio, speak_and_time
from .variants import variant_identity

GUID_NAMESPACE = uuid.UUID("6f1f3c1e-2b0e-4b8a-9a57-9d7f0b3c5a11")


@dataclass(frozen=True)
class TrackOptions:
    format: str = "mp3"
    bitrate_k: int | None = None  # default: the format's own
    file_stem: str | None = None  # default: the safe title
    album: str | None = None
    artist: str | None = None
    track: int = 1
    track_total: int = 1
    cover: tuple[bytes, str] | None = None
    page: bool = True
    force: bool = False  # replace a track built as another variant, or a file a person changed


@dataclass(frozen=True)
class Track:
    path: Path
    title: str
    artist: str
    length: int  # samples
    integrated_lufs: float
    synthesised: int
    measured: bool  # False when the loudness came from the cache
    files: tuple[Path, ...] = ()  # the audio and every sidecar
    timeline: Timeline | None = None


def track_options(fmt: str, bitrate: str | None = None, cover: Path | None = None, page: bool = True,
                  force: bool = False) -> TrackOptions:
    """TrackOptions from what a person chose: the bitrate checked against the format, the cover read and checked."""
    from ..encode.formats import parse_bitrate
    from .tags import load_cover

    return TrackOptions(format=fmt, bitrate_k=parse_bitrate(bitrate, fmt=fmt) if bitrate else default_bitrate(fmt),
                        cover=load_cover(cover) if cover else None, page=page, force=force)


def build_tracks(requests: list, out_dir: Path, options: TrackOptions, reporter: Reporter) -> Iterator[Track]:
    """Plan every track first (nothing is written if one is invalid), refuse name clashes, then build
    each, yielding it as it is published."""
    from ..plan import plan_track
    from .variants import check_build_names

    plans = [plan_track(r) for r in requests]
    suffix = audio_format(options.format).suffix
    check_build_names([(p.request.shown, file_stem(p, options), suffix) for p in plans])
    for p in plans:
        for warning in p.warnings:
            reporter.warn(f"warning: {warning}")
    with tidy_folders(out_dir):  # a build that fails or is stopped leaves no empty folder tree
        for p in plans:
            yield build_track(p, out_dir, options, reporter)


def file_stem(plan: SessionPlan, options: TrackOptions) -> str:
    """The track's file name without its suffix: the safe title, with what makes it a variant."""
    from .variants import variant_suffix

    return options.file_stem or safe_name(plan.title + variant_suffix(plan))


def track_guid(plan: SessionPlan, album: str, fmt: str) -> str:
    """Stable across rebuilds of the same routine, mode, variant and format (and album): a feed item's GUID."""
    from .variants import variant_suffix

    parts = (plan.routine.title, album, plan.request.mode.mode, fmt) + ((variant_suffix(plan),) if
                                                                        variant_suffix(plan) else ())
    return str(uuid.uuid5(GUID_NAMESPACE, "\x1f".join(parts)))


def build_track(plan: SessionPlan, out_dir: Path, options: TrackOptions = TrackOptions(),
                reporter: Reporter | None = None, cache: Cache | None = None,
                extras: Callable[[Timeline], dict[str, str]] | None = None) -> Track:
    """Render, verify, tag and publish one track. `extras(timeline)` names more text files (by file
    name) to publish with it, in the same all-or-nothing commit."""
    reporter = reporter or Quiet()
    cache = cache or Cache()
    warned = cache.warning
    if warned:
        reporter.warn(warned)
    ffmpeg = ff.find()
    configure_pydub(ffmpeg)
    check_output_dir(out_dir)
    fmt = audio_format(options.format)
    files = TrackFiles(out_dir, file_stem(plan, options), fmt.suffix)
    shown = str(files.audio)
    _check_names(plan, files, options, ())  # before minutes of work; again under the commit lock
    speech, timeline = speak_and_time(plan, cache, reporter)
    folder = output_dir(out_dir)
    clean_stale(folder)
    artist = options.artist or plan.routine.author or "rlsaudio"
    album = options.album or plan.album
    with Staging(folder) as stage:
        audio = stage.path(files.audio.name)
        bitrate_k = options.bitrate_k or default_bitrate(fmt.name)
        rendered = render_audio(plan, timeline, speech, cache, audio, fmt.for_track(_chapters(timeline)), bitrate_k,
                                ffmpeg, reporter, shown)
        fmt.verify(audio, timeline.length, ffmpeg, shown)
        track_tags = _tags(plan, timeline, audio, artist, album, options)
        tags.write_tags(audio, track_tags)
        fmt.verify(audio, timeline.length, ffmpeg, shown)  # tagging rewrote the file
        texts = {
            "lrc": sidecars.lrc(timeline, title=plan.title, artist=artist, album=album),
            "transcript": sidecars.transcript_vtt(timeline),
            "chapters_vtt": sidecars.chapters_vtt(timeline),
            "chapters_json": sidecars.chapters_json(timeline, title=plan.title, artist=artist, album=album,
                                                    variant=variant_identity(plan)),
        }
        if options.page:
            texts["page"] = _page(plan, timeline, files, list(texts), artist, album)
        named = {files.sidecar(role): text for role, text in texts.items()}
        more = {folder / name: text for name, text in (extras(timeline) if extras else {}).items()}
        named.update(more)
        staged = [(audio, files.audio)] + [stage.text(final, text) for final, text in named.items()]
        stage.commit(staged, check=lambda: _check_names(plan, files, options, tuple(more)))
    if cache.warning and cache.warning != warned:  # the cache failed during this build (a full disk)
        reporter.warn(cache.warning)
    return Track(files.audio, plan.title, artist, timeline.length, rendered.integrated_lufs, speech.synthesised,
                 rendered.measured, tuple(final for _, final in staged), timeline)


def _check_names(plan: SessionPlan, files: TrackFiles, options: TrackOptions, editable: tuple[Path, ...]) -> None:
    """The track may replace what its names hold: no other track's file, not another variant (unless
    --force), no file a person changed since rlsaudio wrote it (the extras, unless --force)."""
    from ..base.safeio import check_replaceable
    from .variants import check_folder_names, check_variant

    check_folder_names(str(files.audio), files.folder, files.stem, files.suffix)
    check_variant(plan, files.audio, files.sidecar("chapters_json"), options.force)
    for path in editable:
        check_replaceable(path, options.force)


def _formats(files: TrackFiles) -> dict[str, str]:
    """label -> file name of every format of this track in its folder (this one included), in the
    formats' table order: the formats of one variant share its sidecars and its page."""
    from ..encode.formats import format_table

    present = {}
    for info in format_table().values():
        name = files.stem + info.suffix
        if info.suffix == files.suffix or (files.folder / name).is_file():
            present[info.label] = name
    return present


def _page(plan: SessionPlan, timeline: Timeline, files: TrackFiles, roles: list[str], artist: str, album: str) -> str:
    from . import page

    formats = _formats(files)
    return page.page_html(timeline, plan.library, title=plan.title, artist=artist, album=album,
                          audio_href=page.href(next(iter(formats.values()))), mode=timeline.mode,
                          description=plan.routine.description,
                          files={role: page.href(files.sidecar(role).name) for role in roles},
                          formats={label: page.href(name) for label, name in formats.items()})


def _chapters(timeline: Timeline, delay: int = 0) -> tuple[ChapterMark, ...]:
    """The chapters in milliseconds, at their planned times plus `delay` samples. With a delay
    (an MP3's encoder delay, which gapless players subtract again) each time is rounded up, never
    down: the first chapter then stays at or after 0 once shifted (mpv showed "-00:00:00")."""
    if delay:
        def ms(n: int) -> int:
            return -(-n * 1000 // SAMPLE_RATE)  # ceiling
    else:
        ms = samples_to_ms
    return tuple(ChapterMark(c.title, ms(c.start + delay), ms(c.end + delay)) for c in timeline.chapters)


def _tags(plan: SessionPlan, timeline: Timeline, audio: Path, artist: str, album: str,
          options: TrackOptions) -> tags.TrackTags:
    cover = options.cover or tags.default_cover()
    # Players that play gaplessly (ffmpeg, mpv) shift ID3 chapter times back by the MP3's encoder
    # delay. M4B and Opus chapters are on the presented timeline, after the priming that the edit
    # list or pre-skip trims (measured: ffmpeg lists them at their planned times), so no shift.
    delay = gapless_skip(audio) if options.format == "mp3" else 0
    ms = samples_to_ms
    return tags.TrackTags(
        title=plan.title, artist=artist, album=album, track=options.track, track_total=options.track_total,
        genre="Speech", year=str(datetime.date.today().year), comment=plan.routine.description,
        length_ms=ms(timeline.length), cover=cover[0], cover_mime=cover[1],
        transcript=sidecars.transcript_text(timeline),
        chapters=_chapters(timeline, delay),
        guid=track_guid(plan, album, options.format), session_ms=ms(timeline.program_end),
    )
