"""Walking a written M4B (MP4) or Ogg Opus file's structure, to prove it whole before it is committed.

Both containers say how long their audio is, to the sample, in a way every decoder obeys:
- MP4: the sound track's edit list (`elst`) starts presentation after the AAC encoder's
  priming (1024 samples) and ends it after the planned length; decoders trim both.
- Ogg Opus: the last page's granule position, minus the pre-skip of the `OpusHead` packet,
  counts 48 kHz samples; decoders drop the pre-skip and stop at that granule.

A file cut short (a full disk, a killed writer) or damaged in its layout fails these walks:
an MP4 whose top-level atoms do not add up to the file's size, whose `moov` is missing or
whose sample table points past `mdat`; an Ogg file whose pages do not follow one another to
the end of the file, or whose last page is not the end of the stream. The walks read
headers and tables only (milliseconds even for an 8-hour file); they do not decode audio,
so damage inside the coded audio itself goes unseen, as it would with any quick check.

Every function raises ValueError with a reason fit for a message ("the mdat atom runs past
the end of the file").
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

OPUS_RATE = 48_000  # granule positions of Ogg Opus always count 48 kHz samples


@dataclass(frozen=True)
class Presented:
    """How much audio a player presents: `samples` at `rate` per second."""

    samples: int
    rate: int

    def at(self, rate: int) -> int:
        return round(self.samples * rate / self.rate)


# --------------------------------------------------------------------------- MP4


def _atoms(data: bytes | BinaryIO, start: int, end: int, where: str) -> Iterator[tuple[bytes, int, int, int]]:
    """(type, offset, header length, size) of each atom in data[start:end] (`where` names the
    parent, "" for the top level); their sizes must tile it exactly."""
    place = f" {where}" if where else ""
    pos = start
    while pos < end:
        head = _read(data, pos, min(16, end - pos))
        if len(head) < 8:
            raise ValueError(f"the atom header at byte {pos}{place} is incomplete" + ("" if where else _CUT))
        size, kind = struct.unpack(">I4s", head[:8])
        header = 8
        if size == 1:
            if len(head) < 16:
                raise ValueError(f"the atom header at byte {pos}{place} is incomplete" + ("" if where else _CUT))
            size, header = struct.unpack(">Q", head[8:16])[0], 16
        elif size == 0:  # "to the end of the file": only mdat may say so
            size = end - pos
        name = kind.decode("latin-1")
        if size < header:
            raise ValueError(f"the {name} atom at byte {pos}{place} has an impossible size ({size}): the file is damaged")
        if pos + size > end:
            if where:
                raise ValueError(f"the {name} atom at byte {pos}{place} runs past its parent: the file is damaged")
            raise ValueError(f"the {name} atom at byte {pos} runs past the end of the file "
                             f"({pos + size - end} bytes missing)" + _CUT)
        yield kind, pos, header, size
        pos += size


_CUT = ": the file is cut short"


def _read(data: bytes | BinaryIO, pos: int, n: int) -> bytes:
    if isinstance(data, bytes):
        return data[pos:pos + n]
    data.seek(pos)
    return data.read(n)


def _children(data: bytes, pos: int, header: int, size: int, where: str) -> dict[bytes, list[tuple[int, int, int]]]:
    found: dict[bytes, list[tuple[int, int, int]]] = {}
    for kind, at, head, length in _atoms(data, pos + header, pos + size, where):
        found.setdefault(kind, []).append((at, head, length))
    return found


def _one(children: dict, kind: bytes, where: str) -> tuple[int, int, int]:
    boxes = children.get(kind, [])
    if len(boxes) != 1:
        raise ValueError(f"{where} has {len(boxes)} {kind.decode('latin-1')} atoms instead of one")
    return boxes[0]


def _full(data: bytes, box: tuple[int, int, int]) -> tuple[int, bytes]:
    """(version, body after version and flags) of a full atom."""
    pos, header, size = box
    body = data[pos + header:pos + size]
    if len(body) < 4:
        raise ValueError("an atom is too short for its version and flags")
    return body[0], body[4:]


def _table(body: bytes, offset: int, count: int, width: int, name: str) -> np.ndarray:
    need = offset + count * width
    if len(body) < need:
        raise ValueError(f"the {name} table is shorter than its {count} entries")
    dtype = {4: ">u4", 8: ">u8"}[width]
    return np.frombuffer(body, dtype=dtype, count=count, offset=offset).astype(np.int64)


def mp4_presented(path: Path) -> Presented:
    """The sound track's presented length, after checking the file's layout; ValueError if damaged."""
    try:
        return _mp4_presented(path)
    except struct.error:
        raise ValueError("one of its tables is cut short") from None


def _mp4_presented(path: Path) -> Presented:
    with open(path, "rb") as f:
        f.seek(0, 2)
        file_size = f.tell()
        top: dict[bytes, list[tuple[int, int, int]]] = {}
        for kind, pos, header, size in _atoms(f, 0, file_size, ""):
            top.setdefault(kind, []).append((pos, header, size))
        if not top or next(iter(top)) != b"ftyp":
            raise ValueError("it does not start with an ftyp atom: not an MP4 file")
        for kind, what in ((b"moov", "its index"), (b"mdat", "its audio")):
            if kind not in top:  # a writer stopped before finishing (moov comes last, or first after faststart)
                raise ValueError(f"it has no {kind.decode()} atom ({what})" + _CUT)
        moov_pos, moov_header, moov_size = _one(top, b"moov", "the file")
        mdat_pos, mdat_header, mdat_size = _one(top, b"mdat", "the file")
        f.seek(moov_pos)
        moov = f.read(moov_size)
    mdat = (mdat_pos + mdat_header, mdat_pos + mdat_size)
    children = _children(moov, 0, moov_header, moov_size, "in moov")
    version, body = _full(moov, _one(children, b"mvhd", "moov"))
    movie_scale = struct.unpack(">I", body[16:20] if version == 1 else body[8:12])[0]
    tracks = children.get(b"trak", [])
    for trak in tracks:  # the audio and the chapter track: every sample inside mdat
        _check_samples(moov, trak, mdat)
    sound = [t for t in tracks if _handler(moov, t) == b"soun"]
    if len(sound) != 1:
        raise ValueError(f"it has {len(sound)} sound tracks instead of one")
    return _presented(moov, sound[0], movie_scale)


def _handler(moov: bytes, trak: tuple[int, int, int]) -> bytes:
    mdia = _children(moov, *trak, "in a trak").get(b"mdia")
    if not mdia:
        return b""
    hdlr = _children(moov, *mdia[0], "in mdia").get(b"hdlr")
    return _full(moov, hdlr[0])[1][4:8] if hdlr else b""


def _media(moov: bytes, trak: tuple[int, int, int]) -> tuple[dict, dict]:
    """(the trak's children, its mdia's children)."""
    atoms = _children(moov, *trak, "in a trak")
    return atoms, _children(moov, *_one(atoms, b"mdia", "a trak"), "in mdia")


def _stbl(moov: bytes, mdia: dict) -> dict:
    minf = _children(moov, *_one(mdia, b"minf", "mdia"), "in minf")
    return _children(moov, *_one(minf, b"stbl", "minf"), "in stbl")


def _timing(moov: bytes, stbl: dict) -> tuple[int, int]:
    """(samples, media time units) the track's time-to-sample table covers."""
    _, stts = _full(moov, _one(stbl, b"stts", "stbl"))
    n = struct.unpack(">I", stts[:4])[0]
    runs = _table(stts, 4, 2 * n, 4, "stts").reshape(n, 2)
    return int(runs[:, 0].sum()), int((runs[:, 0] * runs[:, 1]).sum())


