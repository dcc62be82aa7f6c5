"""Playlists: several routines rendered as one album, with numbered tracks and an .m3u8.

A playlist comes from the command line (`ROUTINE... --name NAME`) or from a playlist file.
Every track is planned up front in this process, so a problem with a track's options names
its line in the playlist file before anything renders. Tracks then render in worker
processes (`jobs.py`); a track that fails does not stop the others: they complete, each
failure is reported at the end, and the .m3u8 lists only the tracks that exist.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from ..base import limits
from ..base.errors import InputError, PlaylistError, Problem, RlsaudioError
from ..base.safeio import Staging, clean_stale
from ..base.tomlfile import Checker, Source, parse_toml_bytes, read_toml
from ..base.units import SAMPLE_RATE
from ..encode.formats import default_bitrate, format_names, parse_bitrate
from ..plan import SessionPlan, TrackRequest, plan_track
from ..script.modes import MODES, PACERS, ModeOptions, check_options, defaults
from ..script.routine import bundled_ids
from ..system import workers
from ..system.cache import Cache
from ..system.progress import Quiet, Reporter, start_counted
from .output import output_dir, safe_name, tidy_folders
from .sidecars import one_line
from .tags import load_cover
from .track import Track, TrackOptions, build_track

TOP_KEYS = ("name", "artist", "cover", "voice", "mode", "bitrate", "format", "tracks")
TRACK_KEYS = ("routine", "compose", "title", "hold", "voice", "mode", "length", "tail", "soundscape",
              "soundscape_level", "chime", "pacer")
OPTION_KEYS = ("mode", "tail", "pacer", "soundscape_level", "length", "voice", "soundscape")


@dataclass(frozen=True)
class PlaylistSpec:
    name: str
    tracks: tuple[TrackRequest, ...]
    artist: str | None = None
    cover: tuple[bytes, str] | None = None
    bitrate_k: int | None = None  # default: the format's own
    format: str = "mp3"
    source: str = ""


@dataclass(frozen=True)
class Failure:
    number: int
    routine: str
    lines: tuple[str, ...]
    exit_code: int


@dataclass
class PlaylistResult:
    playlist: Path | None
    tracks: list[tuple[int, Track]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if not self.failures:
            return 0
        return 2 if any(f.exit_code == 2 for f in self.failures) else 1


# --------------------------------------------------------------------------- playlist files


def load_playlist(path: Path | str, points_file: str | None = None) -> PlaylistSpec:
    return playlist_from_source(read_toml(path, "playlist", PlaylistError), Path(path).parent, points_file)


def parse_playlist(text: str | bytes, name: str = "<playlist>", base: Path = Path(".")) -> PlaylistSpec:
    """Validate playlist text (used by tests and the fuzzer)."""
    return playlist_from_source(parse_toml_bytes(text, name, "playlist", PlaylistError), base)


def playlist_from_source(source: Source, base: Path, points_file: str | None = None) -> PlaylistSpec:
    check = Checker(source)
    data = source.data
    check.keys(data, "", TOP_KEYS)
    name = check.text(data, "name", "", required=True)
    artist = check.text(data, "artist", "")
    voice = check.text(data, "voice", "", max_chars=1000)
    mode = check.choice(data, "mode", "", MODES) or defaults()["mode"]
    fmt = check.choice(data, "format", "", format_names()) or defaults()["format"]
    bitrate = default_bitrate(fmt)
    bitrate_text = check.text(data, "bitrate", "")
    if bitrate_text:
        try:
            bitrate = parse_bitrate(bitrate_text, check.where("bitrate"), fmt)
        except InputError as exc:
            check.problems += exc.problems
    cover = None
    cover_ref = check.text(data, "cover", "", max_chars=1000)
    if cover_ref:
        try:
            cover = load_cover(_relative(base, cover_ref), check.where("cover"))
        except InputError as exc:
            check.problems += exc.problems
    tracks: list[TrackRequest] = []
    raw = data.get("tracks")
    if raw is None:
        check.problem("", "no tracks; add [[tracks]] tables with routine = \"acupressure\" or a file path")
    elif not isinstance(raw, list) or not raw or not all(isinstance(t, dict) for t in raw):
        check.problem("tracks", "expected one or more [[tracks]] tables, each with a routine")
    elif len(raw) > limits.MAX_TRACKS:
        check.problem("tracks", f"{len(raw)} tracks, more than the {limits.MAX_TRACKS} allowed; split the playlist")
    else:
        for i, table in enumerate(raw):
            track = _track(check, table, f"tracks[{i}]", base, voice, mode, points_file)
            if track is not None:
                tracks.append(track)
    check.raise_if_any(PlaylistError)
    return PlaylistSpec(name or "", tuple(tracks), artist, cover, bitrate, fmt, source.name)


def _relative(base: Path, ref: str) -> Path:
    path = Path(ref).expanduser()
    return path if path.is_absolute() else base / path


def _track(check: Checker, table: dict[str, Any], place: str, base: Path, voice: str | None,
           mode: str, points_file: str | None) -> TrackRequest | None:
    before = len(check.problems)
    check.keys(table, place, TRACK_KEYS)
    routine = check.text(table, "routine", place, max_chars=1000)
    composition = _composition(check, table, place, routine, points_file)
    track_voice = check.text(table, "voice", place, max_chars=1000) or voice
    track_mode = check.choice(table, "mode", place, MODES) or mode
    length = check.duration(table, "length", place, max_ms=limits.MAX_SESSION_MS)
    tail = check.duration(table, "tail", place, max_ms=limits.MAX_TAIL_MS)
    scape = check.text(table, "soundscape", place, max_chars=1000)
    level = check.number(table, "soundscape_level", place, lo=-1000, hi=1000)
    chime = check.boolean(table, "chime", place)
    pacer = check.choice(table, "pacer", place, PACERS)
    if len(check.problems) > before:
        return None
    if track_voice and (track_voice.endswith(".toml") or "/" in track_voice):
        track_voice = str(_relative(base, track_voice))
    if scape and scape not in ("brown", "pink"):
        scape = str(_relative(base, scape))
    options = ModeOptions(track_mode, tail, True if chime is None else chime, pacer or defaults()["pacer"], scape,
                          defaults()["soundscape_db"] if level is None else level)
    origins = {key: _origin(check, table, place, key) for key in OPTION_KEYS}
    origins["routine"] = check.where(f"{place}.routine" if routine else f"{place}.compose")
    try:
        check_options(options, origins)
    except InputError as exc:
        check.problems += exc.problems
        return None
    if composition is not None:
        return TrackRequest("", track_voice, options, length, compose=composition, points_file=points_file,
                            origins=origins)
    assert routine is not None
    ref = routine if routine in bundled_ids() and not (base / routine).exists() else str(_relative(base, routine))
    return TrackRequest(ref, track_voice, options, length, points_file=points_file, origins=origins)


def _origin(check: Checker, table: dict[str, Any], place: str, key: str) -> Problem:
    """Where a track's option was set: on the track, else at the top of the file, else the track."""
    if key in table:
        return check.where(f"{place}.{key}")
    if key in check.source.data:
        return check.where(key)
    return check.where(place)


