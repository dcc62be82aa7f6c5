"""Background soundscapes: generated brown or pink noise, or a user's audio file, looped.

A soundscape is a periodic buffer read at `absolute sample % period`, so any chunk of an
eight-hour track can be produced on its own and every chunk joins the next without a seam.
Generated noise is shaped in the frequency domain, which makes it exactly periodic; a
user's file is made periodic by crossfading its end into its beginning.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..base import limits
from ..base.errors import InputError, Problem, at_origin
from ..base.safeio import FileKind, check_regular
from ..base.units import SAMPLE_RATE
from ..system.ffmpeg import decode_all
from .clips import REFERENCE_LEVEL

NOISES = ("brown", "pink")
NOISE_PERIOD_S = 47  # long enough that no listener hears the repeat
LOOP_CROSSFADE_S = 2.0


@dataclass(frozen=True)
class Soundscape:
    buffer: np.ndarray  # float32, one period, leveled to REFERENCE_LEVEL
    identity: str  # what it is, for cache keys

    def segment(self, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop) of the endless loop, as slices of the period (no index arrays)."""
        period = len(self.buffer)
        parts, position = [], start
        while position < stop:
            offset = position % period
            take = min(stop - position, period - offset)
            parts.append(self.buffer[offset:offset + take])
            position += take
        return np.concatenate(parts) if len(parts) != 1 else parts[0].copy()


def _level_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-20))


def _leveled(x: np.ndarray) -> np.ndarray:
    """Scale to REFERENCE_LEVEL (mean square), so mix settings say levels relative to the voice."""
    return (x * 10 ** ((REFERENCE_LEVEL - _level_db(x)) / 20)).astype(np.float32)


def noise(kind: str, seconds: int = NOISE_PERIOD_S) -> Soundscape:
    n = seconds * SAMPLE_RATE
    rng = np.random.default_rng(20261121)
    spectrum = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    freqs[0] = 1.0
    slope = 1.0 / freqs if kind == "brown" else 1.0 / np.sqrt(freqs)  # power ~ 1/f^2 or 1/f
    # Below 30 Hz brown noise is rumble a phone speaker cannot play; above 6 kHz it hisses.
    slope *= 1.0 / (1.0 + (30.0 / freqs) ** 4) / (1.0 + (freqs / 6000.0) ** 2)
    spectrum *= slope
    spectrum[0] = 0.0
    x = np.fft.irfft(spectrum, n)
    return Soundscape(_leveled(x), f"noise:{kind}:{seconds}")


SOUNDSCAPE_KIND = FileKind("soundscape", "give brown, pink or an audio file")


def from_file(path: Path, ffmpeg: str, origin: Problem | None = None) -> Soundscape:
    """Decode any audio file ffmpeg can read to 22.05 kHz mono and make it loop seamlessly."""
    shown = str(path)
    try:
        check_regular(path, shown, SOUNDSCAPE_KIND, InputError)
        x16, problem = decode_all(path, ffmpeg=ffmpeg, max_seconds=limits.MAX_SOUNDSCAPE_S)
        x = x16.astype(np.float32) / 32768.0
        if problem or x.size < SAMPLE_RATE * 5:
            why = problem or "shorter than 5 seconds"
            raise InputError(Problem(shown, f"not a usable audio file ({why}); give a WAV, MP3, FLAC or OGG of 5 s "
                                            "or more"))
        if _level_db(x) < -70:
            raise InputError(Problem(shown, "the soundscape file is silent; give a file with sound in it"))
    except InputError as exc:
        raise InputError([at_origin(origin, p) for p in exc.problems]) from None
    digest = hashlib.sha256(x.tobytes()).hexdigest()[:16]
    return Soundscape(_leveled(_make_loop(x)), f"file:{digest}")


def _make_loop(x: np.ndarray) -> np.ndarray:
    """Crossfade the last LOOP_CROSSFADE_S into the first, equal power: x[-1] flows into x[0]."""
    fade = min(int(LOOP_CROSSFADE_S * SAMPLE_RATE), len(x) // 4)
    body = x[: len(x) - fade].copy()
    u = np.linspace(0.0, np.pi / 2, fade, endpoint=False)
    body[:fade] = x[:fade] * np.sin(u) + x[len(x) - fade:] * np.cos(u)
    return body


def resolve(spec: str | None, ffmpeg: str | None, origin: Problem | None = None) -> Soundscape | None:
    if not spec:
        return None
    if spec in NOISES:
        return noise(spec)
    if ffmpeg is None:
        raise InputError(Problem(spec, "cannot read a soundscape file without ffmpeg"))
    return from_file(Path(spec).expanduser(), ffmpeg, origin)
