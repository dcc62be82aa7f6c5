"""BS.1770-4 loudness meter: references (pyloudnorm, ffmpeg ebur128, EBU values), streaming."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import warnings
import wave
from pathlib import Path

import numpy as np
import pytest

from rlsaudio.audio.loudness import Loudness, LoudnessMeter, clip_level, k_weighting_sos, measure, short_term_series

RATE = 22050


# --- signals ---------------------------------------------------------------------------


def _fade(x: np.ndarray, ms: float = 10.0) -> np.ndarray:
    """Soft edges: a hard cut makes the band-limited waveform ring above the sine's peak."""
    n = int(RATE * ms / 1000)
    ramp = np.linspace(0.0, 1.0, n)
    x = x.copy()
    x[:n] *= ramp
    x[-n:] *= ramp[::-1]
    return x


def _sine(freq: float = 997.0, dbfs: float = -20.0, seconds: float = 20.0, phase: float = 0.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return _fade(10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t + phase))


def _pink(seconds: float = 20.0, rms_dbfs: float = -20.0, seed: int = 0) -> np.ndarray:
    n = round(seconds * RATE)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    freqs[0] = freqs[1]
    x = np.fft.irfft(spectrum / np.sqrt(freqs), n)
    return _fade(x * 10 ** (rms_dbfs / 20) / np.sqrt(np.mean(x * x)))


def _speech_like(seconds: float = 20.0, seed: int = 1) -> np.ndarray:
    """Noise bursts of varied level with a 4 Hz syllable envelope, separated by silence."""
    rng = np.random.default_rng(seed)
    x = np.zeros(round(seconds * RATE))
    pos = 0
    while pos < x.size:
        on = round(rng.uniform(0.3, 1.5) * RATE)
        burst = _pink(on / RATE, rms_dbfs=rng.uniform(-28, -16), seed=int(rng.integers(1 << 30)))
        burst *= 0.6 + 0.4 * np.sin(2 * np.pi * 4 * np.arange(burst.size) / RATE)
        end = min(pos + burst.size, x.size)
        x[pos:end] = burst[: end - pos]
        pos = end + round(rng.uniform(0.2, 1.0) * RATE)
    return x


def _quiet_then_loud(seconds: float = 30.0) -> np.ndarray:
    """Mostly -45 dBFS noise with a loud third: the relative gate drops the quiet part."""
    x = _pink(seconds, rms_dbfs=-45, seed=2)
    loud = _pink(seconds / 3, rms_dbfs=-15, seed=3)
    start = x.size // 3
    x[start : start + loud.size] += loud
    return x


def _fs4_sine() -> np.ndarray:
    """Full-scale sine at fs/4, 45 degrees off: every sample sits at +-0.707 (-3 dB)."""
    return _sine(RATE / 4, dbfs=0.0, seconds=5.0, phase=np.pi / 4)


SIGNALS = {
    "sine_997Hz_-20dBFS": _sine,
    "pink_noise": _pink,
    "speech_like": _speech_like,
    "quiet_then_loud": _quiet_then_loud,
}


def _feed(x: np.ndarray, sizes) -> LoudnessMeter:
    meter = LoudnessMeter(RATE)
    pos = 0
    for size in sizes:
        meter.add(x[pos : pos + size])
        pos += size
        if pos >= x.size:
            break
    assert pos >= x.size
    return meter


def _chunks(x: np.ndarray, size: int | None):
    size = size or x.size
    return [size] * math.ceil(x.size / size)


# --- reference meters ------------------------------------------------------------------


@pytest.mark.parametrize("name", SIGNALS)
def test_integrated_agrees_with_pyloudnorm(name):
    pyloudnorm = pytest.importorskip("pyloudnorm")
    x = SIGNALS[name]()
    expected = pyloudnorm.Meter(RATE).integrated_loudness(x)
    # pyloudnorm's default high-pass has unit gain where the BS.1770 table has +0.043 dB,
    # so about +0.04 LU of this gap is systematic.
    assert measure(x, RATE).integrated == pytest.approx(expected, abs=0.05)


