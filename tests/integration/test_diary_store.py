"""The diary's SQLite file: where it is made, migrations, files that are not ours, two writers at once,
a kill -9 in the middle of writing, and export and import."""

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from nights import END, add_known, known_nights

from rlsaudio.diary import Diary, DiaryError, DiaryFileError, Entry, default_path

APPLICATION_ID = 0x524C5344


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def home() -> Path:
    return Path(os.environ["RLSAUDIO_HOME"])


def entries_of(path: Path) -> list[Entry]:
    with Diary.open(path) as diary:
        return diary.entries()


# --------------------------------------------------------------------------- the file


def test_a_new_diary_is_made_in_rlsaudio_home_readable_by_its_owner_only():
    with Diary.open() as diary:
        diary.add("2025-03-01", restless=4)
        assert diary.path == home() / "diary.sqlite3" == default_path()
    assert oct(diary.path.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in home().iterdir()) == ["diary.sqlite3"]  # no temporary file left
    conn = sqlite3.connect(diary.path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_without_rlsaudio_home_the_diary_is_in_the_users_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("RLSAUDIO_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    if sys.platform.startswith("linux"):
        assert default_path() == tmp_path / "share" / "rlsaudio" / "diary.sqlite3"
    from platformdirs import user_data_dir

    assert default_path() == Path(user_data_dir("rlsaudio", appauthor=False)) / "diary.sqlite3"


V1_SCHEMA = """
CREATE TABLE nights (
    date TEXT PRIMARY KEY NOT NULL,
    onset TEXT,
    restless INTEGER CHECK (restless BETWEEN 0 AND 10),
    sleep INTEGER CHECK (sleep BETWEEN 0 AND 10),
    minutes_to_sleep INTEGER CHECK (minutes_to_sleep >= 0),
    woke INTEGER CHECK (woke >= 0),
    tracks TEXT NOT NULL DEFAULT '',
    factors TEXT NOT NULL DEFAULT '',
    note TEXT
) WITHOUT ROWID;
"""


def make_v1(path: Path, rows: list[tuple]) -> None:
    """A version-1 diary written by hand, as rlsaudio's first diary wrote it."""
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(V1_SCHEMA)
    conn.executemany("INSERT INTO nights VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()


def test_a_version_1_diary_is_migrated_with_every_value_kept(tmp_path):
    path = tmp_path / "old.sqlite3"
    make_v1(path, [("2025-02-27", "21:30", 6, 4, 30, 2, "Acupressure for restless legs\nReflexology",
                    "caffeine,sitting", "Long drive"),
                   ("2025-02-28", None, None, 7, None, None, "", "", None)])
    with Diary.open(path) as diary:
        assert diary.entries() == [
            Entry("2025-02-27", 6, 4, 30, 2, "21:30", ("Acupressure for restless legs", "Reflexology"),
                  ("caffeine", "sitting"), "Long drive"),
            Entry("2025-02-28", sleep=7)]
        changes = diary.add("2025-02-28", restless=3, today=END)  # version 2 records every change
        assert [str(c) for c in changes.fields] == ["restless: (empty) -> 3"]
        assert [(h.field, h.old, h.new) for h in diary.history("2025-02-28")] == [("restless", None, 3)]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} == {"nights", "changes"}
    conn.close()


def test_a_diary_from_a_newer_rlsaudio_is_refused_and_left_as_it_is(tmp_path):
    path = tmp_path / "newer.sqlite3"
    with Diary.open(path) as diary:
        diary.add("2025-03-01", restless=2)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 3")
    conn.close()
    before = digest(path)
    with pytest.raises(DiaryFileError) as caught:
        Diary.open(path)
    assert caught.value.lines() == [f"{path}: was written by a newer rlsaudio (diary version 3; this one reads up "
                                    "to 2); it was left as it is: update rlsaudio"]
    assert digest(path) == before


def damaged_diary(path: Path) -> None:
    """A real diary whose pages after the first were overwritten, as a failing disk might."""
    with Diary.open(path) as diary:
        add_known(diary)
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    assert len(data) >= 3 * page
    data[page:len(data)] = bytes((i * 37 + 11) % 256 for i in range(len(data) - page))
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("kind, expected", [
    ("damaged pages", "the diary is damaged ("),
    ("not sqlite", "is not an rlsaudio diary (not a SQLite database); it was left as it is: move it away, or set "
                   "RLSAUDIO_HOME to another folder"),
    ("empty", "is empty, not a diary; it was left as it is: remove it, or set RLSAUDIO_HOME to another folder"),
    ("cut header", "the diary is damaged (its header is cut short)"),
])
def test_a_corrupt_diary_file_is_a_clear_error_and_its_bytes_stay_the_same(tmp_path, kind, expected):
    path = tmp_path / "diary.sqlite3"
    if kind == "damaged pages":
        damaged_diary(path)
    elif kind == "not sqlite":
        path.write_bytes(b"my shopping list\n" * 300)
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        path.write_bytes(b"SQLite format 3\x00\x10\x00")
    before = digest(path)
    beside = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(DiaryFileError) as caught:
        Diary.open(path)
    (line,) = caught.value.lines()
    assert line.startswith(f"{path}: ") and expected in line, line
    assert "it was left as it is" in line
    assert digest(path) == before
    if kind != "damaged pages":  # SQLite never opened it: not even a -wal beside it
        assert sorted(p.name for p in tmp_path.iterdir()) == beside


def test_the_sqlite_database_of_another_program_is_refused_untouched(tmp_path):
    path = tmp_path / "diary.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
    conn.execute("INSERT INTO contacts VALUES ('Ann', '555')")
    conn.commit()
    conn.close()
    before = digest(path)
    with pytest.raises(DiaryFileError) as caught:
        Diary.open(path)
    assert caught.value.lines() == [f"{path}: is the SQLite database of another program, not an rlsaudio diary; "
                                    "it was left as it is: move it away, or set RLSAUDIO_HOME to another folder"]
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["diary.sqlite3"]
    conn = sqlite3.connect(path)
    assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master")} == {"contacts"}
    conn.close()


# --------------------------------------------------------------------------- adding and editing


def test_a_second_add_changes_only_the_fields_it_gives_and_returns_old_and_new(tmp_path):
    with Diary.open(tmp_path / "d.sqlite3") as diary:
        first = diary.add("2025-03-01", restless=6, sleep=4, tracks=["A"], factors=["caffeine"], note="x",
                          today=END)
        assert first.created and [c.field for c in first.fields] == ["restless", "sleep", "tracks", "factors", "note"]
        second = diary.add("2025-03-01", restless="7", note=None, today=END)
        assert not second.created
        assert [str(c) for c in second.fields] == ["restless: 6 -> 7", 'note: "x" -> (empty)']
        assert second.as_json() == {"date": "2025-03-01", "created": False, "changes": [
            {"field": "restless", "old": 6, "new": 7}, {"field": "note", "old": "x", "new": None}]}
        assert not diary.add("2025-03-01", restless=7, today=END)  # the same value: nothing changed
        assert diary.entry("2025-03-01") == Entry("2025-03-01", restless=7, sleep=4, tracks=("A",),
                                                  factors=("caffeine",))
        assert [(h.field, h.old, h.new) for h in diary.history()][-2:] == [("restless", 6, 7), ("note", "x", None)]


def test_a_rejected_value_writes_nothing(tmp_path):
    with Diary.open(tmp_path / "d.sqlite3") as diary:
        diary.add("2025-03-01", restless=6, today=END)
        with pytest.raises(DiaryError):
            diary.add_json({"date": "2025-03-01", "restless": 2, "sleep": 11}, today=END)
        assert diary.entry("2025-03-01") == Entry("2025-03-01", restless=6)


def test_add_track_keeps_the_sessions_already_there(tmp_path):
    with Diary.open(tmp_path / "d.sqlite3") as diary:
        diary.add_track("2025-03-01", "Acupressure for restless legs", today=END)
        changes = diary.add_track("2025-03-01", "Reflexology", today=END)
        assert [str(c) for c in changes.fields] == ["tracks: Acupressure for restless legs -> Acupressure for "
                                                    "restless legs; Reflexology"]
        assert not diary.add_track("2025-03-01", "Reflexology", today=END)


# --------------------------------------------------------------------------- export and import


@pytest.mark.parametrize("name", ["diary.csv", "diary.json"])
def test_export_then_import_gives_back_the_same_diary(tmp_path, name):
    with Diary.open(tmp_path / "a.sqlite3") as diary:
        add_known(diary)
        assert diary.export(tmp_path / name) == len(known_nights())
        original = diary.entries()
    with Diary.open(tmp_path / "b.sqlite3") as other:
        result = other.import_(tmp_path / name, today=END)
        assert other.entries() == original
        assert (result.nights, len(result.added), result.duplicates, result.conflicts) == (26, 26, (), ())
        assert other.export(tmp_path / ("again" + Path(name).suffix)) == 26
    assert (tmp_path / ("again" + Path(name).suffix)).read_bytes() == (tmp_path / name).read_bytes()


def test_import_skips_the_nights_already_in_the_diary_and_keeps_the_diarys_values_where_they_differ(tmp_path):
    with Diary.open(tmp_path / "a.sqlite3") as diary:
        add_known(diary)
        diary.export(tmp_path / "all.json")
        before = diary.entries()
        again = diary.import_(tmp_path / "all.json", today=END)
        assert (again.added, len(again.duplicates), again.conflicts) == ((), 26, ())
        nights = json.loads((tmp_path / "all.json").read_text())
        nights[0]["restless"] = 10 if nights[0]["restless"] != 10 else 9
        nights[1]["note"] = "written on the phone"
        nights.append({"date": "2025-01-15", "sleep": 9})
        (tmp_path / "changed.json").write_text(json.dumps(nights))
        kept = diary.import_(tmp_path / "changed.json", today=END)
        assert kept.added == ("2025-01-15",) and len(kept.duplicates) == 24
        assert [(c.date, [f.field for f in c.fields]) for c in kept.conflicts] == [
            (nights[0]["date"], ["restless"]), (nights[1]["date"], ["note"])]
        assert diary.entries(since="2025-02-01") == before  # the diary's values were kept
        taken = diary.import_(tmp_path / "changed.json", replace=True, today=END)
        assert len(taken.conflicts) == 2 and taken.replaced
        assert diary.entry(nights[1]["date"]).note == "written on the phone"


def test_an_empty_cell_in_an_import_never_empties_a_value(tmp_path):
    (tmp_path / "sparse.csv").write_text("date,restless,note\n2025-03-01,,\n")
    with Diary.open(tmp_path / "a.sqlite3") as diary:
        diary.add("2025-03-01", restless=5, note="kept", today=END)
        result = diary.import_(tmp_path / "sparse.csv", today=END)
        assert result.duplicates == ("2025-03-01",)
        assert diary.entry("2025-03-01") == Entry("2025-03-01", restless=5, note="kept")


def test_an_import_with_a_bad_value_or_a_night_twice_imports_nothing_and_names_each_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("date,restless,sleep,factors\n2025-02-27,3,4,\n2025-02-28,11,4,coffee\n2025-02-27,3,4,\n")
    with Diary.open(tmp_path / "a.sqlite3") as diary:
        with pytest.raises(DiaryError) as caught:
            diary.import_(path, today=END)
        assert caught.value.lines() == [
            f"{path}:3: restless: 11 is out of range; give a whole number from 0 (no symptoms) to 10 (the worst)",
            f"{path}:3: factors: unknown factor 'coffee'; the factors are caffeine, alcohol, exercise, sitting, "
            "iron, medicine",
            f"{path}:4: the night 2025-02-27 is also at line 2; keep one of them"]
        assert diary.entries() == []
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('[{"date": "2025-02-27"}, {"date": "2999-01-01", "woke": -1}, 7]')
    with Diary.open(tmp_path / "a.sqlite3") as diary:
        with pytest.raises(DiaryError) as caught:
            diary.import_(bad_json, today=END)
    assert caught.value.lines() == [
        f"{bad_json}: [1].date: 2999-01-01 is in the future; a night is named by the date of its evening, at the "
        "latest today (2025-03-01)",
        f"{bad_json}: [1].woke: -1 is out of range; give a whole number of times from 0 to 100",
        f"{bad_json}: [2]: a night must be an object with the fields date, restless, sleep, minutes_to_sleep, woke, "
        "onset, tracks, factors, note"]


# --------------------------------------------------------------------------- two writers, kill -9

WRITER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    go = Path(sys.argv[2])
    while not go.exists():
        time.sleep(0.005)
    role, shared, own = sys.argv[1], int(sys.argv[3]), int(sys.argv[4])
    days = [f"2024-{m:02d}-{d:02d}" for m in range(1, 13) for d in range(1, 29)]
    if role == "app":  # the app: one Diary, kept open, used through the API
        from rlsaudio.diary import Diary
        with Diary.open() as diary:
            for i in range(shared):
                diary.add(days[i], restless=i % 11)
                diary.add_track(days[i], "App session")
            for i in range(own):
                diary.add(days[200 + i], woke=1)
    else:  # the CLI: the command itself, in a loop, opening the diary each time
        from rlsaudio.cli import cli
        def run(*args):
            code = cli.main(["diary", "add", *args], prog_name="rlsaudio", standalone_mode=False)
            assert code in (0, None), (args, code)
        for i in range(shared):
            run("--date", days[i], "--sleep", str(10 - i % 11), "--note", f"cli {i}")
        for i in range(own):
            run("--date", days[250 + i], "--woke", "2")
    print("done", flush=True)
""")


def test_the_cli_and_the_app_writing_at_once_lose_nothing(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    go = tmp_path / "go"
    shared, own = 40, 20
    with Diary.open():  # made before the race, as the app would have made it
        pass
    writers = [subprocess.Popen([sys.executable, str(script), role, str(go), str(shared), str(own)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for role in ("app", "cli")]
    go.touch()
    for writer in writers:
        out, errors = writer.communicate(timeout=240)
        assert writer.returncode == 0 and out.endswith("done\n"), errors
    days = [f"2024-{m:02d}-{d:02d}" for m in range(1, 13) for d in range(1, 29)]
    with Diary.open() as diary:
        nights = {e.date: e for e in diary.entries()}
        assert len(nights) == shared + 2 * own
        for i in range(shared):  # both writers' fields on the same night
            assert nights[days[i]] == Entry(days[i], restless=i % 11, sleep=10 - i % 11, tracks=("App session",),
                                            note=f"cli {i}"), i
        assert all(nights[days[200 + i]].woke == 1 and nights[days[250 + i]].woke == 2 for i in range(own))
        assert len(diary.history()) == shared * 4 + 2 * own


KILLED = textwrap.dedent("""
    import datetime as dt, sys
    from rlsaudio.diary import Diary
    with Diary.open() as diary:
        day = dt.date(2020, 1, 1)
        i = 0
        while True:
            diary.add(day, restless=i % 11, note="n" * (200 + i % 300), tracks=[f"t{i}"])
            print(day.isoformat(), i, flush=True)  # only after the commit returned
            day += dt.timedelta(days=1)
            i += 1
""")


@pytest.mark.parametrize("after", [5, 40])
def test_a_kill_9_in_the_middle_of_writing_loses_nothing_that_was_committed(tmp_path, after):
    script = tmp_path / "writer.py"
    script.write_text(KILLED)
    writer = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    committed = []
    for line in writer.stdout:
        committed.append(line)
        if len(committed) >= after:
            break
    writer.send_signal(signal.SIGKILL)  # wherever it is: most likely inside the next transaction
    rest, errors = writer.communicate(timeout=60)
    assert writer.returncode == -signal.SIGKILL, errors
    committed += [line + b"\n" for line in rest.split(b"\n") if line]  # printed whole before the kill
    path = home() / "diary.sqlite3"
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with Diary.open() as diary:
        nights = {e.date: e for e in diary.entries()}
        for line in committed:
            day, i = line.decode().split()
            i = int(i)
            assert nights[day] == Entry(day, restless=i % 11, note="n" * (200 + i % 300), tracks=(f"t{i}",))
        assert len(nights) in (len(committed), len(committed) + 1)  # the one being written: whole or absent
        diary.add("2025-01-01", restless=1)  # and the diary takes new nights
