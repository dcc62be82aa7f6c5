"""The pure timeline builder: semantics of every key, exact timing, golden timelines."""

import json
import os
import textwrap

import pytest
from places import GOLDEN

from rlsaudio.base.errors import FitError
from rlsaudio.base.units import SAMPLE_RATE as SR
from rlsaudio.script.modes import ModeOptions, style_for
from rlsaudio.script.routinefile import load_bundled, parse_routine
from rlsaudio.script.timeline import Style, build_timeline, estimate_speech, lay_out, split_sentences
from rlsaudio.speech.profile import VoiceProfile

VOICE = VoiceProfile("test", "fake", words_per_minute=150, sentence_pause_ms=400)
MASSAGE = style_for(ModeOptions("massage"), VOICE)
BEDTIME = style_for(ModeOptions("bedtime"), VOICE)


def words(text: str, rate: float) -> int:
    """Exact, simple speech lengths: half a second per word at rate 1."""
    return round(len(text.split()) * SR / 2 / rate)


def build(text: str, style: Style = MASSAGE, **kw):
    routine = parse_routine(textwrap.dedent(text).lstrip("\n"), "t.toml")
    return build_timeline(lay_out(routine, style), words, **kw)


def speech(tl, text):
    return [e for e in tl.events if e.kind == "speech" and e.text == text]


def test_events_are_contiguous_and_chapters_cover_the_session():
    tl = build_timeline(lay_out(load_bundled("acupressure"), MASSAGE), words)
    assert tl.events[0].start == 0
    for a, b in zip(tl.events, tl.events[1:]):
        assert a.end == b.start and a.length > 0
    assert tl.chapters[0].start == 0 and tl.chapters[-1].end == tl.length
    for a, b in zip(tl.chapters, tl.chapters[1:]):
        assert a.end == b.start


def test_hold_is_exact_from_end_of_press_to_start_of_release():
    tl = build('''
        title = "T"
        [[steps]]
        title = "Press"
        say = "Find the point."
        hold = 10
        rest = 5
        repeat = 3
        cues = ["Gently.", "Firmer.", "Firmest."]
    ''')
    presses, releases = speech(tl, "Press."), speech(tl, "And release.")
    assert len(presses) == len(releases) == 3
    for p, r in zip(presses, releases):
        assert r.start - p.end == 10 * SR
    # rests: from the end of "And release." to the next press's cue, exactly 5 s, none after the last
    cues = [speech(tl, c)[0] for c in ("Gently.", "Firmer.", "Firmest.")]
    assert [c.start - r.end for c, r in zip(cues[1:], releases)] == [5 * SR, 5 * SR]
    rests = [e for e in tl.events if e.reason == "rest"]
    assert len(rests) == 2
    # cue i is spoken before press i, then the chime, then "Press."
    for cue, press in zip(cues, presses):
        between = [e for e in tl.events if cue.end <= e.start < press.start]
        assert [e.kind for e in between] == ["silence", "tone"]
        assert between[1].reason == "chime"


def test_massage_is_exact_and_gets_a_time_left_cue():
    tl = build('''
        title = "T"
        [[steps]]
        title = "Ankle"
        say = "Massage the ankle."
        massage = "2m30s"
    ''')
    (start,), (end,) = speech(tl, "Press and massage."), speech(tl, "And release.")
    assert end.start - start.end == 150 * SR
    (left,) = speech(tl, "Thirty seconds left.")
    assert end.start - left.start == 30 * SR
    assert left.gain_db < 0  # quiet
    assert {e.reason for e in tl.events if start.end <= e.start < end.start and e.kind == "silence"} == {"massage"}


def test_holds_shorter_than_the_mode_s_countdown_minimum_get_no_time_left_cue():
    assert MASSAGE.time_left_min_ms == 150_000  # data/modes.toml: a 2-minute hold needs no countdown
    for hold in (59, 120, 149):
        tl = build(f'title = "T"\n[[steps]]\ntitle = "A"\nhold = {hold}\n')
        assert not speech(tl, "Thirty seconds left."), hold