def _composition(check: Checker, table: dict[str, Any], place: str, routine: str | None,
                 points_file: str | None) -> Any:
    """A track may compose points instead of naming a routine: compose = ["SP 6", "K 3"]."""
    if "compose" not in table:
        if routine is None:
            check.problem(place, 'missing "routine"; add routine = "acupressure" (or compose = ["SP 6", "K 3"])')
        for key in ("title", "hold"):
            if key in table:
                check.problem(f"{place}.{key}", f"{key} is for a composed track; add compose = [\"SP 6\"] or "
                                                f"remove {key}")
        return None
    if routine is not None:
        check.problem(f"{place}.compose", "a track has either routine or compose, not both; remove one")
        return None
    from ..script.compose import composition_from_table

    return composition_from_table(check, table, place, points_file)


# --------------------------------------------------------------------------- building


def track_stem(number: int, title: str) -> str:
    return f"{number:02d} - {safe_name(title)}"


def build_playlist(spec: PlaylistSpec, out_dir: Path, jobs: int, reporter: Reporter | None = None,
                   on_track: Callable[[int, Track | Failure], None] | None = None, *,
                   page: bool = True, force: bool = False) -> PlaylistResult:
    """Every track of the playlist (a failure does not stop the others), then its .m3u8 and index.
    A playlist that writes no track (every track failed, or it was stopped) leaves no empty folder."""
    with tidy_folders(out_dir):
        return _build_playlist(spec, out_dir, jobs, reporter, on_track, page, force)


def _build_playlist(spec: PlaylistSpec, out_dir: Path, jobs: int, reporter: Reporter | None,
                    on_track: Callable[[int, Track | Failure], None] | None, page: bool,
                    force: bool) -> PlaylistResult:
    from .tags import default_cover

    reporter = reporter or Quiet()
    result = PlaylistResult(None)

    def record(n: int, outcome: Track | Failure) -> None:
        if isinstance(outcome, Track):
            result.tracks.append((n, outcome))
        else:
            result.failures.append(outcome)
        if on_track:
            on_track(n, outcome)

    plans: dict[int, SessionPlan] = {}
    for n, request in enumerate(spec.tracks, start=1):
        try:
            plans[n] = plan_track(request)
        except RlsaudioError as exc:
            record(n, _failure(n, request, exc))
    if plans:
        folder = output_dir(out_dir)
        clean_stale(folder)
        base = TrackOptions(format=spec.format, bitrate_k=spec.bitrate_k, album=spec.name, artist=spec.artist,
                            track_total=len(spec.tracks), cover=spec.cover or default_cover(), page=page,
                            force=force)
        work = [(n, plan, replace(base, track=n, file_stem=track_stem(n, plan.title))) for n, plan in plans.items()]
        jobs = max(1, min(jobs, len(work)))
        if jobs == 1:
            for n, plan, options in work:
                record(n, _build_one(n, plan, folder, options, reporter))
        else:
            _build_parallel(work, folder, jobs, record, reporter)
        result.tracks.sort(key=lambda item: item[0])
        if result.tracks:
            result.playlist = write_m3u8(folder / f"{safe_name(spec.name)}.m3u8", folder, result.tracks)
            if page:
                write_index(folder / "index.html", folder, spec.name, result.tracks)
    result.failures.sort(key=lambda f: f.number)
    return result


