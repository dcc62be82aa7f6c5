"""`rlsaudio points` and `rlsaudio compose`: the library on the command line, and sessions made from it."""

import json

import pytest
from audio import SR, decode
from places import FAKE_VOICE

from rlsaudio.cli import cli
from rlsaudio.script.pointfile import load_library

FAKE = FAKE_VOICE


def run(runner, *args):
    return runner.invoke(cli, [str(a) for a in args])


# --------------------------------------------------------------------------- points


def test_points_lists_all_eighteen_entries(runner):
    result = run(runner, "points")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["code", "name", "region", "source"]
    library = load_library()
    assert len(lines) == 1 + 18 == 1 + len(library.points)
    for line, point in zip(lines[1:], library.points):
        assert line.startswith(point.code + " ") and f" {point.spoken} " in line and f" {point.region} " in line


@pytest.mark.parametrize("words", [["SP", "6"], ["SP 6"], ["sp6"], ["Spleen", "6"]])
def test_points_shows_one_with_its_location(runner, words):
    result = run(runner, "points", *words)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["code", "SP", "6"]
    assert '"four finger widths above the ankle on the inside of the leg"' in result.stdout
    assert "Skip this point if you are pregnant." in result.stdout


def test_gv_26_and_cv_26_are_the_same_point_and_the_source_s_code_is_explained(runner):
    gv, cv = run(runner, "points", "GV", "26"), run(runner, "points", "CV", "26")
    assert gv.exit_code == cv.exit_code == 0
    assert gv.stdout == cv.stdout
    assert gv.stdout.splitlines()[0] == "code      GV 26 (also written CV 26)"
    assert "The source calls it CV 26, but the Conception Vessel ends at CV 24" in gv.stdout


def test_points_json_and_a_user_points_file(runner, write):
    mine = write("mine.toml", '[[points]]\ncode = "KI 1"\nkind = "acupressure"\nregion = "sole"\n'
                              'location = "on the sole, in the depression at the front"\nlaterality = "paired"\n')
    data = json.loads(run(runner, "points", "--json", "--points-file", mine).stdout)
    assert [p["code"] for p in data][-1] == "KI 1" and data[-1]["spoken"] == "Kidney 1"
    assert data[0]["code"] == "B 40" and data[0]["cautions"][0]["key"] == "light"
    bad = write("bad.toml", '[[points]]\ncode = "KI 1"\nkind = "acupressure"\nregion = "sole"\nlocation = "x"\n'
                            'laterality = "both"\n')
    result = run(runner, "points", "--points-file", bad)
    assert result.exit_code == 2
    assert result.stderr.startswith(f'{bad}:6: points[0].laterality: unknown laterality "both"')


def test_an_unknown_code_says_what_was_meant(runner):
    result = run(runner, "points", "Spleeen", "6")
    assert result.exit_code == 2
    assert result.stderr == 'unknown point "Spleeen 6"; did you mean "Spleen 6"?\n'
    result = run(runner, "points", "SP", "10")  # another body site is never suggested
    assert result.exit_code == 2
    assert result.stderr == ('unknown point "SP 10"; of the Spleen channel the library holds only SP 6 and SP 12 '
                             "(see rlsaudio points)\n")
    result = run(runner, "points", "Sanyinjiao")  # the name the page shows
    assert result.exit_code == 0 and result.stdout.startswith("code      SP 6\n")


# --------------------------------------------------------------------------- routines that name their points


def test_a_step_s_point_gives_its_chapter_sides_spoken_name_and_caution(runner, write):
    routine = write("r.toml", '''
        title = "T"
        [[steps]]
        point = "SP 6"
        intro = "Now {point}, {location}."
        say = "Find it on your {side} leg."
        hold = 10
        [[steps]]
        title = "the source's name"
        point = "CV 26"
        say = "Press {point}."
        hold = 5
    ''')
    data = json.loads(run(runner, "plan", routine, "--json", "--voice", FAKE).stdout)
    assert [(c["title"], c.get("point"), c.get("side")) for c in data["chapters"]] == [
        ("SP 6: four finger widths above the ankle on the inside of the leg (right)", "SP 6", "right"),
        ("SP 6: four finger widths above the ankle on the inside of the leg (left)", "SP 6", "left"),
        ("GV 26: the source's name", "GV 26", None),
    ]
    spoken = [e["text"] for e in data["events"] if e["kind"] == "speech"]
    assert spoken[0] == "Now Spleen 6, four finger widths above the ankle on the inside of the leg."
    assert spoken.count("Now Spleen 6, four finger widths above the ankle on the inside of the leg.") == 1  # intro once
    # the pregnancy caution, inside each of SP 6's chapters, before its start cue: on the first side
    # for both sides, with what to do instead; on the second a reminder
    for chapter, text in zip(data["chapters"][:2], ("If you are pregnant, skip this point on both sides, and rest "
                                                     "until the next point.", "If you are pregnant, keep resting.")):
        caution = next(e for e in data["events"] if e.get("text") == text)
        press = next(e for e in data["events"] if e.get("text") == "Press." and e["start"] > chapter["start"])
        assert chapter["start"] <= caution["start"] < press["start"] < chapter["end"]
    assert "Press Governing Vessel 26." in spoken