@pytest.mark.parametrize("name", ["speech_like", "quiet_then_loud"])
def test_signals_with_pauses_exercise_the_gates(name):
    x = SIGNALS[name]()
    assert measure(x).integrated - clip_level(x) > 1.0


@pytest.mark.parametrize(
    "rate, dbfs, expected, tolerance",
    [
        (22050, 0.0, -3.01, 0.1),
        (22050, -23.0, -26.01, 0.1),
        (48000, 0.0, -3.01, 0.01),
    ],
)
def test_sine_reads_the_ebu_reference_value(rate, dbfs, expected, tolerance):
    # EBU Tech 3341: a 997 Hz sine at -23 dBFS in both stereo channels reads -23 LUFS, so one
    # mono channel reads 3.01 dB lower; at 0 dBFS that is -3.01 LUFS.
    t = np.arange(10 * rate) / rate
    x = 10 ** (dbfs / 20) * np.sin(2 * np.pi * 997 * t)
    assert measure(x, rate).integrated == pytest.approx(expected, abs=tolerance)


def test_k_weighting_at_48k_is_the_bs1770_table():
    table = [
        [1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0, -1.69065929318241, 0.73248077421585],
        [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621],
    ]
    np.testing.assert_allclose(k_weighting_sos(48000), table, atol=1e-9)


def _write_wav(path: Path, x: np.ndarray) -> np.ndarray:
    """Write 16-bit PCM and return exactly the samples ffmpeg will read."""
    pcm = np.clip(np.round(x * 32768), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.tobytes())
    return pcm


def _ffmpeg_ebur128(path: Path) -> tuple[float, float]:
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostats", "-hide_banner", "-i", str(path)]
    command += ["-af", "ebur128=peak=true", "-f", "null", "-"]
    log = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    summary = log[log.rindex("Summary:") :]
    integrated = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary).group(1)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1)
    return float(integrated), float(peak)


@pytest.mark.parametrize("name", [*SIGNALS, "fs4_sine"])
def test_agrees_with_ffmpeg_ebur128(name, tmp_path):
    x = _fs4_sine() * 0.99 if name == "fs4_sine" else SIGNALS[name]()
    pcm = _write_wav(tmp_path / "x.wav", x)
    integrated, true_peak = _ffmpeg_ebur128(tmp_path / "x.wav")
    ours = measure(pcm)
    # ffmpeg prints one decimal; its true peak upsamples to 192 kHz with libswresample.
    assert ours.integrated == pytest.approx(integrated, abs=0.2)
    assert ours.true_peak == pytest.approx(true_peak, abs=0.3)


# --- peaks -----------------------------------------------------------------------------


def test_true_peak_finds_the_peak_between_samples():
    result = measure(_fs4_sine())
    assert result.sample_peak == pytest.approx(-3.01, abs=0.05)
    assert result.true_peak == pytest.approx(0.0, abs=0.5)
    assert result.true_peak > result.sample_peak + 2.5


