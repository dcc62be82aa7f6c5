"""Planning a track: one request -> one frozen SessionPlan, made once and used by every station.

A `TrackRequest` is what a user asked for (a routine or a composition, a voice, mode options,
a length), with the place each value came from so errors can name it (`--length` on the
command line, `week.toml:12: tracks[1].length` in a playlist file). `plan_track` loads and
checks everything the request names and lays the session out; the plan then carries the
routine, voice, style, mix settings, title and the phrases to speak. Speech lengths are
the only thing a plan does not know: `SessionPlan.timeline(speech_len)` times it, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .base import limits
from .base.errors import InputError, Problem, RoutineError
from .base.units import format_length, format_ms, ms_to_samples
from .script.modes import MixSettings, ModeOptions, Origins, check_options, located, mix_settings_for, style_for
from .script.modes import table as mode_table
from .script.routine import Routine
from .script.routinefile import check_routine, routine_source
from .script.timeline import Draft, SpeechLength, Style, Timeline, build_timeline, estimate_speech, lay_out
from .speech.profile import VoiceProfile
from .speech.pronounce import Pronouncer, pronouncer_for
from .speech.voices import resolve_voice

if TYPE_CHECKING:
    from .script.compose import Composition
    from .script.points import PointLibrary


@dataclass(frozen=True)
class TrackRequest:
    routine: str = ""  # a bundled id or a routine (or composition) file
    voice: str | None = None
    mode: ModeOptions = ModeOptions()
    length_ms: int | None = None
    compose: "Composition | None" = None  # points to compose, instead of a routine
    points_file: str | None = None
    origins: Origins = field(default_factory=dict, hash=False, compare=False)

    @property
    def shown(self) -> str:
        """How failures name this track: its routine reference or its composition's title."""
        return self.routine or (self.compose.title if self.compose else "")


@dataclass(frozen=True)
class SessionPlan:
    request: TrackRequest
    routine: Routine
    voice: VoiceProfile
    style: Style
    mix: MixSettings
    draft: Draft
    title: str  # the track's title: the routine's, with its mode's suffix ("(bedtime)")
    library: "PointLibrary"  # the points the routine may name (bundled, plus a --points-file)
    pronounce: Pronouncer  # what the engine is given for each phrase (codes as names, respellings)
    warnings: tuple[Problem, ...] = ()

    @property
    def phrases(self) -> list[tuple[str, float]]:
        return self.draft.phrases()

    @property
    def album(self) -> str:
        return self.routine.album or self.routine.title

    def timeline(self, speech_len: SpeechLength) -> Timeline:
        """The session timed with these speech lengths, within every length limit."""
        origin = self.request.origins.get("length") if self.request.length_ms is not None else None
        timeline = build_timeline(self.draft, speech_len, target_ms=self.request.length_ms, where=origin)
        check_length(self, timeline.program_end, timeline.tail)
        return timeline

    def estimated(self) -> Timeline:
        """The session timed with speech estimated from the voice's rate (instant, approximate)."""
        return self.timeline(estimate_speech(self.voice.words_per_minute))


def check_length(plan: SessionPlan, session: int, tail: int) -> None:
    """A session, speech included, lasts at most 12 h; with its tail, at most 12 h too."""
    name = plan.routine.source or plan.routine.title
    if session > ms_to_samples(limits.MAX_SESSION_MS):
        raise RoutineError(Problem(name, f"plans to {format_length(session)} with its speech, more than the "
                                         f"{format_ms(limits.MAX_SESSION_MS)} allowed; shorten it or split it"))
    if session + tail > ms_to_samples(limits.MAX_TRACK_MS):
        raise InputError(located(plan.request.origins, "tail",
                                 f"the session lasts {format_length(session)}, and with a tail of {format_length(tail)} "
                                 f"the track would last more than {format_ms(limits.MAX_TRACK_MS)}; use a shorter tail",
                                 "--tail"))