def test_pause_is_silence_after_everything_else():
    tl = build('''
        title = "T"
        [[steps]]
        title = "A"
        say = "Do it."
        hold = 5
        pause = "30s"
        [[steps]]
        title = "B"
        say = "Next."
    ''')
    (release,) = speech(tl, "And release.")
    after = tl.events[tl.events.index(release) + 1]
    assert (after.kind, after.reason, after.length) == ("silence", "pause", 30 * SR)
    assert tl.chapters[1].start > after.end


def test_inline_pause_is_exact():
    tl = build('title = "T"\n[[steps]]\ntitle = "A"\nsay = "Lie down. [2s] Let go. [500ms] Breathe."\n')
    (lie,), (let,), (breathe,) = speech(tl, "Lie down."), speech(tl, "Let go."), speech(tl, "Breathe.")
    assert let.start - lie.end == 2 * SR
    assert breathe.start - let.end == SR // 2
    assert tl.events[tl.events.index(lie) + 1].reason == "pause"


def test_sentences_are_separated_by_the_voice_pause():
    tl = build('title = "T"\n[[steps]]\ntitle = "A"\nsay = "One two. Three four! Five?"\n')
    said = [e for e in tl.events if e.kind == "speech"]
    assert [e.text for e in said] == ["One two.", "Three four!", "Five?"]
    assert said[1].start - said[0].end == round(0.4 * SR)


def test_sides_repeat_the_step_with_a_switch_cue_and_a_chapter_each():
    tl = build('''
        title = "T"
        [[steps]]
        title = "Calf press"
        sides = ["right", "left"]
        say = "Find the middle of your {side} calf."
        hold = 10
    ''')
    assert [c.title for c in tl.chapters] == ["Calf press (right)", "Calf press (left)"]
    assert speech(tl, "Find the middle of your right calf.")[0].start < speech(tl, "Find the middle of your left calf.")[0].start
    (switch,) = speech(tl, "Now switch to your left side.")
    assert switch.start == tl.chapters[1].start  # the left chapter opens with the switch cue
    assert len(speech(tl, "Press.")) == 2


def test_custom_switch_cue():
    tl = build('title = "T"\n[[steps]]\ntitle = "A"\nsides = ["left", "right"]\nswitch = "Other {side} foot."\nhold = 5\n')
    assert speech(tl, "Other right foot.")
    assert [c.title for c in tl.chapters] == ["A (left)", "A (right)"]


def test_breathing_exercise_lasts_exactly_its_cycles():
    tl = build('''
        title = "T"
        [pace]
        guided_breaths = 2
        [[steps]]
        title = "Breathe"
        breathe = { inhale = 4, exhale = 6, cycles = 5 }
    ''')
    span = [e for e in tl.events if e.reason in ("breath", "breath-in", "breath-out")
            or e.text in ("Breathe in.", "And out.", "Now follow the tones: rising, breathe in; falling, breathe out.")]
    start = span[0].start
    assert sum(e.length for e in span) == 50 * SR
    ins = [e.start - start for e in span if e.text == "Breathe in." or e.reason == "breath-in"]
    outs = [e.start - start for e in span if e.text == "And out." or e.reason == "breath-out"]
    # every cycle is exactly inhale + exhale; the third explains the tones that pace the rest
    assert ins == [c * 10 * SR for c in (0, 1, 3, 4)]
    assert outs == [c * 10 * SR + 4 * SR for c in (0, 1, 3, 4)]
    assert [e.kind for e in span if e.start - start < 20 * SR].count("speech") == 4  # two guided cycles
    (explained,) = [e for e in span if e.text == "Now follow the tones: rising, breathe in; falling, breathe out."]
    assert explained.start - start == 20 * SR
    tones = [e for e in span if e.kind == "tone"]
    assert [(t.reason, t.length) for t in tones[:2]] == [("breath-in", 4 * SR), ("breath-out", 6 * SR)]
    assert tones[0].start - start == 30 * SR


