"""`rlsaudio diary` as a person uses it: exact output, one-line errors with exit status 2, the
questions asked one at a time on a real terminal, and files never overwritten by surprise."""

import json
import os
import sqlite3
import time
from pathlib import Path

import pytest
import terminal
from nights import ACUPRESSURE, add_known
from places import RLSAUDIO

from rlsaudio.cli import cli
from rlsaudio.diary import Diary, Entry


def diary_file() -> Path:
    return Path(os.environ["RLSAUDIO_HOME"]) / "diary.sqlite3"


def run(runner, *args):
    return runner.invoke(cli, ["diary", *args], prog_name="rlsaudio")


@pytest.mark.parametrize("command", ["add", "show", "export", "import", "report", "path"])
def test_every_diary_command_has_help_with_an_example(runner, command):
    result = run(runner, command, "-h")
    assert result.exit_code == 0 and "Example" in result.output and f"rlsaudio diary {command}" in result.output


def test_add_prints_the_new_night_and_a_second_add_prints_old_to_new(runner):
    result = run(runner, "add", "--date", "2025-03-01", "--restless", "6", "--onset", "21:30", "--track", ACUPRESSURE,
                 "--factor", "caffeine,sitting", "--note", "Long drive")
    assert result.exit_code == 0, result.output
    assert result.output == ("Added the night of 2025-03-01:\n  restless: 6\n  onset: 21:30\n"
                             f"  tracks: {ACUPRESSURE}\n  factors: caffeine, sitting\n  note: \"Long drive\"\n")
    result = run(runner, "add", "--date", "2025-03-01", "--restless", "4", "--sleep", "7", "--clear", "note")
    assert result.output == ("Updated the night of 2025-03-01:\n  restless: 6 -> 4\n  sleep: (empty) -> 7\n"
                             "  note: \"Long drive\" -> (empty)\n")
    result = run(runner, "add", "--date", "2025-03-01", "--sleep", "7")
    assert result.output == "The night of 2025-03-01 already had these values; nothing changed.\n"
    with Diary.open() as diary:
        assert diary.entry("2025-03-01") == Entry("2025-03-01", restless=4, sleep=7, onset="21:30",
                                                  tracks=(ACUPRESSURE,), factors=("caffeine", "sitting"))


@pytest.mark.parametrize("args, line", [
    (["--restless", "11"], "restless: 11 is out of range; give a whole number from 0 (no symptoms) to 10 (the worst)"),
    (["--date", "2999-01-01", "--sleep", "3"], "date: 2999-01-01 is in the future; a night is named by the date of "
                                               "its evening, at the latest today ({today})"),
    (["--factor", "coffee"], "factors: unknown factor 'coffee'; the factors are caffeine, alcohol, exercise, sitting, "
                             "iron, medicine"),
    (["--onset", "9pm"], "onset: '9pm' is not a time of day; give hours and minutes as HH:MM, e.g. 21:30"),
    ([], "nothing to add: give a value such as --restless 4 (see rlsaudio diary add -h), or run it on a terminal "
         "to be asked the questions"),
    (["--note", "x", "--clear", "note"], "rlsaudio diary add: give --note or --clear note, not both "
                                         "(see rlsaudio diary add -h)"),
])
def test_an_out_of_range_value_is_one_clear_line_exit_2_and_no_diary_is_made(runner, args, line):
    import datetime as dt

    result = run(runner, "add", *args)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [line.format(today=dt.date.today().isoformat())]
    assert result.stdout == ""
    assert not diary_file().exists()


def test_show_prints_the_latest_14_nights_and_escapes_control_characters_from_the_file(runner):
    with Diary.open() as diary:
        add_known(diary)
    conn = sqlite3.connect(diary_file())  # another program wrote a note no rlsaudio would accept
    conn.execute("UPDATE nights SET note = ? WHERE date = '2025-03-01'", ("clear\x1b[2J\nscreen",))
    conn.commit()
    conn.close()
    result = run(runner, "show")
    lines = result.output.splitlines()
    assert lines[0].split() == ["night", "began", "restless", "sleep", "to", "sleep", "woke", "factors", "sessions",
                                "note"]
    assert [line[:10] for line in lines[1:]] == [e.date for e in Diary.open().entries()[-14:]]
    assert lines[-1].endswith("clear\\x1b[2J / screen") and "\x1b" not in result.output
    assert lines[-2].split()[:11] == ["2025-02-28", "01:38", "1", "4", "alcohol", "Acupressure", "for", "restless",
                                      "legs", "Night", "26:"]
    assert lines[-3].split() == ["2025-02-27", "00:25", "9", "0", "35", "1", "caffeine,sitting"]


