"""Playlists: several routines rendered as one album, in parallel, with an .m3u8.

A playlist comes from the command line (`ROUTINE... --name NAME`) or from a playlist file.
Each track renders in its own worker process (--jobs). A track that fails does not stop
the others: they complete, the failure is reported at the end, and the .m3u8 lists only
the tracks that exist.
"""

from __future__ import annotations

import os
import signal
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path
from typing import Any, Callable

from . import output
from .errors import InputError, PlaylistError, Problem, RlsaudioError
from .modes import DEFAULT_SOUNDSCAPE_DB, MODES, PACERS, SOUNDSCAPE_DB_RANGE, ModeOptions
from .render import Reporter, Track, TrackOptions, build_track
from .session import SessionRequest
from .encode import parse_bitrate
from .tomlfile import Checker, Source, parse_toml_bytes, read_toml
from .units import SAMPLE_RATE

TOP_KEYS = ("name", "artist", "cover", "voice", "mode", "bitrate", "tracks")
TRACK_KEYS = ("routine", "voice", "mode", "length", "tail", "soundscape", "soundscape_level", "chime", "pacer")
MAX_TRACKS = 99


@dataclass(frozen=True)
class PlaylistSpec:
    name: str
    tracks: tuple[SessionRequest, ...]
    artist: str | None = None
    cover: Path | None = None
    bitrate: str = "64k"
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


def load_playlist(path: Path | str) -> PlaylistSpec:
    return playlist_from_source(read_toml(path, "playlist", PlaylistError), Path(path).parent)


def parse_playlist(text: str | bytes, name: str = "<playlist>", base: Path = Path(".")) -> PlaylistSpec:
    """Validate playlist text (used by tests and the fuzzer)."""
    return playlist_from_source(parse_toml_bytes(text, name, "playlist", PlaylistError), base)


def playlist_from_source(source: Source, base: Path) -> PlaylistSpec:
    check = Checker(source)
    data = source.data
    check.keys(data, "", TOP_KEYS)
    name = check.text(data, "name", "", required=True)
    artist = check.text(data, "artist", "")
    voice = check.text(data, "voice", "", max_chars=1000)
    mode = _choice(check, data, "mode", "", MODES) or "massage"
    bitrate = check.text(data, "bitrate", "") or "64k"
    try:
        parse_bitrate(bitrate)
    except InputError as exc:
        check.problem("bitrate", exc.problems[0].message)
    cover = check.text(data, "cover", "", max_chars=1000)
    tracks: list[SessionRequest] = []
    raw = data.get("tracks")
    if raw is None:
        check.problem("", "no tracks; add [[tracks]] tables with routine = \"acupressure\" or a file path")
    elif not isinstance(raw, list) or not raw or not all(isinstance(t, dict) for t in raw):
        check.problem("tracks", "expected one or more [[tracks]] tables, each with a routine")
    elif len(raw) > MAX_TRACKS:
        check.problem("tracks", f"{len(raw)} tracks, more than the {MAX_TRACKS} allowed; split the playlist")
    else:
        for i, table in enumerate(raw):
            track = _track(check, table, f"tracks[{i}]", base, voice, mode)
            if track is not None:
                tracks.append(track)
    check.raise_if_any(PlaylistError)
    return PlaylistSpec(name or "", tuple(tracks), artist, _relative(base, cover) if cover else None, bitrate,
                        source.name)


def _choice(check: Checker, table: dict[str, Any], key: str, place: str, allowed: tuple[str, ...]) -> str | None:
    value = check.text(table, key, place)
    if value is not None and value not in allowed:
        check.problem(f"{place}.{key}" if place else key, f'unknown {key} "{value}"; use ' + " or ".join(allowed))
        return None
    return value


def _relative(base: Path, ref: str) -> Path:
    path = Path(ref).expanduser()
    return path if path.is_absolute() else base / path


