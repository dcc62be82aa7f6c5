"""Listening modes on real renders: loudness, wind-down, fades, soundscape, pacer, --length."""

import json
from pathlib import Path

import numpy as np
import pytest
from audio import SR, decode, integrated_loudness
from places import FAKE_VOICE

from rlsaudio.audio.loudness import measure, short_term_series
from rlsaudio.cli import cli

ROUTINE = '''
title = "Mode test"
[pace]
guided_breaths = 2
[[steps]]
title = "Settle"
say = "Lie on your back. Let your legs go heavy. Breathe slowly and let the day go."
pause = "8s"
[[steps]]
title = "Breathing"
breathe = { inhale = 4, exhale = 6, cycles = 5 }
[[steps]]
title = "Calf press"
sides = ["right", "left"]
say = "Find the middle of your {side} calf, and rest your thumb there."
hold = 10
rest = 5
repeat = 2
cues = ["Press gently.", "A little firmer."]
[[steps]]
title = "Ankle"
say = "Now massage the area in front of your ankle with slow circles."
massage = "1m5s"
breathe = true
[[steps]]
title = "Rest"
say = "Let everything go soft. You have done well. Stay here as long as you like."
pause = "5s"
'''


@pytest.fixture(scope="module")
def renders(tmp_path_factory, request):
    """One massage and one bedtime render (with brown noise and a 40 s tail), plus plans."""
    from click.testing import CliRunner

    voice = FAKE_VOICE
    root = tmp_path_factory.mktemp("modes")
    routine = root / "mode.toml"
    routine.write_text(ROUTINE)
    runner = CliRunner()
    out = {}
    for name, args in {
        "massage": [],
        "bedtime": ["--mode", "bedtime", "--soundscape", "brown", "--tail", "40s"],
        "bedtime-quiet": ["--mode", "bedtime"],
    }.items():
        plan = runner.invoke(cli, ["plan", str(routine), "--json", "--voice", voice, *args])
        assert plan.exit_code == 0, plan.output
        built = runner.invoke(cli, ["build", str(routine), "-o", str(root / name), "--voice", voice, *args])
        assert built.exit_code == 0, built.output
        mp3 = Path(built.stdout.split("  ")[0])
        out[name] = (json.loads(plan.stdout), mp3, decode(mp3))
    return out


def _segment(audio, start, end):
    return audio[int(start * SR):int(end * SR)]


def speech_events(plan):
    return [e for e in plan["events"] if e["kind"] == "speech"]


@pytest.mark.parametrize("mode, target", [("massage", -19.0), ("bedtime", -24.0), ("bedtime-quiet", -24.0)])
def test_loudness_targets_and_an_independent_meter(renders, mode, target):
    plan, mp3, audio = renders[mode]
    ours = measure(audio)
    assert ours.integrated == pytest.approx(target, abs=0.3)
    assert ours.true_peak <= -1.0  # -1.5 dBTP before encoding; MP3 adds a fraction
    theirs = integrated_loudness(mp3)
    assert abs(theirs - ours.integrated) <= 1.0


@pytest.mark.parametrize("mode", ["massage", "bedtime"])
def test_nothing_startles(renders, mode):
    plan, mp3, audio = renders[mode]
    integrated = measure(audio).integrated
    assert short_term_series(audio).max() <= integrated + 3.0
    # every tone is quieter than the speech around it (loudest 400 ms of each)
    def loudest(start, end):
        x = _segment(audio, start, end).astype(np.float64)
        window = min(int(0.4 * SR), len(x))
        sums = np.concatenate(([0.0], np.cumsum(x * x)))  # a 400 ms moving mean square, in O(n)
        squares = (sums[window:] - sums[:-window]) / window
        return 10 * np.log10(squares.max() + 1e-12)

    speech = [loudest(e["start"], e["start"] + e["duration"]) for e in speech_events(plan) if e["duration"] > 0.5]
    tones = [e for e in plan["events"] if e["kind"] == "tone"]
    assert tones
    for tone in tones:
        assert loudest(tone["start"], tone["start"] + tone["duration"]) < min(speech) - 3