def test_a_bad_point_code_names_its_line_with_a_did_you_mean(runner, write):
    routine = write("r.toml", 'title = "T"\n[[steps]]\npoint = "SP 6x"\nhold = 5\n')
    result = run(runner, "validate", routine)
    assert result.exit_code == 2
    assert result.stderr == f'{routine}:3: steps[0].point: unknown point "SP 6x"; did you mean "SP 6"?\n'


@pytest.mark.parametrize("extra, expected", [
    ('start_cue = 3\n', 'steps[0].start_cue: expected text in quotes, got 3'),
    ('start_cue = true\n', 'steps[0].start_cue: start_cue = true is the default already'),
    ('end_cue = "..."\n', 'steps[0].end_cue: has nothing to speak; write words, or end_cue = false for none'),
    ('get_ready = "2m"\n', 'steps[0].get_ready: duration must be at most 1m, got 2m'),
    ('halfway_cue = "{foot}"\n', 'steps[0].halfway_cue: unknown placeholder "{foot}"'),
])
def test_bad_cue_settings_are_one_line_each(runner, write, extra, expected):
    routine = write("r.toml", 'title = "T"\n[[steps]]\ntitle = "Stretch"\nhold = 30\n' + extra)
    result = run(runner, "validate", routine)
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"{routine}:5: {expected}")


def test_a_routine_with_its_own_cues_builds_and_speaks_them(runner, write, tmp_path):
    routine = write("stretch.toml", '''
        title = "Stretches"
        [pace]
        start_cue = "Stretch."
        end_cue = "And relax."
        countdown_cue = "Ten seconds to go."
        [[steps]]
        title = "Calf"
        say = "Lean into the wall."
        hold = 170
        halfway_cue = "Halfway."
        get_ready = "3s"
        [[steps]]
        title = "Quiet"
        say = "Just hold."
        hold = 20
        start_cue = false
        end_cue = false
    ''')
    data = json.loads(run(runner, "plan", routine, "--json", "--voice", FAKE).stdout)
    spoken = [e["text"] for e in data["events"] if e["kind"] == "speech"]
    assert spoken.count("Stretch.") == 1 and spoken.count("And relax.") == 1
    assert "Press." not in spoken and "And release." not in spoken
    assert "Halfway." in spoken and "Ten seconds to go." in spoken
    hold = next(s for s in data["spans"] if s["kind"] == "hold")
    halfway = next(e for e in data["events"] if e.get("text") == "Halfway.")
    assert halfway["start"] == pytest.approx(hold["start"] + 85, abs=0.001)
    ready = next(s for s in data["spans"] if s["kind"] == "ready")
    assert ready["end"] - ready["start"] == pytest.approx(3.0, abs=0.001)
    result = run(runner, "build", routine, "-o", tmp_path / "o", "--voice", FAKE)
    assert result.exit_code == 0, result.output
    transcript = (tmp_path / "o" / "Stretches.lrc").read_text()
    assert "]Stretch." in transcript and "]And relax." in transcript


# --------------------------------------------------------------------------- compose


