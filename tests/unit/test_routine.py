"""The routine file format: every key, and every validation error with its exact message."""

import textwrap

import pytest

from rlsaudio.base.errors import RoutineError
from rlsaudio.script.routine import Breathing, Pace, bundled_ids
from rlsaudio.script.routinefile import load_bundled, load_routine, parse_routine

FULL_EXAMPLE = '''
title = "Calf release for restless legs"
author = "Jane Doe"
description = "Ten minutes before bed."
album = "Evening routines"

[pace]
hold = 10
rest = 10
inhale = 4
exhale = 6
guided_breaths = 3

[[steps]]
title = "Settle in"
say = "Lie on your back. [2s] Let your legs go heavy."
pause = "30s"

[[steps]]
title = "Calf press"
sides = ["right", "left"]
switch = "Now the {side} calf."
say = "Find the middle of your {side} calf."
hold = 10
rest = 5
repeat = 3
cues = ["Press gently.", "A little firmer.", "Firmer still, but never painful."]

[[steps]]
title = "Thumb hold"
say = "Hold your right thumb with your left hand."
hold = "2m"
breathe = true

[[steps]]
title = "Ankle massage"
say = "Massage the area in front of your ankle."
massage = "1m30s"

[[steps]]
title = "Slow breathing"
breathe = { inhale = 4, exhale = 6, cycles = 6 }

[[steps]]
title = "Default hold"
hold = true
'''


def load(text: str, name: str = "r.toml"):
    return parse_routine(textwrap.dedent(text).lstrip("\n"), name)


def problems(text: str) -> list[str]:
    with pytest.raises(RoutineError) as info:
        load(text)
    return info.value.lines()


def test_every_key_of_the_format():
    r = load(FULL_EXAMPLE)
    assert (r.title, r.author, r.description, r.album) == (
        "Calf release for restless legs", "Jane Doe", "Ten minutes before bed.", "Evening routines")
    assert r.pace == Pace(10_000, 10_000, 4_000, 6_000, 3)
    settle, calf, thumb, ankle, breathing, default = r.steps
    assert settle.say == "Lie on your back. [2s] Let your legs go heavy."
    assert settle.pause_ms == 30_000
    assert calf.sides == ("right", "left") and calf.switch == "Now the {side} calf."
    assert (calf.hold_ms, calf.rest_ms, calf.repeat) == (10_000, 5_000, 3)
    assert calf.cues == ("Press gently.", "A little firmer.", "Firmer still, but never painful.")
    assert thumb.hold_ms == 120_000 and thumb.breathing == Breathing(4_000, 6_000, None)
    assert ankle.massage_ms == 90_000 and ankle.hold_ms is None
    assert breathing.breathing == Breathing(4_000, 6_000, 6)
    assert default.hold_ms == 10_000  # hold = true takes [pace].hold


def test_defaults_without_pace():
    r = load('title = "T"\n[[steps]]\ntitle = "A"\nhold = 5\nrepeat = 2\nbreathe = true\n')
    step = r.steps[0]
    assert step.rest_ms == 10_000  # the default rest between presses
    assert step.breathing == Breathing(4_000, 6_000, None)
    assert r.pace.guided_breaths == 2


def test_one_cue_for_all_presses_and_cue_as_string():
    r = load('title = "T"\n[[steps]]\ntitle = "A"\nhold = 5\nrepeat = 3\ncues = "Press."\n')
    assert [r.steps[0].cue_for(i) for i in range(3)] == ["Press."] * 3


def test_text_is_normalised():
    r = load('title = "  Calf \\t release "\n[[steps]]\ntitle = "A"\nsay = """Line one.\n   Line two."""\n')
    assert r.title == "Calf release"
    assert r.steps[0].say == "Line one. Line two."


def test_bom_is_accepted():
    r = parse_routine('\ufefftitle = "T"\n[[steps]]\ntitle = "A"\npause = 1\n', "bom.toml")
    assert r.title == "T"


def test_file_problems(tmp_path):
    with pytest.raises(RoutineError) as info:
        load_routine(tmp_path / "missing.toml", "missing.toml")
    assert info.value.lines() == ["missing.toml: no such routine file; check the path"]
    with pytest.raises(RoutineError) as info:
        load_routine(tmp_path, "folder")
    assert info.value.lines() == ["folder: is a folder, not a routine file; give the path of a .toml file"]
    big = tmp_path / "big.toml"
    big.write_text('title = "T"\n' + "#" * 1_100_000)
    with pytest.raises(RoutineError) as info:
        load_routine(big, "big.toml")
    assert info.value.lines() == ["big.toml: routine file is larger than 1 MB; a routine file holds text settings only"]


