"""PCM -> an audio file through ffmpeg, streamed; and the checks that the file is whole.

Why ffmpeg and not pydub's export or lameenc: pydub's export needs the whole track as one
AudioSegment (1.3 GB for an 8-hour track); lameenc writes no Xing/LAME header, so players
cannot trim the encoder delay and every event would land ~50 ms late. ffmpeg writes that
header, takes PCM on a pipe, and encodes on another core while Python mixes the next chunk.

A writer's file is a temporary one in a private staging folder: the caller verifies it
against the plan and commits it. `close()` fails when ffmpeg fails, when ffmpeg reports a
write error (even with exit status 0), and when ffmpeg stops taking audio for too long.
"""

from __future__ import annotations

import math
import queue
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from . import ffmpeg as ff
from . import threads
from . import limits
from .errors import EncoderError, InputError, OutputError, Problem
from .units import SAMPLE_RATE

# LAME scales its input by 0.95 (measured through ffmpeg's libmp3lame: a 1 kHz sine and
# noise both decode 0.446 dB quieter, at every bitrate). The mix is raised by this much
# before encoding so the delivered MP3, not our PCM, hits the loudness target.
CODEC_GAIN_DB = -20 * math.log10(0.95)

# MPEG-2 layer III, the only MP3 flavour for 22.05 kHz audio, allows these CBR rates.
BITRATES_K = (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)


def parse_bitrate(text: str, origin: Problem | None = None) -> int:
    value = text.strip().lower().removesuffix("k").removesuffix("bps").removesuffix("k")
    if not value.isdigit() or int(value) not in BITRATES_K:
        base = origin or Problem("--bitrate", "")
        raise InputError(Problem(base.file, f"{text!r} is not an MP3 bitrate for 22.05 kHz audio; use one of "
                                 + ", ".join(f"{b}k" for b in BITRATES_K), base.place, base.line))
    return int(value)


class StreamWriter:
    """Streams int16 chunks into one ffmpeg process writing `path`.

    A feeder thread writes the pipe, so the caller can mix the next chunk while ffmpeg encodes.
    """

    def __init__(self, path: Path, codec_args: list[str], ffmpeg: str | None = None, shown: str | None = None,
                 stall_s: float | None = None):
        self.path = path
        self.shown = shown or str(path)
        self.stall_s = stall_s or limits.ffmpeg_stall_s()
        self._queue: queue.Queue = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._stderr = tempfile.TemporaryFile()
        cmd = [
            ffmpeg or ff.find(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0",
            "-map_metadata", "-1", *codec_args, ff.file_url(path),
        ]
        try:
            # Its own session: Ctrl-C reaches Python, which stops ffmpeg and removes the file,
            # instead of ffmpeg finishing a half track on its own.
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr,
                                          start_new_session=True)
        except OSError as exc:
            self._stderr.close()
            raise EncoderError(f"could not start ffmpeg ({cmd[0]}): {exc.strerror or exc}") from None
        self._thread = threads.start(self._feed, "rlsaudio-encode")

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
        try:
            self._queue.put(pcm.astype("<i2", copy=False).tobytes(), timeout=self.stall_s)
        except queue.Full:
            self.abort()
            raise EncoderError(f"{self.shown}: ffmpeg stopped taking audio for {self.stall_s:g}s and was stopped; "
                               "try again, or set RLSAUDIO_FFMPEG to another ffmpeg") from None

    def close(self) -> None:
        deadline = time.monotonic() + self.stall_s
        try:
            self._queue.put(None, timeout=self.stall_s)
        except queue.Full:
            pass
        self._thread.join(max(0.0, deadline - time.monotonic()))
        try:
            code = self._proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.abort()
            raise EncoderError(f"{self.shown}: ffmpeg did not finish within {self.stall_s:g}s and was stopped; "
                               "try again, or set RLSAUDIO_FFMPEG to another ffmpeg") from None
        self._stderr.seek(0)
        message = self._stderr.read().decode(errors="replace").strip()
        self._stderr.close()
        failure = ff.write_error(message)
        if code != 0 or failure:
            raise encode_failure(self.shown, failure or message, code)
        if not self.path.exists() or self.path.stat().st_size == 0:
            raise EncoderError(f"{self.shown}: ffmpeg finished without writing the file; "
                               "set RLSAUDIO_FFMPEG to a working ffmpeg")

    def abort(self) -> None:
        """Stop ffmpeg at once (Ctrl-C, an error upstream); the caller removes the file."""
        if self._proc.poll() is None:
            self._proc.kill()
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass
        self._proc.wait()
        if not self._stderr.closed:
            self._stderr.close()


