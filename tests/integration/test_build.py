"""`rlsaudio build`: real MP3s, measured after decoding; atomic writes; safe names; errors."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from audio import SR, decode, integrated_loudness, planned_silences, silent_frames, silent_run_around
from places import routine_text

from rlsaudio.audio.loudness import measure
from rlsaudio.cli import cli
from rlsaudio.speech.engines.fake import FakeEngine


def plan(runner, routine, *args):
    result = runner.invoke(cli, ["plan", str(routine), "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def build(runner, routine, out, *args):
    result = runner.invoke(cli, ["build", str(routine), "-o", str(out), *args])
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.split("  ")[0])
    assert path.parent == out and path.exists()
    return path


def check_timing(mp3: Path, data: dict) -> int:
    """The decoded MP3 is exactly as long as the plan (the plan's seconds are rounded to 1 ms);
    every planned hold, rest, pause and massage is a silence of its planned length (25 ms: a
    clip's 25 ms fade-out, smeared by the MP3, can stay above the -54 dB silence threshold a
    little into the silence); every planned silence of 0.3 s or more starts and ends where
    planned (30 ms: MP3 frames smear speech edges a little)."""
    audio = decode(mp3)
    assert abs(len(audio) / SR - data["duration"]) <= 0.0005
    quiet = silent_frames(audio)
    timed = 0
    for start, end, reasons in planned_silences(data):
        if end >= data["duration"] - 0.01:
            continue  # the last silence runs to the end of the file
        found = silent_run_around(quiet, (start + end) / 2)
        assert abs(found[0] - start) <= 0.030, (reasons, start, end, found)
        assert abs(found[1] - end) <= 0.030, (reasons, start, end, found)
        if {"hold", "rest", "pause", "massage"} & set(reasons.split("+")):
            assert abs((found[1] - found[0]) - (end - start)) <= 0.025, (reasons, start, end, found)
            timed += 1
    return timed


def test_build_matches_the_plan_to_the_sample_and_silences_to_25ms(runner, write, tmp_path, fake_voice):
    routine = write("short.toml", routine_text())
    data = plan(runner, routine, "--voice", fake_voice)
    mp3 = build(runner, routine, tmp_path / "out", "--voice", fake_voice)
    assert mp3.name == "Short session.mp3"
    assert mp3.with_suffix(".lrc").exists()
    reasons = {e["reason"] for e in data["events"] if e["kind"] == "silence"}
    assert {"hold", "rest", "pause", "massage", "gap"} <= reasons
    assert check_timing(mp3, data) >= 7


@pytest.mark.engine
@pytest.mark.slow
def test_real_voice_joe_bundled_routine(runner, tmp_path):
    """foot-reflexology with joe, the default voice: length and every hold, rest and pause, measured."""
    data = plan(runner, "foot-reflexology", "--voice", "joe")
    mp3 = build(runner, "foot-reflexology", tmp_path, "--voice", "joe")
    assert check_timing(mp3, data) > 40
    loudness = measure(decode(mp3))
    assert loudness.integrated == pytest.approx(-19.0, abs=0.3)


@pytest.mark.engine
@pytest.mark.slow
def test_real_voice_espeak_bundled_routine(runner, tmp_path):
    """foot-reflexology with espeak: length and every hold, rest and pause, measured."""
    data = plan(runner, "foot-reflexology", "--voice", "espeak")
    mp3 = build(runner, "foot-reflexology", tmp_path, "--voice", "espeak")
    assert check_timing(mp3, data) > 40
    audio = decode(mp3)
    loudness = measure(audio)
    assert loudness.integrated == pytest.approx(-19.0, abs=0.3)
    assert abs(integrated_loudness(mp3) - loudness.integrated) <= 1.0


@pytest.mark.engine
def test_real_voice_piper(runner, write, tmp_path):
    routine = write("short.toml", routine_text())
    data = plan(runner, routine, "--voice", "joe")
    mp3 = build(runner, routine, tmp_path, "--voice", "joe")
    assert check_timing(mp3, data) >= 7


def test_warm_rebuild_synthesises_nothing_and_is_identical(runner, write, tmp_path, fake_voice):
    routine = write("short.toml", routine_text())
    first = build(runner, routine, tmp_path / "a", "--voice", fake_voice)
    FakeEngine.calls.clear()
    second = build(runner, routine, tmp_path / "b", "--voice", fake_voice)
    assert FakeEngine.calls == []
    assert np.array_equal(decode(first), decode(second))


def test_safe_file_names_stay_inside_the_output_folder(runner, write, tmp_path, fake_voice):
    out = tmp_path / "out"
    for title, expected in [
        ("../../etc/passwd", "etc - passwd.mp3"),
        ("a/b\\\\c", "a - b - c.mp3"),
        ("..", "untitled.mp3"),
        ("Night: calm? *yes*", "Night - calm - yes.mp3"),
        ("CON", "CON_.mp3"),
    ]:
        routine = write("t.toml", f'title = "{title}"\n[[steps]]\ntitle = "A"\nsay = "Hi."\n')
        mp3 = build(runner, routine, out, "--voice", fake_voice)
        assert mp3.name == expected
        assert mp3.resolve().parent == out.resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "t.toml"]


def test_a_failed_build_leaves_the_existing_track_untouched(runner, write, tmp_path, fake_voice):
    out = tmp_path / "out"
    routine = write("short.toml", routine_text())
    good = build(runner, routine, out, "--voice", fake_voice)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    failing = write("fail.toml", 'engine = "fake"\nfail_on = "ankle"\n')
    # another voice is another variant: --force to replace it (and the engine then fails)
    result = runner.invoke(cli, ["build", str(routine), "-o", str(out), "--voice", str(failing), "--force"])
    assert result.exit_code == 1
    assert result.stderr == "fake engine failed on 'Rub the ankle.'\n"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no temp files, same bytes
    assert good.exists()


def test_interrupted_encode_removes_its_temporary_file(runner, write, tmp_path, fake_voice, monkeypatch):
    def explode(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("rlsaudio.publish.tags.write_tags", explode)
    routine = write("short.toml", routine_text())
    out = tmp_path / "out"
    result = runner.invoke(cli, ["build", str(routine), "-o", str(out), "--voice", fake_voice])
    assert result.exit_code == 130
    assert result.stderr == "interrupted\n"
    assert not out.exists()  # the folder it made goes with its staging: nothing was written


def test_unknown_voice_names_the_available_ones(runner):
    result = runner.invoke(cli, ["build", "acupressure", "--voice", "bob"])
    assert result.exit_code == 2
    assert result.stderr == "bob: unknown voice; available voices: espeak, heart, joe, michael (or give a profile file path)\n"


def test_unavailable_voice_is_one_line_and_a_failure_of_the_installation(runner, write):
    profile = write("gone.toml", 'engine = "fake"\nunavailable = "the fake engine is switched off"\n')
    result = runner.invoke(cli, ["build", "acupressure", "--voice", str(profile)])
    assert result.exit_code == 1
    assert result.stderr == (f"{profile}: voice cannot run here: the fake engine is switched off; "
                             "available voices: espeak, heart, joe, michael\n")


def test_voices_command(runner):
    result = runner.invoke(cli, ["voices"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["voice", "engine", "status"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert " pyttsx3 " in rows["espeak"] and " ready " in rows["espeak"]
    assert rows["joe"].startswith("joe (default) ") and " piper " in rows["joe"] and " ready " in rows["joe"]
    assert " kokoro " in rows["heart"] and " kokoro " in rows["michael"]


def test_default_voice_is_joe_where_piper_runs(write, tmp_path):
    from rlsaudio.speech.voices import default_voice_name

    assert default_voice_name() == "joe"


def test_bad_bitrate(runner):
    result = runner.invoke(cli, ["build", "acupressure", "--bitrate", "65k"])
    assert result.exit_code == 2
    assert result.stderr.startswith("--bitrate: '65k' is not an MP3 bitrate for 22.05 kHz audio; use one of 8k,")


def test_bitrate_is_constant(runner, write, tmp_path, fake_voice):
    from mutagen.mp3 import MP3, BitrateMode

    routine = write("short.toml", routine_text())
    mp3 = build(runner, routine, tmp_path, "--voice", fake_voice, "--bitrate", "48k")
    info = MP3(str(mp3)).info
    assert info.bitrate == 48000 and info.channels == 1 and info.sample_rate == SR
    assert info.bitrate_mode in (BitrateMode.CBR, BitrateMode.UNKNOWN)


def test_output_lines_name_path_and_length(runner, write, tmp_path, fake_voice):
    routine = write("short.toml", routine_text())
    other = write("other.toml", routine_text("Other session"))
    result = runner.invoke(cli, ["build", str(routine), str(other), "-o", str(tmp_path / "o"), "--voice", fake_voice])
    lines = result.stdout.splitlines()
    assert [line.split("  ")[0] for line in lines] == [str(tmp_path / "o" / f"{t} session.mp3") for t in ("Short", "Other")]
    assert all(line.split("  ")[1] == "30.7s" or line.split("  ")[1].endswith("s") for line in lines)
    assert os.path.getsize(tmp_path / "o" / "Short session.mp3") > 10_000
