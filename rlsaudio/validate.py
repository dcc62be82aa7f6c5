"""`rlsaudio validate`: check any of rlsaudio's files, whatever kind it is.

The kind comes from the file's keys: a routine has [[steps]], a composition `compose`, a
playlist [[tracks]], a voice profile `engine`, a points file [[points]]. A playlist is
checked through to its tracks: each track is planned, so a broken routine it names is
reported as that track's problem, with the playlist's line.
"""

from __future__ import annotations

from pathlib import Path

from .base.errors import InputError, Problem, RlsaudioError
from .base.tomlfile import Source, read_toml


def check_file(name: str, points_file: str | None = None) -> tuple[str, list[Problem]]:
    """(a one-line summary, warnings) for a valid file; raises InputError listing its problems."""
    source = read_toml(name, "TOML", InputError, name)
    data = source.data
    if "tracks" in data and "steps" not in data:
        return _playlist(source, name, points_file)
    if "engine" in data and "steps" not in data:
        from .speech.voices import profile_from_source

        profile = profile_from_source(source, Path(name).stem)
        return f"voice profile, engine {profile.engine}", []
    if "points" in data and "steps" not in data and "compose" not in data:
        from .script.pointfile import load_library

        library = load_library(name)
        return f"points file, {len(library.points)} points with the bundled ones", []
    from .plan import TrackRequest, plan_track

    plan = plan_track(TrackRequest(name, points_file=points_file), need_voice=False)
    kind = "composition" if "compose" in data else "routine"
    return f"{kind} {plan.routine.title!r}, {len(plan.routine.steps)} steps", list(plan.warnings)


def _playlist(source: Source, name: str, points_file: str | None) -> tuple[str, list[Problem]]:
    from .plan import plan_track
    from .publish.album import playlist_from_source

    spec = playlist_from_source(source, Path(name).parent, points_file)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for request in spec.tracks:
        try:
            warnings += plan_track(request, need_voice=False).warnings
        except RlsaudioError as exc:
            origin = request.origins.get("routine") or Problem(name, "")
            for line in exc.lines():
                problems.append(Problem(origin.file, line, origin.place, origin.line))
    if problems:
        raise InputError(problems)
    return f"playlist {spec.name!r}, {len(spec.tracks)} tracks", warnings
