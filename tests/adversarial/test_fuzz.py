"""Fuzzing the loaders: any text or TOML structure gives a valid result or the project's own error."""

import datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlsaudio.base.errors import PlaylistError, RoutineError
from rlsaudio.base.tomlfile import Locator, Source
from rlsaudio.publish.album import TOP_KEYS as PLAYLIST_KEYS
from rlsaudio.publish.album import TRACK_KEYS, parse_playlist, playlist_from_source
from rlsaudio.script.routine import (
    BREATHE_KEYS,
    PACE_KEYS,
    STEP_KEYS,
    TOP_KEYS,
    Routine,
)
from rlsaudio.script.routinefile import parse_routine, routine_from_source

FUZZ = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.integers(min_value=-10**12, max_value=10**12), st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.text(max_size=40), st.sampled_from(["10", "90s", "1m30s", "500ms", "-3s", "ten", "{side}",
                                                          "[2s]", "right", "left", "bedtime", "massage", "4h"]),
    st.datetimes(min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2030, 1, 1)),
)


def tables(keys):
    key = st.one_of(st.sampled_from(keys), st.text(min_size=1, max_size=12))
    values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                           st.dictionaries(key, inner, max_size=4)), max_leaves=8)
    return st.dictionaries(key, values, max_size=8)


step = st.one_of(tables(STEP_KEYS + BREATHE_KEYS), scalars)
routine_data = st.fixed_dictionaries(
    {}, optional={"title": scalars, "pace": st.one_of(tables(PACE_KEYS), scalars),
                  "steps": st.one_of(st.lists(step, max_size=4), scalars)},
).flatmap(lambda base: tables(TOP_KEYS).map(lambda extra: {**extra, **base}))

playlist_data = st.fixed_dictionaries(
    {}, optional={"name": scalars, "tracks": st.one_of(st.lists(st.one_of(tables(TRACK_KEYS), scalars), max_size=3),
                                                      scalars)},
).flatmap(lambda base: tables(PLAYLIST_KEYS).map(lambda extra: {**extra, **base}))


def _one_line_problems(error):
    lines = error.lines()
    assert lines and all(isinstance(line, str) and "\n" not in line for line in lines)


@FUZZ
@given(st.text(max_size=400))
def test_routine_text(text):
    try:
        result = parse_routine(text, "fuzz.toml")
    except RoutineError as error:
        _one_line_problems(error)
    else:
        assert isinstance(result, Routine) and result.steps


@FUZZ
@given(st.binary(max_size=300))
def test_routine_bytes(raw):
    try:
        parse_routine(raw, "fuzz.toml")
    except RoutineError as error:
        _one_line_problems(error)


@FUZZ
@given(routine_data)
def test_routine_structures(data):
    try:
        result = routine_from_source(Source("fuzz.toml", None, data, Locator("")))
    except RoutineError as error:
        _one_line_problems(error)
    else:
        assert isinstance(result, Routine) and result.title and result.steps


@FUZZ
@given(st.text(max_size=400))
def test_playlist_text(text):
    try:
        parse_playlist(text, "fuzz.toml")
    except PlaylistError as error:
        _one_line_problems(error)


@FUZZ
@given(playlist_data)
def test_playlist_structures(data):
    try:
        spec = playlist_from_source(Source("fuzz.toml", None, data, Locator("")), Path("."))
    except PlaylistError as error:
        _one_line_problems(error)
    else:
        assert spec.name and spec.tracks


@FUZZ
@given(st.lists(st.sampled_from(['title = "T"', "[[steps]]", 'title = "A"', 'say = "x [2s] y {side}"',
                                 "hold = 10", 'hold = "2m"', "rest = 5", "repeat = 3", 'cues = ["a", "b", "c"]',
                                 'sides = ["right", "left"]', "breathe = true", "breathe = { cycles = 3 }",
                                 'massage = "1m"', 'pause = "30s"', "[pace]", "inhale = 4", "hold = -1",
                                 'switch = "Now {side}."', "guided_breaths = 1", "[steps.breathe]", "cycles = 2"]),
                max_size=14))
def test_plausible_routines(lines):
    """Lines from real routines in random order: a far denser search of the validator's rules."""
    try:
        result = parse_routine("\n".join(lines) + "\n", "fuzz.toml")
    except RoutineError as error:
        _one_line_problems(error)
    else:
        assert result.steps
