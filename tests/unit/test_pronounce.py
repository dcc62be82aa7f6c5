"""The pronunciation table: what the engine is given, while people keep seeing the written text."""

import json
import pickle
import re

import pytest
from places import DATA, PACKAGE

from rlsaudio.base.errors import InputError
from rlsaudio.cli import cli
from rlsaudio.script.pointfile import bundled_library, parse_points
from rlsaudio.speech import pronounce
from rlsaudio.speech.engines.fake import FakeEngine
from rlsaudio.speech.pronounce import Pronouncer, bundled_table, check_table, pronouncer_for
from rlsaudio.speech.synth import SpeechSource
from rlsaudio.speech.voices import load_profile
from rlsaudio.system.cache import Cache

VOICES = ("joe", "espeak")


@pytest.fixture(scope="module")
def library():
    return bundled_library()


@pytest.fixture
def table(monkeypatch):
    """Replace the bundled table for one test: table({"all": {...}, "joe": {...}})."""

    def _use(data):
        monkeypatch.setattr(pronounce, "bundled_table", lambda: check_table(data, "test table"))

    return _use


def spellings(code: str) -> list[str]:
    """The ways narration may write one code: "SP 6", "SP6", "SP-6", "SP 06"."""
    prefix, number = re.fullmatch(r"([A-Z]+)[ -]?(\d+)", code).groups()
    return [f"{prefix} {number}", f"{prefix}{number}", f"{prefix}-{number}", f"{prefix} 0{number}",
            f"{prefix}\u00a0{number}"]


def acupressure_codes(library):
    for point in library.points:
        if point.kind == "acupressure":
            for code in (point.code, *point.aliases):
                yield code


# --------------------------------------------------------------------------- point codes


def test_every_code_and_alias_is_spoken_as_its_channel_and_number_by_both_voices(library):
    pronouncers = [pronouncer_for(voice, library) for voice in VOICES]
    codes = list(acupressure_codes(library))
    assert len(codes) >= 16  # the twelve points and their aliases
    for code in codes:
        prefix, number = re.fullmatch(r"([A-Z]+)[ -]?(\d+)", code).groups()
        expected = f"{library.channels[prefix]} {int(number)}"
        for written in spellings(code):
            for p in pronouncers:  # said exactly as the channel's name is (a voice may respell the name)
                assert p.spoken(f"The {written} point, then {written}.") == \
                    p.spoken(f"The {expected} point, then {expected}."), written


def test_codes_come_from_the_library_channels_not_a_list(library):
    said = pronouncer_for("joe", library).spoken
    assert said("B 40, BL 40 and B40.") == "Bladder 40, Bladder 40 and Bladder 40."
    assert said("GV 26 and CV 26 (the source's code).") == \
        "Governing Vessel 26 and Conception Vessel 26 (the source's code)."
    assert said("K 3, KI 3, LR 3, LV 3, GB 21, LU 7, SP 12, ST 36.") == \
        "Kidney 3, Kidney 3, Liver 3, Liver 3, Gallbladder 21, Lunng 7, Spleen 12, Stomach 36."  # joe's "lung"
    assert said("SP 6: four fingers") == "Spleen 6: four fingers"
    assert said("(SP 6)") == "(Spleen 6)"


def test_a_users_code_that_is_no_channel_is_spoken_by_its_name():
    library = parse_points('''
        [[points]]
        code = "EX 1"
        spoken = "Yintang"
        kind = "acupressure"
        region = "face"
        location = "between the eyebrows"
        laterality = "midline"
    '''.replace("\n        ", "\n"))
    for voice in VOICES:
        assert pronouncer_for(voice, library).spoken("Press EX 1, then SP 6.") == "Press Yintang, then Spleen 6."


def test_zone_codes_and_ordinary_words_are_left_alone(library):
    zones = [p for p in library.points if p.kind == "reflexology"]
    assert {p.code for p in zones} >= {"heart", "sciatic", "foot"}
    said = pronouncer_for("espeak", library, {}).code_names
    text = "Press the heart point, then the sciatic and foot points, the knee-leg and ball-of-foot zones."
    assert said(text) == text
    for text in ("Rest for 10 seconds.", "Take 3 deep breaths.", "sp 6 in lowercase is not a code.",
                 "A BBC 40 or SPA 6 is no point.", "Step 12: rest.", "Version 1.5 of B 2.5 mg.",
                 "Vitamin B12 and vitamin B 6 are vitamins."):
        assert said(text) == text, text


# --------------------------------------------------------------------------- respellings