@pytest.mark.slow
def test_compose_three_points_twelve_minutes_bedtime(runner, tmp_path):
    out = tmp_path / "out"
    result = run(runner, "compose", "SP 6", "K 3", "LV 3", "--length", "12m", "--mode", "bedtime", "-o", out,
                 "--voice", FAKE, "--soundscape", "brown", "--pacer", "silence")
    assert result.exit_code == 0, result.output
    stem = "Acupressure - SP 6, K 3, LV 3 (bedtime) (12 min)"  # a --length variant has its own name
    mp3 = out / f"{stem}.mp3"
    assert abs(len(decode(mp3)) / SR - 720.0) <= 0.050
    routine_file = out / f"{stem}.toml"
    text = routine_file.read_text()
    for line in ('mode = "bedtime"', 'length = "12m"', f'voice = "{FAKE}"', 'soundscape = "brown"',
                 'pacer = "silence"'):
        assert line in text, line
    # the file records everything its track was built with: built again as it is, it is the same track
    data = json.loads(run(runner, "plan", routine_file, "--json").stdout)
    assert data["mode"] == "bedtime" and data["duration"] == pytest.approx(720.0, abs=0.001)
    track = json.loads((out / f"{stem}.chapters.json").read_text())
    assert [c["title"] for c in data["chapters"]] == [c["title"] for c in track["chapters"]]
    rebuilt = run(runner, "build", routine_file, "-o", tmp_path / "again")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert (tmp_path / "again" / f"{stem}.mp3").exists()  # bedtime again: the title says so
    points = [(c["point"], c.get("side")) for c in data["chapters"] if c.get("point")]
    assert points == [("SP 6", "right"), ("SP 6", "left"), ("K 3", "right"), ("K 3", "left"), ("LV 3", "right"),
                      ("LV 3", "left")]
    spoken = " ".join(e["text"] for e in data["events"] if e["kind"] == "speech")
    library = load_library()
    for code in ("SP 6", "K 3", "LV 3"):
        point = library.lookup(code)
        assert f"The next point is {point.spoken}." in spoken
        assert point.location in spoken and point.find in spoken
    transcript = (out / f"{stem}.lrc").read_text()
    assert "The next point is Spleen 6." in transcript and "If you are pregnant, keep resting." in transcript
    # the command line still wins over the file
    massage = json.loads(run(runner, "plan", routine_file, "--json", "--mode", "massage").stdout)
    assert massage["mode"] == "massage"