def _failure(n: int, request: TrackRequest, exc: RlsaudioError) -> Failure:
    return Failure(n, request.shown, tuple(exc.lines()), exc.exit_code)


def _build_one(n: int, plan: SessionPlan, folder: Path, options: TrackOptions,
               reporter: Reporter | None = None) -> Track | Failure:
    """One track; every error the user can act on becomes a Failure, not an exception."""
    try:
        return build_track(plan, folder, options, reporter)
    except RlsaudioError as exc:
        return _failure(n, plan.request, exc)


def _speak_all(plans: list[SessionPlan], jobs: int, reporter: Reporter) -> None:
    """Speak every distinct phrase of the playlist once, in a pool of speech processes, before any
    track renders: each is spoken as its track's build will speak it, so the builds find it
    cached, and tracks that share phrases never speak one twice."""
    from ..speech.pool import speak_in_pool
    from ..speech.synth import SpeechSource

    cache = Cache()
    groups: dict[tuple[Any, Any], list[tuple[str, float]]] = {}
    for plan in plans:
        groups.setdefault((plan.voice, plan.pronounce), []).extend(plan.phrases)
    for (voice, pronounce), phrases in groups.items():
        source = SpeechSource(voice, cache, pronounce)
        distinct = list(dict.fromkeys(phrases))
        start_counted(reporter, f"Speaking with {voice.name}", len(distinct), "phrases")
        missing = source.missing(distinct, reporter.advance)
        if missing:
            speak_in_pool(voice, cache, missing, jobs, source.adopt, reporter.advance, pronounce=pronounce,
                          skip_failures=True)


def _build_parallel(work, folder: Path, jobs: int, record, reporter: Reporter) -> None:
    """Tracks rendered `jobs` at a time in worker processes. On a terminal: the speech's bar, then
    an overall bar of the tracks (its clock ticking while they render out of sight), and a line
    for each track as it is published (the caller's `record`)."""
    _speak_all([plan for _, plan, _ in work], jobs, reporter)
    start_counted(reporter, f"Rendering {len(work)} tracks, {jobs} at a time", len(work), "tracks")
    publish = record

    def record(n, outcome):
        publish(n, outcome)
        reporter.advance(1)

    executor = workers.pool(jobs)
    try:
        pending: dict[Future, tuple[int, SessionPlan]] = {
            executor.submit(_build_one, n, plan, folder, options): (n, plan) for n, plan, options in work
        }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                n, plan = pending.pop(future)
                try:
                    record(n, future.result())
                except BrokenProcessPool:
                    record(n, Failure(n, plan.request.shown, ("a worker process stopped unexpectedly (killed, or out "
                                                              "of memory); build this track again, or use --jobs 1",),
                                      1))
    except BaseException:
        workers.stop(executor)
        clean_stale(folder)  # a worker killed outright could not remove its staging folder
        raise
    executor.shutdown(wait=True)


def m3u8_path(rel: str) -> str:
    """A relative path as an .m3u8 line: a URI, every segment percent-encoded (a space, a "#"
    that would start a comment line, "%", non-ASCII), so every player reads the same file."""
    from urllib.parse import quote

    return "/".join(quote(segment, safe="") for segment in rel.split("/"))


def write_m3u8(path: Path, folder: Path, tracks: list[tuple[int, Track]]) -> Path:
    lines = ["#EXTM3U"]
    for _, track in tracks:
        seconds = round(track.length / SAMPLE_RATE)
        # One line: the title is all that follows the first comma, so commas in it are its own.
        lines.append(f"#EXTINF:{seconds},{one_line(track.artist)} - {one_line(track.title)}")
        lines.append(m3u8_path(track.path.relative_to(folder).as_posix()))
    with Staging(folder) as stage:
        stage.commit([stage.text(path, "\n".join(lines) + "\n")])
    return path


def write_index(path: Path, folder: Path, name: str, tracks: list[tuple[int, Track]]) -> Path:
    """The album's index.html: each track with its listen-along page."""
    from .output import SIDECARS
    from .page import AlbumTrack, album_html, href

    rows = []
    for n, track in tracks:
        page = track.path.with_name(track.path.stem + SIDECARS["page"])
        rows.append(AlbumTrack(n, track.title, track.length, href(track.path.name),
                               href(page.name) if page in track.files else None))
    with Staging(folder) as stage:
        stage.commit([stage.text(path, album_html(name, rows))])
    return path


def from_arguments(routines: tuple[str, ...], name: str, request: Callable[[str], TrackRequest],
                   artist: str | None, cover: tuple[bytes, str] | None, bitrate_k: int, fmt: str) -> PlaylistSpec:
    if not name.strip():
        raise InputError(Problem("--name", "the playlist needs a name; add --name \"Evening routines\""))
    return PlaylistSpec(name.strip(), tuple(request(r) for r in routines), artist, cover, bitrate_k, fmt, "")
