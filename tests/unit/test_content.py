"""The bundled routines as health guidance: safety words first, true spoken durations,
no repeated introductions, the sources' facts and hedges. Checked through `plan --json`."""

import json
import re

import pytest
from places import PACKAGE

from rlsaudio.cli import cli
from rlsaudio.script.routine import load_bundled

NUMBERS = {w: i for i, w in enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                                       "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
                                       "sixteen", "seventeen", "eighteen", "nineteen"])}
NUMBERS.update({"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "a": 1, "an": 1})
SPOKEN = re.compile(r"\b(a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
                    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty)\s+(second|minute|hour)s?\b",
                    re.IGNORECASE)
UNIT = {"second": 1, "minute": 60, "hour": 3600}


def plan(runner, routine, *args):
    result = runner.invoke(cli, ["plan", routine, "--json", "--estimate", "--voice", "joe", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def spoken(data, before=None):
    return " ".join(e["text"] for e in data["events"] if e["kind"] == "speech" and (before is None or e["start"] < before))


def first_work(data):
    """When the listener first presses or massages: the first hold or massage."""
    return min(s["start"] for s in data["spans"] if s["kind"] in ("hold", "massage"))


# --------------------------------------------------------------------------- safety words first


@pytest.mark.parametrize("routine, needles", [
    ("acupressure", ["swollen, red, warm or painful", "blood clot", "varicose vein", "broken skin",
                     "Press lightly at the back of the knee and in the crease of the groin", "never on a pulse",
                     "If you are pregnant, skip SP 6 and GB 21"]),
    ("foot-reflexology", ["swollen, red, warm or painful", "blood clot", "varicose vein", "broken skin",
                          "always diluted", "Patch-test the mixture first", "If your skin reacts", "stop",
                          "away from your eyes", "If you are pregnant, ask your doctor or midwife",
                          "glass of water within reach", "wipe your feet first", "Wash your feet"]),
])
def test_the_safety_words_come_before_any_pressing_or_massage(runner, routine, needles):
    data = plan(runner, routine)
    before = spoken(data, first_work(data))
    for needle in needles:
        assert needle in before, needle


@pytest.mark.parametrize("code, caution", [
    ("SP 6", "If you are pregnant, skip this point."), ("GB 21", "If you are pregnant, skip this point."),
    ("B 40", "Press lightly here, and never on a pulse or a varicose vein."),
    ("SP 12", "Press lightly here, and never on a pulse or a varicose vein."),
])
def test_each_point_s_caution_is_spoken_in_its_chapter_before_its_first_start_cue(runner, code, caution):
    data = plan(runner, "acupressure")
    chapter = next(c for c in data["chapters"] if c.get("point") == code)
    inside = [e for e in data["events"] if chapter["start"] <= e["start"] < chapter["end"] and e["kind"] == "speech"]
    texts = [e["text"] for e in inside]
    assert caution in texts
    assert texts.index(caution) < texts.index("Press and massage.")
    others = [c for c in data["chapters"] if c.get("point") not in (code, None)]
    assert all(caution not in spoken({"events": [e for e in data["events"] if c["start"] <= e["start"] < c["end"]]})
               for c in others if c.get("point") not in ("SP 6", "GB 21", "B 40", "SP 12"))


def test_the_foot_routine_cues_the_return_after_the_wash(runner):
    data = plan(runner, "foot-reflexology")
    wash = next(c for c in data["chapters"] if c["title"].startswith("Step 1:"))
    after = [e["text"] for e in data["events"] if e["kind"] == "speech" and e["start"] >= wash["end"]]
    assert after[0] == "Welcome back."
    texts = [e["text"] for e in data["events"] if e["kind"] == "speech" and wash["start"] <= e["start"] < wash["end"]]
    assert any("pause this track" in t for t in texts)


def test_massages_after_dont_press_too_hard_are_gentle(runner):
    data = plan(runner, "foot-reflexology")
    texts = [e["text"] for e in data["events"] if e["kind"] == "speech"]
    assert "Press and massage." not in texts[texts.index("Use long strokes, and don't press too hard on any particular "
                                                         "point.") + 1:][:3]
    assert texts.count("Massage gently.") == 2


# --------------------------------------------------------------------------- spoken durations are true


def _range(runner, routine):
    """The shortest and longest --length a routine accepts, in whole seconds inside its range."""
    result = runner.invoke(cli, ["plan", routine, "--estimate", "--voice", "joe", "--length", "1s"])
    found = re.search(r"from (.+?) to (.+?); choose", result.stderr)
    assert found, result.stderr

    def seconds(text):
        parts = dict((u, int(v)) for v, u in re.findall(r"(\d+)([hms])", text))
        return parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0)

    return seconds(found.group(1)) + 1, seconds(found.group(2)) - 1


def _check_spoken_durations(data) -> int:
    checked = 0
    for e in data["events"]:
        if e["kind"] != "speech":
            continue
        chapter = next(c for c in data["chapters"] if c["start"] <= e["start"] < c["end"])
        spans = [s for s in data["spans"] if chapter["start"] <= s["start"] < chapter["end"]]
        for match in SPOKEN.finditer(e["text"]):
            seconds = NUMBERS[match.group(1).lower()] * UNIT[match.group(2).lower()]
            if re.search(r"(second|minute)s? left", e["text"]):  # "Thirty seconds left.": the time to the end
                (span,) = [s for s in spans if s["start"] <= e["start"] < s["end"]]
                assert span["end"] - e["start"] == pytest.approx(seconds, abs=0.002), e["text"]
            elif re.search(r"\brest\b", e["text"], re.IGNORECASE):
                rests = [s for s in spans if s["kind"] in ("rest", "pause")]
                assert rests and all(s["end"] - s["start"] == pytest.approx(seconds, abs=0.002) for s in rests if
                                     s["kind"] == "rest" or not any(r["kind"] == "rest" for r in rests)), e["text"]
            else:  # a hold or massage: every press of that step lasts what is said
                timed = [s for s in spans if s["kind"] in ("hold", "massage")]
                assert timed and all(s["end"] - s["start"] == pytest.approx(seconds, abs=0.002) for s in timed), \
                    e["text"]
            checked += 1
    return checked


@pytest.mark.parametrize("routine", ["acupressure", "foot-reflexology"])
def test_every_spoken_duration_is_true_at_every_length(runner, routine):
    shortest, longest = _range(runner, routine)
    for length in (shortest, (shortest + longest) // 2, longest, None):
        data = plan(runner, routine, *(["--length", f"{length}s"] if length else []))
        assert _check_spoken_durations(data) >= (3 if routine == "foot-reflexology" else 2), length


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
    short = plan(runner, str(routine), "--length", "80s")
    long = plan(runner, str(routine), "--length", "3m")
    for data in (short, long):
        named, unnamed = data["chapters"]
        named_rests = [s["end"] - s["start"] for s in data["spans"] if s["kind"] == "rest" and s["start"] < named["end"]]
        assert named_rests == pytest.approx([8.0, 8.0], abs=0.001)
        assert "resting for eight seconds between presses" in spoken(data)
    unnamed_rest = [[s["end"] - s["start"] for s in d["spans"] if s["kind"] == "rest"][-1] for d in (short, long)]
    assert unnamed_rest[0] < 8.0 < unnamed_rest[1]


def test_validate_warns_where_narration_states_a_length_that_length_could_change(runner, write):
    routine = write("r.toml", 'title = "T"\n[[steps]]\ntitle = "A"\nsay = "Rest for ten seconds between presses."\n'
                              "hold = 5\nrest = 10\nrepeat = 2\n")
    result = runner.invoke(cli, ["validate", str(routine)])
    assert result.exit_code == 0
    assert result.stderr == (f'warning: {routine}:4: steps[0].say: says "ten seconds", but --length can change this '
                             "step's rest; write {rest} to speak its real length (which --length then keeps)\n")
    for rid in ("acupressure", "foot-reflexology"):
        result = runner.invoke(cli, ["validate", str(PACKAGE / "data" / "routines" / f"{rid}.toml")])
        assert result.exit_code == 0 and result.stderr == "", result.stderr


# --------------------------------------------------------------------------- said once, faithful


def test_the_left_side_does_not_repeat_the_step_s_introduction(runner):
    data = plan(runner, "acupressure")
    texts = [e["text"] for e in data["events"] if e["kind"] == "speech"]
    for step in load_bundled("acupressure").steps:
        if step.sides and step.intro:
            first_sentence = step.intro.split(". ")[0].rstrip(".") + "."
            first_sentence = first_sentence.replace(" [1s]", "")
            assert sum(t.startswith(first_sentence[:40]) for t in texts) == 1, first_sentence
    assert texts.count("Massaging the legs and pressing acupressure points can relieve the sensations of restless "
                       "legs, relax the muscles and improve the oxygen supply.") == 1


def test_the_sources_hedges_are_kept(runner):
    acupressure = spoken(plan(runner, "acupressure"))
    assert "for a minute or more" in acupressure
    foot = spoken(plan(runner, "foot-reflexology"))
    for hedge in ("for at least ten seconds", "you may just calm down and sleep better",
                  "It may take several tries to release the pent up tension in your heart reflexology point",
                  "repeat each point on your left foot in rotation",
                  "so be patient and do the rotation as often as needed"):
        assert hedge in foot, hedge
    heart = next(c for c in plan(runner, "foot-reflexology")["chapters"] if c.get("point") == "heart")
    assert heart["title"] == "Step 3: Heart point, left foot"