def test_invalid_utf8_names_the_line():
    with pytest.raises(RoutineError) as info:
        parse_routine(b'title = "T"\n[[steps]]\ntitle = "A"\nsay = "caf\xe9"\n', "latin.toml")
    assert info.value.lines() == ["latin.toml:4: invalid UTF-8 (byte 0xe9); save the file as UTF-8"]


def test_toml_syntax_error_names_the_line():
    assert problems('title = "T"\n[[steps]\ntitle = "A"\n') == [
        "r.toml:2: TOML syntax error: Expected ']]' at the end of an array declaration; "
        "see https://toml.io for the syntax"
    ]


# Each case: a routine with one mistake, and the exact line the user sees.
CATALOGUE = {
    "missing title": (
        '[[steps]]\ntitle = "A"\npause = 1\n',
        'r.toml: title: missing "title"; add title = "..."',
    ),
    "no steps": (
        'title = "T"\n',
        "r.toml: no steps; add at least one [[steps]] table with a title and something to do",
    ),
    "empty steps": (
        'title = "T"\nsteps = []\n',
        "r.toml:2: steps: no steps; add at least one [[steps]] table",
    ),
    "steps not tables": (
        'title = "T"\nsteps = ["a"]\n',
        'r.toml:2: steps: expected [[steps]] tables, got an array',
    ),
    "unknown top key": (
        'title = "T"\nautor = "x"\n[[steps]]\ntitle = "A"\npause = 1\n',
        'r.toml:2: autor: unknown key; did you mean "author"?',
    ),
    "unknown step key": (
        'title = "T"\n[[steps]]\ntitle = "A"\npause = 1\nholdd = 3\n',
        'r.toml:5: steps[0].holdd: unknown key; did you mean "hold"?',
    ),
    "unknown pace key": (
        'title = "T"\n[pace]\nhodl = 3\n[[steps]]\ntitle = "A"\npause = 1\n',
        'r.toml:3: pace.hodl: unknown key; did you mean "hold"?',
    ),
    "unknown key without suggestion": (
        'title = "T"\nzzz = 1\n[[steps]]\ntitle = "A"\npause = 1\n',
        "r.toml:2: zzz: unknown key; allowed keys: title, author, description, album, pace, pronounce, session, steps",
    ),
    "wrong type for title": (
        'title = 5\n[[steps]]\ntitle = "A"\npause = 1\n',
        "r.toml:1: title: expected text in quotes, got 5",
    ),
    "not a duration": (
        'title = "T"\n[[steps]]\ntitle = "A"\nhold = "ten"\n',
        'r.toml:4: steps[0].hold: expected a duration like 10 or "90s", got "ten"',
    ),
    "boolean duration": (
        'title = "T"\n[[steps]]\ntitle = "A"\npause = true\n',
        'r.toml:4: steps[0].pause: expected a duration like 10 or "90s", got true',
    ),
    "negative duration": (
        'title = "T"\n[[steps]]\ntitle = "A"\nhold = -4\n',
        "r.toml:4: steps[0].hold: duration must be more than zero, got -4s",
    ),
    "zero duration": (
        'title = "T"\n[[steps]]\ntitle = "A"\npause = 0\n',
        "r.toml:4: steps[0].pause: duration must be more than zero, got 0s",
    ),
    "duration over 4 hours": (
        'title = "T"\n[[steps]]\ntitle = "A"\nmassage = "5h"\n',
        "r.toml:4: steps[0].massage: duration must be at most 4h, got 5h",
    ),
    "session over 12 hours": (
        'title = "T"\n' + '[[steps]]\ntitle = "A"\npause = "3h"\n' * 5,
        "r.toml: the session's holds, rests and pauses add up to 15h, more than the 12h allowed; "
        "shorten them or split the routine",
    ),
    "cues and repeat disagree": (
        'title = "T"\n[[steps]]\ntitle = "A"\nhold = 5\nrepeat = 3\ncues = ["a", "b"]\n',
        "r.toml:6: steps[0].cues: has 2 cues for 3 presses; give one cue per press or a single cue for all",
    ),
    "several cues without repeat": (
        'title = "T"\n[[steps]]\ntitle = "A"\nhold = 5\ncues = ["a", "b"]\n',
        "r.toml:5: steps[0].cues: has 2 cues but repeat is 1; set repeat = 2 or give one cue",
    ),
    "side without sides": (
        'title = "T"\n[[steps]]\ntitle = "A"\nsay = "Your {side} calf."\n',
        'r.toml:4: steps[0].say: {side} needs sides in the same step; add sides = ["right", "left"]',
    ),
    "unknown placeholder": (
        'title = "T"\n[[steps]]\ntitle = "A"\nsay = "Your {foot}."\n',
        'r.toml:4: steps[0].say: unknown placeholder "{foot}"; use {side}, {point}, {location}, {find}, {hold}, '
        "{rest}, {pause}",
    ),
    "unmatched brace": (
        'title = "T"\n[[steps]]\ntitle = "A"\nsay = "Your {side calf."\nsides = ["left"]\n',
        "r.toml:4: steps[0].say: has an unmatched { or }; write a placeholder like {side} or remove the brace",
    ),
    "hold with massage": (
        'title = "T"\n[[steps]]\ntitle = "A"\nhold = 5\nmassage = 5\n',
        "r.toml:5: steps[0].massage: a step has either hold or massage, not both; split it into two steps",
    ),
    "repeat below one": (
        'title = "T"\n[[steps]]\ntitle = "A"\nhold = 5\nrepeat = 0\n',
        "r.toml:5: steps[0].repeat: must be between 1 and 100, got 0",
    ),
    "repeat not a number": (
        'title = "T"\n[[steps]]\ntitle = "A"\nhold = 5\nrepeat = "3"\n',
        'r.toml:5: steps[0].repeat: expected a whole number, got "3"',
    ),
    "repeat without hold": (
        'title = "T"\n[[steps]]\ntitle = "A"\nsay = "x"\nrepeat = 2\n',
        "r.toml:5: steps[0].repeat: repeat needs a hold or massage in the same step; add hold = 10 "
        "(or hold = true for the [pace] default)",
    ),
    "rest without repeat": (
        'title = "T"\n[[steps]]\ntitle = "A"\nhold = 5\nrest = 5\n',
        "r.toml:5: steps[0].rest: rest is the silence between repeated presses, but repeat is 1; "
        "set repeat or use pause for silence after the step",
    ),
    "unknown side": (
        'title = "T"\n[[steps]]\ntitle = "A"\nsides = ["right", "up"]\nhold = 5\n',
        'r.toml:4: steps[0].sides[1]: unknown side "up"; use "right" or "left"',
    ),
    "side twice": (
        'title = "T"\n[[steps]]\ntitle = "A"\nsides = ["left", "left"]\nhold = 5\n',
        "r.toml:4: steps[0].sides: names a side twice; list each side once",
    ),
    "switch without sides": (
        'title = "T"\n[[steps]]\ntitle = "A"\nhold = 5\nswitch = "Now the other."\n',
        'r.toml:5: steps[0].switch: switch is the cue between sides; add sides = ["right", "left"]',
    ),
    "breathe true alone": (
        'title = "T"\n[[steps]]\ntitle = "A"\nbreathe = true\n',
        "r.toml:4: steps[0].breathe: breathing needs a hold or massage to breathe through, or cycles for an "
        "exercise on its own: breathe = { cycles = 6 }",
    ),
    "breathe cycles in a hold": (
        'title = "T"\n[[steps]]\ntitle = "A"\nhold = 60\nbreathe = { cycles = 3 }\n',
        "r.toml:5: steps[0].breathe.cycles: cycles is for a breathing exercise on its own; inside a hold or "
        "massage the breathing fills the whole span, so remove cycles",
    ),
    "breath too short": (
        'title = "T"\n[[steps]]\ntitle = "A"\nbreathe = { inhale = "500ms", cycles = 3 }\n',
        "r.toml:4: steps[0].breathe.inhale: a breath must be at least 1s, got 500ms",
    ),
    "breathe wrong type": (
        'title = "T"\n[[steps]]\ntitle = "A"\nhold = 5\nbreathe = "yes"\n',
        'r.toml:5: steps[0].breathe: expected true or a table like { inhale = 4, exhale = 6, cycles = 6 }, '
        'got "yes"',
    ),
    "nothing to do": (
        'title = "T"\n[[steps]]\ntitle = "A"\n',
        "r.toml:2: steps[0]: the step has nothing to do; add say, hold, massage, breathe or pause",
    ),
    "step without title": (
        'title = "T"\n[[steps]]\nsay = "x"\n',
        'r.toml:2: steps[0]: missing "title"; add title = "..."',
    ),
    "empty text": (
        'title = "T"\n[[steps]]\ntitle = "A"\nsay = "  "\npause = 1\n',
        'r.toml:4: steps[0].say: is empty; write some text or remove "say"',
    ),
    "control character": (
        'title = "T"\n[[steps]]\ntitle = "A"\nsay = "bell\\u0007"\n',
        "r.toml:4: steps[0].say: contains a control character (U+0007); remove it",
    ),
    "NUL in title": (
        'title = "T\\u0000"\n[[steps]]\ntitle = "A"\npause = 1\n',
        "r.toml:1: title: contains a control character (U+0000); remove it",
    ),
    "narration too long": (
        'title = "T"\n[[steps]]\ntitle = "A"\nsay = "' + "word " * 200_000 + '"\n',
        "r.toml:4: steps[0].say: is 999999 characters long, more than the 5000 allowed; shorten it",
    ),
    "bad inline pause": (
        'title = "T"\n[[steps]]\ntitle = "A"\nsay = "Wait [two] now."\n',
        'r.toml:4: steps[0].say: inline pause "[two]" is not a duration; write it like [2s] or [500ms]',
    ),
    "inline pause too long": (
        'title = "T"\n[[steps]]\ntitle = "A"\nsay = "Wait [2m] now."\n',
        "r.toml:4: steps[0].say: inline pause [2m] must be at most 1m, got 2m",
    ),
    "pause marker in a title": (
        'title = "T"\n[[steps]]\ntitle = "A [2s]"\npause = 1\n',
        "r.toml:3: steps[0].title: [2s] pauses belong in say, not in a title; remove it",
    ),
    "pace not a table": (
        'title = "T"\npace = 3\n[[steps]]\ntitle = "A"\npause = 1\n',
        "r.toml:2: pace: expected a table like [pace], got 3",
    ),
    "guided breaths": (
        'title = "T"\n[pace]\nguided_breaths = -1\n[[steps]]\ntitle = "A"\npause = 1\n',
        "r.toml:3: pace.guided_breaths: must be between 0 and 1000, got -1",
    ),
    "cues not a list": (
        'title = "T"\n[[steps]]\ntitle = "A"\nhold = 5\ncues = 3\n',
        'r.toml:5: steps[0].cues: expected a list of phrases like ["Press gently."], got 3',
    ),
    "cue not text": (
        'title = "T"\n[[steps]]\ntitle = "A"\nhold = 5\nrepeat = 2\ncues = ["a", 3]\n',
        "r.toml:6: steps[0].cues[1]: expected text in quotes, got 3",
    ),
    "unknown mode": (
        'title = "T"\n[[steps]]\ntitle = "A"\npause = 1\nmodes = ["bedtme"]\n',
        'r.toml:5: steps[0].modes[0]: unknown mode "bedtme"; did you mean "bedtime"?',
    ),
    "unknown caution": (
        'title = "T"\n[[steps]]\ntitle = "A"\nmassage = 5\ncautions = ["ankle"]\n',
        'r.toml:5: steps[0].cautions[0]: unknown caution "ankle"; did you mean "ankles"?',
    ),
    "stretch without its length": (
        'title = "T"\n[[steps]]\ntitle = "A"\nmassage = "3m"\nstretch = ["1m", "2m"]\n',
        "r.toml:5: steps[0].stretch: the step's hold or massage (3m) is outside its stretch (1m to 2m); "
        "make the range include it",
    ),
    "stretch of a named hold": (
        'title = "T"\n[[steps]]\ntitle = "A"\nsay = "For {hold}."\nhold = "1m"\nstretch = ["1m", "2m"]\n',
        "r.toml:6: steps[0].stretch: the narration names the hold or massage with {hold}, which must then stay "
        "true; remove stretch, or stop naming it",
    ),
    "stretch backwards": (
        'title = "T"\n[[steps]]\ntitle = "A"\npause = "1m"\nstretch = ["2m", "30s"]\n',
        "r.toml:5: steps[0].stretch: the shortest (2m) is longer than the longest (30s); swap them",
    ),
    "stretch bad duration": (
        'title = "T"\n[[steps]]\ntitle = "A"\npause = "1m"\nstretch = ["1m", "soon"]\n',
        'r.toml:5: steps[0].stretch[1]: expected a duration like 10 or "90s", got "soon"',
    ),
    "find without a point": (
        'title = "T"\n[[steps]]\ntitle = "A"\nsay = "It is {find}."\n',
        'r.toml:4: steps[0].say: {find} needs a point in the same step; add point = "SP 6"',
    ),
    "session mode": (
        'title = "T"\n[session]\nmode = "sleep"\n[[steps]]\ntitle = "A"\npause = 1\n',
        'r.toml:3: session.mode: unknown mode "sleep"; use massage or bedtime',
    ),
    "session length": (
        'title = "T"\n[session]\nlength = "13h"\n[[steps]]\ntitle = "A"\npause = 1\n',
        "r.toml:3: session.length: length must be at most 12h, got 13h",
    ),
    "session unknown key": (
        'title = "T"\n[session]\nvoise = "joe"\n[[steps]]\ntitle = "A"\npause = 1\n',
        'r.toml:3: session.voise: unknown key; did you mean "voice"?',
    ),
    # one rule for respellings: what validate accepts, build accepts (speech/pronounce.py refused more
    # than 80 characters, while validate let 200 through)
    "respelling too long": (
        'title = "T"\n[pronounce]\nvalerian = "' + "va" * 41 + '"\n[[steps]]\ntitle = "A"\npause = 1\n',
        "r.toml:3: pronounce.valerian: is 82 characters long, more than the 80 allowed; shorten it",
    ),
    "the same word twice": (
        'title = "T"\n[pronounce]\nvalerian = "va"\nValerian = "vb"\n[[steps]]\ntitle = "A"\npause = 1\n',
        'r.toml:4: pronounce.Valerian: is the same word as "valerian"; keep one of them',
    ),
}


