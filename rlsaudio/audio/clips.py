"""From an engine's raw output to a clip the mixer can place by sample offset.

Engines pad speech with their own silence (espeak: 10-20 ms before, up to 0.8 s after at
slow rates), which would make every gap in the timeline longer than planned. Clips are
therefore trimmed to the first and last audible 5 ms frame, leveled so every phrase has the
same loudness whatever the engine did, peak-limited, and given short fades so nothing clicks.
"""

from __future__ import annotations

import numpy as np

from ..base.units import SAMPLE_RATE

FRAME = SAMPLE_RATE // 200  # 5 ms
# A frame is the engine's padding when its RMS is 35 dB under the clip's loud frames (or
# under -65 dBFS at most): relative, so a quiet engine and a loud one are cut alike, and
# deep enough that no audible decay is lost. Crisp edges keep every gap exact.
TRIM_BELOW_LOUD_DB = 35.0
TRIM_FLOOR_DB = -65.0
KEEP_FRAMES = 1  # keep one quiet frame before the onset so soft consonants stay whole
MIN_RUN = 3  # frames (15 ms)
FADE_IN = SAMPLE_RATE * 4 // 1000
FADE_OUT = SAMPLE_RATE * 25 // 1000  # espeak stops mid-fricative; MP3 smears an abrupt end by ~30 ms
REFERENCE_LEVEL = -19.0  # every clip's K-weighted level after leveling (LUFS-like)
# Sample peak after leveling, 12 dB over the clip's level. A session's integrated loudness
# sits ~2.5 LU under its clips' level (pauses inside the gating blocks), so normalising
# raises peaks to about -4.5 dBFS: under the -2.5 dBTP PCM ceiling, and the MP3's decoded
# true peak stays under -1.5 dBTP.
PEAK_CEILING_DB = -7.0


def trim(samples: np.ndarray) -> np.ndarray:
    """The audible part of a clip, to the nearest 5 ms frame."""
    x = samples.astype(np.float32) / 32768.0
    frames = len(x) // FRAME
    if frames == 0:
        return samples[:0]
    rms_db = 10 * np.log10(np.mean(x[: frames * FRAME].reshape(frames, FRAME) ** 2, axis=1) + 1e-20)
    threshold = max(TRIM_FLOOR_DB, float(np.percentile(rms_db, 95)) - TRIM_BELOW_LOUD_DB)
    # Sound is a run of MIN_RUN loud frames: an isolated click in the padding (piper ends
    # some sentences with one, 140 ms after the words) does not extend the clip.
    above = (rms_db > threshold).astype(np.int8)
    runs = np.convolve(above, np.ones(MIN_RUN, dtype=np.int8), mode="valid") == MIN_RUN
    starts = np.flatnonzero(runs)
    if starts.size == 0:
        return samples[:0]
    loud = np.array([starts[0], starts[-1] + MIN_RUN - 1])
    first = max(0, loud[0] - KEEP_FRAMES) * FRAME
    last = min(len(x), (loud[-1] + 1) * FRAME)
    return samples[first:last]


def limit(x: np.ndarray, ceiling: float) -> np.ndarray:
    """A look-ahead true-peak limiter: gain dips smoothly around any peak above `ceiling`."""
    if x.size == 0:
        return x
    # Some voices put strong energy near Nyquist, whose inter-sample peaks were 5 dB over the
    # sample peaks; a limiter that only sees samples let those through to the MP3.
    from .loudness import true_peak_envelope

    peak = true_peak_envelope(x)
    if peak.max() <= ceiling:
        return x
    wanted = np.minimum(1.0, ceiling / np.maximum(peak, 1e-9))
    # Hold the lowest gain over +-3 ms, then smooth over 3 ms: the dip starts before the peak.
    window = SAMPLE_RATE * 3 // 1000
    padded = np.pad(wanted, window, mode="edge")
    held = np.lib.stride_tricks.sliding_window_view(padded, 2 * window + 1).min(axis=1)
    kernel = np.ones(window) / window
    smooth = np.convolve(np.pad(held, (window, 0), mode="edge"), kernel, mode="valid")[: len(x)]
    return x * np.minimum(smooth, held)


def fade(x: np.ndarray) -> np.ndarray:
    n_in, n_out = min(FADE_IN, len(x) // 2), min(FADE_OUT, len(x) // 2)
    out = x.copy()
    if n_in:
        out[:n_in] *= np.sin(np.linspace(0, np.pi / 2, n_in, endpoint=False)) ** 2
    if n_out:
        out[-n_out:] *= np.cos(np.linspace(0, np.pi / 2, n_out, endpoint=True)) ** 2
    return out


def prepare(raw: np.ndarray) -> tuple[np.ndarray, float]:
    """Trim, level, limit and fade a raw engine clip. Returns (int16 samples, original level)."""
    from .loudness import clip_level  # only on a cache miss

    trimmed = trim(raw)
    if trimmed.size < FRAME:
        return trimmed.astype(np.int16), float("-inf")
    x = trimmed.astype(np.float64) / 32768.0
    level = clip_level(x)
    x *= 10 ** ((REFERENCE_LEVEL - level) / 20)
    x = limit(x, 10 ** (PEAK_CEILING_DB / 20))
    x = fade(x)
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16), float(level)
