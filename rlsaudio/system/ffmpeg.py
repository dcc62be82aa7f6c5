"""The ffmpeg rlsaudio runs: finding the binary, and running it safely for decoding.

- The binary is $RLSAUDIO_FFMPEG, else a system `ffmpeg` with libmp3lame, else the one in the
  imageio-ffmpeg wheel (which also has the aac encoder and libopus).
- Paths are passed as `file:` URLs: ffmpeg takes `name:rest` as a protocol, so a file named
  `night:1.mp3` would fail and one named `pipe:0` would read stdin.
- Nothing waits on ffmpeg forever: every read has a stall timeout, after which ffmpeg is killed.
- Success is not only the exit status: Debian's ffmpeg 5.1 exits 0 after "Error closing file:
  No space left on device", so its messages are read too.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import IO, Iterator

import numpy as np

from ..base import limits
from ..base.errors import EncoderError, OutputError
from ..base.units import SAMPLE_RATE

# Messages ffmpeg prints about its output while it may still exit 0.
_WRITE_ERRORS = ("error closing file", "error writing", "no space left", "file too large", "disk quota",
                 "i/o error", "input/output error", "broken pipe", "error submitting", "could not write header",
                 "permission denied", "read-only file system")


def start(cmd: list[str], *, stdin: int, stdout: int) -> tuple[subprocess.Popen, IO[bytes]]:
    """Start ffmpeg in its own session, its messages going to a temporary file (read them with
    `messages`). Its own session: Ctrl-C reaches Python, which stops ffmpeg and removes what it
    was writing, instead of ffmpeg finishing a half file on its own."""
    errors = tempfile.TemporaryFile()
    try:
        proc = subprocess.Popen(cmd, stdin=stdin, stdout=stdout, stderr=errors, start_new_session=True)
    except OSError as exc:
        errors.close()
        raise EncoderError(f"could not start ffmpeg ({cmd[0]}): {exc.strerror or exc}") from None
    return proc, errors


def messages(errors: IO[bytes]) -> str:
    """What ffmpeg printed into the file `start` gave it; the file is closed afterwards."""
    errors.seek(0)
    text = errors.read().decode(errors="replace")
    errors.close()
    return text


@cache
def _has_mp3_encoder(binary: str) -> bool:
    try:
        out = subprocess.run([binary, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "libmp3lame" in out.stdout


def find() -> str:
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
        raise EncoderError("no ffmpeg found: reinstall rlsaudio (its imageio-ffmpeg dependency brings one) "
                           "or install ffmpeg with libmp3lame") from None


def file_url(path: Path | str) -> str:
    """A path as ffmpeg must get it: never read as a protocol."""
    return "file:" + os.path.abspath(path)


def write_error(messages: str) -> str | None:
    """The first line of ffmpeg's output that reports a failed write, or None."""
    for line in messages.splitlines():
        if any(marker in line.lower() for marker in _WRITE_ERRORS):
            return line.strip()
    return None


def last_line(messages: str, default: str) -> str:
    lines = [line.strip() for line in messages.splitlines() if line.strip()]
    return lines[-1] if lines else default


class Decoder:
    """ffmpeg decoding a file to mono int16 PCM at SAMPLE_RATE, read in blocks with a stall timeout."""

    def __init__(self, path: Path, *, ffmpeg: str | None = None, max_seconds: float | None = None,
                 stall_s: float | None = None):
        self.path = path
        self.stall_s = stall_s or limits.ffmpeg_stall_s()
        cmd = [ffmpeg or find(), "-nostdin", "-hide_banner", "-loglevel", "error"]
        if max_seconds is not None:
            cmd += ["-t", str(max_seconds)]
        cmd += ["-i", file_url(path), "-vn", "-f", "s16le", "-ac", "1", "-ar", str(SAMPLE_RATE), "pipe:1"]
        self._proc, self._stderr = start(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        self.stalled = False

    def blocks(self, size: int = SAMPLE_RATE * 2 * 10) -> Iterator[np.ndarray]:
        """int16 blocks until the end of the stream; a stall kills ffmpeg (see `finish`)."""
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        pending = b""
        while True:
            ready, _, _ = select.select([fd], [], [], self.stall_s)
            if not ready:
                self.stalled = True
                self._proc.kill()
                return
            data = os.read(fd, size)
            if not data:
                break
            data = pending + data
            cut = len(data) // 2 * 2
            pending = data[cut:]
            if cut:
                yield np.frombuffer(data[:cut], dtype="<i2")

    def finish(self) -> tuple[int, str]:
        """(exit status, ffmpeg's messages); the process is gone afterwards."""
        try:
            code = self._proc.wait(timeout=self.stall_s)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            code = self._proc.wait()
            self.stalled = True
        if self._proc.stdout:
            self._proc.stdout.close()
        return code, messages(self._stderr)

    def close(self) -> None:
        """Stop at once (the reader gave up early, or was interrupted)."""
        if self._proc.poll() is None:
            self._proc.kill()
        self.finish()


def decode_all(path: Path, *, ffmpeg: str | None = None, max_seconds: float | None = None) -> tuple[np.ndarray, str]:
    """The whole decoded PCM of a (short) file and ffmpeg's complaint if it failed, else ""."""
    decoder = Decoder(path, ffmpeg=ffmpeg, max_seconds=max_seconds)
    try:
        blocks = list(decoder.blocks())
    finally:
        code, messages = decoder.finish()
    pcm = np.concatenate(blocks) if blocks else np.zeros(0, dtype="<i2")
    if decoder.stalled:
        return pcm, f"ffmpeg stopped responding for {decoder.stall_s:g}s"
    if code != 0:
        return pcm, last_line(messages, f"ffmpeg exit status {code}")
    return pcm, ""


def encode_failure(shown: str, message: str, code: int) -> Exception:
    lowered = message.lower()
    last = last_line(message, f"exit status {code}")
    if "no space left" in lowered or "file too large" in lowered or "disk quota" in lowered:
        return OutputError(f"{shown}: the disk is full ({last}); free some space and build again")
    if code == -signal.SIGXFSZ:  # a file size limit (ulimit -f) kills the writer outright
        return OutputError(f"{shown}: the disk is full (file size limit reached); free some space and build again")
    if "permission denied" in lowered or "read-only file system" in lowered:
        return OutputError(f"{shown}: the folder cannot be written; choose a folder you can write with -o")
    return EncoderError(f"{shown}: ffmpeg failed to encode: {last}")