def _track(check: Checker, table: dict[str, Any], place: str, base: Path, voice: str | None,
           mode: str) -> SessionRequest | None:
    before = len(check.problems)
    check.keys(table, place, TRACK_KEYS)
    routine = check.text(table, "routine", place, required=True, max_chars=1000)
    track_voice = check.text(table, "voice", place, max_chars=1000) or voice
    track_mode = _choice(check, table, "mode", place, MODES) or mode
    length = check.duration(table, "length", place, max_ms=12 * 3_600_000)
    tail = check.duration(table, "tail", place, max_ms=10 * 3_600_000)
    scape = check.text(table, "soundscape", place, max_chars=1000)
    level = check.number(table, "soundscape_level", place, lo=SOUNDSCAPE_DB_RANGE[0], hi=SOUNDSCAPE_DB_RANGE[1])
    chime = check.boolean(table, "chime", place)
    pacer = _choice(check, table, "pacer", place, PACERS)
    if len(check.problems) > before or routine is None:
        return None
    from .routine import bundled_ids

    ref = routine if routine in bundled_ids() and not (base / routine).exists() else str(_relative(base, routine))
    if track_voice and (track_voice.endswith(".toml") or "/" in track_voice):
        track_voice = str(_relative(base, track_voice))
    if scape and scape not in ("brown", "pink"):
        scape = str(_relative(base, scape))
    options = ModeOptions(track_mode, tail, True if chime is None else chime, pacer or "tones", scape,
                          DEFAULT_SOUNDSCAPE_DB if level is None else level)
    return SessionRequest(ref, track_voice, options, length)


# --------------------------------------------------------------------------- building


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def track_stem(number: int, title: str) -> str:
    return f"{number:02d} - {output.safe_name(title)}"


def build_playlist(spec: PlaylistSpec, out_dir: Path, jobs: int, reporter: Reporter,
                   on_track: Callable[[int, Track | Failure], None] | None = None) -> PlaylistResult:
    from .tags import default_cover, load_cover

    folder = output.output_dir(out_dir)
    cover = load_cover(spec.cover) if spec.cover else default_cover()
    base = TrackOptions(bitrate_k=parse_bitrate(spec.bitrate), album=spec.name, artist=spec.artist,
                        track_total=len(spec.tracks), cover=cover)
    jobs = max(1, min(jobs, len(spec.tracks)))
    result = PlaylistResult(None)
    work = [(n, request, replace(base, track=n)) for n, request in enumerate(spec.tracks, start=1)]

    def record(n: int, outcome: Track | Failure) -> None:
        if isinstance(outcome, Track):
            result.tracks.append((n, outcome))
        else:
            result.failures.append(outcome)
        if on_track:
            on_track(n, outcome)

    if jobs == 1:
        for n, request, options in work:
            record(n, _build_one(n, request, folder, options, reporter))
    else:
        _build_parallel(work, folder, jobs, record)
    result.tracks.sort(key=lambda item: item[0])
    result.failures.sort(key=lambda f: f.number)
    if result.tracks:
        result.playlist = write_m3u8(folder / f"{output.safe_name(spec.name)}.m3u8", folder, result.tracks)
    return result


def _build_one(n: int, request: SessionRequest, folder: Path, options: TrackOptions,
               reporter: Reporter | None = None) -> Track | Failure:
    """One track; every error the user can act on becomes a Failure, not an exception."""
    from .render import display_title
    from .session import estimated_session

    try:
        title = display_title(estimated_session(request))
        return build_track(request, folder, replace(options, file_stem=track_stem(n, title)), reporter)
    except RlsaudioError as exc:
        return Failure(n, request.routine, tuple(exc.lines()), exc.exit_code)


def _worker_init(threads: int) -> None:
    os.environ["RLSAUDIO_THREADS"] = str(threads)
    # Ctrl-C is the parent's to handle; it stops workers with SIGTERM, which unwinds the
    # running track (its temporary file is removed) and exits without a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_worker)


def _stop_worker(signum: int, frame: Any) -> None:
    raise SystemExit(130)


def _start_method() -> str:
    """fork starts workers at once; it is only safe in a process with no threads and no speech
    engine loaded (the CLI's case). Otherwise (tests, a library caller) spawn."""
    from .engines.base import _instances

    return "fork" if threading.active_count() == 1 and not _instances and "fork" in get_all_start_methods() \
        else "spawn"


