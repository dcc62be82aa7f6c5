"""Synthesised tones: the chimes that open a hold, the closing bell, the breathing pacer.

No sample files: each tone is a deterministic function of its name, length and level.
Levels are set on the loudest 400 ms of the tone (its momentary loudness), relative to the
leveled voice, so a chime at -10 dB is always quieter than the words around it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..base.units import SAMPLE_RATE
from .clips import REFERENCE_LEVEL

TONES = ("chime", "chime-soft", "bell", "breath-in", "breath-out")


def _bell(n: int, base: float, partials: tuple[tuple[float, float, float], ...], attack_s: float) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE
    x = np.zeros(n)
    for ratio, amp, decay_s in partials:
        x += amp * np.sin(2 * np.pi * base * ratio * t) * np.exp(-t / decay_s)
    attack = max(1, int(attack_s * SAMPLE_RATE))
    x[:attack] *= np.linspace(0.0, 1.0, attack)
    return x


def _glide(n: int, f0: float, f1: float, rising: bool) -> np.ndarray:
    """A soft sine gliding from f0 to f1 that swells (breathing in) or ebbs (breathing out).

    Both ends ramp over 120 ms, so consecutive in/out tones meet at silence, never a click.
    """
    freq = np.linspace(f0, f1, n)
    phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE
    u = np.linspace(0.0, 1.0, n)
    envelope = np.sin(np.pi / 2 * u) ** 2 if rising else np.cos(np.pi / 2 * u) ** 2
    ramp = min(n // 2, SAMPLE_RATE * 120 // 1000)
    edges = np.ones(n)
    edges[:ramp] = np.linspace(0.0, 1.0, ramp)
    edges[n - ramp:] = np.minimum(edges[n - ramp:], np.linspace(1.0, 0.0, ramp))
    return (np.sin(phase) + 0.15 * np.sin(2 * phase)) * np.maximum(envelope, 0.25) * edges


def _shape(name: str, n: int) -> np.ndarray:
    if name == "chime":
        return _bell(n, 880.0, ((1.0, 1.0, 0.35), (2.0, 0.3, 0.2), (3.01, 0.12, 0.12)), 0.004)
    if name == "chime-soft":
        return _bell(n, 523.25, ((1.0, 1.0, 0.6), (2.0, 0.15, 0.3)), 0.03)
    if name == "bell":
        return _bell(n, 587.33, ((0.5, 0.6, 1.6), (1.0, 1.0, 1.2), (2.0, 0.35, 0.8), (2.76, 0.2, 0.5),
                                 (5.4, 0.08, 0.25)), 0.004)
    if name == "breath-in":
        return _glide(n, 196.0, 294.0, rising=True)
    if name == "breath-out":
        return _glide(n, 294.0, 196.0, rising=False)
    raise ValueError(f"unknown tone {name!r}")


def momentary_peak_db(x: np.ndarray) -> float:
    """The loudest 400 ms mean-square level of x (dB, unweighted), the whole of x if shorter."""
    window = min(len(x), SAMPLE_RATE * 2 // 5)
    squares = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
    means = (squares[window:] - squares[:-window]) / window
    return float(10 * np.log10(max(means.max(), 1e-20)))


@lru_cache(maxsize=16)
def tone(name: str, length: int, gain_db: float) -> np.ndarray:
    """float32 samples of a tone `length` samples long, at REFERENCE_LEVEL + gain_db."""
    x = _shape(name, length)
    end_fade = min(length, SAMPLE_RATE * 30 // 1000)  # always end at zero: no click at the cut
    x[length - end_fade:] *= np.linspace(1.0, 0.0, end_fade)
    x *= 10 ** ((REFERENCE_LEVEL + gain_db - momentary_peak_db(x)) / 20)
    out = x.astype(np.float32)
    out.flags.writeable = False
    return out
