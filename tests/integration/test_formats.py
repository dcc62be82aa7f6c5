"""--format m4b and --format opus, end to end: real renders (fake voice), decoded and measured.

Per format: the decoded length and every chapter against the plan (60 ms, the issue's
tolerance), the audio itself lined up with the plan (no encoder priming left in), loudness by
ffmpeg's ebur128 in both modes, every tag of the table and the cover read back with mutagen,
`inspect`, a truncated file refused before anything is committed, the feed's enclosure types,
and a playlist file with format = "opus".
"""

import json
from pathlib import Path

import pytest
from audio import SR, decode, ebur128, ffmetadata, planned_silences, silent_frames, silent_run_around, stream_layout
from mutagen.mp4 import MP4, MP4Cover
from mutagen.oggopus import OggOpus
from places import FAKE_VOICE, small_jpeg

from rlsaudio.base.errors import OutputError, TagError
from rlsaudio.cli import cli
from rlsaudio.encode import writers as encode
from rlsaudio.encode.chapters import ChapterMark
from rlsaudio.publish.tags import TrackTags, default_cover, fields, read_cover, read_tags, write_tags

FORMATS = ("m4b", "opus")
TOLERANCE_S = 0.060
ROUTINE = '''
title = "Short session"
author = "Test Author"
description = "A short routine for tests; with = ; # \\\\ in it."
[[steps]]
title = "Settle = in; #1"
say = "Lie down. [2s] Let your legs go heavy."
pause = "3s"
[[steps]]
title = "Press"
sides = ["right", "left"]
say = "Find your {side} calf."
hold = 4
rest = 3
repeat = 2
[[steps]]
title = "Rub the ankle — Fuß 🌙"
say = "Rub the ankle."
massage = 5
'''
MODES = {"massage": ([], -19.0), "bedtime": (["--mode", "bedtime", "--soundscape", "brown", "--tail", "20s"], -24.0)}