def _check_samples(moov: bytes, trak: tuple[int, int, int], mdat: tuple[int, int]) -> None:
    stbl = _stbl(moov, _media(moov, trak)[1])
    _, stsz = _full(moov, _one(stbl, b"stsz", "stbl"))
    fixed, count = struct.unpack(">II", stsz[:8])
    sizes = np.full(count, fixed, dtype=np.int64) if fixed else _table(stsz, 8, count, 4, "stsz")
    timed, _ = _timing(moov, stbl)
    if count != timed:
        raise ValueError(f"its sample tables disagree ({count} sizes, {timed} timed samples)")
    if b"co64" in stbl:
        _, co = _full(moov, _one(stbl, b"co64", "stbl"))
        offsets = _table(co, 4, struct.unpack(">I", co[:4])[0], 8, "co64")
    else:
        _, co = _full(moov, _one(stbl, b"stco", "stbl"))
        offsets = _table(co, 4, struct.unpack(">I", co[:4])[0], 4, "stco")
    _, stsc = _full(moov, _one(stbl, b"stsc", "stbl"))
    m = struct.unpack(">I", stsc[:4])[0]
    _check_chunks(offsets, _table(stsc, 4, 3 * m, 4, "stsc").reshape(m, 3), sizes, mdat)


def _presented(moov: bytes, trak: tuple[int, int, int], movie_scale: int) -> Presented:
    atoms, mdia = _media(moov, trak)
    version, body = _full(moov, _one(mdia, b"mdhd", "mdia"))
    media_scale = struct.unpack(">I", body[16:20] if version == 1 else body[8:12])[0]
    if not media_scale or not movie_scale:
        raise ValueError("a time scale is zero")
    _, media_length = _timing(moov, _stbl(moov, mdia))
    start, length = 0, media_length
    if b"edts" in atoms:
        start, length = _edit(moov, atoms, movie_scale, media_scale)
        if start + length > media_length:
            raise ValueError(f"its edit list runs past the coded audio ({start + length} > {media_length} samples)")
    return Presented(length, media_scale)