def test_breathing_with_silent_pacer():
    silent = style_for(ModeOptions("massage", pacer="silence"), VOICE)
    tl = build('title = "T"\n[[steps]]\ntitle = "B"\nbreathe = { cycles = 4 }\n', silent)
    assert not [e for e in tl.events if e.reason.startswith("breath-")]
    assert sum(e.length for e in tl.events if e.reason == "breath") + sum(
        e.length for e in tl.events if e.text in ("Breathe in.", "And out.")) == 40 * SR


def test_breathing_inside_a_hold_never_lengthens_it():
    tl = build('title = "T"\n[[steps]]\ntitle = "A"\nsay = "Hold."\nhold = "3m"\nbreathe = true\n')
    (press,), (release,) = speech(tl, "Press."), speech(tl, "And release.")
    assert release.start - press.end == 180 * SR
    inside = [e for e in tl.events if press.end <= e.start < release.start]
    assert [e.start - press.end for e in inside if e.text == "Breathe in."] == [0, 10 * SR]
    assert any(e.reason == "breath-in" for e in inside)
    (left,) = [e for e in inside if e.text == "Thirty seconds left."]
    assert left.start - press.end == 150 * SR  # the cue wins over the breath tone it meets


def test_the_tones_are_explained_once_in_a_session():
    tl = build('''
        title = "T"
        [[steps]]
        title = "Breathe"
        breathe = { cycles = 4 }
        [[steps]]
        title = "Hold"
        hold = "1m"
        breathe = true
    ''')
    said = [e.text for e in tl.events if e.kind == "speech"]
    assert said.count("Now follow the tones: rising, breathe in; falling, breathe out.") == 1
    assert said.count("Breathe in.") == 4  # each breathing span still starts with its guided breaths
    silent = build('title = "T"\n[[steps]]\ntitle = "B"\nbreathe = { cycles = 4 }\n',
                   style_for(ModeOptions("massage", pacer="silence"), VOICE))
    assert not [e for e in silent.events if "tones" in e.text]  # no tones, nothing to explain


def test_chapters_start_on_the_first_sound_of_a_step():
    tl = build('title = "T"\n[[steps]]\ntitle = "A"\nsay = "One."\n[[steps]]\ntitle = "B"\nsay = "Two."\n')
    assert tl.chapters[0].start == 0
    assert tl.chapters[1].start == speech(tl, "Two.")[0].start


def test_massage_mode_ends_with_a_bell_bedtime_with_a_fading_tail():
    text = 'title = "T"\n[[steps]]\ntitle = "A"\nsay = "One."\n[[steps]]\ntitle = "B"\nsay = "Two."\n'
    massage = build(text)
    assert [e.reason for e in massage.events if e.kind == "tone"] == ["bell"]
    bed = build(text, BEDTIME)
    assert not [e for e in bed.events if e.reason == "bell"]
    assert bed.events[-1].kind == "silence" and bed.events[-1].length == 30 * SR
    assert bed.fade_out >= 20 * SR
    long_tail = build(text, style_for(ModeOptions("bedtime", tail_ms=30 * 60_000), VOICE))
    assert long_tail.events[-1].length == 30 * 60 * SR


def test_bedtime_winds_down_step_by_step():
    text = 'title = "T"\n' + "".join(f'[[steps]]\ntitle = "S{i}"\nsay = "Step {i}."\n' for i in range(5))
    tl = build(text, BEDTIME)
    said = [e for e in tl.events if e.kind == "speech"]
    rates = [e.rate for e in said]
    gains = [e.gain_db for e in said]
    assert rates == sorted(rates, reverse=True) and rates[0] == VOICE.bedtime_rate
    assert gains[0] == 0 and gains[-1] == -3.0
    assert all(a >= b for a, b in zip(gains, gains[1:]))