@pytest.mark.parametrize("case", list(CATALOGUE), ids=list(CATALOGUE))
def test_validation_catalogue(case):
    text, expected = CATALOGUE[case]
    assert problems(text) == [expected]


def test_every_problem_is_reported_in_file_order():
    lines = problems('''
        title = "T"
        autor = "x"

        [[steps]]
        title = "A"
        hold = "ten"

        [[steps]]
        title = "B"
        sides = ["up"]
        hold = 5
    ''')
    assert lines == [
        'r.toml:2: autor: unknown key; did you mean "author"?',
        'r.toml:6: steps[0].hold: expected a duration like 10 or "90s", got "ten"',
        'r.toml:10: steps[1].sides[0]: unknown side "up"; use "right" or "left"',
    ]


def test_line_numbers_follow_multiline_strings_and_subtables():
    lines = problems('''
        title = "T"

        [[steps]]
        title = "A"
        say = """One.
        hold = "not a key, inside the string"
        Two."""
        hold = "x"

        [[steps]]
        title = "B"
        hold = 60

        [steps.breathe]
        cycles = 2
    ''')
    assert lines == [
        'r.toml:8: steps[0].hold: expected a duration like 10 or "90s", got "x"',
        "r.toml:15: steps[1].breathe.cycles: cycles is for a breathing exercise on its own; inside a hold or "
        "massage the breathing fills the whole span, so remove cycles",
    ]


