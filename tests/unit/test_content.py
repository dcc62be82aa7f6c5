"""The bundled routines and compositions as health guidance a careful clinician would sign.

Each item of the clinician's review (cautions on every side, feet without feeling, oil dilution,
the sources' limits on pressing, finding a point with eyes closed, bedtime endings, hedged
claims...) is checked on the timeline `plan --json` prints, for both bundled routines in both
modes at their shortest and longest `--length`, and for compositions of 9 to 50 minutes that
include SP 6, GB 21, reflexology zones and the light points. Speech lengths are estimated at
joe's rate, as `plan --estimate` does.
"""

import json
import re
from functools import cache

import pytest
from places import FAKE_VOICE, PACKAGE

from rlsaudio.base import limits
from rlsaudio.base.units import SAMPLE_RATE as SR
from rlsaudio.cli import cli
from rlsaudio.plan import TrackRequest, plan_track
from rlsaudio.script.compose import Composition
from rlsaudio.script.events import estimate_speech
from rlsaudio.script.layout import split_sentences
from rlsaudio.script.modes import ModeOptions
from rlsaudio.script.pointfile import load_library
from rlsaudio.script.timeline import length_range

ROUTINES = ("acupressure", "foot-reflexology")
MODES = ("massage", "bedtime")
SESSIONS = {  # compositions and the lengths (minutes) they are planned at, in both modes
    ("SP 6", "GB 21"): (9, 50),
    ("SP 6", "GB 21", "heart"): (12, 30),
    ("GB 20", "LU 7", "ST 36"): (12, 50),
    ("heart", "sciatic", "foot"): (11, 30),
    ("B 40", "SP 12", "K 3", "LV 2"): (16, 45),
    ("GV 20", "GV 26", "LV 3", "knee-leg"): (13, 40),
}
PLANS = [("routine", r, m, end) for r in ROUTINES for m in MODES for end in ("shortest", "longest")] + \
        [("compose", points, m, minutes) for points, lengths in SESSIONS.items() for m in MODES for minutes in lengths]
ROUTINE_PLANS = [p for p in PLANS if p[0] == "routine"]
COMPOSE_PLANS = [p for p in PLANS if p[0] == "compose"]
LIBRARY = load_library()

TENDER = "Tender is fine; pain is not: ease off or stop."
DOCTOR = "If your restless legs keep coming back or spoil your sleep, talk to your doctor: low iron is a common, " \
         "treatable cause."
MEDICINES = "Some medicines, among them the antihistamines in many nighttime cold and sleep remedies, can make " \
            "restless legs worse; ask your doctor or pharmacist, and never stop a prescribed medicine on your own."
CLOT = ("newly swollen, red, warm or tender", "especially if it is only one leg", "it can be a blood clot",
        "See a doctor the same day", "call an ambulance if you are also short of breath or have chest pain")
TONES = "Now follow the tones: rising, breathe in; falling, breathe out."


def label(key) -> str:
    kind, what, mode, length = key
    return f"{what} {mode} {length}" if kind == "routine" else f"compose {'+'.join(what)} {mode} {length}m"


@cache
def _plan(routine: str, mode: str, length_ms: int | None, points: tuple[str, ...] = ()):
    composition = Composition(points) if points else None
    request = TrackRequest(routine, "joe", ModeOptions(mode), length_ms, compose=composition)
    return plan_track(request, need_voice=False)