def invoke(runner, *args):
    return runner.invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(plan, track) for each format and mode, built once for the module."""
    from click.testing import CliRunner

    voice = FAKE_VOICE
    root = tmp_path_factory.mktemp("formats")
    routine = root / "short.toml"
    routine.write_text(ROUTINE, encoding="utf-8")
    runner, out = CliRunner(), {}
    for mode, (args, _) in MODES.items():
        plan = invoke(runner, "plan", routine, "--json", "--voice", voice, *args)
        assert plan.exit_code == 0, plan.output
        for fmt in FORMATS:
            result = invoke(runner, "build", routine, "-o", root / f"{fmt}-{mode}", "--voice", voice, "--format", fmt,
                            *args)
            assert result.exit_code == 0, result.output
            track = Path(result.stdout.split("  ")[0])
            assert track.suffix == "." + fmt
            out[fmt, mode] = (json.loads(plan.stdout), track)
    return out


def ffmpeg_chapters(path):
    """(title, start s, end s) as ffmpeg lists them, in its order (the issue's ffprobe -show_chapters)."""
    found = []
    for block in ffmetadata(path).split("[CHAPTER]")[1:]:
        fields_ = {}
        for line in block.strip("\n").split("\n"):
            key, _, value = line.partition("=")
            fields_[key] = value
        num, den = map(int, fields_["TIMEBASE"].split("/"))
        title = fields_["title"].replace("\\=", "=").replace("\\;", ";").replace("\\#", "#").replace("\\\\", "\\")
        found.append((title, int(fields_["START"]) * num / den, int(fields_["END"]) * num / den))
    return found


# --------------------------------------------------------------------------- timing


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", MODES)
def test_decoded_length_matches_the_plan_and_the_container(built, fmt, mode):
    plan, track = built[fmt, mode]
    samples = len(decode(track))
    assert abs(samples / SR - plan["duration"]) <= TOLERANCE_S
    # what verify() reads from the container (edit list, last granule) is what ffmpeg decodes
    fmt_ = encode.audio_format(fmt)
    assert abs(fmt_.decoded_samples(track, "") - samples) <= fmt_.decode_slack


@pytest.mark.parametrize("fmt", FORMATS)
def test_chapters_are_listed_in_order_at_their_planned_times(built, fmt):
    plan, track = built[fmt, "massage"]
    listed = ffmpeg_chapters(track)
    assert [title for title, _, _ in listed] == [c["title"] for c in plan["chapters"]]
    for (_, start, end), planned in zip(listed, plan["chapters"]):
        assert abs(start - planned["start"]) <= TOLERANCE_S
    for (_, _, end), planned in zip(listed[:-1], plan["chapters"][:-1]):
        assert abs(end - planned["end"]) <= TOLERANCE_S
    assert [start for _, start, _ in listed] == sorted(start for _, start, _ in listed)
    # and as rlsaudio (and so `inspect`) reads them back: M4B's Nero list, Opus's comments
    chapters = read_tags(track)["chapters"]
    assert [(c.title, c.start_ms) for c in chapters] == [(c["title"], round(c["start"] * 1000))
                                                         for c in plan["chapters"]]


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_audio_lines_up_with_the_plan(built, fmt):
    """No encoder priming left in: planned silences start and end where planned (30 ms)."""
    plan, track = built[fmt, "massage"]
    quiet = silent_frames(decode(track))
    checked = 0
    for start, end, reasons in planned_silences(plan):
        if end >= plan["duration"] - 0.01:
            continue
        found = silent_run_around(quiet, (start + end) / 2)
        assert abs(found[0] - start) <= 0.030 and abs(found[1] - end) <= 0.030, (fmt, reasons, start, end, found)
        checked += 1
    assert checked >= 7


# --------------------------------------------------------------------------- loudness


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", MODES)
def test_loudness_target_by_ebur128(built, fmt, mode):
    _, track = built[fmt, mode]
    integrated, peak = ebur128(track)
    assert abs(integrated - MODES[mode][1]) <= 1.0
    assert peak <= -1.0  # the -3 dBTP PCM ceiling less each codec's measured overshoot


# --------------------------------------------------------------------------- tags and cover


def test_every_m4b_tag_and_the_cover_read_back_with_mutagen(built):
    plan, track = built["m4b", "massage"]
    tags = MP4(str(track)).tags
    assert tags["\xa9nam"] == ["Short session"] and tags["\xa9ART"] == ["Test Author"]
    assert tags["\xa9alb"] == ["Short session"] and tags["trkn"] == [(1, 1)] and tags["\xa9gen"] == ["Speech"]
    assert tags["\xa9day"][0].isdigit() and tags["\xa9cmt"] == ["A short routine for tests; with = ; # \\ in it."]
    assert tags["\xa9lyr"][0].startswith("Settle = in; #1\n")
    assert int(bytes(tags["----:com.rlsaudio:length_ms"][0])) == round(plan["duration"] * 1000)
    assert int(bytes(tags["----:com.rlsaudio:session_ms"][0])) == round(plan["session_end"] * 1000)
    assert len(bytes(tags["----:com.rlsaudio:guid"][0]).decode()) == 36
    (cover,) = tags["covr"]
    assert bytes(cover) == default_cover()[0] and cover.imageformat == MP4Cover.FORMAT_PNG
    assert "\xa9too" not in tags  # ffmpeg's encoder tag is replaced, like every other tag
    assert stream_layout(track) == "mono" and MP4(str(track)).info.codec == "mp4a.40.2"
    assert track.read_bytes()[8:12] == b"M4B "


def test_every_opus_tag_and_the_cover_read_back_with_mutagen(built):
    import base64

    from mutagen.flac import Picture

    plan, track = built["opus", "massage"]
    audio = OggOpus(str(track))
    tags = audio.tags
    assert tags["TITLE"] == ["Short session"] and tags["ARTIST"] == ["Test Author"] and tags["GENRE"] == ["Speech"]
    assert tags["TRACKNUMBER"] == ["1"] and tags["TRACKTOTAL"] == ["1"] and tags["DATE"][0].isdigit()
    assert tags["LYRICS"][0].startswith("Settle = in; #1\n") and tags["COMMENT"][0].startswith("A short routine")
    assert tags["RLSAUDIO_LENGTH_MS"] == [str(round(plan["duration"] * 1000))]
    assert tags["RLSAUDIO_SESSION_MS"] == [str(round(plan["session_end"] * 1000))]
    assert tags["CHAPTER001"] == ["00:00:00.000"] and tags["CHAPTER001NAME"] == ["Settle = in; #1"]
    (block,) = tags["METADATA_BLOCK_PICTURE"]
    picture = Picture(base64.b64decode(block))
    assert picture.data == default_cover()[0] and picture.mime == "image/png" and picture.type == 3
    assert audio.info.channels == 1 and stream_layout(track) == "mono"


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_field_of_the_table_round_trips(built, fmt, tmp_path):
    """write_tags then read_tags, through the one table: a track n of N, hard text, a JPEG cover."""
    _, track = built[fmt, "massage"]
    copy = tmp_path / track.name
    copy.write_bytes(track.read_bytes())
    jpeg = small_jpeg()
    tags = TrackTags(title="Ätherisches Öl = Fuß; #2", artist="Jane \\ Doe", album="Evening 🌙", track=2,
                     track_total=6, length_ms=58_806, cover=jpeg, cover_mime="image/jpeg",
                     transcript="Lie down.\nPress.", year="2026", comment="Ten minutes.", guid="g-1",
                     session_ms=40_000, chapters=(ChapterMark("A", 0, 1000), ChapterMark("B", 1000, 58_806)))
    write_tags(copy, tags)
    info = read_tags(copy)
    for name, spec in fields().items():
        assert spec.get(fmt == "m4b" and "mp4" or "vorbis"), name  # every field has a place in both
        expected = {"track": "2/6", "transcript": "Lie down.\nPress."}.get(name, getattr(tags, name))
        assert info[name] == expected, name
    assert info["has_cover"] and info["cover_mime"] == "image/jpeg" and read_cover(copy) == (jpeg, "image/jpeg")
    if fmt == "opus":  # Opus chapters are tags; M4B's are the muxer's and stay as built
        assert info["chapters"] == [ChapterMark("A", 0, 1000), ChapterMark("B", 1000, 58_806)]
    assert encode.audio_format(fmt).decoded_samples(copy, "") == encode.audio_format(fmt).decoded_samples(track, "")


def test_tags_of_a_file_that_is_not_what_its_name_says(tmp_path):
    for name in ("x.m4b", "x.opus"):
        path = tmp_path / name
        path.write_text("not audio")
        with pytest.raises(TagError, match=f"^{path}: could not write the tags"):
            write_tags(path, TrackTags("t", "a", "b", 1, 1, 1000, *default_cover()))
        assert path.read_text() == "not audio"
        with pytest.raises(TagError, match=f"^{path}: could not read the tags"):
            read_tags(path)


# --------------------------------------------------------------------------- inspect


@pytest.mark.parametrize("fmt", FORMATS)
def test_inspect(runner, built, fmt):
    plan, track = built[fmt, "bedtime"]
    data = json.loads(invoke(runner, "inspect", track, "--json").stdout)
    assert data["title"] == "Short session (bedtime)" and data["track"] == "1/1" and data["cover"] == "image/png"
    assert abs(data["duration"] - plan["duration"]) <= TOLERANCE_S
    assert data["session_duration"] == pytest.approx(plan["session_end"], abs=0.002)
    assert data["loudness_lufs"] == pytest.approx(-24.0, abs=1.0)
    assert data["whole_file_lufs"] is not None and data["true_peak_dbtp"] <= -1.0
    assert [c["title"] for c in data["chapters"]] == [c["title"] for c in plan["chapters"]]
    lines = invoke(runner, "inspect", track).stdout.splitlines()
    assert lines[0] == "title       Short session (bedtime)"
    assert any(line.startswith("loudness    -2") and "over the session" in line for line in lines)
    assert f"chapters ({len(plan['chapters'])}):" in lines


@pytest.mark.parametrize("name, expected", [
    ("x.m4b", "not an M4B file; give the path of an M4B built by rlsaudio"),
    ("x.opus", "not an Opus file; give the path of an Opus built by rlsaudio"),
])
def test_inspect_a_file_that_is_not_audio(runner, tmp_path, name, expected):
    for content in (b"hello", b"", b"OggS" + bytes(40)):
        path = tmp_path / name
        path.write_bytes(content)
        result = invoke(runner, "inspect", path)
        assert result.exit_code == 2
        assert result.stderr.startswith(f"{path}: ") and "\n" == result.stderr[-1] and result.stderr.count("\n") == 1
    (tmp_path / name).write_bytes(b"hello")
    assert invoke(runner, "inspect", tmp_path / name).stderr == f"{tmp_path / name}: {expected}\n"


# --------------------------------------------------------------------------- never commit a damaged file


def _cuts(data: bytes, fmt: str) -> dict[str, bytes]:
    if fmt == "m4b":  # faststart: ftyp, moov, (free), mdat
        moov = data.index(b"moov") - 4
        return {"mdat cut short": data[:-1000], "one byte short": data[:-1], "moov missing": data[:moov],
                "moov cut short": data[:moov + 100]}
    last_page = data.rindex(b"OggS")
    return {"last page cut short": data[:-100], "one byte short": data[:-1], "last page missing": data[:last_page],
            "half": data[:len(data) // 2]}


@pytest.mark.parametrize("fmt", FORMATS)
def test_verify_refuses_truncated_files_by_walking_their_container(built, fmt, tmp_path):
    _, track = built[fmt, "bedtime"]
    fmt_ = encode.audio_format(fmt)
    samples = fmt_.decoded_samples(track, "")
    fmt_.verify(track, samples, "", "whole")
    for what, data in _cuts(track.read_bytes(), fmt).items():
        cut = tmp_path / f"cut{track.suffix}"
        cut.write_bytes(data)
        with pytest.raises(OutputError, match="^shown: the written file is damaged .*; check the disk") as info:
            fmt_.verify(cut, samples, "", "shown")  # ffmpeg "" cannot run: nothing is decoded
        assert "the file is cut short)" in str(info.value), (what, str(info.value))
    with pytest.raises(OutputError, match="decodes to .* instead of the planned"):  # whole, but not the plan's length
        fmt_.verify(track, samples + 1024, "", "shown")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_truncated_encode_fails_the_build_and_commits_nothing(runner, write, tmp_path, fake_voice, monkeypatch, fmt):
    """ffmpeg 'succeeds' but the file is short (a full disk on a filesystem that lies): exit 1."""
    close = encode.StreamWriter.close

    def close_then_cut(self):
        close(self)
        data = self.path.read_bytes()
        self.path.write_bytes(data[:len(data) * 2 // 3])

    monkeypatch.setattr(encode.StreamWriter, "close", close_then_cut)
    routine = write("r.toml", 'title = "Cut"\n[[steps]]\ntitle = "A"\nsay = "Lie down."\npause = "2s"\n')
    out = tmp_path / "out"
    result = invoke(runner, "build", routine, "-o", out, "--voice", fake_voice, "--format", fmt)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{out / ('Cut.' + fmt)}: the written file is damaged (")
    assert "cut short" in result.stderr
    assert not out.exists()  # the folder it made is removed: nothing was written


# --------------------------------------------------------------------------- bitrates


@pytest.mark.parametrize("fmt, bad, listed", [
    ("m4b", "16k", "'16k' is not an M4B (AAC) bitrate for mono 22.05 kHz audio; use one of 32k, 40k,"),
    ("opus", "65k", "'65k' is not an Opus bitrate for mono speech; use one of 12k, 16k,"),
    ("mp3", "65k", "'65k' is not an MP3 bitrate for 22.05 kHz audio; use one of 8k,"),
])
def test_bitrate_is_checked_per_format(runner, fmt, bad, listed):
    result = invoke(runner, "build", "acupressure", "--format", fmt, "--bitrate", bad)
    assert result.exit_code == 2
    assert result.stderr.startswith("--bitrate: " + listed) and result.stderr.count("\n") == 1


def test_bitrates_reach_the_encoder(runner, write, tmp_path, fake_voice):
    routine = write("r.toml", 'title = "Rate"\n[[steps]]\ntitle = "A"\nsay = "Lie down and breathe."\npause = "1s"\n')
    sizes = {}
    for rate in ("16k", "96k"):
        result = invoke(runner, "build", routine, "-o", tmp_path / rate, "--voice", fake_voice, "--format", "opus",
                        "--bitrate", rate, "--no-page")
        assert result.exit_code == 0, result.output
        sizes[rate] = (tmp_path / rate / "Rate.opus").stat().st_size
    assert sizes["96k"] > 2 * sizes["16k"]


# --------------------------------------------------------------------------- feed and playlist


def test_the_feed_lists_m4b_and_opus_with_their_types_and_covers(built, tmp_path):
    from rlsaudio.publish.feed import build_feed, scan

    folder = tmp_path / "feed"
    folder.mkdir()
    for fmt in FORMATS:
        track = built[fmt, "massage"][1]
        (folder / track.name).write_bytes(track.read_bytes())
    found = scan(folder)
    assert found.skipped == []
    assert {t.rel: (t.type, t.cover.mime, t.length_ms, t.track) for t in found.tracks} == {
        "Short session.m4b": ("audio/mp4", "image/png", 58_806, 1),
        "Short session.opus": ("audio/ogg", "image/png", 58_806, 1),
    }
    feed = build_feed(found.tracks, base_url="https://example.org/rls/", title="T", identity="x").decode()
    assert 'url="https://example.org/rls/Short%20session.m4b"' in feed and 'type="audio/mp4"' in feed
    assert 'url="https://example.org/rls/Short%20session.opus"' in feed and 'type="audio/ogg"' in feed
    assert len({t.guid for t in found.tracks}) == 2  # the format is part of the GUID


def test_a_playlist_file_with_format_opus(runner, write, tmp_path, fake_voice):
    one = write("one.toml", 'title = "One"\n[[steps]]\ntitle = "A"\nsay = "Lie down."\npause = "1s"\n')
    two = write("two.toml", 'title = "Two"\n[[steps]]\ntitle = "B"\nsay = "Breathe out."\npause = "1s"\n')
    playlist = write("week.toml", f'name = "Week"\nformat = "opus"\nbitrate = "24k"\nvoice = "{fake_voice}"\n'
                                  f'[[tracks]]\nroutine = "{one}"\n[[tracks]]\nroutine = "{two}"\n')
    out = tmp_path / "week"
    result = invoke(runner, "playlist", playlist, "-o", out, "--jobs", "1")
    assert result.exit_code == 0, result.output
    lines = (out / "Week.m3u8").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U" and lines[2::2] == ["01%20-%20One.opus", "02%20-%20Two.opus"]
    for n, name in enumerate(["01 - One.opus", "02 - Two.opus"], start=1):
        tags = OggOpus(str(out / name)).tags
        assert tags["TRACKNUMBER"] == [str(n)] and tags["TRACKTOTAL"] == ["2"] and tags["ALBUM"] == ["Week"]
    worse = write("worse.toml", f'name = "Worse"\nformat = "opus"\nbitrate = "160k"\n[[tracks]]\nroutine = "{one}"\n')
    result = invoke(runner, "playlist", worse)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{worse}:3: bitrate: '160k' is not an Opus bitrate for mono speech; use one of")