def _phrase_shards(work, jobs: int) -> list[dict[str, list[tuple[str, float]]]]:
    """Every distinct (voice, phrase, rate) of the playlist, dealt into `jobs` shards."""
    from .session import estimated_session

    distinct: dict[tuple[str, str, float], None] = {}
    for _, request, _ in work:
        try:
            session = estimated_session(request)
        except RlsaudioError:
            continue  # this track fails later, with its own message
        voice = request.voice or session.voice.name
        for text, rate in session.timeline.phrases():
            distinct[(voice, text, rate)] = None
    shards: list[dict[str, list[tuple[str, float]]]] = [{} for _ in range(jobs)]
    for i, (voice, text, rate) in enumerate(distinct):
        shards[i % jobs].setdefault(voice, []).append((text, rate))
    return shards


def _speak_shard(shard: dict[str, list[tuple[str, float]]]) -> int:
    """Worker: synthesise a shard of the playlist's phrases into the shared cache."""
    from .cache import Cache
    from .synth import SpeechSource
    from .voices import resolve_voice

    spoken = 0
    for voice_ref, phrases in shard.items():
        try:
            speech = SpeechSource(resolve_voice(voice_ref), Cache())
            speech.prepare(phrases)
            spoken += speech.synthesised
        except RlsaudioError:
            pass  # the track that needs this voice reports the problem
    return spoken


def _build_parallel(work, folder: Path, jobs: int, record) -> None:
    threads = max(1, default_jobs() // jobs)
    pool = ProcessPoolExecutor(jobs, mp_context=get_context(_start_method()), initializer=_worker_init,
                               initargs=(threads,))
    try:
        # Speak every distinct phrase once, split across the workers, before any track renders:
        # tracks that share phrases then never synthesise the same one twice at the same time.
        for future in [pool.submit(_speak_shard, shard) for shard in _phrase_shards(work, jobs) if shard]:
            try:
                future.result()
            except Exception:  # noqa: BLE001 - a worker that died here fails its tracks below, with reasons
                pass
        pending: dict[Future, tuple[int, SessionRequest]] = {
            pool.submit(_build_one, n, request, folder, options): (n, request) for n, request, options in work
        }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                n, request = pending.pop(future)
                try:
                    record(n, future.result())
                except Exception as exc:  # a crashed worker: report it like any failure
                    record(n, Failure(n, request.routine, (f"{request.routine}: internal error: {exc}",), 1))
    except BaseException:
        _stop_workers(pool, folder)
        raise
    pool.shutdown(wait=True)


def _stop_workers(pool: ProcessPoolExecutor, folder: Path) -> None:
    """Interrupted: stop every worker now; finished tracks stay, unfinished ones leave nothing."""
    processes = list((pool._processes or {}).values())  # no public API lists a pool's workers
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join()
    for process in processes:  # a worker killed outright could not remove its temporary files
        for temp in folder.glob(f"{output.TEMP_PREFIX}{process.pid}-*"):
            temp.unlink(missing_ok=True)


def write_m3u8(path: Path, folder: Path, tracks: list[tuple[int, Track]]) -> Path:
    lines = ["#EXTM3U"]
    for _, track in tracks:
        seconds = round(track.length / SAMPLE_RATE)
        lines.append(f"#EXTINF:{seconds},{track.artist} - {track.title}")
        lines.append(os.path.relpath(track.path, folder).replace(os.sep, "/"))
    with output.staged(path, ".m3u8") as temp:
        temp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        output.commit(temp, path)
    return path


def from_arguments(routines: tuple[str, ...], name: str, request: Callable[[str], SessionRequest],
                   artist: str | None, cover: Path | None, bitrate: str) -> PlaylistSpec:
    if not name.strip():
        raise InputError(Problem("--name", "the playlist needs a name; add --name \"Evening routines\""))
    return PlaylistSpec(name.strip(), tuple(request(r) for r in routines), artist, cover, bitrate, "")
