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

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...base.errors import EncoderError
from ...base.units import SAMPLE_RATE
from ...system import memory
from ...system.ffmpeg import find as find_ffmpeg
from .encoders import FfmpegEncoder, LameEncoder, ffmpeg_command, lame_available, write_error
from .frames import FRAME, LSF_RATES, MAX_MDB, crc16, frames_for, mp3_decoded_samples, padding_period
from .header import build_info_frame, info_template
from .splice import Frames, Splice, plan_splice, scatter

PREROLL = 32  # frames encoded before a segment's first candidate seam (0.84 s)
POSTROLL = 4  # frames encoded after a segment's last candidate seam
HALF_WINDOW = 32  # candidate seams: T-32 .. T+32 around the planned cut T
_ENERGY_BEFORE = 3  # a seam at frame c is heard in input frames c-3 .. c


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
    encoder: LameEncoder | FfmpegEncoder | None = None
    frames: Frames | None = None

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
        if SAMPLE_RATE not in LSF_RATES:
            raise ValueError("ParallelMp3Writer handles MPEG-2 sample rates only")
        self.path = Path(path)
        self.shown = shown or str(path)
        self.jobs = max(1, int(jobs))
        self.stall_timeout = stall_timeout
        self.verify = verify
        self.stats = Stats()
        self._ffmpeg = ffmpeg or find_ffmpeg()
        self._period = padding_period(bitrate_k)
        smallest = 2 * HALF_WINDOW + 2
        self._seg = max(smallest, round(segment_seconds * SAMPLE_RATE / FRAME))
        self._min = max(smallest, round(min_segment_seconds * SAMPLE_RATE / FRAME))
        self._search = max(0, round(search_seconds * SAMPLE_RATE / FRAME))
        self._cmd = ffmpeg_command(self._ffmpeg, bitrate_k, "pipe:1")
        self._bitrate_k = bitrate_k
        self.encoder = encoder or ("lame" if lame_available() else "ffmpeg")
        if self.encoder not in ("lame", "ffmpeg"):
            raise ValueError(f"unknown MP3 encoder {encoder!r}")
        self._template, self._xoff, self._delay, self._ref = info_template(
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
        self._cur: Frames | None = None
        self._cur_seg: _Segment | None = None
        self._written = 0
        self._sizes: list[np.ndarray] = []
        self._crc = 0
        try:
            self._file = open(self.path, "wb")
            self._file.write(bytes(len(self._template)))  # the Info frame's place
        except OSError as exc:
            raise write_error(self.shown, exc) from None

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
        expected = frames_for(total)
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
            raise write_error(self.shown, exc) from None
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

    def _encode(self, pieces: list[np.ndarray], notify) -> LameEncoder | FfmpegEncoder:
        if self.encoder == "lame":
            return LameEncoder(self._bitrate_k, pieces, notify)
        return FfmpegEncoder(self._cmd, pieces, notify)

    def _running(self) -> int:
        return sum(1 for s in self._segments if s.encoder is not None and not s.encoder.done)

    def _notify(self, encoder: LameEncoder | FfmpegEncoder) -> None:
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
        frames = Frames(data, s.first, self._ref, self.shown)
        expected = frames_for(s.samples)
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
            raise write_error(self.shown, exc) from None
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
            self._emit_upto(max(self._written, int(np.searchsorted(f.D, f.D[window] - MAX_MDB, side="right")) - 2))

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
            plan = plan_splice(self._cur, self._written, s.frames, c, self._limit(s))
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
            bridge = Frames(enc.result(self.shown), first, self._ref, self.shown)
            if bridge.n != frames_for(len(pcm)):
                raise EncoderError(f"{self.shown}: {self._who} stopped early while encoding a bridge")
            for c1 in range(max(s.seam - HALF_WINDOW, first + warm), hi):
                p1 = plan_splice(self._cur, self._written, bridge, c1, hi)
                if p1 is None:
                    continue
                written = c1 - first + len(p1.lags)
                for c2 in range(max(c1 + len(p1.lags) + 1, s.valid_from), hi):
                    p2 = plan_splice(bridge, written, s.frames, c2, self._limit(s))
                    if p2 is not None:
                        self._join(bridge, p1)
                        self._join(s.frames, p2)
                        self.stats.bridges += 1
                        return
        raise EncoderError(f"{self.shown}: could not join two encoded segments near "
                           f"{s.seam * FRAME / SAMPLE_RATE:.1f} s without breaking the MP3 bit reservoir")

    def _join(self, nxt: Frames, plan: Splice) -> None:
        """Write the current encode's frames up to the seam, with the free tail of their data areas
        rewritten, then nxt's frames whose main data moved; nxt becomes the current encode."""
        prev = self._cur
        jp, jn, k = plan.c - prev.g0, plan.c - nxt.g0, len(plan.lags)
        a = int(prev.D[jp]) - min(plan.free, MAX_MDB)  # stream bytes from here on are rewritten
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
        scatter(head, prev.off, prev.D, j0, a, bytes(buf[:split]))
        self._emit(head, np.diff(prev.off[j0:jp + 1]))
        if k:
            moved = bytearray(nxt.data[int(nxt.off[jn]):int(nxt.off[jn + k])])
            scatter(moved, nxt.off, nxt.D, jn, int(nxt.D[jn]), bytes(buf[split:]))
            for i in range(k):
                mdb = int(nxt.mdb[jn + i]) - int(plan.lags[i])
                if not 0 <= mdb <= MAX_MDB:
                    raise EncoderError(f"{self.shown}: internal error: main_data_begin {mdb} at a seam")
                moved[int(nxt.off[jn + i] - nxt.off[jn]) + 4] = mdb
            self._emit(moved, np.diff(nxt.off[jn:jn + k + 1]))
            self.stats.moved_seams += 1
        self._cur, self._written = nxt, jn + k
        self.stats.seam_frames.append(plan.c)
