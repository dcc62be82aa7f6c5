"""The segment encoders: LAME in this process (lameenc) on a thread, or one ffmpeg process per
segment where lameenc is missing; both LAME 3.100 with ffmpeg's libmp3lame settings.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import threading
import time

import numpy as np

from ...base.errors import EncoderError, OutputError
from ...base.units import SAMPLE_RATE
from ...system import threads
from ...system.ffmpeg import encode_failure as _encode_failure
from ...system.ffmpeg import messages as ffmpeg_messages
from ...system.ffmpeg import start as start_ffmpeg


def mp3_args(bitrate_k: int) -> list[str]:
    """ffmpeg's MP3 settings, for encode.Mp3Writer and the encoders here: CBR libmp3lame, no ID3
    tags (tags.py writes them), the Xing/Info header with the LAME tag."""
    return ["-c:a", "libmp3lame", "-b:a", f"{bitrate_k}k", "-id3v2_version", "0", "-write_id3v1", "0",
            "-write_xing", "1", "-f", "mp3"]


def ffmpeg_command(ffmpeg: str, bitrate_k: int, output: str) -> list[str]:
    """Mp3Writer's command line, with another output."""
    return [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0",
        "-map_metadata", "-1", *mp3_args(bitrate_k), output,
    ]


def killpg(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: the whole group
        except (ProcessLookupError, PermissionError):
            try:
                proc.kill()
            except OSError:
                pass


def write_error(shown: str, exc: OSError) -> Exception:
    message = exc.strerror or str(exc)
    error = _encode_failure(shown, message, 1)
    if isinstance(error, OutputError):
        return error
    return OutputError(f"{shown}: could not write the MP3: {message}")



# ---------------------------------------------------------------------------------------------
# Encoders

LAME_QUALITY = 3  # LAME's own default, which ffmpeg's libmp3lame keeps (its output equals -compression_level 3)
LAME_BLOCK = 1 << 16  # samples per call into LAME: a kill is noticed within one (about 5 ms)


def lame_available() -> bool:
    try:
        import lameenc  # noqa: F401
    except ImportError:
        return False
    return True


class SegmentEncoder:
    """What both encoders share: PCM pieces in, MP3 frames out in `chunks`, `progress` the last
    time either moved, and `notify(self)` once the thread that finishes last (`_last`) is done."""

    tool = ""
    _last: threading.Thread

    def __init__(self, pieces: list[np.ndarray], notify):
        self.pieces = collections.deque(pieces)  # dropped one by one once encoded or written
        self.chunks: list[bytes] = []
        self.done = False
        self.progress = time.monotonic()
        self._notify = notify

    def stalled(self, timeout: float) -> bool:
        return not self.done and time.monotonic() - self.progress > timeout

    def wait(self, timeout: float, shown: str) -> None:
        """Block until done (for an encoder nobody else waits on); kill it after `timeout` s idle."""
        while self._last.is_alive():
            self._last.join(0.25)
            if self._last.is_alive() and time.monotonic() - self.progress > timeout:
                self.kill()
                raise EncoderError(f"{shown}: {self.tool} stopped responding (no progress in {timeout:.0f} s)")
        self.done = True

    def kill(self) -> None:
        raise NotImplementedError


class LameEncoder(SegmentEncoder):
    """LAME in this process (lameenc), encoding a list of PCM pieces on its own thread.

    The settings are ffmpeg's for `mp3_args`: CBR, mono, in and out at SAMPLE_RATE, LAME quality
    3, bit reservoir on, no tag frame (the writer adds the Info frame). LAME releases the GIL while
    it encodes, so encoders on two threads use two cores; and there is no process, no pipe and
    no ffmpeg pipeline between the samples and the frames, which cost as much CPU as LAME itself.
    """

    tool = "LAME"

    def __init__(self, bitrate_k: int, pieces: list[np.ndarray], notify):
        import lameenc

        super().__init__(pieces, notify)
        self._stop = False
        self._error: BaseException | None = None
        self._lame = lameenc.Encoder()
        self._lame.set_bit_rate(bitrate_k)
        self._lame.set_in_sample_rate(SAMPLE_RATE)
        self._lame.set_out_sample_rate(SAMPLE_RATE)
        self._lame.set_channels(1)
        self._lame.set_quality(LAME_QUALITY)
        self._thread = self._last = threads.start(self._run, "rlsaudio-lame")

    def _run(self) -> None:
        try:
            while self.pieces and not self._stop:
                piece = self.pieces.popleft()
                for i in range(0, len(piece), LAME_BLOCK):
                    if self._stop:
                        break
                    self.chunks.append(bytes(self._lame.encode(piece[i:i + LAME_BLOCK].astype("<i2").tobytes())))
                    self.progress = time.monotonic()
                del piece
            if not self._stop and self.chunks:  # (no input: no frames, and LAME refuses to flush)
                self.chunks.append(bytes(self._lame.flush()))
        except Exception as exc:  # lameenc raises RuntimeError with LAME's code; reported by result()
            self._error = exc
        finally:
            self.pieces.clear()
            self._notify(self)

    def result(self, shown: str) -> bytes:
        self._thread.join()
        if self._error is not None:
            raise EncoderError(f"{shown}: LAME failed to encode: {self._error}")
        data = b"".join(self.chunks)
        self.chunks = []
        return data

    def kill(self) -> None:
        self._stop = True
        self.pieces.clear()
        self._thread.join(timeout=5)


class FfmpegEncoder(SegmentEncoder):
    """One ffmpeg encoding a list of PCM pieces to MP3 frames on its stdout (where lameenc is
    missing: the same LAME settings, at about twice the CPU)."""

    tool = "ffmpeg"

    def __init__(self, cmd: list[str], pieces: list[np.ndarray], notify):
        super().__init__(pieces, notify)
        self.proc, self.stderr = start_ffmpeg(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._feeder = threads.start(self._feed, "rlsaudio-mp3par-feed")
        self._reader = self._last = threads.start(self._read, "rlsaudio-mp3par-read")

    def _feed(self) -> None:
        stdin = self.proc.stdin
        try:
            while self.pieces:
                piece = self.pieces.popleft()
                view = memoryview(piece).cast("B")
                for i in range(0, len(view), 1 << 20):
                    stdin.write(view[i:i + (1 << 20)])
                    self.progress = time.monotonic()
                del piece, view
        except (OSError, ValueError):  # BrokenPipe (the output check says why); ValueError once killed
            self.pieces.clear()
        finally:
            try:
                stdin.close()
            except (OSError, ValueError):
                pass

    def _read(self) -> None:
        out = self.proc.stdout
        try:
            while True:
                block = out.read1(1 << 16)
                if not block:
                    break
                self.chunks.append(block)
                self.progress = time.monotonic()
        except (OSError, ValueError):
            pass
        self.proc.wait()
        self._notify(self)

    def result(self, shown: str) -> bytes:
        """The MP3 frames, once done; raises with ffmpeg's reason if it failed."""
        self._feeder.join()
        code = self.proc.returncode
        message = ffmpeg_messages(self.stderr).strip()
        if code != 0 or message:  # -loglevel error: anything printed is an error, even after exit 0
            raise _encode_failure(shown, message, code)
        data = b"".join(self.chunks)
        self.chunks = []
        return data

    def kill(self) -> None:
        self.pieces.clear()
        killpg(self.proc)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except (OSError, ValueError):
                pass
        self._feeder.join(timeout=5)
        self._reader.join(timeout=5)
        try:
            self.stderr.close()
        except OSError:
            pass


