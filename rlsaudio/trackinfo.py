"""`rlsaudio inspect`: what a built track holds, read back from the file itself."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from .encode import find_ffmpeg
from .errors import InputError, Problem, RenderError
from .units import SAMPLE_RATE


def decoded_pcm_stats(path: Path) -> tuple[int, float, float]:
    """(samples, integrated LUFS, true peak dBTP) of the decoded audio, streamed through ffmpeg."""
    from .loudness import LoudnessMeter

    cmd = [find_ffmpeg(), "-nostdin", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1",
           "-ar", str(SAMPLE_RATE), "pipe:1"]
    meter = LoudnessMeter(SAMPLE_RATE)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    count = 0
    while True:
        data = proc.stdout.read(SAMPLE_RATE * 2 * 10)
        if not data:
            break
        samples = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2")
        meter.add(samples.astype(np.float32) / 32768.0)
        count += samples.size
    error = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
    if proc.wait() != 0 or count == 0:
        raise RenderError(f"{path}: ffmpeg could not decode it: {error.splitlines()[-1] if error else 'no audio'}")
    result = meter.result()
    return count, result.integrated, result.true_peak


def inspect_track(path: Path) -> dict[str, Any]:
    from .tags import read_tags

    if not path.exists():
        raise InputError(Problem(str(path), "no such file; give the path of an MP3 built by rlsaudio"))
    if path.is_dir():
        raise InputError(Problem(str(path), "is a folder; give the path of an MP3 file"))
    tags = read_tags(path)
    samples, lufs, peak = decoded_pcm_stats(path)
    return {
        "file": str(path),
        "title": tags.get("title"),
        "artist": tags.get("artist"),
        "album": tags.get("album"),
        "track": tags.get("track"),
        "genre": tags.get("genre"),
        "year": tags.get("year"),
        "comment": tags.get("comment"),
        "duration": round(samples / SAMPLE_RATE, 3),
        "loudness_lufs": round(lufs, 1),
        "true_peak_dbtp": round(peak, 1),
        "cover": tags.get("cover_mime") if tags.get("has_cover") else None,
        "transcript_lines": len((tags.get("transcript") or "").splitlines()),
        "chapters": [{"title": c.title, "start": c.start_ms / 1000, "end": c.end_ms / 1000}
                     for c in tags.get("chapters") or []],
    }
