"""Splicing two encodes of one stream at a seam frame: one encode's frames indexed and measured,
and the plan that moves main data across the seam so the bit reservoir stays valid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...base.errors import EncoderError
from ...base.units import SAMPLE_RATE
from .frames import HEAD, LSF_BITRATES

# ---------------------------------------------------------------------------------------------
# One encode's frames, indexed and measured for splicing

class Frames:
    """The frames of one encoder's output. Frame j is global frame g0 + j. Positions in the
    "stream" count only data-area bytes (what main_data_begin counts)."""

    def __init__(self, data: bytes, g0: int, ref: int, shown: str):
        self.data = data
        self.g0 = g0
        n = len(data)
        offs = []
        mask = 0xFFFFFDFF  # all of the header but the padding bit must match the first frame's
        base = 72 * LSF_BITRATES[(ref >> 12) & 15] * 1000 // SAMPLE_RATE
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
        area = np.diff(self.off) - HEAD
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
            o = int(self.off[j]) + HEAD
            out.append(self.data[o + lo:o + hi])
            a = int(self.D[j]) + hi
            j += 1
        return b"".join(out)


def scatter(frames_bytes: bytearray, off: np.ndarray, D: np.ndarray, j0: int, a: int, payload: bytes) -> None:
    """Write `payload` at stream position a into frames [j0, ...) held in `frames_bytes` (whose
    byte 0 is frame j0's first byte); off/D are those frames' offsets and stream positions."""
    b = a + len(payload)
    j = int(np.searchsorted(D, a, side="right")) - 1
    base = int(off[j0])
    src = 0
    while a < b:
        lo = a - int(D[j])
        hi = min(int(D[j + 1]), b) - int(D[j])
        o = int(off[j]) - base + HEAD
        frames_bytes[o + lo:o + hi] = payload[src:src + hi - lo]
        src += hi - lo
        a = int(D[j]) + hi
        j += 1


@dataclass
class Splice:
    c: int  # global index of the first frame taken from the later encode
    lags: np.ndarray  # bytes each later frame's main data moves, for frames c .. c+len-1 (empty: none)
    free: int  # free data-area bytes the earlier encode leaves before frame c (that may be rewritten)


def plan_splice(prev: Frames, written: int, nxt: Frames, c: int, limit: int) -> Splice | None:
    """Can frames < c of `prev` (whose frames < `written` are already in the file) be followed by
    frames >= c of `nxt`? Moved main data must be back at nxt's own layout before frame `limit`."""
    jp, jn = c - prev.g0, c - nxt.g0
    if not (written < jp <= prev.n and 0 <= jn < nxt.n):
        return None
    free = int(min(prev.D[jp] - prev.end[jp - 1], prev.D[jp] - prev.D[written]))
    lam = int(nxt.mdb[jn]) - free
    if lam <= 0:
        return Splice(c, np.zeros(0, np.int64), free)
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
    return Splice(c, lag[:k], free)


