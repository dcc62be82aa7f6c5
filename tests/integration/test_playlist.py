"""Playlists and inspect: numbered tagged tracks, .m3u8, failures that do not stop the rest."""

import json
from pathlib import Path
from urllib.parse import unquote

import pytest
from audio import SR, decode, ffmetadata
from mutagen.id3 import ID3
from places import routine_text

from rlsaudio.base.errors import PlaylistError
from rlsaudio.cli import cli
from rlsaudio.publish.album import load_playlist


@pytest.fixture
def shorts(write):
    """Two short routines with sides, holds, rests and a massage: the mechanics of a real one."""
    return [write(f"{name}.toml", routine_text(title, author=None, description=None, hold=3, rest=2, massage=4,
                                                        settle="Lie down, and let your legs go heavy. Drink some water.",
                                                        rub="Rub the ankle in small circles."))
            for name, title in (("calm", "Calm evening"), ("feet", "Feet and ankles"))]


def run(runner, *args):
    return runner.invoke(cli, [str(a) for a in args])


def m3u8_entries(path: Path):
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U"
    pairs = list(zip(lines[1::2], lines[2::2]))
    # paths are URIs: every segment percent-encoded
    return [(int(info.split(":")[1].split(",")[0]), info.split(",", 1)[1], unquote(name)) for info, name in pairs]


def test_a_playlist_of_two_routines_in_parallel(runner, shorts, tmp_path, fake_voice):
    out = tmp_path / "album"
    result = run(runner, "playlist", *shorts, "--name", "RLS evening", "-o", out, "--voice", fake_voice, "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == f"{out / 'RLS evening.m3u8'}  2 of 2 tracks"
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"{stem}{suffix}" for stem in ("01 - Calm evening", "02 - Feet and ankles")
                            for suffix in (".mp3", ".lrc", ".vtt", ".chapters.vtt", ".chapters.json", ".html")]
                           + ["RLS evening.m3u8", "index.html"])
    entries = m3u8_entries(out / "RLS evening.m3u8")
    assert [name for _, _, name in entries] == [n for n in names if n.endswith(".mp3")]
    covers = set()
    for n, (seconds, label, name) in enumerate(entries, start=1):
        mp3 = out / name
        assert seconds == round(len(decode(mp3)) / SR)  # durations match the files
        id3 = ID3(str(mp3))
        assert id3["TALB"].text == ["RLS evening"]
        assert id3["TRCK"].text == [f"{n}/2"]
        assert label == f"rlsaudio - {id3['TIT2'].text[0]}"
        covers.add(id3.getall("APIC")[0].data)
    assert len(covers) == 1


def test_built_chapters_match_the_plan_in_ffmpeg(runner, shorts, tmp_path, fake_voice):
    plan = json.loads(run(runner, "plan", shorts[0], "--json", "--voice", fake_voice).stdout)
    result = run(runner, "build", shorts[0], "-o", tmp_path, "--voice", fake_voice)
    mp3 = Path(result.stdout.split("  ")[0])
    chapters = []
    for block in ffmetadata(mp3).split("[CHAPTER]")[1:]:
        fields = dict(line.split("=", 1) for line in block.strip().splitlines() if "=" in line)
        chapters.append((fields["title"], int(fields["START"]) / 1000, int(fields["END"]) / 1000))
    assert [c[0] for c in chapters] == [c["title"] for c in plan["chapters"]]
    for (title, start, end), planned in zip(chapters, plan["chapters"]):
        assert abs(start - planned["start"]) <= 0.050, title
        assert abs(end - planned["end"]) <= 0.050, title


def test_one_broken_routine_does_not_stop_the_others(runner, shorts, write, tmp_path, fake_voice):
    broken = write("broken.toml", 'title = "Broken"\n[[steps]]\ntitle = "A"\nhold = "ten"\n')
    out = tmp_path / "album"
    result = run(runner, "playlist", shorts[1], broken, "--name", "Mixed", "-o", out, "--voice", fake_voice,
                 "--jobs", "1")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f'track 2 ({broken}) failed: {broken}:4: steps[0].hold: expected a duration like 10 or "90s", got "ten"')
    entries = m3u8_entries(out / "Mixed.m3u8")
    assert [name for _, _, name in entries] == ["01 - Feet and ankles.mp3"]
    assert ID3(str(out / entries[0][2]))["TRCK"].text == ["1/2"]