def test_bundled_routines_are_valid_and_installed_as_package_data():
    assert bundled_ids() == ["acupressure", "foot-reflexology"]
    for rid in bundled_ids():
        routine = load_bundled(rid)
        assert routine.steps


def test_acupressure_transcribes_the_source():
    r = load_bundled("acupressure")
    titles = [s.title for s in r.steps]
    holds = [s for s in r.steps if s.hold_ms == 120_000]
    assert [s.title for s in holds] == ["Hold the right thumb", "Hold the right little finger",
                                        "Hold the left thumb", "Hold the left little finger"]
    assert all(s.breathing is not None and s.cue.start == "Hold." for s in holds)  # the source says hold
    # head to toe; the four points of the lower leg and foot on the right, then on the left
    head_to_toe = ["GV 20", "GV 26", "GB 20", "GB 21", "LU 7", "SP 12", "B 40", "ST 36"]
    foot = ["SP 6", "K 3", "LV 3", "LV 2"]
    assert [s.point for s in r.steps if s.point] == head_to_toe + foot + foot
    for step in r.steps:
        if step.point:
            assert step.title.startswith(step.point + ":") and step.massage_ms == 60_000
            assert step.stretch_ms == (None if step.point in ("B 40", "SP 12") else (60_000, 120_000)), step.point
    for point in head_to_toe:
        (step,) = [s for s in r.steps if s.point == point]
        assert point in step.intro + step.say
        assert step.sides == (() if point in ("GV 26", "GV 20") else ("right", "left")), point
    assert [s.sides for s in r.steps if s.point in foot] == [("right",)] * 4 + [("left",)] * 4
    (gv26,) = [s for s in r.steps if s.point == "GV 26"]
    assert "CV 26" not in gv26.say  # the source's wrong code is for the README, the page and the tags
    k3 = [s for s in r.steps if s.point == "K 3"]
    assert "a finger width behind the ankle" in k3[0].say and "inner ankle bone" in k3[0].say
    for needle in ("front of", "hands", "ears", "head", "neck and shoulders"):
        assert any(needle in t.lower() for t in titles), needle
    intro = " ".join(s.say for s in r.steps[:4]).lower()
    for needle in ("movement disorder", "slowly and deeply", "stop", "doctor", "potassium, magnesium or iron",
                   "stress, caffeine, alcohol and tobacco"):
        assert needle in intro, needle


