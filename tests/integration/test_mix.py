"""Mixing: chunked rendering equals whole-buffer rendering; clips, tones and soundscapes."""

import numpy as np
import pytest

from rlsaudio.audio import clips, tones
from rlsaudio.audio.mix import MixInput, chunks, mix_range, mix_whole, to_int16
from rlsaudio.audio.soundscape import Soundscape, _make_loop, noise
from rlsaudio.base.units import SAMPLE_RATE as SR
from rlsaudio.script.modes import ModeOptions, style_for
from rlsaudio.script.routinefile import parse_routine
from rlsaudio.script.timeline import build_timeline, lay_out
from rlsaudio.speech.synth import SpeechSource
from rlsaudio.speech.voices import load_profile
from rlsaudio.system.cache import Cache

ROUTINE = '''
title = "Mix test"
[pace]
guided_breaths = 1
[[steps]]
title = "Talk"
say = "One two three. [1s] Four five."
[[steps]]
title = "Press"
sides = ["right", "left"]
say = "Find your {side} point."
hold = 3
rest = 2
repeat = 2
[[steps]]
title = "Breathe"
breathe = { inhale = 2, exhale = 3, cycles = 3 }
'''


def session(fake_voice, tmp_path, mode="bedtime", **mode_kw):
    voice = load_profile(fake_voice)
    speech = SpeechSource(voice, Cache(tmp_path / "cache"))
    style = style_for(ModeOptions(mode, **mode_kw), voice)
    timeline = build_timeline(lay_out(parse_routine(ROUTINE), style), speech.length)
    return timeline, speech


@pytest.mark.parametrize("size", [1000, 4410, SR * 10, 7919])
def test_chunked_mixing_gives_the_same_samples_as_whole_buffer_mixing(fake_voice, tmp_path, size):
    timeline, speech = session(fake_voice, tmp_path, "bedtime")
    scape = noise("pink", seconds=3)  # a short period, so chunks cross the loop point many times
    inp = MixInput(timeline, speech, volume_db=-1.5, soundscape=scape, soundscape_db=-18,
                   soundscape_fade_in=SR * 2, soundscape_fade_out=timeline.fade_out)
    whole = mix_whole(inp, gain=0.7)
    chunked = np.concatenate(list(chunks(inp, gain=0.7, size=size)))
    assert chunked.shape == whole.shape == (timeline.length,)
    assert np.array_equal(to_int16(chunked), to_int16(whole))
    assert np.array_equal(chunked, whole)
    assert timeline.fade_out > 0 and np.abs(whole[-100:]).max() < 1e-3  # faded to silence


def test_speech_lands_exactly_where_the_timeline_says(fake_voice, tmp_path):
    timeline, speech = session(fake_voice, tmp_path, "massage")
    inp = MixInput(timeline, speech)
    audio = mix_whole(inp)
    for e in timeline.events:
        part = audio[e.start:e.end]
        if e.kind == "silence":
            assert not part.any(), e  # digital silence: exactly as long as planned
        else:
            assert np.abs(part).max() > 0.01, e
    # an event's audio is the clip itself, placed by sample offset
    first = next(e for e in timeline.events if e.kind == "speech")
    assert np.array_equal(audio[first.start:first.end], speech.samples(first.text, first.rate))


def test_mix_range_matches_any_window(fake_voice, tmp_path):
    timeline, speech = session(fake_voice, tmp_path, "massage")
    inp = MixInput(timeline, speech)
    whole = mix_whole(inp)
    for start in (0, 12345, timeline.length - 500):
        stop = min(timeline.length, start + 3000)
        assert np.array_equal(mix_range(inp, start, stop), whole[start:stop])


def test_trim_removes_engine_padding_and_keeps_the_speech():
    padding = np.zeros(SR // 2, dtype=np.int16)
    t = np.arange(SR) / SR
    voice = (np.sin(2 * np.pi * 200 * t) * 8000).astype(np.int16)
    trimmed = clips.trim(np.concatenate([padding, voice, padding, padding]))
    # one frame kept before the onset, plus frame alignment on each side
    assert voice.size - clips.FRAME <= trimmed.size <= voice.size + 3 * clips.FRAME


def test_prepared_clips_are_leveled_limited_and_faded():
    rng = np.random.default_rng(1)
    quiet = (rng.standard_normal(SR) * 300).astype(np.int16)
    loud = (rng.standard_normal(SR) * 9000).astype(np.int16)
    loud[5000] = 32767  # a spike the limiter must catch
    (a, level_a), (b, level_b) = clips.prepare(quiet), clips.prepare(loud)
    from rlsaudio.audio.loudness import clip_level

    assert level_b - level_a > 25
    assert clip_level(a) == pytest.approx(clips.REFERENCE_LEVEL, abs=0.5)
    assert clip_level(b) == pytest.approx(clips.REFERENCE_LEVEL, abs=0.5)
    ceiling = 32768 * 10 ** (clips.PEAK_CEILING_DB / 20)
    assert np.abs(b.astype(np.int32)).max() <= ceiling + 1
    assert abs(int(a[0])) < 50 and abs(int(a[-1])) < 50  # faded edges: no click


@pytest.mark.parametrize("name", tones.TONES)
def test_tones_are_deterministic_leveled_and_end_at_zero(name):
    n = SR * 2
    a, b = tones.tone(name, n, -10.0), tones.tone(name, n, -10.0)
    assert np.array_equal(a, b)
    assert tones.momentary_peak_db(a) == pytest.approx(clips.REFERENCE_LEVEL - 10, abs=0.01)
    assert a[-1] == 0 and abs(a[0]) < 1e-3


def test_generated_noise_loops_without_a_seam():
    scape = noise("brown", seconds=3)
    period = len(scape.buffer)
    around = scape.segment(period - 200, period + 200)
    jumps = np.abs(np.diff(around))
    typical = np.abs(np.diff(scape.buffer)).mean()
    assert jumps[199] < 6 * typical  # the step across the loop point is an ordinary step
    assert np.array_equal(scape.segment(5, 105), scape.segment(period + 5, period + 105))


def test_file_loops_are_crossfaded():
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.standard_normal(SR * 10)).astype(np.float32)
    x /= np.abs(x).max()
    loop = Soundscape(_make_loop(x), "test")
    period = len(loop.buffer)
    around = loop.segment(period - 50, period + 50)
    assert np.abs(np.diff(around)).max() < 5 * np.abs(np.diff(x)).mean() + 0.05
