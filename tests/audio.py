"""Measuring rendered audio in tests: decode MP3s and find their silences."""

from __future__ import annotations

import subprocess

import imageio_ffmpeg
import numpy as np

SR = 22050
FRAME = SR // 400  # 2.5 ms
SILENCE_DB = -54.0


def ffmpeg() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def decode(path) -> np.ndarray:
    """The MP3's PCM as float32, decoded by ffmpeg (which honours the gapless header)."""
    out = subprocess.run([ffmpeg(), "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", str(SR), "-"],
                         capture_output=True, check=True)
    return np.frombuffer(out.stdout, dtype="<i2").astype(np.float32) / 32768.0


def silent_frames(x: np.ndarray, threshold_db: float = SILENCE_DB) -> np.ndarray:
    n = len(x) // FRAME
    peaks = np.abs(x[: n * FRAME]).reshape(n, FRAME).max(axis=1)
    return peaks < 10 ** (threshold_db / 20)


def silent_run_around(quiet: np.ndarray, seconds: float) -> tuple[float, float]:
    """(start, end) in seconds of the silent stretch containing `seconds`, in a track's
    `silent_frames` (worked out once by the caller, which asks about many silences)."""
    i = int(seconds * SR) // FRAME
    if not quiet[i]:
        raise AssertionError(f"not silent at {seconds:.3f}s")
    a = i
    while a > 0 and quiet[a - 1]:
        a -= 1
    b = i
    while b + 1 < len(quiet) and quiet[b + 1]:
        b += 1
    return a * FRAME / SR, (b + 1) * FRAME / SR


def planned_silences(plan: dict, minimum: float = 0.3) -> list[tuple[float, float, str]]:
    """Runs of consecutive planned silence events: (start, end, reasons)."""
    runs: list[list] = []
    for e in plan["events"]:
        if e["kind"] == "silence":
            if runs and abs(runs[-1][1] - e["start"]) < 1e-6:
                runs[-1][1] = e["start"] + e["duration"]
                runs[-1][2] += "+" + e["reason"]
                continue
            runs.append([e["start"], e["start"] + e["duration"], e["reason"]])
    return [(a, b, r) for a, b, r in runs if b - a >= minimum]


def ebur128(path) -> tuple[float, float]:
    """Integrated loudness and true peak by ffmpeg's own meter, an independent check."""
    summary = _ebur128_summary(path, "ebur128=peak=true")
    integrated = float(summary.split("I:")[1].split("LUFS")[0])
    peak = float(summary.split("Peak:")[1].split("dBFS")[0])
    return integrated, peak


def integrated_loudness(path) -> float:
    """Integrated loudness alone by ffmpeg's meter: a third of the time, without the true peak's
    oversampling (9.5 s against 2.9 s for 32 minutes)."""
    summary = _ebur128_summary(path, "ebur128")
    return float(summary.split("I:")[1].split("LUFS")[0])


def _ebur128_summary(path, meter: str) -> str:
    out = subprocess.run([ffmpeg(), "-nostats", "-i", str(path), "-af", meter, "-f", "null", "-"],
                         capture_output=True, text=True, check=True).stderr
    return out[out.rindex("Summary:"):]


def ffmetadata(path) -> str:
    out = subprocess.run([ffmpeg(), "-v", "error", "-i", str(path), "-f", "ffmetadata", "-"],
                         capture_output=True, text=True, check=True)
    return out.stdout


def stream_layout(path) -> str:
    """The channel layout a decoder gives the listener ("mono", "stereo"), as ffmpeg describes the
    audio stream: what is heard, where container headers disagree (Debian's ffmpeg 5.1 writes a
    channel count of 2 in an M4B's sample entry for mono AAC, which mutagen then reports)."""
    import re

    done = subprocess.run([ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    match = re.search(r"Stream #\S+.*?Audio: [^\n]*?, \d+ Hz, ([a-z0-9.() ]+?)(?:,|\n|$)", done.stderr)
    assert match, done.stderr
    return match.group(1).strip()