def test_respellings_are_whole_words_case_insensitive_and_keep_sentence_case(table):
    table({"all": {"valerian": "vuh-leer-ee-un", "Roman chamomile": "roman kam-uh-meel"}})
    said = pronouncer_for("joe", None).spoken
    assert said("Valerian, then valerian; VALERIAN!") == "Vuh-leer-ee-un, then vuh-leer-ee-un; Vuh-leer-ee-un!"
    assert said("Roman  chamomile oil.") == "Roman kam-uh-meel oil."
    assert said("valerians and antivalerian stay.") == "valerians and antivalerian stay."
    assert said("The valerian's scent.") == "The vuh-leer-ee-un's scent."


def test_voice_sections_add_to_all_and_extra_overrides_both(table):
    table({"all": {"valerian": "common", "achilles": "a-kill-eez"}, "espeak": {"valerian": "espeak-only"},
           "joe": {"sciatic": "sigh-at-ick"}})
    assert pronouncer_for("joe", None).spoken("valerian sciatic Achilles") == "common sigh-at-ick A-kill-eez"
    assert pronouncer_for("espeak", None).spoken("valerian sciatic achilles") == "espeak-only sciatic a-kill-eez"
    routine = pronouncer_for("espeak", None, {"Valerian": "routine-own", "lavender": "lav-en-der"})
    assert routine.spoken("valerian and lavender") == "routine-own and lav-en-der"


def test_a_routines_bad_entries_are_refused_not_matched_everywhere(library):
    for extra in ({"": "x"}, {"valerian": ""}, {"valerian": 3}, {" valerian": "x"}):
        with pytest.raises(InputError, match="routine: pronounce"):
            pronouncer_for("joe", library, extra)


def test_a_respelling_never_rewrites_another_ones_output(table):
    table({"all": {"chamomile": "camomile", "camomile": "wrong", "roman chamomile": "roh-mun kam-uh-meel"}})
    said = pronouncer_for("joe", None).spoken
    assert said("chamomile") == "camomile"
    assert said("Roman chamomile") == "Roh-mun kam-uh-meel"  # the longest match wins


def test_codes_are_expanded_before_the_table_so_channel_names_can_be_respelled(table, library):
    table({"espeak": {"gallbladder": "gall bladder"}})
    assert pronouncer_for("espeak", library).spoken("GB 20") == "Gall bladder 20"
    assert pronouncer_for("joe", library).spoken("GB 20") == "Gallbladder 20"


def test_bad_tables_name_every_bad_entry():
    with pytest.raises(InputError) as info:
        check_table({"all": {"ok": "fine", "bad": "", "OK": "twice"}, "joe": "no"}, "p.toml")
    lines = info.value.lines()
    assert any("all.bad" in line for line in lines)
    assert any("all.OK" in line and "same word" in line for line in lines)
    assert any("[joe]" in line for line in lines)


def test_the_bundled_table_loads_and_its_words_are_the_sources(library):
    data = bundled_table()
    assert set(data) >= {"all", "joe", "espeak"}
    sources = DATA.rglob("*.txt")
    text = " ".join(p.read_text(encoding="utf-8") for p in sources).casefold()
    text += " " + " ".join(p.spoken for p in library.points).casefold()
    text += " " + " ".join(library.channels.values()).casefold()
    # and what the bundled routines and rlsaudio's own words add (the safety words)
    routines = (PACKAGE / "data" / "routines").glob("*.toml")
    text += " " + " ".join(p.read_text(encoding="utf-8") for p in routines).casefold()
    text += " " + (PACKAGE / "data" / "narration.toml").read_text(encoding="utf-8").casefold()
    for section in data.values():
        for word in section:
            assert word.casefold() in text, f"{word!r} is in no source text"


# --------------------------------------------------------------------------- the engine and the cache


def test_pronouncer_is_hashable_and_picklable_for_playlist_workers(library):
    p = pronouncer_for("joe", library, {"valerian": "x"})
    q = pickle.loads(pickle.dumps(p))
    assert q == p and hash(q) == hash(p) and q.spoken("SP 6 valerian") == p.spoken("SP 6 valerian")


def test_the_cache_key_follows_the_spoken_form(fake_voice, tmp_path, table):
    voice = load_profile(fake_voice)
    table({"all": {"valerian": "vuh-leer-ee-un"}})
    before = SpeechSource(voice, Cache(tmp_path), pronouncer_for("joe", None))
    table({"all": {"valerian": "vah-leer-ee-an"}})
    after = SpeechSource(voice, Cache(tmp_path), pronouncer_for("joe", None))
    assert before.key("Add valerian.", 1.0) != after.key("Add valerian.", 1.0)
    assert before.key("Add lavender.", 1.0) == after.key("Add lavender.", 1.0)
    # Two written forms with one spoken form share a clip.
    assert after.key("Add VALERIAN.", 1.0) == after.key("Add Vah-leer-ee-an.", 1.0)
    assert Pronouncer().spoken("Add valerian.") == "Add valerian."