def test_foot_reflexology_has_thirteen_steps_in_order_after_its_preparation():
    r = load_bundled("foot-reflexology")
    assert [s.title for s in r.steps[:4]] == ["Introduction", "If your legs stay restless", "Before you start",
                                              "Get ready"]
    assert r.steps[1].modes == ("bedtime",)
    numbered = [s for s in r.steps[4:]]
    assert len(numbered) == 14  # the source's thirteen steps, the last in one form per mode
    assert numbered[0].title == "Wash your feet" and numbered[-1].title == numbered[-2].title == "Rest and relax"
    assert [s.modes for s in numbered[-2:]] == [("massage",), ("bedtime",)]  # one ending per mode
    heart = numbered[2]
    assert heart.point == "heart" and "heart" in heart.title.lower()
    assert (heart.hold_ms, heart.rest_ms, heart.repeat, len(heart.cues)) == (10_000, 10_000, 3, 3)
    assert "harder" in heart.cues[2]
    assert "at least ten seconds" in heart.say and "It may take several tries" in heart.say
    for step in numbered:  # every step leaves time to do what it asks
        assert step.pause_ms or step.timed_ms, step.title
    for massage in (numbered[1], numbered[8]):  # the source: don't press too hard
        assert (massage.cue.start, massage.cue.end) == ("Massage gently.", "And stop.")


