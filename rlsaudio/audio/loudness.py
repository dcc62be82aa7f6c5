"""Streaming ITU-R BS.1770-4 / EBU R128 loudness of mono audio.

A whole session (hours at 22 050 Hz) is measured chunk by chunk with flat memory: the meter
keeps the K-weighting filter state and one sum of squares per 100 ms hop, never the samples.
Gating blocks (400 ms, 75 % overlap) and short-term windows (3 s) are both whole numbers of
hops, so they are rebuilt from the hop sums at the end. How the stream is cut changes the
filtered samples only at rounding level (the block filter in iir.py agrees with itself across
cuts to about 1e-14), so results agree far below any audible or reportable difference.

Mono is measured as one channel with weight 1.0 (BS.1770 channel sum of one channel); a
mono file played on both stereo speakers is sometimes counted 3 dB louder elsewhere.

The K-weighting runs through iir.py's numpy filter: rlsaudio needs no scipy at run time.
Its filter tables are built on first use, so builds that reuse a measured gain never pay.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# Analogue prototypes of the BS.1770 K-weighting stages, fitted to the 48 kHz table by
# B. De Man ("Evaluation of implementations of the EBU R128 loudness measurement", 2018);
# libebur128, ffmpeg and pyloudnorm's "DeMan" class use the same constants.
_SHELF_HZ = 1681.974450955533
_SHELF_GAIN_DB = 3.999843853973347
_SHELF_Q = 0.7071752369554196
_SHELF_VB_EXPONENT = 0.4996667741545416
_HIGHPASS_HZ = 38.13547087613982
_HIGHPASS_Q = 0.5003270373253953
_TABLE_RATE = 48000

_OFFSET_DB = -0.691
_ABSOLUTE_GATE_LUFS = -70.0
_RELATIVE_GATE_LU = -10.0
_HOPS_PER_SECOND = 10
_BLOCK_HOPS = 4
_SHORT_TERM_HOPS = 30
_MIN_RATE = 8000

# Bounds the temporaries per step (about 3 s at 22 050 Hz) and lets tiny chunks be batched.
_BATCH = 1 << 16
_DENORMAL_GUARD = 1e-20
_SILENT = 1e-30  # mean squares below this (-300 dB) are the guard signal, i.e. silence

# BS.1770-4 Annex 2 interpolator: 48-tap prototype, four phases of 12 taps (one row each).
_TRUE_PEAK_PHASES = np.array(
    [
        [0.0017089843750, 0.0109863281250, -0.0196533203125, 0.0332031250000,
         -0.0594482421875, 0.1373291015625, 0.9721679687500, -0.1022949218750,
         0.0476074218750, -0.0266113281250, 0.0148925781250, -0.0083007812500],
        [-0.0291748046875, 0.0292968750000, -0.0517578125000, 0.0891113281250,
         -0.1665039062500, 0.4650878906250, 0.7797851562500, -0.2003173828125,
         0.1015625000000, -0.0582275390625, 0.0330810546875, -0.0189208984375],
        [-0.0189208984375, 0.0330810546875, -0.0582275390625, 0.1015625000000,
         -0.2003173828125, 0.7797851562500, 0.4650878906250, -0.1665039062500,
         0.0891113281250, -0.0517578125000, 0.0292968750000, -0.0291748046875],
        [-0.0083007812500, 0.0148925781250, -0.0266113281250, 0.0476074218750,
         -0.1022949218750, 0.9721679687500, 0.1373291015625, -0.0594482421875,
         0.0332031250000, -0.0196533203125, 0.0109863281250, 0.0017089843750],
    ]
)
_TRUE_PEAK_TAPS = _TRUE_PEAK_PHASES.shape[1]
# Column layout turns "every phase at every position" into one matrix product.
_TRUE_PEAK_MATRIX = np.ascontiguousarray(_TRUE_PEAK_PHASES.T)
_TRUE_PEAK_GAIN = float(np.abs(_TRUE_PEAK_PHASES).sum(axis=1).max())  # the interpolator's worst-case gain
_PEAK_SEGMENT = 4096


@dataclass(frozen=True)
class Loudness:
    """Measurements of one mono signal. Silent or too short signals give -inf, never NaN."""

    integrated: float  # LUFS, gated (BS.1770-4)
    true_peak: float  # dBTP, 4x oversampled (BS.1770-4 Annex 2)
    sample_peak: float  # dBFS
    max_short_term: float  # LUFS, loudest 3 s window on the 100 ms grid
    duration_s: float


def k_weighting_sos(rate: int) -> np.ndarray:
    """Both K-weighting stages for `rate` as second-order sections (scipy `sos` layout)."""
    return np.array([_shelf_section(rate), _highpass_section(rate)])


def _denominator(centre_hz: float, q: float, rate: int) -> tuple[float, float, float]:
    """Bilinear-transform denominator (a0, a1/a0, a2/a0) of a prewarped 2nd-order section."""
    k = math.tan(math.pi * centre_hz / rate)
    a0 = 1.0 + k / q + k * k
    return a0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0


def _shelf_section(rate: int) -> list[float]:
    k = math.tan(math.pi * _SHELF_HZ / rate)
    vh = 10.0 ** (_SHELF_GAIN_DB / 20.0)
    vb = vh**_SHELF_VB_EXPONENT
    a0, a1, a2 = _denominator(_SHELF_HZ, _SHELF_Q, rate)
    b0 = (vh + vb * k / _SHELF_Q + k * k) / a0
    b1 = 2.0 * (k * k - vh) / a0
    b2 = (vh - vb * k / _SHELF_Q + k * k) / a0
    return [b0, b1, b2, 1.0, a1, a2]


def _highpass_section(rate: int) -> list[float]:
    # The 48 kHz table's numerator is [1, -2, 1], i.e. the normalised high-pass times that
    # rate's a0 (+0.043 dB passband gain). libebur128/ffmpeg keep [1, -2, 1] at every rate,
    # which lets the passband gain drift with the rate (+0.094 dB at 22 050 Hz); scaling by
    # a0(48 kHz) / a0(rate) keeps the table's response, so -0.691 stays calibrated.
    a0, a1, a2 = _denominator(_HIGHPASS_HZ, _HIGHPASS_Q, rate)
    gain = _denominator(_HIGHPASS_HZ, _HIGHPASS_Q, _TABLE_RATE)[0] / a0
    return [gain, -2.0 * gain, gain, 1.0, a1, a2]


class LoudnessMeter:
    """Feed mono chunks of any size with `add`, then read `result()` (any time, repeatedly).

    Memory is one float per 100 ms of audio (8 h: 288 000 floats) plus fixed buffers.
    """

    def __init__(self, rate: int = 22050) -> None:
        self.rate = _checked_rate(rate)
        self._sos = k_weighting_sos(self.rate)
        self._filter_state = np.zeros((2, 2))
        self._position = 0  # samples filtered so far
        # Zeros: the signal is taken to start from (and, in result(), end in) silence.
        self._peak_history = np.zeros(_TRUE_PEAK_TAPS - 1)
        self._true_peak = 0.0
        self._sample_peak = 0.0
        self._samples = 0
        self._unfinished_hop = np.empty(0)  # squared K-weighted samples after the last hop
        self._hop_energy = array("d")  # sum of squares per completed 100 ms hop
        self._staged: list[np.ndarray] = []
        self._staged_samples = 0

    def add(self, chunk: np.ndarray) -> None:
        """Measure the next samples: 1-D float in [-1, 1], or signed integer PCM."""
        samples = _mono(chunk)
        if samples.size >= _BATCH:
            self._flush_staged()
            for start in range(0, samples.size, _BATCH):
                self._process(_as_float64(samples[start : start + _BATCH]))
        elif samples.size:
            # One numpy pass per tiny chunk would dominate; copy since callers reuse buffers.
            self._staged.append(np.array(_as_float64(samples), copy=True))
            self._staged_samples += samples.size
            if self._staged_samples >= _BATCH:
                self._flush_staged()

    def result(self) -> Loudness:
        """Measurements so far; the stream can go on afterwards."""
        self._flush_staged()
        blocks = _window_mean_squares(self._hops(), _BLOCK_HOPS, self.rate)
        peak = max(self._true_peak, self._tail_peak(), self._sample_peak)
        return Loudness(
            integrated=_gated_loudness(blocks),
            true_peak=_decibels(peak),
            sample_peak=_decibels(self._sample_peak),
            max_short_term=_max_or_minus_inf(self.short_term()),
            duration_s=self._samples / self.rate,
        )

    def short_term(self) -> np.ndarray:
        """Short-term loudness (LUFS) of every complete 3 s window, stepped by 100 ms."""
        self._flush_staged()
        means = _window_mean_squares(self._hops(), _SHORT_TERM_HOPS, self.rate)
        return _lufs_array(means)

    def _flush_staged(self) -> None:
        if not self._staged:
            return
        joined = np.concatenate(self._staged)
        self._staged.clear()
        self._staged_samples = 0
        self._process(joined)

    def _process(self, x: np.ndarray) -> None:
        self._track_sample_peak(x)
        self._true_peak = max(self._true_peak, self._interpolated_peak(x))
        # In a long silence the filters' state decays into denormal floats, which made
        # sosfilt ~10x slower on a real session. A +-1e-20 alternation (-400 dB, a function
        # of the absolute sample index so chunking cannot change it) keeps the state normal.
        parity = (self._position + np.arange(x.size)) & 1
        guarded = x + _DENORMAL_GUARD * (1 - 2 * parity)
        self._position += x.size
        weighted, self._filter_state = _sosfilt()(self._sos, guarded, zi=self._filter_state)
        self._add_energy(weighted * weighted)

    def _track_sample_peak(self, x: np.ndarray) -> None:
        peak = max(float(x.max()), -float(x.min()))
        if not math.isfinite(peak):
            raise ValueError("samples contain NaN or infinity")
        self._sample_peak = max(self._sample_peak, peak)

    def _interpolated_peak(self, x: np.ndarray) -> float:
        window = np.concatenate((self._peak_history, x))
        self._peak_history = window[-(_TRUE_PEAK_TAPS - 1) :].copy()
        # Interpolating is most of the meter's work, and a segment whose samples stay under
        # best / _TRUE_PEAK_GAIN cannot interpolate above best (each phase's taps sum to at
        # most _TRUE_PEAK_GAIN in absolute value): skip it. Speech is mostly such segments.
        best = self._true_peak
        overlap = _TRUE_PEAK_TAPS - 1
        for start in range(0, max(0, window.size - overlap), _PEAK_SEGMENT):
            part = window[start : start + _PEAK_SEGMENT + overlap]
            if float(np.abs(part).max()) * _TRUE_PEAK_GAIN > best:
                best = max(best, _oversampled_peak(part))
        return best

    def _tail_peak(self) -> float:
        # The last samples' interpolation needs the taps after them; a file ends in silence.
        return _oversampled_peak(np.concatenate((self._peak_history, np.zeros(_TRUE_PEAK_TAPS - 1))))

    def _add_energy(self, squares: np.ndarray) -> None:
        squares = np.concatenate((self._unfinished_hop, squares))
        first_hop = len(self._hop_energy)
        start = _hop_boundary(first_hop, self.rate)
        self._samples = start + squares.size
        end_hop = _hops_completed_by(self._samples, self.rate)
        if end_hop > first_hop:
            edges = [_hop_boundary(k, self.rate) - start for k in range(first_hop, end_hop + 1)]
            self._hop_energy.extend(_segment_sums(squares, edges).tolist())
            squares = squares[edges[-1] :]
        self._unfinished_hop = squares.copy()

    def _hops(self) -> np.ndarray:
        # A copy: an array.array cannot grow while a numpy view exports its buffer.
        return np.frombuffer(self._hop_energy, dtype=np.float64).copy() if self._hop_energy else np.empty(0)


def measure(samples: np.ndarray, rate: int = 22050) -> Loudness:
    """Loudness of a whole mono signal held in memory."""
    meter = LoudnessMeter(rate)
    meter.add(samples)
    return meter.result()


def short_term_series(samples: np.ndarray, rate: int = 22050) -> np.ndarray:
    """3 s short-term loudness (LUFS) per 100 ms step; empty for signals under 3 s."""
    meter = LoudnessMeter(rate)
    meter.add(samples)
    return meter.short_term()


def clip_level(samples: np.ndarray, rate: int = 22050) -> float:
    """K-weighted mean-square level of a short clip: -0.691 + 10 log10(mean), in LUFS-like dB.

    Ungated and not an integrated loudness: clips shorter than one 400 ms gating block
    have no BS.1770 loudness at all, yet speech clips still need leveling against each
    other. Silence inside the clip lowers the level, so trim clips first. Returns -inf for
    silent or empty input. Holds the whole clip: use LoudnessMeter for long audio.
    """
    x = _as_float64(_mono(samples))
    if not x.size:
        return float("-inf")
    weighted = _sosfilt()(k_weighting_sos(_checked_rate(rate)), x)
    return _lufs(float(np.mean(weighted * weighted)))


def _sosfilt():
    from .iir import sosfilt

    return sosfilt


def _checked_rate(rate: int) -> int:
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate < _MIN_RATE:
        raise ValueError(f"sample rate must be an integer of at least {_MIN_RATE} Hz, got {rate!r}")
    return int(rate)


def _mono(chunk: np.ndarray) -> np.ndarray:
    samples = np.asarray(chunk)
    if samples.ndim != 1:
        raise ValueError(f"expected 1-D mono samples, got shape {samples.shape}")
    return samples


def _as_float64(samples: np.ndarray) -> np.ndarray:
    if samples.dtype.kind == "f":
        return samples.astype(np.float64, copy=False)
    if samples.dtype.kind == "i":
        return samples.astype(np.float64) / float(2 ** (8 * samples.dtype.itemsize - 1))
    raise TypeError(f"expected float or signed integer samples, got {samples.dtype}")


def _hop_boundary(hop: int, rate: int) -> int:
    """First sample of 100 ms hop `hop`; floor keeps rates like 11 025 Hz on an exact grid."""
    return hop * rate // _HOPS_PER_SECOND


def _hops_completed_by(samples: int, rate: int) -> int:
    """Largest k with _hop_boundary(k) <= samples."""
    return ((samples + 1) * _HOPS_PER_SECOND - 1) // rate


def _segment_sums(values: np.ndarray, edges: list[int]) -> np.ndarray:
    # Each hop is summed on its own, from the values of that hop only, whatever chunk brought
    # them: chunking cannot move energy from one hop to another.
    lengths = {b - a for a, b in zip(edges, edges[1:])}
    if len(lengths) == 1:
        return values[: edges[-1]].reshape(-1, lengths.pop()).sum(axis=1)
    return np.array([values[a:b].sum() for a, b in zip(edges, edges[1:])])


def _window_mean_squares(hop_energy: np.ndarray, hops: int, rate: int) -> np.ndarray:
    """Mean square of every window of `hops` consecutive hops."""
    count = hop_energy.size - hops + 1
    if count <= 0:
        return np.empty(0)
    sums = sliding_window_view(hop_energy, hops).sum(axis=1)
    first = np.arange(count, dtype=np.int64)
    lengths = (first + hops) * rate // _HOPS_PER_SECOND - first * rate // _HOPS_PER_SECOND
    return sums / lengths


def _gated_loudness(block_mean_squares: np.ndarray) -> float:
    """BS.1770-4 integrated loudness from the 400 ms blocks' mean squares."""
    # Gating on mean squares avoids log10(0) for silent blocks; the thresholds map 1:1.
    audible = block_mean_squares[block_mean_squares > _mean_square(_ABSOLUTE_GATE_LUFS)]
    if not audible.size:
        return float("-inf")
    relative = float(audible.mean()) * 10.0 ** (_RELATIVE_GATE_LU / 10.0)
    return _lufs(float(audible[audible > relative].mean()))