def test_a_table_change_resynthesises_exactly_the_phrases_it_changes(fake_voice, tmp_path, table, library):
    voice = load_profile(fake_voice)
    phrases = [("Add valerian.", 1.0), ("Press SP 6.", 1.0), ("Breathe.", 1.0)]
    table({"all": {"valerian": "vuh-leer-ee-un"}})
    FakeEngine.calls.clear()
    SpeechSource(voice, Cache(tmp_path), pronouncer_for("joe", library)).prepare(phrases)
    assert sorted(FakeEngine.calls) == ["Add vuh-leer-ee-un.", "Breathe.", "Press Spleen 6."]
    table({"all": {"valerian": "vah-leer-ee-an"}})
    FakeEngine.calls.clear()
    SpeechSource(voice, Cache(tmp_path), pronouncer_for("joe", library)).prepare(phrases)
    assert FakeEngine.calls == ["Add vah-leer-ee-an."]


ROUTINE = '''
title = "Pronouncing"
[[steps]]
title = "SP 6: above the ankle"
say = "Add valerian oil. [1s] Find SP 6, four finger widths above the ankle."
hold = 2
'''


def test_people_see_the_written_text_while_the_engine_hears_the_spoken_form(runner, write, tmp_path, fake_voice,
                                                                            table):
    table({"all": {"valerian": "vuh-leer-ee-un"}})
    routine = write("r.toml", ROUTINE)
    FakeEngine.calls.clear()
    result = runner.invoke(cli, ["build", str(routine), "-o", str(tmp_path / "out"), "--voice", fake_voice])
    assert result.exit_code == 0, result.output
    assert "Add vuh-leer-ee-un oil." in FakeEngine.calls
    assert "Find Spleen 6, four finger widths above the ankle." in FakeEngine.calls
    assert not any("valerian" in c or "SP 6" in c for c in FakeEngine.calls)

    result = runner.invoke(cli, ["plan", str(routine), "--json", "--voice", fake_voice])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    said = [e["text"] for e in plan["events"] if e["kind"] == "speech"]
    assert "Add valerian oil." in said and "Find SP 6, four finger widths above the ankle." in said
    assert plan["chapters"][0]["title"] == "SP 6: above the ankle"
    table_out = runner.invoke(cli, ["plan", str(routine), "--voice", fake_voice]).stdout
    assert "valerian" in table_out and "vuh-leer" not in table_out and "Spleen 6" not in table_out

    written = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in (tmp_path / "out").rglob("*")
                        if p.is_file() and p.suffix in (".lrc", ".vtt", ".json", ".html", ".txt"))
    assert "Add valerian oil." in written and "Find SP 6" in written
    assert "vuh-leer" not in written and "Spleen 6" not in written


def test_a_routine_pronounce_table_reaches_the_engine(fake_voice, write, table):
    """The plan's pronouncer reads the routine's `[pronounce]` table; it overrides the bundled one."""
    from rlsaudio.plan import TrackRequest, plan_track

    table({"all": {"valerian": "bundled"}})
    mine = write("mine.toml", 'title = "T"\n[pronounce]\nvalerian = "mine"\n[[steps]]\ntitle = "A"\nsay = "Hi."\n')
    plain = write("plain.toml", 'title = "T"\n[[steps]]\ntitle = "A"\nsay = "Hi."\n')
    with_table = plan_track(TrackRequest(str(mine), fake_voice)).pronounce
    without = plan_track(TrackRequest(str(plain), fake_voice)).pronounce
    assert with_table.spoken("valerian at SP 6") == "mine at Spleen 6"
    assert without.spoken("valerian at SP 6") == "bundled at Spleen 6"


def test_a_routine_s_own_pronunciations_reach_the_engine_and_only_the_engine(runner, write, tmp_path, fake_voice):
    import json

    from rlsaudio.cli import cli
    from rlsaudio.speech.engines.fake import FakeEngine

    routine = write("r.toml", 'title = "T"\n[pronounce]\nvalerian = "vuh-LEER-ee-un"\n[[steps]]\ntitle = "A"\n'
                              'say = "Valerian oil."\n')
    FakeEngine.calls.clear()
    plan = json.loads(runner.invoke(cli, ["plan", str(routine), "--json", "--voice", fake_voice]).stdout)
    assert "Vuh-LEER-ee-un oil." in FakeEngine.calls
    assert [e["text"] for e in plan["events"] if e["kind"] == "speech"] == ["Valerian oil."]
    bad = write("bad.toml", 'title = "T"\n[pronounce]\n"..." = "x"\n[[steps]]\ntitle = "A"\nsay = "Hi."\n')
    result = runner.invoke(cli, ["validate", str(bad)])
    assert result.exit_code == 2 and "pronounce....: needs letters or digits on both sides" in result.stderr