def test_a_render_failure_exits_1_and_the_others_complete(runner, shorts, write, tmp_path):
    failing = write("fail.toml", 'engine = "fake"\nfail_on = "Drink"\n')
    shorts[1].write_text(shorts[1].read_text().replace("Drink some water.", "Breathe."))
    listing = write("week.toml", f'''
        name = "Week"
        voice = "{failing}"
        [[tracks]]
        routine = "feet.toml"
        [[tracks]]
        routine = "calm.toml"
    ''')
    result = run(runner, "playlist", listing, "-o", tmp_path / "week", "--jobs", "2")
    assert result.exit_code == 1
    assert f"track 2 ({shorts[0]}) failed: fake engine failed on 'Drink some water.'" in result.stderr
    assert [e[2] for e in m3u8_entries(tmp_path / "week" / "Week.m3u8")] == ["01 - Feet and ankles.mp3"]


def test_playlist_file_with_per_track_options(runner, write, tmp_path, fake_voice):
    mine = write("mine.toml", 'title = "Mine"\n[[steps]]\ntitle = "A"\nsay = "Rest now."\npause = "40s"\n')
    listing = write("list.toml", f'''
        name = "Evening"
        artist = "Jane Doe"
        voice = "{fake_voice}"
        [[tracks]]
        routine = "mine.toml"
        mode = "bedtime"
        tail = "25s"
        [[tracks]]
        routine = "mine.toml"
        length = "2m"
        pacer = "silence"
        chime = false
    ''')
    spec = load_playlist(listing)
    assert spec.tracks[0].mode.mode == "bedtime" and spec.tracks[0].mode.tail_ms == 25_000
    assert spec.tracks[0].routine == str(mine)
    assert spec.tracks[1].length_ms == 120_000 and spec.tracks[1].mode.chime is False
    result = run(runner, "playlist", listing, "-o", tmp_path / "out", "--jobs", "1")
    assert result.exit_code == 0, result.output
    entries = m3u8_entries(tmp_path / "out" / "Evening.m3u8")
    assert [e[1] for e in entries] == ["Jane Doe - Mine (bedtime)", "Jane Doe - Mine"]
    assert entries[1][0] == 120
    assert abs(len(decode(tmp_path / "out" / entries[1][2])) / SR - 120) < 0.05


def test_playlist_file_problems_are_one_line_each(runner, write):
    listing = write("bad.toml", '''
        nmae = "x"
        [[tracks]]
        routine = "acupressure"
        mode = "sleepy"
        [[tracks]]
        rutine = "x"
    ''')
    result = run(runner, "playlist", listing)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f'{listing}: name: missing "name"; add name = "..."',
        f'{listing}:1: nmae: unknown key; did you mean "name"?',
        f'{listing}:4: tracks[0].mode: unknown mode "sleepy"; use massage or bedtime',
        f'{listing}:5: tracks[1]: missing "routine"; add routine = "acupressure" (or compose = ["SP 6", "K 3"])',
        f'{listing}:6: tracks[1].rutine: unknown key; did you mean "routine"?',
    ]


def test_playlist_needs_a_name(runner):
    result = run(runner, "playlist", "acupressure")
    assert result.exit_code == 2
    assert 'give --name "Album name"' in result.stderr


def test_missing_playlist_file(runner, tmp_path):
    with pytest.raises(PlaylistError) as info:
        load_playlist(tmp_path / "nope.toml")
    assert info.value.lines() == [f"{tmp_path / 'nope.toml'}: no such playlist file; check the path"]


def test_inspect(runner, shorts, tmp_path, fake_voice):
    result = run(runner, "build", shorts[1], "-o", tmp_path, "--voice", fake_voice)
    mp3 = Path(result.stdout.split("  ")[0])
    plan = json.loads(run(runner, "plan", shorts[1], "--json", "--voice", fake_voice).stdout)
    data = json.loads(run(runner, "inspect", mp3, "--json").stdout)
    assert data["title"] == "Feet and ankles"
    assert data["track"] == "1/1" and data["genre"] == "Speech" and data["cover"] == "image/png"
    assert data["loudness_lufs"] == pytest.approx(-19.0, abs=0.3)
    assert data["duration"] == pytest.approx(plan["duration"], abs=0.003)
    assert [c["title"] for c in data["chapters"]] == [c["title"] for c in plan["chapters"]] == [
        "Settle", "Press (right)", "Press (left)", "Rub"]
    text = run(runner, "inspect", mp3)
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert lines[0] == "title       Feet and ankles"
    assert any(line.startswith("loudness    -19.") and "LUFS integrated" in line for line in lines)
    assert "chapters (4):" in lines


def test_inspect_a_file_that_is_not_audio(runner, tmp_path):
    bogus = tmp_path / "x.mp3"
    bogus.write_text("hello")
    result = run(runner, "inspect", bogus)
    assert result.exit_code == 2  # bad input, not a failure of rlsaudio
    assert result.stderr == f"{bogus}: not an MP3 file; give the path of an MP3 built by rlsaudio\n"
