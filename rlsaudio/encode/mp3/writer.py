"""One MP3, encoded on several cores: segments encoded in parallel, spliced frame by frame.

`ParallelMp3Writer` takes the same calls as `encode.Mp3Writer` and writes the same kind of
file: mono MPEG-2 layer III (22.05 kHz, 576 samples a frame), CBR, with ffmpeg's Info frame and
LAME tag, so gapless decoders return exactly the samples written.

The encoders: LAME in this process through lameenc, one thread per segment (LAME releases the
GIL), with ffmpeg's libmp3lame settings; or, where lameenc is not installed, one ffmpeg process
per segment. Both are LAME 3.100 with the same settings: the same frames, frame sizes, delay and
padding (the coded bits differ between the two builds of LAME). Measured on a 20-minute
session, 2 cores: ffmpeg alone 2.2 s; spliced ffmpeg processes 1.5-1.7 s (ffmpeg's threaded
pipeline spends as much CPU moving 1152-sample frames between its threads as LAME spends
encoding them); spliced LAME threads 0.8-0.9 s.

How (every number below was measured on ffmpeg's libmp3lame, LAME 3.100, and holds for lameenc's):

* Each encoder encodes its input on the same 576-sample frame grid: input starting at sample
  576*s makes frame j of that encode the frame s+j of a single-pass encode of the whole stream
  (all encodes have the same encoder delay). A segment is encoded from a few frames *before*
  the part it contributes (the preroll warms up the psychoacoustic model and the MDCT overlap)
  to a few frames after it (LAME's frame j no longer changes once input reaches frame j+1).
  LAME is deterministic: the first segment's frames are byte-identical to a single-pass
  encode's; after a seam they differ only by the coding decisions of a different bit reservoir.
* Bit reservoir: frame j's main data starts `main_data_begin` (at most 255) bytes before its
  own data area, in the free tail of earlier frames. Where the earlier frames now come from
  another encode, the seam frame c fits when the earlier segment left at least that many bytes
  free before c (`lam <= 0`): its main data is copied into that free space and nothing else
  changes. Otherwise the main data of the following frames is moved later, byte for byte, with
  `main_data_begin` rewritten, until the encoder's own layout is reached again (the encoder leaves
  gaps that absorb the shift); each frame's data must still end inside its own frame. Both are
  checked before a seam is chosen; a seam that does not fit is never written.
* Where: the writer cuts near the target length at the quietest point it can see in its buffered
  PCM, and both encodes cover a window of candidate seam frames around that cut; the seam is the
  quietest candidate that fits (in digital silence the frames of both encodes are identical and
  the seam is bit-exact). If no candidate fits, a bridge segment is encoded across the window
  and spliced in with the same rules; if even that fails, the writer raises (no invalid file).
* The file: the frames are written in order to `path`, then the Info frame (frame count, byte
  count, TOC, LAME tag with encoder delay and padding, music length and CRC, tag CRC) is
  written at its start, laid out exactly as ffmpeg's muxer lays it out (its bytes come from a
  one-frame probe encode with the same command line).

Memory: the segment being filled and the unread input of at most `jobs` running encoders:
about 3 x 190 s of int16 PCM (25 MB) with the default 180 s segments. Short streams (under two
minimum segments) are encoded in one piece.
"""

from __future__ import annotations

import collections
import math
import os
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...base.errors import EncoderError, OutputError
from ...base.units import SAMPLE_RATE
from ...system import memory, threads
from ...system.ffmpeg import encode_failure as _encode_failure
from ...system.ffmpeg import find as find_ffmpeg
from ...system.ffmpeg import messages as ffmpeg_messages
from ...system.ffmpeg import start as start_ffmpeg

FRAME = 576  # samples per MPEG-2 layer III frame (one granule)
_HEAD = 4 + 9  # frame header + mono MPEG-2 side information
_MAX_MDB = 255  # main_data_begin is 8 bits in MPEG-2

PREROLL = 32  # frames encoded before a segment's first candidate seam (0.84 s)
POSTROLL = 4  # frames encoded after a segment's last candidate seam
HALF_WINDOW = 32  # candidate seams: T-32 .. T+32 around the planned cut T
_ENERGY_BEFORE = 3  # a seam at frame c is heard in input frames c-3 .. c

_LSF_BITRATES = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_LSF_RATES = (22050, 24000, 16000)


def _padding_period(bitrate_k: int) -> int:
    """LAME pads one frame in so many; starting segments on this grid keeps frame sizes as in one pass."""
    rem = (72000 * bitrate_k) % SAMPLE_RATE
    return SAMPLE_RATE // math.gcd(rem, SAMPLE_RATE) if rem else 1