@pytest.mark.parametrize("points", [("SP 6", "K 3", "GV 20"), ("B 40", "heart", "SP 12")])
def test_compose_meets_every_length_in_its_range_to_the_sample(points):
    from rlsaudio.base.units import ms_to_samples
    from rlsaudio.plan import TrackRequest, plan_track
    from rlsaudio.publish.render import speak
    from rlsaudio.script.compose import Composition
    from rlsaudio.script.timeline import length_range
    from rlsaudio.system.cache import Cache
    from rlsaudio.system.progress import Quiet

    plan = plan_track(TrackRequest("", FAKE, compose=Composition(points)))
    speech = speak(plan, Cache(), Quiet()).length
    shortest, longest = length_range(plan.draft, speech)
    assert longest - shortest > 30 * 60 * SR
    for length in (shortest + SR // 100, shortest + SR * 61, (shortest + longest) // 3, longest - 7 * SR, longest):
        ms = length * 1000 // SR
        timeline = plan_track(TrackRequest("", FAKE, length_ms=ms, compose=Composition(points))).timeline(speech)
        assert timeline.length == ms_to_samples(ms)
        presses = [s for s in timeline.spans if s.kind in ("hold", "massage")]
        for s in presses:
            if s.point in ("B 40", "SP 12"):
                assert s.end - s.start == 60 * SR  # lightly, a minute at a time
            elif s.point == "heart":
                assert s.end - s.start == 10 * SR  # the source's ten-second presses
            else:
                assert 60 * SR <= s.end - s.start <= 120 * SR
        fixed = sum(c.end - c.start for c in timeline.chapters if not c.point)
        if length < longest - 5 * 60 * SR:  # only at the very top does the closing rest grow to 5 minutes
            assert fixed <= 180 * SR  # introduction, safety, breathing and closing: at most 3 minutes


@pytest.mark.parametrize("args, start", [
    (["SP 6x"], 'compose: unknown point "SP 6x"; did you mean "SP 6"?'),
    (["SP 6", "SP6"], "compose: SP 6 is named twice (also as 'SP 6'); name each point once"),
    (["SP 6", "--length", "1m"], "compose: cannot fit 'Acupressure: SP 6' to 1m 00s: with its points pressed in rounds "
                                 "within the sources' limits it can last from "),
    (["SP 6", "--length", "3h"], "compose: cannot fit 'Acupressure: SP 6' to 3h 00m 00s: with its points pressed in "
                                 "rounds within the sources' limits"),
    (["SP 6", "--hold", "10s"], "cli compose: --hold: a hold must be at least 1m, got 10s"),
    (["SP 6", "--hold", "3m"], "cli compose: --hold: a hold must be at most 2m, got 3m"),
    (["SP 6", "--hold", "1m", "--length", "10m"], "cli compose: give --length (the session) or --hold"),
])
def test_compose_errors_are_one_line(runner, tmp_path, args, start):
    result = run(runner, "compose", *args, "-o", tmp_path / "o", "--voice", FAKE)
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith(start), line
    assert not (tmp_path / "o").exists()


def test_compose_routine_only_and_a_composition_file_in_a_playlist(runner, write, tmp_path):
    out = tmp_path / "o"
    result = run(runner, "compose", "SP", "6", "K", "3", "--routine-only", "--hold", "90s", "-o", out)
    assert result.exit_code == 0, result.output
    (routine,) = out.iterdir()
    assert routine.name == "Acupressure - SP 6, K 3.toml"
    assert routine.read_text().count('massage = "1m30s"') == 2
    assert run(runner, "validate", routine).exit_code == 0
    week = write("week.toml", f'name = "Week"\nvoice = "{FAKE}"\n[[tracks]]\ncompose = ["SP 6", "K 3"]\n'
                              'title = "Ankles"\nhold = "75s"\n[[tracks]]\ncompose = ["SP 6x"]\n')
    result = run(runner, "validate", week)
    assert result.exit_code == 2
    assert result.stderr == f'{week}:8: tracks[1].compose[0]: unknown point "SP 6x"; did you mean "SP 6"?\n'
    week.write_text(week.read_text().replace('"SP 6x"', '"heart"'))
    result = run(runner, "playlist", week, "-o", tmp_path / "album", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "album" / "01 - Ankles.mp3").exists()
    assert (tmp_path / "album" / "02 - Reflexology - heart.mp3").exists()


def test_the_routine_file_holds_what_the_timeline_chose_to_the_millisecond(runner, tmp_path):
    """compose writes the rounds, presses and closing rest the fitted timeline has (not a hold worked
    out backwards from its spans), so the file, built again, plans the same session."""
    out = tmp_path / "o"
    result = run(runner, "compose", "SP 6", "heart", "GV 20", "--length", "23m", "--routine-only", "-o", out,
                 "--voice", FAKE)
    assert result.exit_code == 0, result.output
    (routine,) = out.iterdir()
    text = routine.read_text()
    assert 'length = "23m"' in text and "repeat = " in text  # 23 minutes need more than one round
    from rlsaudio.base.units import parse_duration
    from rlsaudio.plan import TrackRequest, plan_track
    from rlsaudio.publish.render import speak
    from rlsaudio.script.compose import Composition
    from rlsaudio.system.cache import Cache
    from rlsaudio.system.progress import Quiet

    plan = plan_track(TrackRequest("", FAKE, length_ms=23 * 60_000, compose=Composition(("SP 6", "heart", "GV 20"))))
    timeline = plan.timeline(speak(plan, Cache(), Quiet()).length)
    for fitted in timeline.fitted:
        step = plan.routine.steps[fitted.step]
        if step.point in ("SP 6", "GV 20"):
            written = [line for line in text.split("[[steps]]")[fitted.step + 1].splitlines()
                       if line.startswith("massage = ")]
            assert written and abs(parse_duration(written[0].split('"')[1]) - fitted.timed * 1000 / SR) <= 1
    again = json.loads(run(runner, "plan", routine, "--json").stdout)
    original = timeline.to_json()
    assert again["duration"] == pytest.approx(original["duration"], abs=0.001)
    assert [(s["kind"], s.get("point"), s.get("side")) for s in again["spans"]] == \
        [(s["kind"], s.get("point"), s.get("side")) for s in original["spans"]]
    for a, b in zip(again["spans"], original["spans"]):
        assert a["end"] - a["start"] == pytest.approx(b["end"] - b["start"], abs=0.01)


def test_compose_with_markup_in_a_points_file_is_a_clean_error(runner, write, tmp_path):
    mine = write("mine.toml", '[[points]]\ncode = "KI 1"\nkind = "acupressure"\nregion = "sole"\n'
                              'location = "on the sole [big]"\nlaterality = "paired"\n')
    result = run(runner, "compose", "KI 1", "--points-file", mine, "-o", tmp_path / "o", "--voice", FAKE)
    assert result.exit_code == 2
    assert result.stderr.startswith(f'{mine}:5: points[0].location: contains "["') and "internal error" not in \
        result.stderr