def plan_track(request: TrackRequest, *, need_voice: bool = True) -> SessionPlan:
    """Load and check everything a request names, and lay the session out.

    Raises InputError (bad input, exit 2) or EngineError (the voice cannot run here, exit 1)
    before anything is synthesised or written."""
    from .script.pointfile import load_library

    library = load_library(request.points_file)
    routine, warnings = _routine(request, library)
    request = with_session(request, routine)
    check_options(request.mode, request.origins)
    _check_soundscape(request)
    voice = resolve_voice(request.voice, need_available=need_voice, origin=request.origins.get("voice"))
    style = style_for(request.mode, voice)
    title = routine.title + mode_table()[request.mode.mode]["title_suffix"]
    pronounce = pronouncer_for(voice.name, library, dict(routine.pronounce), engine=voice.engine)
    plan = SessionPlan(request, routine, voice, style, mix_settings_for(request.mode), lay_out(routine, style),
                       title, library, pronounce, tuple(warnings))
    # Speech can bypass the routine's 12-hour check (thousands of cues): refuse before speaking them.
    speech = estimate_speech(voice.words_per_minute)
    check_length(plan, plan.draft.estimated_length(speech), ms_to_samples(style.tail_ms))
    check_chapters(plan)
    check_spoken(plan)
    return plan


def check_chapters(plan: SessionPlan) -> None:
    """At most MAX_CHAPTERS chapters (one per step and side): what every format's chapter table holds."""
    count = sum(1 for piece in plan.draft.pieces if piece.chapter is not None)
    if count > limits.MAX_CHAPTERS:
        raise RoutineError(Problem(plan.routine.source or plan.routine.title,
                                   f"would have {count} chapters (one per step and side), more than the "
                                   f"{limits.MAX_CHAPTERS} a track's chapter list can hold; use fewer steps or "
                                   "sides, or split the routine in two"))


def check_spoken(plan: SessionPlan) -> None:
    """Every phrase, as the engine will be given it (pronunciations applied), within MAX_SPOKEN_CHARS."""
    for text, _ in dict.fromkeys(plan.phrases):
        length = len(plan.pronounce.spoken(text))
        if length > limits.MAX_SPOKEN_CHARS:
            start = " ".join(text.split()[:6])
            raise RoutineError(Problem(plan.routine.source or plan.routine.title,
                                       f'the sentence beginning "{start[:60]}" is {length} characters long once its '
                                       f"pronunciations are applied, more than the {limits.MAX_SPOKEN_CHARS} "
                                       "allowed; shorten it or its [pronounce] respellings"))


def _check_soundscape(request: TrackRequest) -> None:
    """A soundscape file must be a regular file: found now, not after minutes of synthesis."""
    from pathlib import Path

    from .audio.soundscape import NOISES, SOUNDSCAPE_KIND
    from .base.errors import at_origin
    from .base.safeio import check_regular

    spec = request.mode.soundscape
    if spec and spec not in NOISES:
        try:
            check_regular(Path(spec).expanduser(), spec, SOUNDSCAPE_KIND, InputError)
        except InputError as exc:
            raise InputError([at_origin(request.origins.get("soundscape"), p) for p in exc.problems]) from None


def _routine(request: TrackRequest, library: "PointLibrary") -> tuple[Routine, list[Problem]]:
    if request.compose is not None:
        from .script.compose import compose_routine

        return compose_routine(request.compose, library), []
    source = routine_source(request.routine)
    if "compose" in source.data:
        from .script.compose import compose_routine, composition_from_source

        return compose_routine(composition_from_source(source), library), []
    return check_routine(source, library)


def with_session(request: TrackRequest, routine: Routine) -> TrackRequest:
    """The request with the routine's `[session]` settings wherever the request did not set them
    (an option gets an origin only when it was given), each located at its line in the file."""
    session = routine.session
    taken = {key: Problem(routine.source, "", f"session.{key}", line) for key, line in session.places
             if key not in request.origins}
    if not taken:
        return request
    folder = Path(routine.source).parent

    def path_or_name(value: str, names: tuple[str, ...]) -> str:
        return value if value in names or not (value.endswith(".toml") or "/" in value or "." in value) \
            else str(folder / Path(value).expanduser())

    mode = request.mode
    updates = {"mode": session.mode, "tail_ms": session.tail_ms, "pacer": session.pacer, "chime": session.chime,
               "soundscape": session.soundscape and path_or_name(session.soundscape, ("brown", "pink")),
               "soundscape_db": session.soundscape_db}
    keys = {"mode": "mode", "tail_ms": "tail", "pacer": "pacer", "chime": "chime", "soundscape": "soundscape",
            "soundscape_db": "soundscape_level"}
    mode = replace(mode, **{field: value for field, value in updates.items() if keys[field] in taken})
    return replace(request, mode=mode,
                   voice=path_or_name(session.voice, ()) if "voice" in taken else request.voice,
                   length_ms=session.length_ms if "length" in taken else request.length_ms,
                   origins={**taken, **request.origins})


def with_origins(request: TrackRequest, **origins: Problem) -> TrackRequest:
    return replace(request, origins={**request.origins, **origins})
