"""The Info frame at the start of the MP3: frame and byte counts, TOC, and the LAME tag with the
true encoder delay and padding, laid out exactly as ffmpeg's muxer lays it out.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from pathlib import Path

import numpy as np

from ...base.errors import EncoderError
from ...system.ffmpeg import encode_failure as _encode_failure
from ...system.ffmpeg import messages as ffmpeg_messages
from ...system.ffmpeg import start as start_ffmpeg
from .encoders import ffmpeg_command, killpg
from .frames import FRAME, HEAD, LSF_BITRATES, crc16, frame_sizes_by_byte2, frames_for

_TEMPLATES: dict[tuple[str, int], tuple[bytes, int, int, int]] = {}
_TEMPLATE_LOCK = threading.Lock()


def info_template(ffmpeg: str, bitrate_k: int, shown: str, timeout: float,
                   workdir: Path | None = None) -> tuple[bytes, int, int, int]:
    """(Info frame as ffmpeg writes it, offset of "Info" in it, encoder delay, audio frame header),
    from a one-frame encode with Mp3Writer's command line, written in `workdir` (the output's own
    staging folder: nothing is written anywhere else)."""
    key = (ffmpeg, bitrate_k)
    with _TEMPLATE_LOCK:
        if key in _TEMPLATES:
            return _TEMPLATES[key]
    probe_samples = 2 * FRAME
    with tempfile.TemporaryDirectory(prefix=".rlsaudio-mp3par-", dir=workdir) as tmp:
        out = Path(tmp) / "probe.mp3"
        cmd = ffmpeg_command(ffmpeg, bitrate_k, "file:" + str(out))
        proc, errors = start_ffmpeg(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        try:
            proc.communicate(bytes(2 * probe_samples), timeout=timeout)
        except subprocess.TimeoutExpired:
            killpg(proc)
            proc.communicate()
            errors.close()
            raise EncoderError(f"{shown}: ffmpeg did not finish a one-frame encode in {timeout:.0f} s") from None
        message = ffmpeg_messages(errors).strip()
        if proc.returncode != 0 or message:
            raise _encode_failure(shown, message, proc.returncode)
        data = out.read_bytes() if out.exists() else b""
    bad = EncoderError(f"{shown}: ffmpeg's MP3 output is not what this encoder expects "
                       "(an Info frame with a LAME tag, then mono MPEG-2 layer III frames)")
    if len(data) < 4 or data[0] != 0xFF:
        raise bad
    try:
        sizes, per_frame, version = frame_sizes_by_byte2(data[1])
    except ValueError:
        raise bad from None
    size = sizes[data[2]]
    xoff = HEAD
    if (version != 2 or per_frame != FRAME or len(data) < size + 4 or size < xoff + 156
            or data[xoff:xoff + 4] != b"Info" or int.from_bytes(data[xoff + 4:xoff + 8], "big") != 0x0F):
        raise bad
    frames = int.from_bytes(data[xoff + 8:xoff + 12], "big")
    audio_ref = int.from_bytes(data[size:size + 4], "big")
    if (frames != frames_for(probe_samples) or (audio_ref >> 16) & 1 != 1 or audio_ref >> 6 & 3 != 3
            or LSF_BITRATES[(audio_ref >> 12) & 15] != bitrate_k or (audio_ref >> 10) & 3 != 0):
        raise bad
    delay = int.from_bytes(data[xoff + 141:xoff + 144], "big") >> 12
    result = (data[:size], xoff, delay, audio_ref & 0xFFFFFDFF)
    with _TEMPLATE_LOCK:
        _TEMPLATES[key] = result
    return result


def _toc_bags(frames: int) -> tuple[list[int], int]:
    """ffmpeg's mp3 muxer (after LAME's VbrTag.c) keeps 400 "bags": the frame counts at which it
    noted the byte count, halving them as the stream grows. Returns (frame counts, used)."""
    bags = [0] * 400
    count, want, seen, pos = 0, 1, 0, 0
    while count + (want - seen) <= frames:
        count += want - seen
        seen = 0
        bags[pos] = count
        pos += 1
        if pos == 400:
            bags[:200] = bags[1::2]
            want *= 2
            pos = 200
    return bags, pos


def build_info_frame(template: bytes, xoff: int, frame_sizes: np.ndarray, delay: int, padding: int,
                     music_crc: int) -> bytes:
    """The Info frame ffmpeg's muxer would write for these audio frames."""
    frame = bytearray(template)
    xsize = len(frame)
    frames = len(frame_sizes)
    cum = np.zeros(frames + 1, np.int64)
    np.cumsum(frame_sizes, out=cum[1:])
    total = xsize + int(cum[-1])
    frame[xoff:xoff + 4] = b"Info"
    frame[xoff + 8:xoff + 12] = frames.to_bytes(4, "big")
    frame[xoff + 12:xoff + 16] = total.to_bytes(4, "big")
    bags, used = _toc_bags(frames)
    toc = bytearray(100)
    for i in range(1, 100):
        j = i * used // 100
        bag = xsize + int(cum[bags[j]]) if used else 0
        toc[i] = min(256 * bag // total, 255)
    frame[xoff + 16:xoff + 116] = toc
    if not frames:
        delay = padding = 0  # ffmpeg saw no packet
    frame[xoff + 141:xoff + 144] = ((delay << 12) | padding).to_bytes(3, "big")
    frame[xoff + 148:xoff + 152] = total.to_bytes(4, "big")
    frame[xoff + 152:xoff + 154] = music_crc.to_bytes(2, "big")
    frame[xoff + 154:xoff + 156] = b"\0\0"
    tag_crc = crc16((bytes(frame) + bytes(190))[:190])
    frame[xoff + 154:xoff + 156] = tag_crc.to_bytes(2, "big")
    return bytes(frame)