def test_massage_mode_cues(renders):
    plan, _, _ = renders["massage"]
    said = [e["text"] for e in speech_events(plan)]
    assert said.count("Press.") == 4 and said.count("And release.") == 5
    assert "Now switch to your left side." in said
    assert said.count("Thirty seconds left.") == 0  # a 65 s massage needs no countdown (modes.toml: 2.5 min or more)
    tones = [e for e in plan["events"] if e["kind"] == "tone"]
    assert len([t for t in tones if t["duration"] < 1.0]) == 5  # a chime before every start cue
    assert tones[-1]["duration"] == 4.0  # the closing bell


def test_bedtime_is_slower_with_soft_chimes_no_bell_and_no_countdown(renders):
    massage, _, _ = renders["massage"]
    bed, _, _ = renders["bedtime"]
    first = "Lie on your back."
    m = next(e for e in speech_events(massage) if e["text"] == first)
    b = next(e for e in speech_events(bed) if e["text"] == first)
    assert b["duration"] > m["duration"] * 1.1  # slower speech
    assert "Thirty seconds left." not in [e["text"] for e in speech_events(bed)]
    last_words = speech_events(bed)[-1]["start"]
    assert not [t for t in bed["events"] if t["kind"] == "tone" and t["start"] > last_words]  # no closing bell
    chimes = [t["duration"] for t in bed["events"] if t["kind"] == "tone" and t["duration"] not in (4.0, 6.0)]
    assert len(chimes) == 5 and set(chimes) == {1.4}  # the soft, low chime (pacer tones are 4 s and 6 s)


def test_bedtime_winds_down_about_3_lu(renders):
    plan, _, audio = renders["bedtime-quiet"]
    said = speech_events(plan)
    first = np.concatenate([_segment(audio, e["start"], e["start"] + e["duration"]) for e in said[:3]])
    last = np.concatenate([_segment(audio, e["start"], e["start"] + e["duration"]) for e in said[-3:]])
    drop = measure(first).integrated - measure(last).integrated
    assert 2.0 <= drop <= 4.0


def test_bedtime_fades_to_silence_over_20_seconds(renders):
    plan, _, audio = renders["bedtime"]
    last_words = speech_events(plan)[-1]
    end_of_words = last_words["start"] + last_words["duration"]
    tail = audio[int(end_of_words * SR):]
    assert plan["events"][-1]["duration"] == 40.0  # --tail 40s, after the last step's 5 s pause
    assert len(tail) / SR == pytest.approx(45.0, abs=0.1)
    level = lambda x: np.sqrt(np.mean(x ** 2))  # noqa: E731
    before = level(tail[2 * SR:20 * SR])  # the soundscape carries on after the words ...
    fade = [level(tail[i:i + 4 * SR]) for i in range(len(tail) - 20 * SR, len(tail), 4 * SR)]
    assert before > 1e-4 and fade[0] > 0.5 * before
    assert all(b < a for a, b in zip(fade, fade[1:]))  # ... then falls over the last 20 s
    assert fade[-1] < fade[0] / 10 and np.abs(audio[-100:]).max() < 1e-3  # to silence


def test_soundscape_is_quieter_than_the_voice_faded_in_and_seamless(renders):
    plan, _, audio = renders["bedtime"]
    holds = [e for e in plan["events"] if e.get("reason") == "hold"]
    noise = np.concatenate([_segment(audio, h["start"] + 1, h["start"] + h["duration"] - 1) for h in holds])
    said = np.concatenate([_segment(audio, e["start"], e["start"] + e["duration"]) for e in speech_events(plan)])
    assert measure(said).integrated - measure(noise).integrated >= 12.0
    assert np.sqrt(np.mean(noise ** 2)) > 1e-4  # it is there
    start = audio[: int(0.4 * SR)]
    assert np.abs(start[:200]).max() < np.abs(_segment(audio, 8.5, 9)).max()  # faded in
    # no clicks in the noise, across its loop point included: no jump far beyond its own
    for h in holds:
        jumps = np.abs(np.diff(_segment(audio, h["start"] + 1, h["start"] + h["duration"] - 1)))
        assert jumps.max() < 12 * jumps.mean()