def mp3_args(bitrate_k: int) -> list[str]:
    return ["-c:a", "libmp3lame", "-b:a", f"{bitrate_k}k", "-id3v2_version", "0", "-write_id3v1", "0",
            "-write_xing", "1", "-f", "mp3"]


class Mp3Writer(StreamWriter):
    """MP3, constant bitrate, with the Xing/LAME header that makes decoding gapless."""

    def __init__(self, path: Path, bitrate_k: int = 64, ffmpeg: str | None = None, shown: str | None = None):
        super().__init__(path, mp3_args(bitrate_k), ffmpeg, shown)


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


def encode_failure(shown: str, message: str, code: int) -> Exception:
    lowered = message.lower()
    last = ff.last_line(message, f"exit status {code}")
    if "no space left" in lowered or "file too large" in lowered or "disk quota" in lowered:
        return OutputError(f"{shown}: the disk is full ({last}); free some space and build again")
    if code == -signal.SIGXFSZ:  # a file size limit (ulimit -f) kills the writer outright
        return OutputError(f"{shown}: the disk is full (file size limit reached); free some space and build again")
    if "permission denied" in lowered or "read-only file system" in lowered:
        return OutputError(f"{shown}: the folder cannot be written; choose a folder you can write with -o")
    return EncoderError(f"{shown}: ffmpeg failed to encode: {last}")


class AudioFormat:
    """One output format: its file suffix, how to write it, and how to check a written file."""

    name = ""
    suffix = ""
    mime = ""
    codec_gain_db = 0.0  # the encoder's own gain, made up for in the mix
    decode_slack = 0  # samples a decoder may legitimately add or drop at the end

    def writer(self, path: Path, bitrate_k: int, ffmpeg: str, shown: str, samples: int) -> StreamWriter:
        raise NotImplementedError

    def decoded_samples(self, path: Path, ffmpeg: str) -> int:
        """How many samples a player decodes from the file."""
        pcm, problem = ff.decode_all(path, ffmpeg=ffmpeg)
        if problem:
            raise ValueError(problem)
        return int(pcm.size)

    def verify(self, path: Path, samples: int, ffmpeg: str, shown: str) -> None:
        """The written file decodes to exactly the planned length, or OutputError: never commit a short track."""
        try:
            got = self.decoded_samples(path, ffmpeg)
        except (OSError, ValueError) as exc:
            raise OutputError(f"{shown}: the written file is damaged ({exc}); check the disk (is it full?) "
                              "and build again") from None
        # ffmpeg's gapless decoding of a whole MP3 can keep up to ~2 ms of the encoder's padding;
        # a lost or cut frame is 26 ms or more, so anything beyond the padding is a damaged file.
        if abs(got - samples) > self.decode_slack:
            raise OutputError(f"{shown}: the written file decodes to {got / SAMPLE_RATE:.3f}s instead of the planned "
                              f"{samples / SAMPLE_RATE:.3f}s; the disk may be full: free some space and build again")


class Mp3Format(AudioFormat):
    name, suffix, mime = "mp3", ".mp3", "audio/mpeg"
    codec_gain_db = CODEC_GAIN_DB
    decode_slack = 50

    def writer(self, path: Path, bitrate_k: int, ffmpeg: str, shown: str, samples: int) -> StreamWriter:
        return Mp3Writer(path, bitrate_k, ffmpeg, shown)


FORMATS: dict[str, AudioFormat] = {"mp3": Mp3Format()}


def audio_format(name: str) -> AudioFormat:
    return FORMATS[name]