def _mean_square(lufs: float) -> float:
    return 10.0 ** ((lufs - _OFFSET_DB) / 10.0)


def _lufs(mean_square: float) -> float:
    return _OFFSET_DB + 10.0 * math.log10(mean_square) if mean_square > _SILENT else float("-inf")


def _lufs_array(mean_squares: np.ndarray) -> np.ndarray:
    logs = np.full(mean_squares.shape, -np.inf)
    np.log10(mean_squares, out=logs, where=mean_squares > _SILENT)
    return _OFFSET_DB + 10.0 * logs


def true_peak_envelope(x: np.ndarray) -> np.ndarray:
    """Per sample, the largest magnitude of the sample and its three 4x-interpolated neighbours
    after it (BS.1770-4 Annex 2): the peaks between samples that a limiter must see too."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return x
    half = _TRUE_PEAK_TAPS // 2
    padded = np.concatenate((np.zeros(half - 1), x, np.zeros(half)))
    phases = sliding_window_view(padded, _TRUE_PEAK_TAPS) @ _TRUE_PEAK_MATRIX
    return np.maximum(np.abs(phases).max(axis=1), np.abs(x))


def _oversampled_peak(window: np.ndarray) -> float:
    """Largest |value| of the 4x interpolation over `window` (needs 12 samples per output)."""
    if window.size < _TRUE_PEAK_TAPS:
        return 0.0
    phases = sliding_window_view(window, _TRUE_PEAK_TAPS) @ _TRUE_PEAK_MATRIX
    return max(float(phases.max()), -float(phases.min()))


def _decibels(amplitude: float) -> float:
    return 20.0 * math.log10(amplitude) if amplitude > 0 else float("-inf")


def _max_or_minus_inf(values: np.ndarray) -> float:
    return float(values.max()) if values.size else float("-inf")
