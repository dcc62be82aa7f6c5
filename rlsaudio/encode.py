"""PCM -> MP3 through ffmpeg's libmp3lame, streamed.

Why ffmpeg and not pydub's export or lameenc: pydub's export needs the whole track as one
AudioSegment (1.3 GB for an 8-hour track); lameenc writes no Xing/LAME header, so players
cannot trim the encoder delay and every event would land ~50 ms late. ffmpeg writes that
header, takes PCM on a pipe, and encodes on the second core while Python mixes the next
chunk. The binary is the system's `ffmpeg` when it has libmp3lame, else the one shipped in
the imageio-ffmpeg wheel; pydub is pointed at the same binary.
"""

from __future__ import annotations

import math
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
from functools import cache
from pathlib import Path

import numpy as np

from .errors import EncoderError, InputError, OutputError, Problem
from .units import SAMPLE_RATE

# LAME scales its input by 0.95 (measured through ffmpeg's libmp3lame: a 1 kHz sine and
# noise both decode 0.446 dB quieter, at every bitrate). The mix is raised by this much
# before encoding so the delivered MP3, not our PCM, hits the loudness target.
CODEC_GAIN_DB = -20 * math.log10(0.95)

# MPEG-2 layer III, the only MP3 flavour for 22.05 kHz audio, allows these CBR rates.
BITRATES_K = (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)


def parse_bitrate(text: str) -> int:
    value = text.strip().lower().removesuffix("k").removesuffix("bps").removesuffix("k")
    if not value.isdigit() or int(value) not in BITRATES_K:
        raise InputError(Problem("--bitrate", f"{text!r} is not an MP3 bitrate for 22.05 kHz audio; use one of "
                                 + ", ".join(f"{b}k" for b in BITRATES_K)))
    return int(value)


@cache
def _has_mp3_encoder(binary: str) -> bool:
    try:
        out = subprocess.run([binary, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "libmp3lame" in out.stdout


def find_ffmpeg() -> str:
    """The ffmpeg to use: $RLSAUDIO_FFMPEG, else a system one with libmp3lame, else the wheel's."""
    override = os.environ.get("RLSAUDIO_FFMPEG")
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise EncoderError(f"RLSAUDIO_FFMPEG={override} is not an executable ffmpeg; fix or unset it")
        return override
    system = shutil.which("ffmpeg")
    if system and _has_mp3_encoder(system):
        return system
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # ImportError, or RuntimeError when the wheel has no binary for this platform
        raise EncoderError("no ffmpeg found: pip install imageio-ffmpeg (scripts/run does) "
                           "or install ffmpeg with libmp3lame") from None


def audio_segment_class():
    """pydub's AudioSegment, imported without its import-time warnings (no ffmpeg on PATH,
    audioop deprecation): pydub decides its converter at import, we set it when we need it."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pydub import AudioSegment
    return AudioSegment


def configure_pydub(ffmpeg: str) -> None:
    audio_segment_class().converter = ffmpeg


class Mp3Writer:
    """Streams int16 chunks into ffmpeg; `close()` waits and turns failures into clear errors.

    A writer thread feeds the pipe so the caller can mix the next chunk while ffmpeg encodes.
    The file at `path` is a temporary one: the caller renames it into place when complete.
    """

    def __init__(self, path: Path, bitrate_k: int = 64, ffmpeg: str | None = None, shown: str | None = None):
        self.path = path
        self.shown = shown or str(path)
        self._queue: queue.Queue = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._stderr = tempfile.TemporaryFile()
        cmd = [
            ffmpeg or find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0",
            "-map_metadata", "-1", "-c:a", "libmp3lame", "-b:a", f"{bitrate_k}k",
            "-id3v2_version", "0", "-write_id3v1", "0", "-write_xing", "1", "-f", "mp3", str(path),
        ]
        try:
            # Its own session: Ctrl-C reaches Python, which stops ffmpeg and removes the file,
            # instead of ffmpeg finishing a half track on its own.
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr,
                                          start_new_session=True)
        except OSError as exc:
            raise EncoderError(f"could not start ffmpeg ({cmd[0]}): {exc.strerror or exc}") from None
        self._thread = threading.Thread(target=self._feed, name="rlsaudio-encode", daemon=True)
        self._thread.start()

    def _feed(self) -> None:
        assert self._proc.stdin is not None
        while True:
            data = self._queue.get()
            if data is None:
                break
            if self._error is None:
                try:
                    self._proc.stdin.write(data)
                except (BrokenPipeError, OSError) as exc:
                    self._error = exc
        try:
            self._proc.stdin.close()
        except OSError:
            pass

    def write(self, pcm: np.ndarray) -> None:
        if self._error is not None:
            self.close()  # raises with ffmpeg's reason
        self._queue.put(pcm.astype("<i2", copy=False).tobytes())

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        code = self._proc.wait()
        self._stderr.seek(0)
        message = self._stderr.read().decode(errors="replace").strip()
        self._stderr.close()
        if code != 0:
            raise _encode_failure(self.shown, message, code)

    def abort(self) -> None:
        """Stop ffmpeg at once (Ctrl-C, an error upstream); the caller removes the file."""
        self._proc.kill()
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass
        self._proc.wait()
        self._stderr.close()


LAME_DECODER_DELAY = 529  # samples every mp3 decoder adds, on top of the encoder's delay


def gapless_skip(path: Path) -> int:
    """Samples a gapless decoder (ffmpeg, mpv) drops from the start of this MP3: the encoder
    delay stored in its Xing/Info LAME tag plus the decoder delay. 0 if there is no such tag.

    ffmpeg also shifts ID3 chapter times by this much, so chapters are written this much
    later than planned to land on the words in players that trim the delay.
    """
    with open(path, "rb") as f:
        head = f.read(10)
        if head[:3] == b"ID3":  # skip an ID3v2 tag: a syncsafe size after the 10-byte header
            f.seek(10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(head[6:10])))
        else:
            f.seek(0)
        head = f.read(4096)
    for marker in (b"Info", b"Xing"):
        at = head.find(marker)
        if at == -1:
            continue
        flags = int.from_bytes(head[at + 4:at + 8], "big")
        lame = at + 8 + 4 * bool(flags & 1) + 4 * bool(flags & 2) + 100 * bool(flags & 4) + 4 * bool(flags & 8)
        fields = head[lame + 21:lame + 24]  # after version(9) rev(1) lowpass(1) peak(4) gains(4) flags(1) abr(1)
        if len(fields) == 3:
            delay = (fields[0] << 4) | (fields[1] >> 4)
            return delay + LAME_DECODER_DELAY
    return 0


def _encode_failure(shown: str, message: str, code: int) -> Exception:
    lowered = message.lower()
    if "no space left" in lowered or "file too large" in lowered or "disk quota" in lowered:
        return OutputError(f"{shown}: the disk is full ({message.splitlines()[-1]}); free some space and build again")
    if code == -signal.SIGXFSZ:  # a file size limit (ulimit -f) kills the writer outright
        return OutputError(f"{shown}: the disk is full (file size limit reached); free some space and build again")
    if "permission denied" in lowered:
        return OutputError(f"{shown}: permission denied; choose a folder you can write with -o")
    last = message.splitlines()[-1] if message else f"exit status {code}"
    return EncoderError(f"{shown}: ffmpeg failed to encode: {last}")
