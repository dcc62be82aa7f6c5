"""The diary's values, pure: the one check for every way a value arrives, the night a date names,
merges and their changes, the CSV and JSON forms, and the report's averages."""

import ast
import datetime as dt
import json

import pytest
from nights import ACUPRESSURE, END, known_nights
from places import PACKAGE, ROOT

from rlsaudio.diary import FIELDS, DiaryError, Entry, last_night, validate_fields
from rlsaudio.diary.exchange import dump, load
from rlsaudio.diary.summary import Period, onset_minutes, summarise

TODAY = dt.date(2025, 3, 2)


def problems(data, **kwargs) -> list[str]:
    with pytest.raises(DiaryError) as caught:
        validate_fields(data, today=TODAY, **kwargs)
    return caught.value.lines()


def test_json_values_and_typed_text_give_the_same_clean_values():
    typed = validate_fields({"date": " 2025-03-01 ", "restless": "7", "sleep": "0", "minutes_to_sleep": "25",
                             "woke": "2", "onset": "9:05", "tracks": ["  Acupressure   for legs "],
                             "factors": ["Long sitting", "CAFFEINE", "caffeine"], "note": "  a\r\nb  "}, today=TODAY)
    json_ = validate_fields({"date": "2025-03-01", "restless": 7, "sleep": 0, "minutes_to_sleep": 25, "woke": 2,
                             "onset": "09:05", "tracks": ["Acupressure for legs"], "factors": ["sitting", "caffeine"],
                             "note": "a\nb"}, today=TODAY)
    assert typed == json_ == {"date": "2025-03-01", "restless": 7, "sleep": 0, "minutes_to_sleep": 25, "woke": 2,
                              "onset": "09:05", "tracks": ("Acupressure for legs",),
                              "factors": ("caffeine", "sitting"), "note": "a\nb"}


@pytest.mark.parametrize("data, line", [
    ({"restless": 11}, "restless: 11 is out of range; give a whole number from 0 (no symptoms) to 10 (the worst)"),
    ({"restless": "-1"}, "restless: -1 is out of range; give a whole number from 0 (no symptoms) to 10 (the worst)"),
    ({"sleep": 4.5}, "sleep: 4.5 is not a whole number; give a whole number from 0 (no sleep) to 10 (the best sleep)"),
    ({"sleep": True}, "sleep: True is not a whole number; give a whole number from 0 (no sleep) to 10 (the best "
                      "sleep)"),
    ({"woke": "two"}, "woke: 'two' is not a whole number; give a whole number of times from 0 to 100"),
    ({"minutes_to_sleep": 1441}, "minutes_to_sleep: 1441 is out of range; give a whole number of minutes from 0 "
                                 "to 1440"),
    ({"onset": "24:00"}, "onset: '24:00' is not a time of day; give hours and minutes as HH:MM, e.g. 21:30"),
    ({"factors": ["coffee"]}, "factors: unknown factor 'coffee'; the factors are caffeine, alcohol, exercise, "
                              "sitting, iron, medicine"),
    ({"factors": "caffeine"}, "factors: must be a list of factor names, e.g. [\"caffeine\", \"sitting\"]"),
    ({"tracks": ["ok", "a\nb"]}, "tracks: [1]: contains a line break or tab (U+000A); remove it"),
    ({"tracks": ["\u202eevil"]}, "tracks: [0]: contains an invisible formatting character (U+202E RIGHT-TO-LEFT "
                                 "OVERRIDE); remove it"),
    ({"note": "red \x1b[31m"}, "note: contains a control character (U+001B); remove it"),
    ({"note": "x" * 2001}, "note: is 2001 characters long, more than the 2000 allowed"),
    ({"mood": 3}, "unknown field 'mood'; the fields are date, restless, sleep, minutes_to_sleep, woke, onset, "
                  "tracks, factors, note"),
])
def test_a_bad_value_is_one_line_that_names_the_field_and_says_what_to_give(data, line):
    assert problems({"date": "2025-03-01", **data}) == [line]


@pytest.mark.parametrize("date, line", [
    ("2025-03-03", "date: 2025-03-03 is in the future; a night is named by the date of its evening, at the latest "
                   "today (2025-03-02)"),
    ("2025-02-30", "date: '2025-02-30' is not a day of the calendar; give it as YYYY-MM-DD"),
    ("1/3/2025", "date: '1/3/2025' is not a date; give it as YYYY-MM-DD, e.g. 2025-03-02"),
    ("1899-12-31", "date: 1899-12-31 is before 1900; check the year"),
])
def test_a_date_in_the_future_or_not_a_date_is_refused(date, line):
    assert problems({"date": date}) == [line]


def test_tonight_is_a_valid_night_and_the_date_is_required():
    assert validate_fields({"date": TODAY.isoformat()}, today=TODAY) == {"date": "2025-03-02"}
    assert problems({"restless": 3}) == ["date: the night's date is missing; give it as YYYY-MM-DD"]
    assert validate_fields({"restless": 3}, today=TODAY, partial=True) == {"restless": 3}


def test_every_bad_field_is_reported_at_once():
    assert len(problems({"date": "2025-03-01", "restless": 11, "sleep": -2, "factors": ["x"]})) == 3