def test_a_routine_s_respellings_that_validate_are_the_ones_build_takes():
    from rlsaudio.speech.pronounce import pronouncer_for

    routine = parse_routine('title = "T"\n[pronounce]\nvalerian = "' + "v" * 80 + '"\n[[steps]]\ntitle = "A"\n'
                            'say = "Valerian."\n', "r.toml")
    assert pronouncer_for("joe", None, dict(routine.pronounce))("valerian") == "v" * 80


def test_session_keys_are_read_with_their_lines():
    routine = parse_routine('title = "T"\n[session]\nmode = "bedtime"\nlength = "20m"\nvoice = "espeak"\n'
                            'pacer = "silence"\nchime = false\nsoundscape = "brown"\nsoundscape_level = -30\n'
                            '[[steps]]\ntitle = "A"\npause = 1\n', "r.toml")
    s = routine.session
    assert (s.mode, s.length_ms, s.voice, s.pacer, s.chime, s.soundscape, s.soundscape_db) == (
        "bedtime", 1_200_000, "espeak", "silence", False, "brown", -30.0)
    assert dict(s.places) == {"mode": 3, "length": 4, "voice": 5, "soundscape": 8, "soundscape_level": 9,
                              "pacer": 6, "chime": 7}


def test_the_script_stage_takes_its_limits_from_limits_py():
    """Every limit of routines, compositions and point libraries lives in base/limits.py: no number
    restated where files are checked (routine.py once had the breath limits twice)."""
    import re

    from places import PACKAGE

    for path in sorted((PACKAGE / "script").glob("*.py")):
        for line in path.read_text().splitlines():
            assert not re.search(r"\b(max_chars|min_ms|max_ms|lo|hi)=([2-9]|\d\d)", line), (path.name, line)