def test_show_json_prints_every_night_with_exactly_the_diary_fields(runner):
    with Diary.open() as diary:
        add_known(diary)
        expected = [e.as_json() for e in diary.entries()]
    nights = json.loads(run(runner, "show", "--json").stdout)
    assert nights == expected and len(nights) == 26
    assert all(list(n) == ["date", "restless", "sleep", "minutes_to_sleep", "woke", "onset", "tracks", "factors",
                           "note"] for n in nights)


def test_show_on_an_empty_diary_says_how_to_add_and_makes_no_file(runner):
    result = run(runner, "show")
    assert result.output == f"No nights in the diary yet ({diary_file()}); add one with: rlsaudio diary add\n"
    assert run(runner, "show", "--json").output == "[]\n"
    assert not diary_file().exists()


def test_export_never_replaces_a_file_without_force(runner, tmp_path):
    run(runner, "add", "--date", "2025-03-01", "--restless", "3")
    target = tmp_path / "diary.csv"
    target.write_text("my own file\n")
    result = run(runner, "export", str(target))
    assert result.exit_code == 2
    assert result.stderr == f"{target}: already exists; give --force to replace it, or choose another name\n"
    assert target.read_text() == "my own file\n"
    result = run(runner, "export", str(target), "--force")
    assert result.output == f"{target}: 1 night (CSV)\n"
    assert target.read_text(encoding="utf-8-sig").splitlines()[1] == "2025-03-01,3,,,,,,,"
    result = run(runner, "export", str(tmp_path / "diary.txt"))
    assert result.exit_code == 2 and result.stderr == (
        f"{tmp_path / 'diary.txt'}: cannot tell the format from the name (.txt); give a file name ending in .csv "
        "or .json\n")


def test_import_reports_added_duplicate_and_differing_nights(runner, tmp_path):
    path = tmp_path / "nights.json"
    path.write_text(json.dumps([{"date": "2025-02-27", "restless": 5}, {"date": "2025-02-28", "sleep": 6},
                                {"date": "2025-03-01", "restless": 2, "note": "phone"}]))
    run(runner, "add", "--date", "2025-02-28", "--sleep", "6")
    run(runner, "add", "--date", "2025-03-01", "--restless", "4")
    result = run(runner, "import", str(path))
    assert result.exit_code == 0
    assert result.output == (f"{path}: 3 nights: 1 added, 1 already in the diary (skipped), 1 different from the "
                             "diary (kept the diary's; --replace takes the file's; diary -> file):\n"
                             "  2025-03-01: restless: 4 -> 2; note: (empty) -> \"phone\"\n")
    result = run(runner, "import", str(path), "--replace")
    assert result.output.splitlines()[0].endswith("1 different from the diary (took the file's values; "
                                                  "diary -> file):")
    with Diary.open() as diary:
        assert diary.entry("2025-03-01") == Entry("2025-03-01", restless=2, note="phone")


def test_a_corrupt_diary_is_one_line_exit_2_and_stays_as_it_was(runner):
    diary_file().write_bytes(b"\x00garbage" * 100)
    result = run(runner, "add", "--restless", "3")
    assert result.exit_code == 2
    assert result.stderr == (f"{diary_file()}: is not an rlsaudio diary (not a SQLite database); it was left as it "
                             "is: move it away, or set RLSAUDIO_HOME to another folder\n")
    assert diary_file().read_bytes() == b"\x00garbage" * 100


def test_report_writes_an_html_page_and_refuses_other_names_and_existing_files(runner, tmp_path):
    with Diary.open() as diary:
        add_known(diary)
    out = tmp_path / "doctor.html"
    result = run(runner, "report", "--weeks", "4", "--end", "2025-03-01", "-o", str(out))
    assert result.output == f"{out}: 4 weeks, the nights of 2025-02-02 to 2025-03-01\n"
    assert out.read_text().startswith("<!DOCTYPE html>")
    again = run(runner, "report", "--end", "2025-03-01", "-o", str(out))
    assert again.exit_code == 2 and "already exists; give --force" in again.stderr
    wrong = run(runner, "report", "-o", str(tmp_path / "doctor.pdf"))
    assert wrong.exit_code == 2 and wrong.stderr == (
        f"{tmp_path / 'doctor.pdf'}: the report is an HTML page; give a file name ending in .html\n")
    weeks = run(runner, "report", "--weeks", "13", "-o", str(out))
    assert weeks.exit_code == 2 and weeks.stderr.startswith("rlsaudio diary report: --weeks: 13 is not in the range")


def test_diary_path_prints_the_file_in_rlsaudio_home(runner):
    assert run(runner, "path").output == f"{diary_file()}\n"


# --------------------------------------------------------------------------- on a terminal