def test_last_night_is_yesterday_until_six_in_the_evening_and_tonight_after():
    day = dt.date(2025, 3, 2)
    assert last_night(dt.datetime(2025, 3, 2, 3, 0)) == day - dt.timedelta(days=1)  # awake at 3 am
    assert last_night(dt.datetime(2025, 3, 2, 8, 30)) == day - dt.timedelta(days=1)  # the morning after
    assert last_night(dt.datetime(2025, 3, 2, 17, 59)) == day - dt.timedelta(days=1)
    assert last_night(dt.datetime(2025, 3, 2, 18, 0)) == day  # the evening: tonight
    assert last_night(dt.datetime(2025, 3, 2, 23, 45)) == day


def test_an_update_keeps_what_it_does_not_give_and_null_empties_a_field():
    old = Entry("2025-03-01", restless=4, sleep=6, tracks=("A",), factors=("caffeine",), note="n")
    new = old.updated(validate_fields({"date": "2025-03-01", "restless": 6, "note": None, "factors": []},
                                      today=TODAY))
    assert new == Entry("2025-03-01", restless=6, sleep=6, tracks=("A",), note=None)
    assert [str(c) for c in old.changes_to(new)] == ["restless: 4 -> 6", "factors: caffeine -> (empty)",
                                                     'note: "n" -> (empty)']


def test_a_change_shown_on_a_terminal_has_its_control_characters_escaped():
    from rlsaudio.diary import Change

    assert str(Change("note", None, "a\nb\x1b[2J")) == 'note: (empty) -> "a\\nb\\x1b[2J"'


def test_entry_json_has_exactly_the_diary_fields():
    assert list(Entry("2025-03-01").as_json()) == list(FIELDS) == [
        "date", "restless", "sleep", "minutes_to_sleep", "woke", "onset", "tracks", "factors", "note"]


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_the_file_forms_read_back_the_values_they_were_written_with(suffix):
    entries = [Entry(**{**n, "tracks": tuple(n["tracks"]), "factors": tuple(n["factors"])}) for n in known_nights()]
    entries.append(Entry("2025-03-01", note="'=quoted already", tracks=("-minus first", "@at")))
    back = []
    for raw in load(dump(entries, suffix), suffix, "f" + suffix):
        values = validate_fields(raw.values, today=END)
        back.append(Entry(values["date"]).updated(values))
    assert back == entries


def test_a_csv_cell_a_spreadsheet_would_run_as_a_formula_starts_with_an_apostrophe():
    text = dump([Entry("2025-03-01", note="=HYPERLINK(\"x\")", tracks=("+1",))], ".csv").decode("utf-8-sig")
    row = text.splitlines()[1]
    assert "'=HYPERLINK" in row and ",'+1," in row


def test_json_export_is_the_list_show_json_prints():
    data = json.loads(dump([Entry("2025-03-01", restless=3, tracks=("A",))], ".json"))
    assert data == [{"date": "2025-03-01", "restless": 3, "sleep": None, "minutes_to_sleep": None, "woke": None,
                     "onset": None, "tracks": ["A"], "factors": [], "note": None}]


def test_averages_count_only_the_nights_that_hold_the_value():
    entries = [Entry("2025-03-01", restless=8, sleep=2, tracks=(ACUPRESSURE,)),
               Entry("2025-03-02", restless=4, tracks=(ACUPRESSURE,)),
               Entry("2025-03-03", restless=2, sleep=8, factors=("caffeine",)),
               Entry("2025-02-01", restless=10, tracks=(ACUPRESSURE,))]  # outside the period
    summary = summarise(entries, Period(dt.date(2025, 3, 1), dt.date(2025, 3, 7)))
    (track,) = summary.tracks
    assert (track.nights, track.restless_with.value, track.restless_with.nights) == (2, 6.0, 2)
    assert (track.sleep_with.value, track.sleep_with.nights) == (2.0, 1)
    assert (track.restless_without.value, track.restless_without.nights) == (2.0, 1)
    (factor,) = summary.factors
    assert factor.key == "factor:caffeine" and factor.sleep_without.value == 2.0
    assert summary.restless.nights == 3 and summary.sleep.nights == 2


def test_onset_times_after_midnight_come_after_the_evening():
    assert sorted(["01:30", "23:00", "21:15"], key=onset_minutes) == ["21:15", "23:00", "01:30"]
    summary = summarise([Entry(f"2025-03-0{i}", onset=t) for i, t in enumerate(["23:00", "01:00", "22:00"], 1)],
                        Period(dt.date(2025, 3, 1), dt.date(2025, 3, 7)))
    assert summary.onset_median == onset_minutes("23:00")


def test_the_diary_imports_only_base_so_the_app_can_use_it_without_the_cli():
    for path in (PACKAGE / "diary").glob("*.py"):
        tree = ast.parse(path.read_text())
        relative = {("." * n.level) + (n.module or "") for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                    and n.level}
        absolute = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names} | {
            n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and not n.level}
        outside = {m for m in relative if m.startswith("..") and not m.startswith("..base")}
        outside |= {m for m in absolute if m.startswith("rlsaudio") and not m.startswith(("rlsaudio.diary",
                                                                                           "rlsaudio.base"))}
        assert not outside, f"{path.relative_to(ROOT)} imports {sorted(outside)}"