def _edit(moov: bytes, atoms: dict, movie_scale: int, media_scale: int) -> tuple[int, int]:
    """(first presented sample, presented samples) from a one-entry edit list, in media time."""
    edts = _children(moov, *_one(atoms, b"edts", "the sound trak"), "in edts")
    version, elst = _full(moov, _one(edts, b"elst", "edts"))
    n = struct.unpack(">I", elst[:4])[0]
    width = 8 if version == 1 else 4
    entry = 2 * width + 4
    if len(elst) < 4 + n * entry:
        raise ValueError("the elst table is shorter than its entries")
    edits = []
    for i in range(n):
        at = 4 + i * entry
        fmt = ">Qq" if version == 1 else ">Ii"
        duration, media_time = struct.unpack(fmt, elst[at:at + 2 * width])
        if media_time != -1:  # -1 is an empty edit (a delay), which rlsaudio never writes
            edits.append((media_time, duration))
    if len(edits) != 1:
        raise ValueError(f"its edit list has {len(edits)} edits instead of one")
    media_time, duration = edits[0]
    return media_time, round(duration * media_scale / movie_scale)


def _check_chunks(offsets: np.ndarray, stsc: np.ndarray, sizes: np.ndarray, mdat: tuple[int, int]) -> None:
    """Every chunk of samples lies inside mdat's payload."""
    chunks = len(offsets)
    if chunks == 0:
        if len(sizes):
            raise ValueError("its samples have no chunks")
        return
    first = stsc[:, 0]
    if first[0] != 1 or np.any(np.diff(first) <= 0) or first[-1] > chunks:
        raise ValueError("its sample-to-chunk table is out of order")
    per_chunk = np.repeat(stsc[:, 1], np.diff(np.append(first, chunks + 1)))
    if int(per_chunk.sum()) != len(sizes):
        raise ValueError(f"its chunks hold {int(per_chunk.sum())} samples, its size table {len(sizes)}")
    ends = np.cumsum(sizes)
    last = np.cumsum(per_chunk)
    chunk_bytes = ends[last - 1] - np.concatenate(([0], ends[last[:-1] - 1]))
    if offsets.min() < mdat[0] or int((offsets + chunk_bytes).max()) > mdat[1]:
        raise ValueError("its sample table points outside the mdat atom: the file is cut short or damaged")


# --------------------------------------------------------------------------- Ogg Opus


def ogg_opus_presented(path: Path) -> Presented:
    """The presented length of an Ogg Opus file (one logical stream), after walking every page
    header from the first to the last, which must end the stream; ValueError if damaged."""
    try:
        return _ogg_opus_presented(path)
    except struct.error:
        raise ValueError("its OpusHead packet is cut short") from None


def _ogg_opus_presented(path: Path) -> Presented:
    pre_skip, last_granule, eos = None, -1, False
    serial, sequence, pos = None, 0, 0
    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        while pos < size:
            f.seek(pos)
            head = f.read(27)
            if len(head) < 27 and b"OggS".startswith(head[:4]):
                raise ValueError(f"the Ogg page header at byte {pos} is incomplete" + _CUT)
            if head[:4] != b"OggS":
                raise ValueError(f"no Ogg page where one should start (byte {pos}): the file is damaged")
            version, flags, granule, page_serial, page_seq, _crc, segments = struct.unpack("<BBqIIIB", head[4:])
            lacing = f.read(segments)
            body = sum(lacing)
            end = pos + 27 + segments + body
            if len(lacing) < segments or end > size:
                raise ValueError(f"the Ogg page at byte {pos} runs past the end of the file ({end - size} bytes "
                                 "missing)" + _CUT)
            if version != 0 or (serial is not None and page_serial != serial) or page_seq != sequence:
                raise ValueError(f"the Ogg page at byte {pos} is out of sequence: the file is damaged")
            if eos:
                raise ValueError(f"the Ogg stream goes on after its last page (byte {pos})")
            if serial is None:
                opus_head = f.read(19)
                if not flags & 0x02 or opus_head[:8] != b"OpusHead":
                    raise ValueError("it does not start with an OpusHead packet: not an Ogg Opus file")
                pre_skip = struct.unpack("<H", opus_head[10:12])[0]
                serial = page_serial
            if granule != -1:
                if granule < last_granule:
                    raise ValueError(f"the Ogg page at byte {pos} goes back in time: the file is damaged")
                last_granule = granule
            eos = bool(flags & 0x04)
            sequence += 1
            pos = end
    if serial is None:
        raise ValueError("the file is empty")
    if not eos:
        raise ValueError("its last Ogg page does not end the stream" + _CUT)
    if last_granule < pre_skip:
        raise ValueError("it holds no audio")
    return Presented(last_granule - pre_skip, OPUS_RATE)