@cache
def length_range_ms(routine: str, mode: str, points: tuple[str, ...] = ()) -> tuple[int, int]:
    """The shortest and longest --length, in whole milliseconds inside the range."""
    plan = _plan(routine, mode, None, points)
    shortest, longest = length_range(plan.draft, estimate_speech(plan.voice.words_per_minute))
    return -(-shortest * 1000 // SR), longest * 1000 // SR


@cache
def plan_json(key) -> dict:
    """The timeline `plan --json --estimate --voice joe` prints for one of PLANS."""
    kind, what, mode, length = key
    if kind == "routine":
        ms = length_range_ms(what, mode)[0 if length == "shortest" else 1]
        plan = _plan(what, mode, ms)
    else:
        ms = length * 60_000
        plan = _plan("", mode, ms, what)
    data = plan.estimated().to_json()
    assert data["duration"] == pytest.approx(ms / 1000, abs=0.001)
    return json.loads(json.dumps(data))


def said(data, chapter=None) -> list[str]:
    return [e["text"] for e in data["events"] if e["kind"] == "speech"
            and (chapter is None or chapter["start"] <= e["start"] < chapter["end"])]


def text_of(data, chapter=None) -> str:
    return " ".join(said(data, chapter))


def chapter(data, title: str) -> dict:
    (found,) = [c for c in data["chapters"] if c["title"] == title]
    return found


def safety_chapter(data) -> dict:
    """The safety words: "Safety" (acupressure, compositions) or "Before you start" (reflexology)."""
    (found,) = [c for c in data["chapters"] if c["title"] in ("Safety", "Before you start")]
    return found


def first_work(data) -> float:
    return min(s["start"] for s in data["spans"] if s["kind"] in ("hold", "massage"))


def point_chapters(data, code: str) -> list[dict]:
    return [c for c in data["chapters"] if c.get("point") == code]


def starts(data, chapter) -> list[dict]:
    """The start cues of a chapter's presses."""
    return [e for e in data["events"] if e["kind"] == "speech" and chapter["start"] <= e["start"] < chapter["end"]
            and e["text"] in ("Press.", "Press and massage.", "Hold.", "Massage gently.")]


def spans_in(data, chapter, *kinds) -> list[dict]:
    return [s for s in data["spans"] if chapter["start"] <= s["start"] < chapter["end"] and s["kind"] in kinds]


def compose_points(key) -> tuple[str, ...]:
    return key[1] if key[0] == "compose" else ()


all_plans = pytest.mark.parametrize("key", PLANS, ids=[label(k) for k in PLANS])
routine_plans = pytest.mark.parametrize("key", ROUTINE_PLANS, ids=[label(k) for k in ROUTINE_PLANS])
compose_plans = pytest.mark.parametrize("key", COMPOSE_PLANS, ids=[label(k) for k in COMPOSE_PLANS])


# --------------------------------------------------------------------------- 1. feet without feeling


FEET_WORDS = ("If you have diabetes or less feeling in your feet", "dry gently between the toes", "press only lightly",
              "check your feet for marks afterwards", "ask your doctor or podiatrist first")


@all_plans
def test_feet_without_feeling_are_cared_for_before_any_foot_or_ankle_work(key):
    data = plan_json(key)
    safety = text_of(data, safety_chapter(data))
    feet = key[1] == "foot-reflexology" or any(LIBRARY.lookup(c).kind == "reflexology" or
                                               {"feet", "ankles"} & set(LIBRARY.lookup(c).cautions)
                                               for c in compose_points(key))
    if feet:  # reflexology's "Before you start"; a composition with a foot or ankle point or zone
        for words in FEET_WORDS + ("water with your elbow",):
            assert words in safety, words
    if key[1] == "acupressure":
        assert "If you have diabetes or less feeling in your feet, press only lightly on your ankles and feet, check " \
               "them for marks afterwards, and ask your doctor or podiatrist first." in safety
        # the ankle massage and K 3, on every side
        ankle = [c for c in data["chapters"] if c["title"].startswith("Massage in front")]
        for c in [*point_chapters(data, "K 3"), *ankle]:
            assert re.search(r"diabetes or less feeling in your feet|your feet have less feeling", text_of(data, c)), c
    assert safety_chapter(data)["end"] <= first_work(data)


# --------------------------------------------------------------------------- 2. essential oils


@pytest.mark.parametrize("mode", MODES)
def test_the_oil_is_mixed_beforehand_at_one_percent_and_patch_tested_in_the_preparation(mode):
    for end in ("shortest", "longest"):
        data = plan_json(("routine", "foot-reflexology", mode, end))
        ready = chapter(data, "Get ready")
        words = text_of(data, ready)
        for needle in ("two tablespoons of plain carrier oil, that is thirty milliliters",
                       "no more than six drops in all of valerian, Roman chamomile or lavender", "always diluted",
                       "If you have not tested this mixture on the inside of your arm a day before, use plain "
                       "carrier oil this time."):
            assert needle in words, needle
        assert ready["end"] <= first_work(data)
        after = " ".join(e["text"] for e in data["events"] if e["kind"] == "speech" and e["start"] >= ready["end"])
        assert "drop" not in after and "Patch" not in after and "tested" not in after  # nothing to mix with oily hands
        assert "two to three drops" not in text_of(data)
        # no silence left for opening bottles: the oil is ready, warming it in the palms takes ten seconds
        for title in ("Warm the oil and massage your left foot", "Oil and massage your right foot"):
            c = chapter(data, title)
            pauses = [e["duration"] for e in data["events"] if e["kind"] == "silence" and e["reason"] == "pause"
                      and c["start"] <= e["start"] < c["end"]]
            assert max(pauses) <= 10.0
    source = (PACKAGE / "data" / "routines" / "foot-reflexology.toml").read_text()
    assert "# The oils: the source says \"drip 2-3 drops each of valerian, Roman chamomile and lavender" in source


# --------------------------------------------------------------------------- 3. cautions on every side


@all_plans
def test_every_side_of_a_point_carries_its_caution_before_its_first_press(key):
    data = plan_json(key)
    seen: set[str] = set()
    checked = 0
    for c in data["chapters"]:
        cautions = LIBRARY.cautions_of(c["point"]) if c.get("point") else ()
        if c["title"].startswith("Massage in front of the ankle"):
            cautions = (LIBRARY.cautions["ankles"],)
        if not cautions:
            continue
        owner = c.get("point") or "ankle massage"
        sides = sum(1 for d in data["chapters"] if (d.get("point") or "ankle massage") == owner
                    and (d.get("point") or d["title"].startswith("Massage in front")))
        texts = said(data, c)
        press = texts.index(starts(data, c)[0]["text"])
        for caution in cautions:
            wanted = caution.remind if owner in seen else caution.first if sides > 1 else caution.say
            assert wanted in texts[:press], (c["title"], wanted)
            if owner not in seen and sides > 1:
                assert "both" in wanted  # the first side says it applies to every side
        seen.add(owner)
        checked += 1
    cautioned = any(LIBRARY.lookup(c).cautions for c in compose_points(key))
    assert checked >= {"acupressure": 16, "foot-reflexology": 8}.get(key[1], 1 if cautioned else 0)


@compose_plans
def test_the_first_side_says_what_to_do_instead_and_later_sides_remind(key):
    data = plan_json(key)
    if "SP 6" in key[1]:
        right, left = point_chapters(data, "SP 6")
        assert "If you are pregnant, skip this point on both sides, and rest until the next point." in said(data, right)
        assert "If you are pregnant, keep resting." in said(data, left)


# --------------------------------------------------------------------------- 4, 5, 6. the safety block


@all_plans
def test_every_safety_block_says_stop_if_it_hurts_see_a_doctor_medicines_and_the_sharpened_clot_warning(key):
    data = plan_json(key)
    safety = said(data, safety_chapter(data))
    assert TENDER in safety and DOCTOR in safety and MEDICINES in safety
    joined = " ".join(safety)
    for words in CLOT:
        assert words in joined, words
    assert "swollen, red, warm or painful" not in text_of(data)  # "painful" left out the many whose legs ache
    assert "as often as needed" not in text_of(data)  # no open-ended self-treatment


# --------------------------------------------------------------------------- 7. pregnancy near ankles and heels


@routine_plans
def test_pregnancy_gentle_pressure_wherever_the_ankles_or_heels_are_worked(key):
    data = plan_json(key)
    worked = [c for c in data["chapters"] if c.get("point") in ("K 3", "sciatic", "foot", "knee-leg")
              or c["title"].startswith("Massage in front of the ankle")]
    assert worked
    for c in worked:
        words = text_of(data, c)
        assert "pregnant" in words and "gently" in words.lower(), c["title"]
    if key[1] == "foot-reflexology":
        assert "If you are pregnant, check with your midwife first" in text_of(data, safety_chapter(data))


# --------------------------------------------------------------------------- 8. compose holds within the sources


@compose_plans
def test_compose_presses_within_the_sources_limits(key):
    data = plan_json(key)
    for code in key[1]:
        point = LIBRARY.lookup(code)
        for c in point_chapters(data, code):
            presses = [s["end"] - s["start"] for s in spans_in(data, c, "hold", "massage")]
            rests = [s["end"] - s["start"] for s in spans_in(data, c, "rest")]
            assert len(rests) == len(presses) - 1
            if point.kind == "reflexology":  # the source's pattern: ten-second presses, ten-second rests
                assert presses == pytest.approx([10.0] * len(presses), abs=0.001) and len(presses) >= 3
                assert rests == pytest.approx([10.0] * len(rests), abs=0.001)
                continue
            longest = 60.0 if code in ("B 40", "SP 12") else 120.0  # over large vessels: a minute, lightly
            assert all(60.0 - 0.001 <= p <= longest + 0.001 for p in presses), (code, presses)
            assert sum(presses) >= 60.0 - 0.001  # a minute or more per side
            assert rests == pytest.approx([limits.ROUND_REST_MS / 1000] * len(rests), abs=0.001)
            for p in spans_in(data, c, "hold", "massage"):  # from the start cue to "And release."
                cue = next(e for e in data["events"] if e["kind"] == "speech" and abs(e["start"] + e["duration"]
                                                                                     - p["start"]) < 0.002)
                end = next(e for e in data["events"] if e["kind"] == "speech" and abs(e["start"] - p["end"]) < 0.002)
                assert (cue["text"], end["text"]) == ("Press and massage.", "And release.")


@pytest.mark.parametrize("mode", MODES)
def test_compose_s_range_for_three_paired_points_covers_ten_to_fifty_minutes_and_adds_rounds(mode):
    points = ("GB 20", "LU 7", "ST 36")
    shortest, longest = length_range_ms("", mode, points)
    assert longest >= 50 * 60_000
    if mode == "massage":
        assert shortest <= 10 * 60_000
    short = plan_json(("compose", points, mode, 12))
    long = plan_json(("compose", points, mode, 50))
    assert len([s for s in short["spans"] if s["kind"] == "massage"]) == 6  # one round per side
    assert len([s for s in long["spans"] if s["kind"] == "massage"]) > 12  # longer sessions add rounds with rests
    assert max(s["end"] - s["start"] for s in long["spans"] if s["kind"] == "massage") <= 120.001


@pytest.mark.parametrize("args, message", [
    (["--length", "5m"], "cannot fit 'Acupressure: SP 6, K 3, LV 3' to 5m 00s: with its points pressed in rounds "
                         "within the sources' limits it can last from "),
    (["--hold", "30s"], "--hold: a hold must be at least 1m, got 30s"),
    (["--hold", "150s"], "--hold: a hold must be at most 2m, got 2m30s"),
])
def test_compose_refuses_lengths_and_holds_outside_the_sources_limits(runner, args, message):
    result = runner.invoke(cli, ["compose", "SP 6", "K 3", "LV 3", "--routine-only", "--voice", FAKE_VOICE, *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_hold_obeys_the_same_limits_and_a_caution_caps_it(runner, tmp_path):
    result = runner.invoke(cli, ["compose", "SP 6", "B 40", "heart", "--hold", "2m", "--routine-only",
                                 "-o", str(tmp_path), "--voice", "joe"])
    assert result.exit_code == 0, result.output
    (text,) = [p.read_text() for p in tmp_path.iterdir()]
    assert text.count('massage = "2m"') == 1 and text.count('massage = "1m"') == 1  # B 40: a minute, lightly
    assert 'hold = "10s"' in text and 'rest = "10s"' in text  # the zone keeps the source's pattern


# --------------------------------------------------------------------------- 9. rests and silent steps under --length


@routine_plans
def test_every_rest_spoken_of_lasts_what_is_said_and_silent_preparation_is_capped(key):
    data = plan_json(key)
    if key[1] == "foot-reflexology":
        for c in data["chapters"]:
            if "as before" in text_of(data, c) or "several times" in text_of(data, c):
                rests = [s["end"] - s["start"] for s in spans_in(data, c, "rest")]
                assert rests == pytest.approx([10.0] * len(rests), abs=0.001), c["title"]
        wash = chapter(data, "Wash your feet")
        (pause,) = spans_in(data, wash, "pause")
        assert pause["end"] - pause["start"] == pytest.approx(180.0, abs=0.001)  # as long at 39 minutes as at 30
        massages = [s["end"] - s["start"] for s in data["spans"] if s["kind"] == "massage"]
        if key[3] == "longest":  # the extra time goes to the work
            assert max(massages) == pytest.approx(300.0, abs=0.001)
    assert _check_spoken_durations(data) >= (3 if key[1] == "foot-reflexology" else 1)


@compose_plans
def test_compose_names_no_rest_it_does_not_keep(key):
    data = plan_json(key)
    assert _check_spoken_durations(data) >= (1 if any(LIBRARY.lookup(c).kind == "reflexology" for c in key[1]) else 0)
    for text in said(data):
        assert not re.search(r"\brest\b.*\b(second|minute)s?\b", text) or "{" not in text


# --------------------------------------------------------------------------- 10. finding the point


FIND_CORRECTIONS = {
    "LU 7": ("on the thumb side of the forearm", "just above the bony bump of the wrist"),
    "GB 21": ("On the top of the shoulder, halfway between the base of the neck and the tip of the shoulder",),
    "GV 20": ("from the tip of one ear to the tip of the other",),
    "SP 6": ("just behind the edge of the shinbone",),
    "LV 2": ("On the top of the foot",),
    "LV 3": ("On the top of the foot",),
    "SP 12": ("just outside the pulse you can feel there",),
}


@all_plans
def test_each_point_s_find_it_sentence_follows_the_source_s_words(key):
    data = plan_json(key)
    codes = [c["point"] for c in data["chapters"] if c.get("point")]
    for code in dict.fromkeys(codes):
        point = LIBRARY.lookup(code)
        if key[0] == "routine" and point.kind != "acupressure":
            continue  # the reflexology routine speaks its source's own words for its zones
        first = point_chapters(data, code)[0]
        texts = said(data, first)
        find = split_sentences(point.find)
        assert find[0] in texts, code
        at = texts.index(find[0])
        if point.kind == "acupressure" and (key[0] == "routine" or point.say_location):
            assert at > 0 and any(word in " ".join(texts[:at]).lower() for word in point.location.lower().split()[-2:])
        for words in FIND_CORRECTIONS.get(code, ()):
            assert words in " ".join(texts), (code, words)
        if code == "GV 20":
            assert "ear lobes" not in " ".join(texts)
    if key[1] == "acupressure":  # the audio gives GV 26's place as the page does
        (gv26,) = point_chapters(data, "GV 26")
        assert LIBRARY.lookup("GV 26").find in said(data, gv26)


# --------------------------------------------------------------------------- 11. head to toe


@pytest.mark.parametrize("key", [k for k in ROUTINE_PLANS if k[1] == "acupressure"],
                         ids=[label(k) for k in ROUTINE_PLANS if k[1] == "acupressure"])
def test_acupressure_goes_head_to_toe_and_finishes_one_foot_first(key):
    data = plan_json(key)
    order = list(dict.fromkeys(c["point"] for c in data["chapters"] if c.get("point")))
    assert order == ["GV 20", "GV 26", "GB 20", "GB 21", "LU 7", "SP 12", "B 40", "ST 36", "SP 6", "K 3", "LV 3",
                     "LV 2"]
    foot = [(c["point"], c.get("side")) for c in data["chapters"] if c.get("point") in ("SP 6", "K 3", "LV 3", "LV 2")]
    assert foot == [(p, "right") for p in ("SP 6", "K 3", "LV 3", "LV 2")] + [(p, "left") for p in
                                                                             ("SP 6", "K 3", "LV 3", "LV 2")]
    header = (PACKAGE / "data" / "routines" / "acupressure.toml").read_text().split("\ntitle =")[0]
    assert "The order of the points is changed" in header and "head to toe" in header and "sorted by code" in header


# --------------------------------------------------------------------------- 12. the breathing tones


@all_plans
def test_the_breathing_tones_are_explained_once_before_they_start(key):
    data = plan_json(key)
    tones = [e for e in data["events"] if e["kind"] == "tone" and e["name"].startswith("breath")]
    explained = [e for e in data["events"] if e.get("text") == TONES]
    assert len(explained) == (1 if tones else 0)
    if tones:
        assert explained[0]["start"] < tones[0]["start"]
    assert said(data).count("Breathe in.") <= 2 * (1 + len([s for s in data["spans"] if s.get("inhale")]))


# --------------------------------------------------------------------------- 13. bedtime endings


@routine_plans
def test_bedtime_ends_on_rest_with_the_daily_care_at_the_start(key):
    data = plan_json(key)
    last = data["chapters"][-1]
    ending = text_of(data, last)
    assert "Rest" in last["title"] and ending.startswith(("That completes the session. Rest now", "Rest and relax"))
    assert "plenty of water" not in ending and "Drink" not in ending
    if key[1] == "foot-reflexology":
        assert "take a few sips of water" in ending.lower()
    if key[2] == "bedtime":
        for daytime in ("get up and walk", "exercise", "smoking", "If your legs are still restless"):
            assert daytime not in ending, daytime
        if key[1] == "acupressure":
            assert "get up and walk" in text_of(data, chapter(data, "Daily care"))
            assert chapter(data, "Daily care")["end"] <= first_work(data)
        assert data["spans"][-1]["kind"] == "pause"  # rest, then silence


# --------------------------------------------------------------------------- 14. repetition and editorial talk


@all_plans
def test_nothing_is_said_twice_and_the_countdown_only_where_it_helps(key):
    data = plan_json(key)
    spoken = said(data)
    assert spoken.count("The B 40 points are behind the knee, in the center.") <= 1
    assert not any("CV 26" in t for t in spoken)  # the source's code belongs to the README, page and tags
    for c in data["chapters"]:
        words = text_of(data, c)
        assert words.count("center of your heel") + words.count("center of the heel") <= 1, c["title"]
        assert not ("Now switch to" in words and "Find it on your" in words), c["title"]
    safety = text_of(data, safety_chapter(data))
    assert safety.count("varicose vein") == 1 and safety.count("broken skin") == 1
    for e in data["events"]:
        if e.get("text") == "Thirty seconds left.":
            (span,) = [s for s in data["spans"] if s["start"] <= e["start"] < s["end"]]
            assert span["end"] - span["start"] >= 150 - 0.001  # a hold long enough to need a countdown
    if key[0] == "compose":  # a side is a leg, a foot, a knee...: said which
        for text in spoken:
            if text.startswith(("Now switch to", "Start with")):
                assert not re.search(r"(right|left) side\.$", text), text


# --------------------------------------------------------------------------- 15. hedged claims


@all_plans
def test_claims_are_hedged(key):
    words = text_of(plan_json(key))
    for claim in ("oxygen-rich", "oxygen supply", "sciatic nerve", "acupressure shoes", "considered causes",
                  "help to relieve restless legs. Press"):
        assert claim not in words, claim
    if key[1] == "acupressure":
        assert "may help you relax" in words and "Stress, caffeine, alcohol and tobacco can be triggers." in words


# --------------------------------------------------------------------------- 16. compose's zones stand alone


@pytest.mark.parametrize("points", [("outer-area",), ("foot",), ("GV 20",), ("sciatic", "SP 6")])
def test_compose_zones_stand_alone_and_gv_20_has_one_landmark(points):
    for mode in MODES:
        shortest, _ = length_range_ms("", mode, points)
        data = plan_json(("compose", points, mode, -(-shortest // 60_000)))
        for code in points:
            words = " ".join(text_of(data, c) for c in point_chapters(data, code))
            assert "heart point" not in words and "sciatic point" not in words, code
            assert words.count("ear") <= 2 and "ear lobes" not in words  # one landmark: the tips of the ears


# --------------------------------------------------------------------------- 17. "did you mean"


def test_did_you_mean_never_sends_someone_to_another_body_site(runner):
    for code in ("SP 10", "SP 9", "BL 60"):
        result = runner.invoke(cli, ["points", code])
        assert result.exit_code == 2 and "did you mean" not in result.stderr
        assert "the library holds only" in result.stderr
    channels = {p.code.split()[0] for p in LIBRARY.points if " " in p.code}
    for channel in sorted(channels):
        for number in range(1, 70):
            code = f"{channel} {number}"
            if code in LIBRARY:
                continue
            try:
                LIBRARY.lookup(code)
            except Exception as exc:  # PointsError
                assert "did you mean" not in exc.problems[0].message, code


# --------------------------------------------------------------------------- spoken durations are true


NUMBERS = {w: i for i, w in enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                                       "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
                                       "sixteen", "seventeen", "eighteen", "nineteen"])}
NUMBERS.update({"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "a": 1, "an": 1})
SPOKEN = re.compile(r"\b(a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
                    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty)\s+"
                    r"(second|minute|hour)s?\b",
                    re.IGNORECASE)
UNIT = {"second": 1, "minute": 60, "hour": 3600}


def _check_spoken_durations(data) -> int:
    """Every length the narration states is the length of what it names: the rest, the pause, or
    every press of its step. Returns how many were checked."""
    checked = 0
    for e in data["events"]:
        if e["kind"] != "speech" or "or more" in e["text"]:
            continue
        chapter_ = next(c for c in data["chapters"] if c["start"] <= e["start"] < c["end"])
        spans = [s for s in data["spans"] if chapter_["start"] <= s["start"] < chapter_["end"]]
        for match in SPOKEN.finditer(e["text"]):
            if match.group(1).lower() in ("a", "an") and "finger" in e["text"]:
                continue
            seconds = NUMBERS[match.group(1).lower()] * UNIT[match.group(2).lower()]
            if re.search(r"(second|minute)s? left", e["text"]):  # "Thirty seconds left.": the time to the end
                (span,) = [s for s in spans if s["start"] <= e["start"] < s["end"]]
                assert span["end"] - e["start"] == pytest.approx(seconds, abs=0.002), e["text"]
            elif re.search(r"\brest\b", e["text"][match.start():], re.IGNORECASE) and "of rest" in e["text"][
                    match.start():match.end() + 8]:
                rests = [s for s in spans if s["kind"] == "rest"]
                assert rests and all(s["end"] - s["start"] == pytest.approx(seconds, abs=0.002) for s in rests)
            elif re.search(r"\b(rest|have)\b", e["text"][:match.start()], re.IGNORECASE):
                rests = [s for s in spans if s["kind"] in ("rest", "pause")]
                assert rests and all(s["end"] - s["start"] == pytest.approx(seconds, abs=0.002) for s in rests if
                                     s["kind"] == "rest" or not any(r["kind"] == "rest" for r in rests)), e["text"]
            else:  # a hold or massage: every press of that step lasts what is said
                timed = [s for s in spans if s["kind"] in ("hold", "massage")]
                assert timed and all(s["end"] - s["start"] == pytest.approx(seconds, abs=0.002) for s in timed), \
                    e["text"]
            checked += 1
    return checked


@pytest.mark.parametrize("routine", ROUTINES)
def test_every_spoken_duration_is_true_at_every_length(routine):
    shortest, longest = length_range_ms(routine, "massage")
    for length in (shortest, (shortest + longest) // 2, longest, None):
        data = _plan(routine, "massage", length).estimated().to_json()
        assert _check_spoken_durations(json.loads(json.dumps(data))) >= (1 if routine == "acupressure" else 3), length


def test_a_named_rest_keeps_its_length_while_the_others_scale(runner, write):
    routine = write("r.toml", '''
        title = "T"
        [[steps]]
        title = "Named"
        say = "Press three times, resting for {rest} between presses."
        hold = 5
        rest = 8
        repeat = 3
        pause = 20
        [[steps]]
        title = "Unnamed"
        say = "Again, at your own pace."
        hold = 5
        rest = 8
        repeat = 2
    ''')

    def plan(*args):
        result = runner.invoke(cli, ["plan", str(routine), "--json", "--estimate", "--voice", "joe", *args])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    short, long = plan("--length", "80s"), plan("--length", "3m")
    for data in (short, long):
        named, unnamed = data["chapters"]
        named_rests = [s["end"] - s["start"] for s in data["spans"]
                       if s["kind"] == "rest" and s["start"] < named["end"]]
        assert named_rests == pytest.approx([8.0, 8.0], abs=0.001)
        assert "resting for eight seconds between presses" in text_of(data)
    unnamed_rest = [[s["end"] - s["start"] for s in d["spans"] if s["kind"] == "rest"][-1] for d in (short, long)]
    assert unnamed_rest[0] < 8.0 < unnamed_rest[1]


def test_validate_warns_where_narration_states_a_length_that_length_could_change(runner, write):
    routine = write("r.toml", 'title = "T"\n[[steps]]\ntitle = "A"\nsay = "Rest for ten seconds between presses."\n'
                              "hold = 5\nrest = 10\nrepeat = 2\n")
    result = runner.invoke(cli, ["validate", str(routine)])
    assert result.exit_code == 0
    assert result.stderr == (f'warning: {routine}:4: steps[0].say: says "ten seconds", but --length can change this '
                             "step's rest; write {rest} to speak its real length (which --length then keeps)\n")
    for rid in ROUTINES:
        result = runner.invoke(cli, ["validate", str(PACKAGE / "data" / "routines" / f"{rid}.toml")])
        assert result.exit_code == 0 and result.stderr == "", result.stderr


# --------------------------------------------------------------------------- the sources' facts and hedges


def test_the_sources_hedges_are_kept():
    acupressure = text_of(plan_json(("routine", "acupressure", "massage", "shortest")))
    assert "for a minute or more" in acupressure
    foot = text_of(plan_json(("routine", "foot-reflexology", "massage", "shortest")))
    for hedge in ("for at least ten seconds", "you may just calm down and sleep better",
                  "It may take several tries to release the pent up tension in your heart reflexology point",
                  "you can go over the points on your left foot once more, gently", "so be patient"):
        assert hedge in foot, hedge
    heart = next(c for c in plan_json(("routine", "foot-reflexology", "massage", "shortest"))["chapters"]
                 if c.get("point") == "heart")
    assert heart["title"] == "Heart point, left foot"


def test_the_left_side_does_not_repeat_the_step_s_introduction():
    data = plan_json(("routine", "acupressure", "massage", "shortest"))
    texts = said(data)
    assert texts.count("Massaging the legs and pressing acupressure points may relieve the sensations of restless "
                       "legs, and help your muscles relax.") == 1
    for c in data["chapters"]:
        if c.get("side") == "left" and c.get("point"):
            assert not any(t.startswith(f"The {c['point']} point") for t in said(data, c)), c["title"]


# --------------------------------------------------------------------------- the README says what is spoken


def test_the_readme_quotes_the_words_the_sessions_speak():
    readme = " ".join((PACKAGE.parent / "README.md").read_text().split())
    for caution in LIBRARY.cautions.values():
        assert caution.first in readme and caution.remind in readme, caution.key
    for words in (TENDER, "Now follow the tones: rising, breathe in; falling, breathe out.",
                  "GV 20, GV 26 (which the source calls CV 26), GB 20, GB 21, LU 7, SP 12, B 40, ST 36, then SP 6, "
                  "K 3, LV 3 and LV 2 on the right leg and foot before the left",
                  "Press for ten seconds at a time, with ten seconds of rest between"):
        assert words in readme, words
    data = plan_json(("routine", "acupressure", "massage", "shortest"))
    assert "a few sips of water" in readme and "two tablespoons (30 ml) of carrier oil" in readme
    assert [p for p in dict.fromkeys(c.get("point") for c in data["chapters"]) if p] == \
        ["GV 20", "GV 26", "GB 20", "GB 21", "LU 7", "SP 12", "B 40", "ST 36", "SP 6", "K 3", "LV 3", "LV 2"]


@pytest.mark.parametrize("points", [("B 40",), ("heart",), ("SP 6", "K 3", "LV 3")])
def test_compose_meets_every_length_in_its_stated_range(points):
    """No gap between the rounds: any length from the shortest to the longest is met exactly."""
    from rlsaudio.base.units import ms_to_samples
    from rlsaudio.script.timeline import build_timeline

    plan = _plan("", "massage", None, points)
    speech = estimate_speech(plan.voice.words_per_minute)
    shortest, longest = length_range_ms("", "massage", points)
    for ms in range(shortest, longest + 1, 97_000):
        assert build_timeline(plan.draft, speech, target_ms=ms).length == ms_to_samples(ms), ms


@pytest.mark.parametrize("routine", ROUTINES)
def test_chapters_carry_no_step_numbers_of_their_own(routine):
    """Issue 19 item 10: one numbering. The page counts chapters ("Step 5 of 15"), so a title
    never adds its own ("Step 3: Heart point, left foot" under "Step 5 of 15")."""
    data = plan_json(("routine", routine, "massage", "shortest"))
    titles = [c["title"] for c in data["chapters"]]
    assert len(titles) >= 10
    assert [t for t in titles if re.match(r"(?i)step\s*\d", t)] == []