def _frames_for(samples: int) -> int:
    """Frames LAME 3.100 (lameenc's, or ffmpeg's) writes for this many input samples."""
    return -(-samples // FRAME) + 2 if samples else 0


def mp3_args(bitrate_k: int) -> list[str]:
    """ffmpeg's MP3 settings, for encode.Mp3Writer and the encoders here: CBR libmp3lame, no ID3
    tags (tags.py writes them), the Xing/Info header with the LAME tag."""
    return ["-c:a", "libmp3lame", "-b:a", f"{bitrate_k}k", "-id3v2_version", "0", "-write_id3v1", "0",
            "-write_xing", "1", "-f", "mp3"]


def _command(ffmpeg: str, bitrate_k: int, output: str) -> list[str]:
    """Mp3Writer's command line, with another output."""
    return [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0",
        "-map_metadata", "-1", *mp3_args(bitrate_k), output,
    ]


def _killpg(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: the whole group
        except (ProcessLookupError, PermissionError):
            try:
                proc.kill()
            except OSError:
                pass


def _write_error(shown: str, exc: OSError) -> Exception:
    message = exc.strerror or str(exc)
    error = _encode_failure(shown, message, 1)
    if isinstance(error, OutputError):
        return error
    return OutputError(f"{shown}: could not write the MP3: {message}")


# ---------------------------------------------------------------------------------------------
# CRC-16 (ARC: polynomial 0x8005 reflected, initial 0), as ffmpeg's LAME tag uses. Computed on
# many lanes at once with numpy, then the lanes are combined (the CRC is linear).

def _crc_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ 0xA001, table >> 1)
    return table.astype(np.uint16)


_CRC8 = _crc_table()
_CRC8_LIST = _CRC8.tolist()
_X16 = np.arange(65536, dtype=np.uint16)
_CRC16 = (_CRC8[_X16 & 255] >> 8) ^ _CRC8[((_X16 >> 8) ^ _CRC8[_X16 & 255]) & 255]  # two bytes at once
del _X16
_LANE = 256  # bytes per lane


def _shift_tables(nbytes: int) -> tuple[list[int], list[int]]:
    """The CRC state after `nbytes` zero bytes, as a function of the state before: lo[s&255]^hi[s>>8]."""
    state = np.array([1 << i for i in range(16)], dtype=np.uint16)
    for _ in range(nbytes // 2):
        state = _CRC16[state]
    values = np.arange(256)
    lo = np.zeros(256, np.uint16)
    hi = np.zeros(256, np.uint16)
    for bit in range(8):
        lo[(values >> bit) & 1 == 1] ^= state[bit]
        hi[(values >> bit) & 1 == 1] ^= state[8 + bit]
    return lo.tolist(), hi.tolist()


_SHIFT_LO, _SHIFT_HI = _shift_tables(_LANE)


def crc16(data, crc: int = 0) -> int:
    """CRC-16/ARC of `data`, continuing from `crc` (what ffmpeg's AV_CRC_16_ANSI_LE computes)."""
    n = len(data)
    if n < 8 * _LANE:
        table = _CRC8_LIST
        for byte in bytes(data):
            crc = (crc >> 8) ^ table[(crc ^ byte) & 255]
        return crc
    pad = -n % _LANE  # leading zero bytes leave a zero CRC state unchanged
    buf = np.zeros(n + pad, np.uint8)
    buf[pad:] = np.frombuffer(data, np.uint8)
    buf[pad] ^= crc & 255  # a running CRC is the same as its bytes xor-ed into the first two
    buf[pad + 1] ^= crc >> 8
    rows = buf.view("<u2").reshape(-1, _LANE // 2).T.copy()
    state = np.zeros(rows.shape[1], np.uint16)
    for row in rows:
        state = _CRC16[state ^ row]
    acc = 0
    lo, hi = _SHIFT_LO, _SHIFT_HI
    for lane in state.tolist():
        acc = lo[acc & 255] ^ hi[acc >> 8] ^ lane
    return acc


# ---------------------------------------------------------------------------------------------
# Reading MP3 streams

_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_L3_BITRATES = {3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, None),
                2: _LSF_BITRATES + (None,), 0: _LSF_BITRATES + (None,)}


def _frame_sizes_by_byte2(h1: int) -> tuple[list[int], int, int]:
    """For frames whose second header byte is h1 (layer III): frame size indexed by the third
    header byte (0: not a frame), samples per frame, sample rate of the first table entry."""
    version = (h1 >> 3) & 3
    if (h1 & 0xE0) != 0xE0 or version == 1 or ((h1 >> 1) & 3) != 1:
        raise ValueError("not an MPEG layer III frame header")
    sizes = [0] * 256
    per = 144 if version == 3 else 72
    for b in range(256):
        bitrate = _L3_BITRATES[version][b >> 4]
        rate_index = (b >> 2) & 3
        if not bitrate or rate_index == 3:
            continue
        sizes[b] = per * bitrate * 1000 // _MPEG_RATES[version][rate_index] + ((b >> 1) & 1)
    return sizes, 1152 if version == 3 else 576, version


def _skip_id3v2(f) -> int:
    head = f.read(10)
    if len(head) == 10 and head[:3] == b"ID3":
        size = 0
        for b in head[6:10]:
            size = (size << 7) | (b & 0x7F)
        return 10 + size + (10 if head[5] & 0x10 else 0)
    return 0


def mp3_decoded_samples(path) -> int:
    """Samples a gapless decoder (ffmpeg) returns for this MP3, from its frames and LAME tag.

    Walks every frame header (after an ID3v2 tag) without decoding: frames x 576 minus the
    encoder delay and padding stored in the Info/Xing frame's LAME tag (the padding there
    includes the decoder's 529 samples, so this is exactly the decoded length). A stream with
    no LAME tag gives frames x 576. Raises ValueError when a frame header does not parse, the
    last frame is cut short, data that is not a tag follows the frames, or the Info frame's
    frame count disagrees with the frames present.
    """
    with open(path, "rb") as f:
        at = _skip_id3v2(f)
        f.seek(at)
        first = f.read(4)
        if len(first) < 4:
            if not first:
                raise ValueError(f"{path}: no MP3 frames")
            raise ValueError(f"{path}: truncated MP3 frame header at byte {at}")
        if first[0] != 0xFF:
            raise ValueError(f"{path}: no MPEG frame header at byte {at}")
        sizes, per_frame, version = _frame_sizes_by_byte2(first[1])
        h1 = first[1]
        size0 = sizes[first[2]]
        if not size0:
            raise ValueError(f"{path}: bad MPEG frame header at byte {at}")
        f.seek(at)
        head = f.read(size0)
        if len(head) < size0:
            raise ValueError(f"{path}: the first frame is cut short")
        delay = padding = 0
        tag_frames = None
        mono = (first[3] >> 6) == 3
        side = (17 if mono else 32) if version == 3 else (9 if mono else 17)
        x = 4 + side
        audio_from = at
        if head[x:x + 4] in (b"Xing", b"Info"):
            audio_from = at + size0
            flags = int.from_bytes(head[x + 4:x + 8], "big")
            p = x + 8
            if flags & 1:
                tag_frames = int.from_bytes(head[p:p + 4], "big")
                p += 4
            p += 4 * bool(flags & 2) + 100 * bool(flags & 4) + 4 * bool(flags & 8)
            if head[p:p + 4] in (b"LAME", b"Lavf", b"Lavc") and len(head) >= p + 24:
                v = int.from_bytes(head[p + 21:p + 24], "big")
                delay, padding = v >> 12, v & 0xFFF
        frames = 0
        f.seek(audio_from)
        buf, i, base, eof = b"", 0, audio_from, False  # base: file offset of buf[0]
        while True:
            if not eof and len(buf) - i < 4096:  # keep more than the largest frame in the buffer
                more = f.read(1 << 22)
                if more:
                    buf, base, i = buf[i:] + more, base + i, 0
                else:
                    eof = True
                continue
            if i + 4 > len(buf):
                tail = buf[i:]
                break
            size = sizes[buf[i + 2]]
            if buf[i] != 0xFF or buf[i + 1] != h1 or not size or (buf[i + 3] >= 0xC0) != mono:
                tail = buf[i:] + (b"" if eof else f.read())
                break
            if i + size > len(buf):
                raise ValueError(f"{path}: the last frame (byte {base + i}) is cut short: "
                                 f"{len(buf) - i} of {size} bytes")
            i += size
            frames += 1
        if tail and not (tail[:3] == b"TAG" and len(tail) == 128
                         or tail[:8] == b"APETAGEX" or tail[:11] == b"LYRICSBEGIN"):
            raise ValueError(f"{path}: no valid MPEG frame at byte {base + i} (after {frames} frames)")
        if tag_frames is not None and tag_frames != frames:
            raise ValueError(f"{path}: its Info frame counts {tag_frames} frames but it has {frames}")
        if delay or padding:
            return max(0, frames * per_frame - delay - padding)
        return frames * per_frame


# ---------------------------------------------------------------------------------------------
# One encode's frames, indexed and measured for splicing

class _Frames:
    """The frames of one encoder's output. Frame j is global frame g0 + j. Positions in the
    "stream" count only data-area bytes (what main_data_begin counts)."""

    def __init__(self, data: bytes, g0: int, ref: int, shown: str):
        self.data = data
        self.g0 = g0
        n = len(data)
        offs = []
        mask = 0xFFFFFDFF  # all of the header but the padding bit must match the first frame's
        base = 72 * _LSF_BITRATES[(ref >> 12) & 15] * 1000 // SAMPLE_RATE
        p = 0
        while p < n:
            if p + 4 > n or (int.from_bytes(data[p:p + 4], "big") & mask) != ref:
                raise EncoderError(f"{shown}: the encoder wrote an unexpected MP3 stream (bad frame at byte {p})")
            offs.append(p)
            p += base + ((data[p + 2] >> 1) & 1)
        if p != n:
            raise EncoderError(f"{shown}: the encoder's MP3 stream ends inside a frame")
        offs.append(n)
        self.off = np.array(offs, dtype=np.int64)
        self.n = len(offs) - 1
        arr = np.frombuffer(data, np.uint8)
        head = self.off[:-1]
        self.mdb = arr[head + 4].astype(np.int64)
        p23 = ((arr[head + 5].astype(np.int64) & 0x7F) << 5) | (arr[head + 6].astype(np.int64) >> 3)
        self.length = (p23 + 7) // 8  # main data bytes
        area = np.diff(self.off) - _HEAD
        self.D = np.zeros(self.n + 1, np.int64)
        np.cumsum(area, out=self.D[1:])
        self.start = self.D[:-1] - self.mdb
        self.end = self.start + self.length
        if self.n and (self.start[0] < 0 or np.any(self.end > self.D[1:])
                       or np.any(self.start[1:] < self.end[:-1])):
            raise EncoderError(f"{shown}: the encoder wrote an MP3 stream whose bit reservoir does not add up")

    def stream(self, a: int, b: int) -> bytes:
        """Data-area bytes [a, b) of this encode."""
        if a >= b:
            return b""
        j = int(np.searchsorted(self.D, a, side="right")) - 1
        out = []
        while a < b:
            lo = a - int(self.D[j])
            hi = min(int(self.D[j + 1]), b) - int(self.D[j])
            o = int(self.off[j]) + _HEAD
            out.append(self.data[o + lo:o + hi])
            a = int(self.D[j]) + hi
            j += 1
        return b"".join(out)


def _scatter(frames_bytes: bytearray, off: np.ndarray, D: np.ndarray, j0: int, a: int, payload: bytes) -> None:
    """Write `payload` at stream position a into frames [j0, ...) held in `frames_bytes` (whose
    byte 0 is frame j0's first byte); off/D are those frames' offsets and stream positions."""
    b = a + len(payload)
    j = int(np.searchsorted(D, a, side="right")) - 1
    base = int(off[j0])
    src = 0
    while a < b:
        lo = a - int(D[j])
        hi = min(int(D[j + 1]), b) - int(D[j])
        o = int(off[j]) - base + _HEAD
        frames_bytes[o + lo:o + hi] = payload[src:src + hi - lo]
        src += hi - lo
        a = int(D[j]) + hi
        j += 1


@dataclass
class _Splice:
    c: int  # global index of the first frame taken from the later encode
    lags: np.ndarray  # bytes each later frame's main data moves, for frames c .. c+len-1 (empty: none)
    free: int  # free data-area bytes the earlier encode leaves before frame c (that may be rewritten)


def _plan_splice(prev: _Frames, written: int, nxt: _Frames, c: int, limit: int) -> _Splice | None:
    """Can frames < c of `prev` (whose frames < `written` are already in the file) be followed by
    frames >= c of `nxt`? Moved main data must be back at nxt's own layout before frame `limit`."""
    jp, jn = c - prev.g0, c - nxt.g0
    if not (written < jp <= prev.n and 0 <= jn < nxt.n):
        return None
    free = int(min(prev.D[jp] - prev.end[jp - 1], prev.D[jp] - prev.D[written]))
    lam = int(nxt.mdb[jn]) - free
    if lam <= 0:
        return _Splice(c, np.zeros(0, np.int64), free)
    stop = min(nxt.n, limit - nxt.g0)
    if stop <= jn + 1:
        return None
    gaps = nxt.start[jn + 1:stop] - nxt.end[jn:stop - 1]
    lag = np.maximum(0, lam - np.concatenate(([0], np.cumsum(gaps))))
    zero = np.flatnonzero(lag == 0)
    if zero.size == 0:
        return None
    k = int(zero[0])
    room = nxt.D[jn + 1:jn + k + 1] - nxt.end[jn:jn + k]  # what each moved frame may still grow by
    if np.any(lag[:k] > room):
        return None
    return _Splice(c, lag[:k], free)


# ---------------------------------------------------------------------------------------------
# Encoders

LAME_QUALITY = 3  # LAME's own default, which ffmpeg's libmp3lame keeps (its output equals -compression_level 3)
_LAME_BLOCK = 1 << 16  # samples per call into LAME: a kill is noticed within one (about 5 ms)


def lame_available() -> bool:
    try:
        import lameenc  # noqa: F401
    except ImportError:
        return False
    return True


class _SegmentEncoder:
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


class _LameEncoder(_SegmentEncoder):
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
                for i in range(0, len(piece), _LAME_BLOCK):
                    if self._stop:
                        break
                    self.chunks.append(bytes(self._lame.encode(piece[i:i + _LAME_BLOCK].astype("<i2").tobytes())))
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


class _Encoder(_SegmentEncoder):
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
        _killpg(self.proc)
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


_TEMPLATES: dict[tuple[str, int], tuple[bytes, int, int, int]] = {}
_TEMPLATE_LOCK = threading.Lock()


def _info_template(ffmpeg: str, bitrate_k: int, shown: str, timeout: float,
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
        cmd = _command(ffmpeg, bitrate_k, "file:" + str(out))
        proc, errors = start_ffmpeg(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        try:
            proc.communicate(bytes(2 * probe_samples), timeout=timeout)
        except subprocess.TimeoutExpired:
            _killpg(proc)
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
        sizes, per_frame, version = _frame_sizes_by_byte2(data[1])
    except ValueError:
        raise bad from None
    size = sizes[data[2]]
    xoff = _HEAD
    if (version != 2 or per_frame != FRAME or len(data) < size + 4 or size < xoff + 156
            or data[xoff:xoff + 4] != b"Info" or int.from_bytes(data[xoff + 4:xoff + 8], "big") != 0x0F):
        raise bad
    frames = int.from_bytes(data[xoff + 8:xoff + 12], "big")
    audio_ref = int.from_bytes(data[size:size + 4], "big")
    if (frames != _frames_for(probe_samples) or (audio_ref >> 16) & 1 != 1 or audio_ref >> 6 & 3 != 3
            or _LSF_BITRATES[(audio_ref >> 12) & 15] != bitrate_k or (audio_ref >> 10) & 3 != 0):
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


# ---------------------------------------------------------------------------------------------
# The writer

class _Pcm:
    """PCM kept as a list of int16 arrays, addressed by global sample index."""

    def __init__(self, start: int = 0):
        self.chunks: list[np.ndarray] = []
        self.start = start
        self.end = start

    def append(self, a: np.ndarray) -> None:
        self.chunks.append(a)
        self.end += len(a)

    def pieces(self, a: int, b: int) -> list[np.ndarray]:
        """Views of samples [a, b)."""
        out = []
        pos = self.start
        for chunk in self.chunks:
            lo, hi = max(a, pos), min(b, pos + len(chunk))
            if lo < hi:
                out.append(chunk[lo - pos:hi - pos])
            pos += len(chunk)
        return out

    def array(self, a: int, b: int) -> np.ndarray:
        """A copy of samples [a, b), zeros outside what is held."""
        out = np.zeros(max(0, b - a), np.int16)
        pos = self.start
        for chunk in self.chunks:
            lo, hi = max(a, pos), min(b, pos + len(chunk))
            if lo < hi:
                out[lo - a:hi - a] = chunk[lo - pos:hi - pos]
            pos += len(chunk)
        return out

    def drop_before(self, a: int) -> None:
        self.chunks = self.pieces(a, self.end)
        self.start = a

    def nbytes(self) -> int:
        return sum(len(c) for c in self.chunks) * 2


@dataclass
class _Segment:
    first: int  # global frame of the encode's first frame (its input starts at sample first*576)
    samples: int  # input samples
    seam: int | None  # planned cut T before this segment (None for the first)
    energy: np.ndarray | None  # PCM energy heard at each candidate seam T-HW .. T+HW
    around: np.ndarray | None  # input samples from frame first-4*period (or 0), for a bridge encode
    around_first: int = 0  # global frame where `around` starts
    next_seam: int | None = None  # planned cut after this segment (None for the last)
    encoder: _LameEncoder | _Encoder | None = None
    frames: _Frames | None = None

    @property
    def valid_from(self) -> int:
        """First frame encoded with a warmed-up encoder."""
        return self.first + PREROLL if self.seam is not None else 0


@dataclass
class Stats:
    """What a writer did, for tests and benchmarks."""

    segments: int = 0
    seam_frames: list[int] = field(default_factory=list)  # first frame of each seam's later encode
    moved_seams: int = 0  # seams where the later encode's main data had to move (lam > 0)
    bridges: int = 0  # seams that needed a bridge encode
    peak_pcm_bytes: int = 0  # most PCM held (buffer, unread encoder input, bridge windows), after each chunk

    @property
    def seams(self) -> int:
        return len(self.seam_frames)


class ParallelMp3Writer:
    """Mp3Writer's interface; encodes on up to `jobs` encoders at once. See the module doc.

    `write()` copies each chunk, buffers the segment being filled and starts an encoder when the
    segment is complete, waiting only when `jobs` encoders are already running. Finished
    segments are spliced into `path` in order. `close()` encodes what is left (split across the
    free cores), writes the Info frame and checks the file's frames against the samples written.
    """

    def __init__(self, path: Path, bitrate_k: int = 64, ffmpeg: str | None = None, shown: str | None = None,
                 jobs: int = 2, *, segment_seconds: float = 180.0, min_segment_seconds: float = 20.0,
                 search_seconds: float = 10.0, stall_timeout: float = 120.0, verify: bool = True,
                 encoder: str | None = None):
        if SAMPLE_RATE not in _LSF_RATES:
            raise ValueError("ParallelMp3Writer handles MPEG-2 sample rates only")
        self.path = Path(path)
        self.shown = shown or str(path)
        self.jobs = max(1, int(jobs))
        self.stall_timeout = stall_timeout
        self.verify = verify
        self.stats = Stats()
        self._ffmpeg = ffmpeg or find_ffmpeg()
        self._period = _padding_period(bitrate_k)
        smallest = 2 * HALF_WINDOW + 2
        self._seg = max(smallest, round(segment_seconds * SAMPLE_RATE / FRAME))
        self._min = max(smallest, round(min_segment_seconds * SAMPLE_RATE / FRAME))
        self._search = max(0, round(search_seconds * SAMPLE_RATE / FRAME))
        self._cmd = _command(self._ffmpeg, bitrate_k, "pipe:1")
        self._bitrate_k = bitrate_k
        self.encoder = encoder or ("lame" if lame_available() else "ffmpeg")
        if self.encoder not in ("lame", "ffmpeg"):
            raise ValueError(f"unknown MP3 encoder {encoder!r}")
        self._template, self._xoff, self._delay, self._ref = _info_template(
            self._ffmpeg, bitrate_k, self.shown, stall_timeout, self.path.parent)
        self._segments: list[_Segment] = []
        self._closed = False
        self._cond = threading.Condition()
        # the segment being filled
        self._pcm = _Pcm()
        self._next = _Segment(first=0, samples=0, seam=None, energy=None, around=None)
        self._kept_from = 0  # its planned first frame in the file
        # assembly: frames of `_cur` (an encode) before local index `_written` are in the file
        self._assembled = 0
        self._cur: _Frames | None = None
        self._cur_seg: _Segment | None = None
        self._written = 0
        self._sizes: list[np.ndarray] = []
        self._crc = 0
        try:
            self._file = open(self.path, "wb")
            self._file.write(bytes(len(self._template)))  # the Info frame's place
        except OSError as exc:
            raise _write_error(self.shown, exc) from None

    # --- the caller's side

    def write(self, pcm: np.ndarray) -> None:
        try:
            data = np.ravel(pcm)
            step = 1 << 20
            lookahead = self._seg + self._search + HALF_WINDOW + POSTROLL + 1  # frames the next cut needs
            for i in range(0, len(data), step):
                self._pcm.append(np.array(data[i:i + step], dtype="<i2"))  # a copy: callers reuse buffers
                self._note_memory()
                while self._pcm.end >= (self._kept_from + lookahead) * FRAME:
                    self._cut(self._kept_from + self._seg, self._search)
                self._collect(block=False)
        except BaseException:
            self._kill_all()
            raise

    def close(self) -> None:
        try:
            self._finish()
        except BaseException:
            self._kill_all()
            raise

    def abort(self) -> None:
        """Stop every encoder at once; the caller removes the file."""
        self._closed = True
        self._kill_all()

    # --- planning segments

    def _cut(self, target: int, radius: int) -> None:
        """End the segment being filled near frame `target`, at the quietest seam within `radius`."""
        lo = max(target - radius, self._kept_from + 2 * HALF_WINDOW + 1)
        hi = max(lo, target + radius)
        a = lo - HALF_WINDOW - _ENERGY_BEFORE
        pcm = self._pcm.array(a * FRAME, (hi + HALF_WINDOW + 1) * FRAME).astype(np.float32).reshape(-1, FRAME)
        per_frame = np.einsum("ij,ij->i", pcm, pcm).astype(np.float64)
        del pcm
        heard = np.convolve(per_frame, np.ones(_ENERGY_BEFORE + 1), "valid")  # seam at frame a+3+i hears a+i .. a+3+i
        seams = np.arange(len(heard)) + a + _ENERGY_BEFORE
        pick = (seams >= lo) & (seams <= hi)
        order = np.lexsort((np.abs(seams[pick] - target), np.round(heard[pick], -3)))
        cut = int(seams[pick][order[0]])
        window = (seams >= cut - HALF_WINDOW) & (seams <= cut + HALF_WINDOW)
        end = (cut + HALF_WINDOW + POSTROLL) * FRAME
        seg = self._next
        seg.samples = end - seg.first * FRAME
        seg.next_seam = cut
        self._submit(seg, self._pcm.pieces(seg.first * FRAME, end))
        first = max(0, (cut - HALF_WINDOW - PREROLL) // self._period * self._period)
        around_first = max(0, first - 4 * self._period)
        self._next = _Segment(first=first, samples=0, seam=cut, energy=heard[window].copy(),
                              around=self._pcm.array(around_first * FRAME, end), around_first=around_first)
        self._pcm.drop_before(first * FRAME)
        self._kept_from = cut

    def _finish(self) -> None:
        if self._closed:
            raise EncoderError(f"{self.shown}: the MP3 writer was already closed")
        self._closed = True
        total = self._pcm.end
        remaining = total // FRAME - self._kept_from
        pieces = 1
        if self.jobs > 1 and remaining >= 2 * self._min:
            pieces = min(self.jobs, remaining // self._min)
        for k in range(pieces - 1):
            step = (total // FRAME - self._kept_from) // (pieces - k)
            self._cut(self._kept_from + step, min(self._search, step // 4))
        seg = self._next
        seg.samples = total - seg.first * FRAME
        self._submit(seg, self._pcm.pieces(seg.first * FRAME, total))
        self._pcm = _Pcm(total)
        self._collect(block=True)
        sizes = np.concatenate(self._sizes) if self._sizes else np.zeros(0, np.int64)
        expected = _frames_for(total)
        if len(sizes) != expected:
            raise EncoderError(f"{self.shown}: the spliced MP3 has {len(sizes)} frames where {expected} were due")
        padding = len(sizes) * FRAME - self._delay - total if total else 0
        if not 0 <= padding < 4096:
            raise EncoderError(f"{self.shown}: cannot store an encoder padding of {padding} samples")
        info = build_info_frame(self._template, self._xoff, sizes, self._delay, padding, self._crc)
        try:
            self._file.seek(0)
            self._file.write(info)
            self._file.close()
        except OSError as exc:
            raise _write_error(self.shown, exc) from None
        if self.verify:
            try:
                decoded = mp3_decoded_samples(self.path)
            except ValueError as exc:
                raise EncoderError(f"{self.shown}: the written MP3 does not parse: {exc}") from None
            if decoded != total:
                raise EncoderError(f"{self.shown}: the written MP3 decodes to {decoded} samples, not {total}")

    # --- running encoders

    @property
    def _who(self) -> str:
        return "LAME" if self.encoder == "lame" else "ffmpeg"

    def _encode(self, pieces: list[np.ndarray], notify) -> _LameEncoder | _Encoder:
        if self.encoder == "lame":
            return _LameEncoder(self._bitrate_k, pieces, notify)
        return _Encoder(self._cmd, pieces, notify)

    def _running(self) -> int:
        return sum(1 for s in self._segments if s.encoder is not None and not s.encoder.done)

    def _notify(self, encoder: _LameEncoder | _Encoder) -> None:
        with self._cond:
            encoder.done = True
            self._cond.notify_all()

    def _submit(self, seg: _Segment, pieces: list[np.ndarray]) -> None:
        self._wait(lambda: self._running() < self.jobs)
        self._collect(block=False)
        seg.encoder = self._encode(pieces, self._notify)
        self._segments.append(seg)
        self.stats.segments += 1

    def _note_memory(self) -> None:
        """PCM arrays alive (a view keeps its whole array): the buffer, encoders' unread input,
        the windows kept for bridges."""
        arrays = {}
        for a in self._pcm.chunks + [s.around for s in self._segments + [self._next] if s.around is not None]:
            base = a if a.base is None else a.base
            arrays[id(base)] = base.nbytes
        for s in self._segments:
            if s.encoder is not None and not s.encoder.done:
                for a in list(s.encoder.pieces):
                    base = a if a.base is None else a.base
                    arrays[id(base)] = base.nbytes
        self.stats.peak_pcm_bytes = max(self.stats.peak_pcm_bytes, sum(arrays.values()))

    def _wait(self, ready) -> None:
        with self._cond:
            while not ready():
                self._cond.wait(0.25)
                for s in self._segments:
                    if s.encoder is not None and s.encoder.stalled(self.stall_timeout):
                        raise EncoderError(f"{self.shown}: {self._who} stopped responding "
                                           f"(no progress in {self.stall_timeout:.0f} s)")

    def _kill_all(self) -> None:
        for s in self._segments:
            if s.encoder is not None:
                s.encoder.kill()
        try:
            self._file.close()
        except (OSError, AttributeError):
            pass

    # --- assembling the file

    def _collect(self, block: bool) -> None:
        """Check finished encoders; splice every segment whose turn it is into the file."""
        for s in self._segments:
            if s.encoder is not None and s.encoder.done and s.frames is None:
                self._check(s)
        while self._assembled < len(self._segments):
            s = self._segments[self._assembled]
            if not s.encoder.done:
                if not block:
                    return
                self._wait(lambda: s.encoder.done)
            if s.frames is None:
                self._check(s)
            self._assemble(s)
            self._assembled += 1
            memory.release()  # the segment's PCM, frames and encoder are gone: hand their memory back

    def _check(self, s: _Segment) -> None:
        data = s.encoder.result(self.shown)
        frames = _Frames(data, s.first, self._ref, self.shown)
        expected = _frames_for(s.samples)
        if frames.n != expected:
            raise EncoderError(f"{self.shown}: {self._who} stopped early ({frames.n} MP3 frames where {expected} "
                               "were due)")
        s.frames = frames

    def _emit(self, data, sizes: np.ndarray) -> None:
        if not len(data):
            return
        try:
            self._file.write(data)
        except OSError as exc:
            raise _write_error(self.shown, exc) from None
        self._crc = crc16(data, self._crc)
        self._sizes.append(np.asarray(sizes, np.int32))

    def _emit_upto(self, j: int) -> None:
        """Write the current encode's frames up to local index j, as they are."""
        f = self._cur
        if j > self._written:
            self._emit(f.data[int(f.off[self._written]):int(f.off[j])], np.diff(f.off[self._written:j + 1]))
            self._written = j

    def _assemble(self, s: _Segment) -> None:
        if self._cur is None:
            self._cur, self._written = s.frames, 0
        else:
            self._splice(s)
            self._cur_seg.frames = None  # done with the earlier encode
            s.around = None
        self._cur_seg = s
        s.encoder = None
        f = s.frames
        if s.next_seam is None:
            self._emit_upto(f.n)
        else:
            # frames a later seam can still rewrite: from 255 bytes before the first candidate
            window = s.next_seam - HALF_WINDOW - f.g0
            self._emit_upto(max(self._written, int(np.searchsorted(f.D, f.D[window] - _MAX_MDB, side="right")) - 2))

    def _candidates(self, s: _Segment) -> list[int]:
        cands = np.arange(s.seam - HALF_WINDOW, s.seam + HALF_WINDOW + 1)
        order = np.lexsort((np.abs(cands - s.seam), np.round(s.energy, -3)))
        return [int(c) for c in cands[order] if c >= s.valid_from]

    def _limit(self, s: _Segment) -> int:
        """Moved main data must be back in place before this frame of s (before its next window)."""
        return s.next_seam - HALF_WINDOW if s.next_seam is not None else s.frames.g0 + s.frames.n

    def _splice(self, s: _Segment) -> None:
        """Join the current encode's frames before a seam frame to s's frames from it."""
        for c in self._candidates(s):
            plan = _plan_splice(self._cur, self._written, s.frames, c, self._limit(s))
            if plan is not None:
                self._join(s.frames, plan)
                return
        self._bridge(s)

    def _bridge(self, s: _Segment) -> None:
        """No candidate seam fits: encode the window again from earlier starting points (another
        bit-reservoir history) and splice that encode in between."""
        hi = s.seam + HALF_WINDOW  # the earlier encode's frames are final below this
        end = (hi + POSTROLL) * FRAME
        warm = PREROLL // 2
        # earlier starts on the padding grid, then two later ones off it (frame sizes then
        # differ from a single pass by a byte here and there, which nothing depends on)
        starts = [s.first - k * self._period for k in (1, 2, 3, 4)] + [s.first + 11, s.first + 23]
        for first in starts:
            if first < s.around_first or first + warm >= hi - 1:
                continue
            pcm = s.around[(first - s.around_first) * FRAME:end - s.around_first * FRAME]
            enc = self._encode([pcm], lambda e: None)
            enc.wait(self.stall_timeout, self.shown)
            bridge = _Frames(enc.result(self.shown), first, self._ref, self.shown)
            if bridge.n != _frames_for(len(pcm)):
                raise EncoderError(f"{self.shown}: {self._who} stopped early while encoding a bridge")
            for c1 in range(max(s.seam - HALF_WINDOW, first + warm), hi):
                p1 = _plan_splice(self._cur, self._written, bridge, c1, hi)
                if p1 is None:
                    continue
                written = c1 - first + len(p1.lags)
                for c2 in range(max(c1 + len(p1.lags) + 1, s.valid_from), hi):
                    p2 = _plan_splice(bridge, written, s.frames, c2, self._limit(s))
                    if p2 is not None:
                        self._join(bridge, p1)
                        self._join(s.frames, p2)
                        self.stats.bridges += 1
                        return
        raise EncoderError(f"{self.shown}: could not join two encoded segments near "
                           f"{s.seam * FRAME / SAMPLE_RATE:.1f} s without breaking the MP3 bit reservoir")

    def _join(self, nxt: _Frames, plan: _Splice) -> None:
        """Write the current encode's frames up to the seam, with the free tail of their data areas
        rewritten, then nxt's frames whose main data moved; nxt becomes the current encode."""
        prev = self._cur
        jp, jn, k = plan.c - prev.g0, plan.c - nxt.g0, len(plan.lags)
        a = int(prev.D[jp]) - min(plan.free, _MAX_MDB)  # stream bytes from here on are rewritten
        j0 = max(self._written, int(np.searchsorted(prev.D, a, side="right")) - 1)
        if a < prev.D[j0]:
            raise EncoderError(f"{self.shown}: internal error: a seam reaches back into written frames")
        self._emit_upto(j0)
        # the joined stream from a (in prev's positions) up to nxt's frame jn+k
        shift = int(prev.D[jp]) - int(nxt.D[jn]) - a  # nxt stream position -> index in buf
        buf = bytearray(int(nxt.D[jn + k]) + shift)
        for i in range(k):
            j = jn + i
            body = nxt.stream(int(nxt.start[j]), int(nxt.end[j]))
            at = int(nxt.start[j]) + int(plan.lags[i]) + shift
            buf[at:at + len(body)] = body
        lo = int(nxt.start[jn + k])  # nxt's own layout from here on: copy its bytes before frame jn+k
        if lo + shift < 0:
            raise EncoderError(f"{self.shown}: internal error: a seam reaches back into written frames")
        buf[lo + shift:] = nxt.stream(lo, int(nxt.D[jn + k]))
        split = int(prev.D[jp]) - a
        head = bytearray(prev.data[int(prev.off[j0]):int(prev.off[jp])])
        _scatter(head, prev.off, prev.D, j0, a, bytes(buf[:split]))
        self._emit(head, np.diff(prev.off[j0:jp + 1]))
        if k:
            moved = bytearray(nxt.data[int(nxt.off[jn]):int(nxt.off[jn + k])])
            _scatter(moved, nxt.off, nxt.D, jn, int(nxt.D[jn]), bytes(buf[split:]))
            for i in range(k):
                mdb = int(nxt.mdb[jn + i]) - int(plan.lags[i])
                if not 0 <= mdb <= _MAX_MDB:
                    raise EncoderError(f"{self.shown}: internal error: main_data_begin {mdb} at a seam")
                moved[int(nxt.off[jn + i] - nxt.off[jn]) + 4] = mdb
            self._emit(moved, np.diff(nxt.off[jn:jn + k + 1]))
            self.stats.moved_seams += 1
        self._cur, self._written = nxt, jn + k
        self.stats.seam_frames.append(plan.c)