def test_quiet_bedtime_has_no_soundscape(renders):
    plan, _, audio = renders["bedtime-quiet"]
    holds = [e for e in plan["events"] if e.get("reason") == "hold"]
    assert not np.any(_segment(audio, holds[0]["start"] + 0.1, holds[0]["start"] + holds[0]["duration"] - 0.1))


def test_breathing_cycles_are_exact_in_the_render(renders):
    plan, _, audio = renders["massage"]
    (chapter,) = [c for c in plan["chapters"] if c["title"] == "Breathing"]
    inside = [e for e in plan["events"] if chapter["start"] <= e["start"] < chapter["end"]]
    first_in = next(i for i, e in enumerate(inside) if e.get("text") == "Breathe in.")
    cues = [e for e in inside[first_in:] if e["kind"] != "silence"]
    span_start = cues[0]["start"]
    # planned: in at 0, 10, ..., out at 4, 14, ...: two spoken cycles, the third says once what the tones
    # mean, then pacer tones
    assert [round(e["start"] - span_start, 3) for e in cues] == [0, 4, 10, 14, 20, 30, 34, 40, 44]
    assert [e["kind"] for e in cues] == ["speech"] * 5 + ["tone"] * 4
    assert cues[4]["text"] == "Now follow the tones: rising, breathe in; falling, breathe out."

    def onset(e):  # where the cue's own rise crosses half its peak
        x = _segment(audio, e["start"] - 0.01, e["start"] + 0.5)
        return e["start"] - 0.01 + np.flatnonzero(np.abs(x) > 0.5 * np.abs(x).max())[0] / SR

    # measured: every cycle is exactly inhale + exhale = 10 s (cues of the same kind compared)
    for a, b in ((0, 2), (1, 3), (5, 7), (6, 8)):
        assert abs((onset(cues[b]) - onset(cues[a])) - 10.0) < 0.02, (cues[a], cues[b])


def test_length_fits_the_render(runner, write, tmp_path, fake_voice):
    routine = write("mode.toml", ROUTINE)
    result = runner.invoke(cli, ["build", str(routine), "-o", str(tmp_path), "--voice", fake_voice, "--length", "4m30s"])
    assert result.exit_code == 0, result.output
    audio = decode(Path(result.stdout.split("  ")[0]))
    assert len(audio) / SR == pytest.approx(270.0, abs=0.05)
    plan = json.loads(runner.invoke(cli, ["plan", str(routine), "--json", "--voice", fake_voice,
                                          "--length", "4m30s"]).stdout)
    holds = [e["duration"] for e in plan["events"] if e.get("reason") == "hold"]
    assert holds == [10.0] * 4  # holds never shrink


def test_length_out_of_reach(runner, write, fake_voice):
    routine = write("mode.toml", ROUTINE)
    result = runner.invoke(cli, ["plan", str(routine), "--voice", fake_voice, "--length", "1m"])
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert line.startswith(f"{routine}: cannot fit 'Mode test' to 1m 00s: with its pauses and rests scaled it can "
                           "last from ")
    assert line.endswith("; choose a --length in that range") and "\n" not in line


def test_user_soundscape_file(runner, write, tmp_path, fake_voice):
    import subprocess

    from audio import ffmpeg

    rain = tmp_path / "rain.ogg"
    subprocess.run([ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "anoisesrc=color=pink:duration=12:sample_rate=44100",
                    "-ac", "2", str(rain)], check=True)
    routine = write("mode.toml", 'title = "Rain"\n[[steps]]\ntitle = "A"\nsay = "Rest."\nhold = 30\n')
    result = runner.invoke(cli, ["build", str(routine), "-o", str(tmp_path / "o"), "--voice", fake_voice,
                                 "--mode", "bedtime", "--soundscape", str(rain)])
    assert result.exit_code == 0, result.output
    audio = decode(Path(result.stdout.split("  ")[0]))
    middle = audio[int(15 * SR):int(25 * SR)]  # inside the hold: only the looped rain
    assert np.sqrt(np.mean(middle ** 2)) > 1e-4
    bad = runner.invoke(cli, ["build", str(routine), "-o", str(tmp_path / "o"), "--voice", fake_voice,
                              "--soundscape", str(routine)])
    assert bad.exit_code == 2
    assert bad.stderr.startswith(f"{routine}: not a usable audio file (")