def test_fit_to_a_length_scales_pauses_and_rests_only():
    text = '''
        title = "T"
        [[steps]]
        title = "A"
        say = "Wash."
        pause = "2m"
        [[steps]]
        title = "B"
        hold = 10
        rest = 10
        repeat = 3
    '''
    natural = build(text)
    for target in (5 * 60_000, 90_000):
        tl = build(text, target_ms=target)
        assert tl.length == target * SR // 1000
        assert [e.length for e in tl.events if e.reason == "hold"] == [10 * SR] * 3
    assert natural.length != 5 * 60 * SR


def test_fit_out_of_range_says_the_shortest_and_longest():
    text = 'title = "T"\n[[steps]]\ntitle = "A"\nsay = "Wash."\npause = "1m"\n'
    with pytest.raises(FitError) as info:
        build(text, target_ms=3_600_000)
    (line,) = info.value.lines()
    assert line == ("t.toml: cannot fit 'T' to 1h 00m 00s: with its pauses and rests scaled it can last from "
                    "23.0s to 4m 08s; choose a --length in that range")


def test_same_input_same_timeline():
    a = build_timeline(lay_out(load_bundled("foot-reflexology"), MASSAGE), words)
    b = build_timeline(lay_out(load_bundled("foot-reflexology"), MASSAGE), words)
    assert a == b


def test_json_shape():
    tl = build('title = "T"\n[[steps]]\ntitle = "A"\nsay = "Hi."\nhold = 5\n')
    data = tl.to_json()
    assert set(data) == {"title", "mode", "duration", "session_end", "chapters", "spans", "events"}
    assert all(set(c) == {"title", "start", "end"} for c in data["chapters"])
    (hold,) = [e for e in data["events"] if e.get("reason") == "hold"]
    assert data["spans"] == [{"kind": "hold", "start": hold["start"], "end": hold["start"] + hold["duration"]}]
    for e in data["events"]:
        expected = {"start", "duration", "kind"} | {"speech": {"text"}, "silence": {"reason"}, "tone": {"name"}}[
            e["kind"]]
        assert set(e) == expected
        if e["kind"] == "silence":
            assert e["reason"] in {"hold", "rest", "pause", "massage", "breath", "ready", "gap"}
    assert data["duration"] == pytest.approx(sum(e["duration"] for e in data["events"]), abs=0.01)


def test_split_sentences():
    assert split_sentences("Press. And hold! Why? 4 times. e.g. not here") == [
        "Press.", "And hold!", "Why?", "4 times. e.g. not here"]
    assert split_sentences('He said "Stop." Then rest.') == ['He said "Stop."', "Then rest."]


@pytest.mark.parametrize("routine_id", ["acupressure", "foot-reflexology"])
def test_golden_timelines(routine_id):
    """The bundled routines' timelines, with speech estimated at 150 words per minute."""
    timeline = build_timeline(lay_out(load_bundled(routine_id), MASSAGE), estimate_speech(150))
    actual = json.dumps(timeline.to_json(), indent=1, ensure_ascii=False) + "\n"
    path = GOLDEN / f"{routine_id}.json"
    if os.environ.get("RLSAUDIO_UPDATE_GOLDEN"):
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), "run RLSAUDIO_UPDATE_GOLDEN=1 scripts/test to accept changes"


