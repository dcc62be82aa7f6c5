"""MP3 frames: the MPEG-2 layer III frame grid, reading a stream's frames, counting the samples a
gapless decoder returns, and the CRC-16 of ffmpeg's LAME tag. Mono 22.05 kHz, 576 samples a frame.
"""

from __future__ import annotations

import math

import numpy as np

from ...base.units import SAMPLE_RATE

FRAME = 576  # samples per MPEG-2 layer III frame (one granule)
HEAD = 4 + 9  # frame header + mono MPEG-2 side information
MAX_MDB = 255  # main_data_begin is 8 bits in MPEG-2


LSF_BITRATES = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
LSF_RATES = (22050, 24000, 16000)


def padding_period(bitrate_k: int) -> int:
    """LAME pads one frame in so many; starting segments on this grid keeps frame sizes as in one pass."""
    rem = (72000 * bitrate_k) % SAMPLE_RATE
    return SAMPLE_RATE // math.gcd(rem, SAMPLE_RATE) if rem else 1


def frames_for(samples: int) -> int:
    """Frames LAME 3.100 (lameenc's, or ffmpeg's) writes for this many input samples."""
    return -(-samples // FRAME) + 2 if samples else 0



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
                2: LSF_BITRATES + (None,), 0: LSF_BITRATES + (None,)}


def frame_sizes_by_byte2(h1: int) -> tuple[list[int], int, int]:
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
        sizes, per_frame, version = frame_sizes_by_byte2(first[1])
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


