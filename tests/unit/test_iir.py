"""rlsaudio.audio.iir.sosfilt against scipy.signal.sosfilt (a test-only dependency)."""

from __future__ import annotations

from decimal import Decimal, localcontext

import numpy as np
import pytest

signal = pytest.importorskip("scipy.signal")

from rlsaudio.audio import loudness  # noqa: E402
from rlsaudio.audio.iir import sosfilt  # noqa: E402
from rlsaudio.audio.loudness import k_weighting_sos  # noqa: E402

RATES = (22050, 44100, 48000)
# scipy's own rounding error on these signals reaches ~5e-13 at 48 kHz (the 38 Hz high-pass
# has poles within 0.005 of z = 1); this module's is ~1e-15 (see test_closer_to_exact).
TOLERANCE = 1e-12


def _signals(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    index = np.arange(n)
    syllables = (np.sin(2 * np.pi * index / 5000.0) > 0.2) * (0.5 + 0.5 * np.sin(2 * np.pi * index / 900.0))
    return {
        "noise": rng.standard_normal(n) * 0.3,
        "speech": rng.standard_normal(n) * 0.25 * syllables,  # bursts separated by silence
        "zeros": np.zeros(n),
        "guard": 1e-20 * (1 - 2 * (index & 1)),  # what LoudnessMeter feeds during silence
        "square": np.where((index // 50) % 2 == 0, 1.0, -1.0),  # full scale
    }


def _state(sos: np.ndarray, seed: int = 0) -> np.ndarray:
    """A state the filter really reaches: after a second of loud noise."""
    x = np.random.default_rng(seed).standard_normal(20000) * 0.5
    return signal.sosfilt(sos, x, zi=np.zeros((len(sos), 2)))[1]


def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b), initial=0.0))


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("n", [1, 2, 3, 31, 32, 33, 1000, 65536, 65537])
def test_matches_scipy(rate, n):
    sos = k_weighting_sos(rate)
    zi = _state(sos)
    for name, x in _signals(n).items():
        y = sosfilt(sos, x)
        assert y.dtype == np.float64 and y.shape == x.shape
        assert _max_diff(y, signal.sosfilt(sos, x)) < TOLERANCE, name
        y, zf = sosfilt(sos, x, zi=zi)
        y_ref, zf_ref = signal.sosfilt(sos, x, zi=zi)
        assert zf.shape == (2, 2)
        assert _max_diff(y, y_ref) < TOLERANCE, name
        assert _max_diff(zf, zf_ref) < TOLERANCE, name