def test_length_stretches_what_stretch_allows_and_keeps_what_is_named():
    text = '''
        title = "T"
        [[steps]]
        title = "Wash"
        say = "You have {pause} to wash."
        pause = "3m"
        [[steps]]
        title = "Rub"
        say = "Rub your foot."
        massage = "3m"
        stretch = ["2m", "5m"]
        [[steps]]
        title = "Rest"
        say = "Rest now."
        pause = "30s"
    '''
    natural = build(text).length // SR
    for target in (natural - 60, natural + 60, natural + 150, natural + 200):
        tl = build(text, target_ms=target * 1000)
        assert tl.length == target * SR
        spans: dict[str, list[float]] = {}
        for s in tl.spans:
            spans.setdefault(s.kind, []).append((s.end - s.start) / SR)
        assert spans["pause"][0] == 180.0  # named: the wash keeps its three minutes
        (massage,), rest = spans["massage"], spans["pause"][1]
        assert 120 <= massage <= 300 and 7.5 <= rest <= 120
        if massage < 300 and rest < 120:  # one factor for both, within their ranges
            assert massage / 180 == pytest.approx(rest / 30, abs=1e-4)
    assert spans["massage"] == [300.0]  # the longest: the massage at its stretch's end, the rest takes the rest
    with pytest.raises(FitError) as info:
        build(text, target_ms=3_600_000)
    (line,) = info.value.lines()
    assert "with its pauses and rests scaled and its holds and massages stretched where allowed" in line


def test_the_fit_solver_scales_by_one_factor_within_each_range():
    from rlsaudio.script.timeline import solve

    assert solve([(100, 50, 200), (100, 100, 100)], 250) == [150, 100]
    assert solve([(100, 25, 400), (300, 300, 600)], 700) == [100 + 100, 500] or sum(
        solve([(100, 25, 400), (300, 300, 600)], 700)) == 700
    lengths = solve([(10, 3, 40), (20, 5, 80), (7, 7, 7)], 101)
    assert sum(lengths) == 101 and lengths[2] == 7 and all(lo <= x <= hi for x, (_, lo, hi) in
                                                             zip(lengths, [(10, 3, 40), (20, 5, 80), (7, 7, 7)]))


def test_a_step_is_spoken_only_in_the_modes_it_names():
    text = '''
        title = "T"
        [[steps]]
        title = "Day"
        say = "Walk today."
        modes = ["massage"]
        [[steps]]
        title = "Night"
        say = "Sleep now."
        modes = ["bedtime"]
        [[steps]]
        title = "Both"
        say = "Breathe."
    '''
    assert [c.title for c in build(text).chapters] == ["Day", "Both"]
    assert [c.title for c in build(text, BEDTIME).chapters] == ["Night", "Both"]


def test_a_caution_is_said_on_every_side_first_for_all_sides_then_as_a_reminder():
    tl = build('''
        title = "T"
        [[steps]]
        point = "SP 6"
        hold = 5
        [[steps]]
        point = "K 3"
        sides = ["right"]
        hold = 5
        [[steps]]
        title = "Ankle"
        sides = ["right", "left"]
        cautions = ["ankles"]
        massage = 5
        [[steps]]
        point = "K 3"
        sides = ["left"]
        hold = 5
        [[steps]]
        point = "heart"
        hold = 5
    ''')
    said = {c.title: [e.text for e in tl.events if e.kind == "speech" and c.start <= e.start < c.end]
            for c in tl.chapters}
    from rlsaudio.script.pointfile import load_library

    cautions = load_library().cautions
    pregnancy, ankles, feet = cautions["pregnancy"], cautions["ankles"], cautions["feet"]
    assert pregnancy.first in said[tl.chapters[0].title] and pregnancy.remind in said[tl.chapters[1].title]
    assert ankles.first in said["K 3: a finger width behind the ankle (right)"]  # K 3 is on two steps
    assert ankles.remind in said["K 3: a finger width behind the ankle (left)"]
    assert ankles.first in said["Ankle (right)"] and ankles.remind in said["Ankle (left)"]
    assert feet.say in said[tl.chapters[-1].title]  # the heart point, on one side only: the caution as it is
    for title, texts in said.items():
        caution = next(i for i, t in enumerate(texts) if t in (pregnancy.first, pregnancy.remind, ankles.first,
                                                                   ankles.remind, feet.say))
        start = next(i for i, t in enumerate(texts) if t in ("Press.", "Press and massage."))
        assert caution < start, title