def test_true_peak_is_never_below_sample_peak():
    x = np.zeros(RATE)
    x[RATE // 2] = 0.5
    result = measure(x)
    assert result.sample_peak == pytest.approx(20 * math.log10(0.5))
    assert result.true_peak >= result.sample_peak


# --- streaming -------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 777, 22050, 100_003, None])
def test_chunking_does_not_change_the_result(size):
    x = _speech_like(seconds=6.0, seed=5)
    whole = measure(x)
    assert math.isfinite(whole.max_short_term)
    chunked = _feed(x, _chunks(x, size)).result()
    assert chunked.integrated == pytest.approx(whole.integrated, abs=1e-9)
    assert chunked.max_short_term == pytest.approx(whole.max_short_term, abs=1e-9)
    assert chunked.true_peak == pytest.approx(whole.true_peak, abs=0.01)
    assert chunked.sample_peak == whole.sample_peak
    assert chunked.duration_s == whole.duration_s == 6.0


def test_irregular_chunks_and_early_results_change_nothing():
    x = _quiet_then_loud(seconds=12.0)
    sizes = np.random.default_rng(7).integers(1, 90_000, size=x.size).tolist()
    meter = LoudnessMeter(RATE)
    pos = 0
    for i, size in enumerate(sizes):
        if pos >= x.size:
            break
        meter.add(x[pos : pos + size])
        pos += size
        if i % 3 == 0:
            meter.result()  # reading midway must not disturb the stream
    whole = LoudnessMeter(RATE)
    whole.add(x)
    np.testing.assert_allclose(meter.short_term(), whole.short_term(), rtol=0, atol=1e-9)
    assert meter.result().integrated == pytest.approx(whole.result().integrated, abs=1e-9)


def test_chunks_may_be_float32_or_int16():
    x = _pink(seconds=5.0, rms_dbfs=-20)
    pcm = np.round(x * 32767).astype(np.int16)
    as_float = measure(pcm.astype(np.float64) / 32768)
    assert measure(pcm).integrated == pytest.approx(as_float.integrated, abs=1e-9)
    assert measure(x.astype(np.float32)).integrated == pytest.approx(measure(x).integrated, abs=1e-4)


# --- silence, short signals, bad input -------------------------------------------------


def test_silence_is_minus_infinity_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = measure(np.zeros(5 * RATE))
        empty = LoudnessMeter(RATE).result()
        level = clip_level(np.zeros(1000))
    assert result == Loudness(*[float("-inf")] * 4, duration_s=5.0)
    assert empty.integrated == empty.true_peak == empty.max_short_term == float("-inf")
    assert empty.duration_s == 0.0
    assert level == float("-inf")


def test_signal_shorter_than_one_block_has_no_integrated_loudness():
    result = measure(_sine(seconds=0.3))
    assert result.integrated == float("-inf")
    assert result.max_short_term == float("-inf")
    assert result.sample_peak == pytest.approx(-20.0, abs=0.01)


def test_rejects_stereo_and_odd_rates():
    with pytest.raises(ValueError, match="1-D"):
        LoudnessMeter().add(np.zeros((100, 2)))
    with pytest.raises(ValueError, match="sample rate"):
        LoudnessMeter(1000)
    with pytest.raises(ValueError, match="NaN"):
        measure(np.full(RATE, np.nan))


# --- short-term ------------------------------------------------------------------------


def test_max_short_term_is_the_loud_burst():
    x = _pink(seconds=20.0, rms_dbfs=-40, seed=8)
    burst = _pink(seconds=3.0, rms_dbfs=-15, seed=9)
    start = 8 * RATE  # on the 100 ms grid, so one 3 s window holds exactly the burst
    x[start : start + burst.size] += burst
    result = measure(x)
    assert result.max_short_term == pytest.approx(clip_level(burst), abs=0.3)
    background = measure(x[:start]).integrated
    assert result.max_short_term > background + 20


def test_short_term_series_of_steady_noise_stays_near_integrated():
    x = _pink(seconds=20.0)
    series = short_term_series(x)
    assert series.size == 200 - 30 + 1  # 100 ms hops, 30 per 3 s window
    assert series.max() - measure(x).integrated < 3.0
    assert short_term_series(x[: 2 * RATE]).size == 0


# --- clip level ------------------------------------------------------------------------


def test_clip_level_of_a_short_tone_matches_a_long_tones_loudness():
    short = 10 ** (-20 / 20) * np.sin(2 * np.pi * 997 * np.arange(RATE // 5) / RATE)
    assert clip_level(short) == pytest.approx(measure(_sine()).integrated, abs=0.1)
    pcm = np.round(short * 32767).astype(np.int16)
    assert clip_level(pcm) == pytest.approx(clip_level(short), abs=0.01)


# --- import cost -----------------------------------------------------------------------


def test_import_does_not_load_scipy():
    code = "import sys, rlsaudio.audio.loudness; print('scipy' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert output.stdout.strip() == "False"