def answer(term, prompt: str, text: str) -> None:
    """Wait for `prompt` among what the terminal showed since the last answer, then type `text` and Enter."""
    start = getattr(term, "seen", 0)
    deadline = time.monotonic() + 30
    while prompt not in term.output[start:].decode("utf-8", "replace"):
        assert time.monotonic() < deadline and term.poll() is None, f"{prompt!r} never shown:\n{term.text}"
        term.read(0.1)
    term.seen = len(term.output)
    term.type(text + "\r")


def test_add_on_a_terminal_asks_one_question_at_a_time_and_asks_again_after_a_bad_answer():
    term = terminal.start(RLSAUDIO + ["diary", "add"])
    try:
        answer(term, "Which night (the date of its evening, YYYY-MM-DD) [", "2025-03-01")
        answer(term, "When did the symptoms begin (HH:MM): ", "21:30")
        answer(term, "Restlessness before the session, 0 (none) to 10 (worst): ", "11")
        term.expect("restless: 11 is out of range; give a whole number from 0 (no symptoms) to 10 (the worst)")
        answer(term, "Restlessness before the session, 0 (none) to 10 (worst): ", "7")
        answer(term, "Sleep quality, 0 (none) to 10 (best): ", "")
        answer(term, "Minutes to fall asleep: ", "20")
        answer(term, "Times woken: ", "")
        answer(term, "Sessions listened to (titles, separated by ;): ", f"{ACUPRESSURE}; Reflexology")
        answer(term, "separated by commas): ", "caffeine, long sitting")
        answer(term, "Note: ", "Drove for hours")
        assert term.wait(60) == 0, term.text
    finally:
        term.kill()
    assert ("Added the night of 2025-03-01:\r\n  restless: 7\r\n  minutes_to_sleep: 20\r\n  onset: 21:30\r\n"
            f"  tracks: {ACUPRESSURE}; Reflexology\r\n  factors: caffeine, sitting\r\n  note: \"Drove for hours\"\r\n"
            ) in term.text
    with Diary.open() as diary:
        assert diary.entry("2025-03-01") == Entry("2025-03-01", restless=7, minutes_to_sleep=20, onset="21:30",
                                                  tracks=(ACUPRESSURE, "Reflexology"), factors=("caffeine", "sitting"),
                                                  note="Drove for hours")


def test_on_a_terminal_enter_keeps_a_value_a_dash_empties_it_and_changes_print_old_to_new():
    with Diary.open() as diary:
        diary.add("2025-03-01", restless=7, sleep=3, note="first")
    term = terminal.start(RLSAUDIO + ["diary", "add", "--date", "2025-03-01"])
    try:
        answer(term, "When did the symptoms begin (HH:MM): ", "")
        answer(term, "Restlessness before the session, 0 (none) to 10 (worst) [7]: ", "5")
        answer(term, "Sleep quality, 0 (none) to 10 (best) [3]: ", "")
        for prompt in ("Minutes to fall asleep: ", "Times woken: ", "separated by ;): ", "separated by commas): "):
            answer(term, prompt, "")
        answer(term, 'Note ["first"]: ', "-")
        assert term.wait(60) == 0, term.text
    finally:
        term.kill()
    assert 'Updated the night of 2025-03-01:\r\n  restless: 7 -> 5\r\n  note: "first" -> (empty)\r\n' in term.text
    with Diary.open() as diary:
        assert diary.entry("2025-03-01") == Entry("2025-03-01", restless=5, sleep=3)


def test_ctrl_c_during_the_questions_saves_nothing():
    term = terminal.start(RLSAUDIO + ["diary", "add", "--date", "2025-03-01"])
    try:
        answer(term, "When did the symptoms begin (HH:MM): ", "22:00")
        term.expect("Restlessness")
        term.ctrl_c()
        assert term.wait(60) == 130, term.text
    finally:
        term.kill()
    assert "interrupted" in term.text
    with Diary.open() as diary:
        assert diary.entries() == []


def test_the_readme_diary_examples_print_what_the_readme_shows(runner):
    import shlex

    from places import ROOT

    text = (ROOT / "README.md").read_text()
    section = text[text.index("\n## Diary\n"):text.index("\n## Commands\n")]
    blocks = [b.split("```", 1)[0] for b in section.split("```sh\n")[1:]]
    ran = 0
    for block in blocks:
        lines = [line.strip() for line in block.strip().splitlines()]
        i = 0
        while i < len(lines):
            if not lines[i].startswith("$ rlsaudio "):
                i += 1
                continue
            args = shlex.split(lines[i][len("$ rlsaudio "):])
            expected = []
            i += 1
            while i < len(lines) and not lines[i].startswith("$ "):
                expected.append(lines[i])
                i += 1
            result = runner.invoke(cli, args, prog_name="rlsaudio")
            shown = [line.strip() for line in (result.stdout + result.stderr).splitlines()]
            assert shown == expected, args
            ran += 1
    assert ran == 7