def test_five_million_samples():
    """Long inputs: no error growth (the square wave at 48 kHz is scipy's worst case)."""
    n = 5_000_000
    square = np.where((np.arange(n) // 50) % 2 == 0, 1.0, -1.0)
    noise = np.random.default_rng(11).standard_normal(n) * 0.3
    for rate, name, x in [(22050, "square", square), (44100, "square", square), (48000, "square", square), (48000, "noise", noise)]:
        sos = k_weighting_sos(rate)
        zi = _state(sos, seed=rate)
        y, zf = sosfilt(sos, x, zi=zi)
        y_ref, zf_ref = signal.sosfilt(sos, x, zi=zi)
        assert _max_diff(y, y_ref) < TOLERANCE, (rate, name)
        assert _max_diff(zf, zf_ref) < TOLERANCE, (rate, name)


@pytest.mark.parametrize("rate", RATES)
def test_chunked_matches_one_shot(rate):
    sos = k_weighting_sos(rate)
    rng = np.random.default_rng(rate)
    n = 300_000
    signals = _signals(n, seed=1)
    cuts = np.sort(rng.integers(0, n, 60))
    cuts = np.sort(np.concatenate(([0, n], cuts, cuts[:3], cuts[3:13] + 1, cuts[13:23] + 2, cuts[23:33] + 3)))
    cuts = np.clip(cuts, 0, n)  # chunks of 0, 1, 2, 3 samples and of many lengths
    zi = _state(sos)
    for name in ("noise", "square", "speech"):
        x = signals[name]
        whole, zf_whole = sosfilt(sos, x, zi=zi)
        state, parts = zi, []
        for start, stop in zip(cuts[:-1], cuts[1:]):
            part, state = sosfilt(sos, x[start:stop], zi=state)
            parts.append(part)
        assert _max_diff(np.concatenate(parts), whole) < 1e-13, name
        assert _max_diff(state, zf_whole) < 1e-13, name
        assert _max_diff(whole, signal.sosfilt(sos, x, zi=zi)[0]) < TOLERANCE, name


def test_loudness_meter_chunks_as_loudness_py_does():
    """65 536-sample chunks with the +-1e-20 guard and the state carried, as LoudnessMeter."""
    rate = 22050
    sos = k_weighting_sos(rate)
    x = _signals(1_000_000, seed=3)["speech"]
    x[300_000:700_000] = 0.0
    guarded = x + 1e-20 * (1 - 2 * (np.arange(x.size) & 1))
    ours, ref = np.zeros((2, 2)), np.zeros((2, 2))
    for start in range(0, x.size, 1 << 16):
        chunk = guarded[start : start + (1 << 16)]
        y, ours = sosfilt(sos, chunk, zi=ours)
        y_ref, ref = signal.sosfilt(sos, chunk, zi=ref)
        assert _max_diff(y, y_ref) < TOLERANCE
    assert _max_diff(ours, ref) < TOLERANCE


def test_drop_in_for_loudness(monkeypatch):
    rate = 22050
    x = _signals(400_000, seed=4)["speech"]
    expected = loudness.measure(x, rate)
    clip_expected = loudness.clip_level(x[:66150], rate)
    monkeypatch.setattr(loudness, "_sosfilt", lambda: sosfilt)
    got = loudness.measure(x, rate)
    assert got.integrated == pytest.approx(expected.integrated, abs=1e-9)
    assert got.max_short_term == pytest.approx(expected.max_short_term, abs=1e-9)
    assert loudness.clip_level(x[:66150], rate) == pytest.approx(clip_expected, abs=1e-9)


def _exact(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> np.ndarray:
    """scipy's recursion in 50-digit decimal arithmetic, rounded to float64 at the end."""
    with localcontext() as context:
        context.prec = 50
        coefficients = [[Decimal(float(v)) for v in row] for row in sos]
        delays = [[Decimal(float(v)) for v in row] for row in zi]
        out = []
        for sample in x:
            cur = Decimal(float(sample))
            for (b0, b1, b2, _, a1, a2), d in zip(coefficients, delays):
                new = b0 * cur + d[0]
                d[0] = b1 * cur - a1 * new + d[1]
                d[1] = b2 * cur - a2 * new
                cur = new
            out.append(float(cur))
    return np.array(out)


@pytest.mark.parametrize("rate", [22050, 48000])
def test_closer_to_exact_than_scipy(rate):
    sos = k_weighting_sos(rate)
    zi = _state(sos)
    n = 3000
    x = np.where((np.arange(n) // 50) % 2 == 0, 1.0, -1.0) + np.random.default_rng(5).standard_normal(n) * 0.1
    exact = _exact(sos, x, zi)
    ours = _max_diff(sosfilt(sos, x, zi=zi)[0], exact)
    assert ours < 1e-14
    assert ours <= _max_diff(signal.sosfilt(sos, x, zi=zi)[0], exact)


@pytest.mark.parametrize(
    "sos",
    [
        signal.butter(8, 0.1, output="sos"),
        signal.butter(4, 20, "highpass", fs=48000, output="sos"),
        signal.cheby1(6, 1, [0.2, 0.3], "bandpass", output="sos"),
        signal.ellip(5, 0.5, 60, 0.05, output="sos"),  # ends in a first-order section
        np.array([[0.5, 0.3, 0.2, 1.0, 0.0, 0.0]]),  # FIR
        np.array([[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]]),  # identity
        np.array([[0.1, 0.0, 0.0, 1.0, -0.9, 0.0]]),  # one pole
    ],
    ids=["butter8", "butter4-hp", "cheby-bp", "ellip5", "fir", "identity", "one-pole"],
)
def test_other_filters(sos):
    rng = np.random.default_rng(6)
    x = rng.standard_normal(70_000) * 0.3
    zi = _state(sos)
    y, zf = sosfilt(sos, x, zi=zi)
    y_ref, zf_ref = signal.sosfilt(sos, x, zi=zi)
    assert _max_diff(y, y_ref) < TOLERANCE
    assert _max_diff(zf, zf_ref) < TOLERANCE


def test_arbitrary_state():
    """A made-up zi (not one the filter reaches) rings up to ~100: compare relatively."""
    sos = k_weighting_sos(48000)
    zi = np.random.default_rng(7).standard_normal((2, 2))
    x = np.random.default_rng(8).standard_normal(20000) * 0.3
    y, zf = sosfilt(sos, x, zi=zi)
    y_ref, zf_ref = signal.sosfilt(sos, x, zi=zi)
    assert _max_diff(y, y_ref) < 1e-12 * np.abs(y_ref).max()
    assert _max_diff(zf, zf_ref) < 1e-12


def test_empty_input():
    sos = k_weighting_sos(22050)
    zi = _state(sos)
    y = sosfilt(sos, np.empty(0))
    assert y.shape == (0,) and y.dtype == np.float64
    y, zf = sosfilt(sos, np.empty(0), zi=zi)
    assert y.shape == (0,)
    np.testing.assert_array_equal(zf, zi)
    assert zf is not zi


def test_inputs_are_not_modified_and_converted_like_scipy():
    sos = k_weighting_sos(22050)
    x = np.random.default_rng(9).standard_normal(5000)
    zi = _state(sos)
    x_copy, zi_copy = x.copy(), zi.copy()
    sosfilt(sos, x, zi=zi)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(zi, zi_copy)
    for variant in (x.astype(np.float32), x[::3], list(x[:100]), (x * 1000).astype(np.int16)):
        y, y_ref = sosfilt(sos, variant), signal.sosfilt(sos, variant)
        assert y.dtype == np.float64
        assert _max_diff(y, y_ref) < TOLERANCE * max(1.0, float(np.abs(y_ref).max()))


@pytest.mark.parametrize(
    ("x", "zi"),
    [
        (np.r_[np.zeros(5000) + 0.1, np.nan, np.ones(3000)], None),
        (np.r_[np.ones(5000), np.inf, np.ones(3000)], None),
        (np.r_[-np.inf, np.ones(300)], None),
        (np.ones(3000), np.array([[np.nan, 0.0], [0.0, 0.0]])),
        (np.ones(3000), np.array([[0.0, 0.0], [np.inf, 0.0]])),
    ],
    ids=["nan", "inf", "leading-inf", "nan-state", "inf-state"],
)
def test_non_finite_like_scipy(x, zi):
    sos = k_weighting_sos(22050)
    zi = np.zeros((2, 2)) if zi is None else zi
    with np.errstate(all="ignore"):
        y, zf = sosfilt(sos, x, zi=zi)
        y_ref, zf_ref = signal.sosfilt(sos, x, zi=zi)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(y_ref))
    np.testing.assert_array_equal(np.isposinf(y), np.isposinf(y_ref))
    np.testing.assert_array_equal(np.isneginf(y), np.isneginf(y_ref))
    finite = np.isfinite(y_ref)
    assert _max_diff(y[finite], y_ref[finite]) < TOLERANCE
    np.testing.assert_array_equal(zf, zf_ref)


def test_long_silence_decays_without_denormal_trouble():
    """Unguarded silence after a signal: scipy's state sits in subnormals; ours reaches 0."""
    sos = k_weighting_sos(22050)
    x = np.zeros(300_000)
    x[:5000] = np.random.default_rng(10).standard_normal(5000) * 0.3
    y, zf = sosfilt(sos, x, zi=np.zeros((2, 2)))
    y_ref, zf_ref = signal.sosfilt(sos, x, zi=np.zeros((2, 2)))
    assert _max_diff(y, y_ref) < TOLERANCE
    assert _max_diff(zf, zf_ref) < 1e-300


@pytest.mark.parametrize(
    ("sos", "x", "zi"),
    [
        (np.ones((2, 5)), np.ones(10), None),
        (np.ones((1, 6, 1)), np.ones(10), None),
        (np.array([[1.0, 0.0, 0.0, 2.0, 0.0, 0.0]]), np.ones(10), None),  # a0 != 1
        (k_weighting_sos(22050), np.ones((2, 10)), None),
        (k_weighting_sos(22050), np.ones(10), np.zeros((2, 3))),
        (k_weighting_sos(22050), np.ones(10), np.zeros(4)),
    ],
)
def test_rejects_bad_arguments(sos, x, zi):
    with pytest.raises(ValueError):
        sosfilt(sos, x, zi=zi)
