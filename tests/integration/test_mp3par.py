"""ParallelMp3Writer: spliced MP3s decode like single-pass ones, measured on decoded audio."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from places import deadline

from rlsaudio.base.errors import EncoderError, OutputError
from rlsaudio.encode.mp3 import encoders, header, splice
from rlsaudio.encode.mp3 import frames as mp3_frames
from rlsaudio.encode.mp3 import writer as mp3_writer
from rlsaudio.encode.mp3.frames import FRAME, crc16, mp3_decoded_samples
from rlsaudio.encode.mp3.writer import ParallelMp3Writer
from rlsaudio.encode.writers import Mp3Writer

SR = 22050
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
DELAY = 576 + 529  # what a gapless decoder trims at the start
SMALL = dict(segment_seconds=1.5, min_segment_seconds=1.0, search_seconds=0.3)  # many seams in a few seconds


# --- signals --------------------------------------------------------------------------------

def speech_like(seconds: float, seed: int, *, noise: float = 0.0, loud: bool = False):
    """Bursts of harmonic tones (varying pitch, level, length) between silences: int16 PCM and
    the burst onsets. `noise`: continuous low brown noise under everything (its rms, relative to
    full scale). `loud`: bursts back to back over a sustained loud bed, so no seam can be quiet."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    x = np.zeros(n)
    onsets = []
    t = int(0.2 * SR)
    while t < n - SR // 5:
        m = min(int(rng.uniform(0.4, 1.2) * SR if loud else rng.uniform(0.15, 0.9) * SR), n - t)
        tt = np.arange(m) / SR
        f0 = rng.uniform(90, 260) * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(1, 5) * tt))
        phase = 2 * np.pi * np.cumsum(f0) / SR
        tone = sum(np.sin(k * phase) * rng.uniform(0.2, 1.0) / k for k in range(1, 14))
        envelope = np.minimum(1, np.minimum(tt / 0.004, (m / SR - tt) / 0.02))
        x[t:t + m] += tone * envelope * rng.uniform(0.15, 0.5)
        onsets.append(t)
        t += m + (0 if loud else int(rng.uniform(0.1, 0.7) * SR))
    if loud:
        tt = np.arange(n) / SR
        x += 0.25 * (np.sin(2 * np.pi * 110 * tt) + 0.5 * np.sin(2 * np.pi * 165 * tt + 1)
                     + 0.2 * rng.standard_normal(n))
    if noise:
        brown = np.cumsum(rng.standard_normal(n))
        brown -= np.convolve(brown, np.ones(801) / 801, "same")  # keep it from wandering
        x += brown / np.sqrt(np.mean(brown ** 2)) * noise
    return np.clip(x * 20000, -32768, 32767).astype(np.int16), onsets


def decode(path) -> tuple[np.ndarray, str]:
    out = subprocess.run([FFMPEG, "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-"],
                         capture_output=True, check=True)
    return np.frombuffer(out.stdout, "<i2").astype(np.float64), out.stderr.decode()


def encode_parallel(path: Path, pcm: np.ndarray, chunk: int = 220500, **kw) -> ParallelMp3Writer:
    writer = ParallelMp3Writer(path, 64, FFMPEG, **{**SMALL, **kw})
    for i in range(0, len(pcm), chunk):
        writer.write(pcm[i:i + chunk])
    writer.close()
    return writer


def encode_single(path: Path, pcm: np.ndarray, bitrate_k: int = 64) -> None:
    writer = Mp3Writer(path, bitrate_k, FFMPEG)
    writer.write(pcm)
    writer.close()


def info_fields(path) -> dict:
    data = Path(path).read_bytes()
    x = 13  # "Info" in a mono MPEG-2 frame
    assert data[x:x + 4] == b"Info"
    v = int.from_bytes(data[x + 141:x + 144], "big")
    frame = data[:mp3_frames.frame_sizes_by_byte2(data[1])[0][data[2]]]
    zeroed = bytearray(frame)
    zeroed[x + 154:x + 156] = b"\0\0"
    return {"frames": int.from_bytes(data[x + 8:x + 12], "big"), "bytes": int.from_bytes(data[x + 12:x + 16], "big"),
            "delay": v >> 12, "padding": v & 0xFFF, "music_length": int.from_bytes(data[x + 148:x + 152], "big"),
            "music_crc": int.from_bytes(data[x + 152:x + 154], "big"),
            "tag_crc_ok": crc16((bytes(zeroed) + bytes(190))[:190]) == int.from_bytes(data[x + 154:x + 156], "big"),
            "info_size": len(frame), "file_size": len(data),
            "audio_crc": crc16(data[len(frame):])}


def assert_reservoir_consistent(path) -> None:
    """Every frame's main data starts after the previous frame's ends, at most 255 bytes before
    its own data area, and ends inside its own frame (what _Frames checks on parsing)."""
    data = Path(path).read_bytes()
    info = mp3_frames.frame_sizes_by_byte2(data[1])[0][data[2]]
    frames = splice.Frames(data[info:], 0, int.from_bytes(data[info:info + 4], "big") & 0xFFFFFDFF, "x")
    assert frames.n and frames.mdb.max() <= 255 and frames.start[0] >= 0


# --- checks on decoded audio ------------------------------------------------------------------

def lag(a: np.ndarray, b: np.ndarray, at: int, reach: int = 66) -> int:
    """Shift of a against b (samples) around sample `at`, by cross-correlation."""
    lo, hi = max(reach, at - 600), min(len(a) - reach, at + 1600)
    ref = b[lo:hi]
    scores = [np.dot(a[lo + d:hi + d], ref) for d in range(-reach, reach + 1)]
    return int(np.argmax(scores)) - reach


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else 0.0


def check_seams(spliced: np.ndarray, single: np.ndarray, pcm: np.ndarray, seam_frames: list[int]) -> None:
    """Around each seam the spliced decode is as close to the input as the single-pass one is
    (same codec noise), with no click, no gap and no broadband burst."""
    reference = pcm.astype(np.float64) * 0.95  # LAME scales its input by 0.95
    half = 1024
    # codec noise of the single-pass encode away from seams, per window, for scale
    starts = [s for s in range(half, len(pcm) - half, 2 * half)
              if all(abs(s - (c * FRAME - DELAY)) > 4 * half for c in seam_frames)]
    codec_noise = np.array([rms(single[s - half:s + half] - reference[s - half:s + half]) for s in starts])
    for c in seam_frames:
        t = c * FRAME - DELAY  # where frame c's samples start in the decoded output
        w = slice(max(0, t - half), t + half)
        err_spliced = rms(spliced[w] - reference[w])
        err_single = rms(single[w] - reference[w])
        assert err_spliced <= 1.5 * err_single + 3, (c, err_spliced, err_single)
        assert err_spliced <= np.percentile(codec_noise, 99) * 1.5 + 3, (c, err_spliced)
        assert rms(spliced[w] - single[w]) <= 2 * err_single + 3, c
        # level: no gap or drop-out
        level_spliced, level_single = rms(spliced[w]), rms(single[w])
        if level_single > 30:
            assert abs(20 * np.log10(level_spliced / level_single)) < 0.5, (c, level_spliced, level_single)
        # clicks: sample-to-sample jumps and high-frequency energy no larger than the single pass's
        jump_spliced = np.abs(np.diff(spliced[w])).max()
        jump_single = np.abs(np.diff(single[w])).max()
        assert jump_spliced <= 1.2 * jump_single + 8, (c, jump_spliced, jump_single)
        for k in range(max(0, t - half), t + half - 128, 64):
            hf_spliced = rms(np.diff(spliced[k:k + 128]))
            hf_single = rms(np.diff(single[k:k + 128]))
            assert hf_spliced <= 1.5 * hf_single + 4, (c, k, hf_spliced, hf_single)


SIGNALS = {
    "speech": lambda: speech_like(12, seed=1),
    "speech over brown noise": lambda: speech_like(12, seed=2, noise=0.01),
    "loud continuous": lambda: speech_like(12, seed=3, loud=True),
}


@pytest.mark.parametrize("encoder", ["lame", "ffmpeg"])
@pytest.mark.parametrize("kind", SIGNALS)
def test_spliced_mp3_decodes_like_single_pass(tmp_path, kind, encoder):
    """Against one ffmpeg encoding the whole stream (Mp3Writer), whichever encoder made the segments."""
    pcm, onsets = SIGNALS[kind]()
    assert len(pcm) % FRAME > 46  # ffmpeg's own muxer stores the exact padding only then (see below)
    writer = encode_parallel(tmp_path / "par.mp3", pcm, encoder=encoder)
    encode_single(tmp_path / "one.mp3", pcm)
    assert writer.stats.seams >= 5 and writer.stats.bridges == 0

    spliced, errors = decode(tmp_path / "par.mp3")
    single, _ = decode(tmp_path / "one.mp3")
    assert errors == ""
    assert len(spliced) == len(pcm) == len(single)
    assert mp3_decoded_samples(tmp_path / "par.mp3") == len(pcm)

    info = info_fields(tmp_path / "par.mp3")
    assert info["frames"] == mp3_frames.frames_for(len(pcm))
    assert info["bytes"] == info["music_length"] == info["file_size"]
    assert info["delay"] == 576
    assert info["frames"] * FRAME - info["delay"] - info["padding"] == len(pcm)
    assert info["music_crc"] == info["audio_crc"] and info["tag_crc_ok"]
    assert info["file_size"] == (tmp_path / "one.mp3").stat().st_size  # frame sizes as in one pass
    assert_reservoir_consistent(tmp_path / "par.mp3")

    for onset in onsets:  # every event lands where the single pass puts it (within 1 ms)
        assert abs(lag(spliced, single, onset)) <= SR // 1000, onset
    check_seams(spliced, single, pcm, writer.stats.seam_frames)


def test_event_timing_matches_the_input(tmp_path):
    pcm, onsets = speech_like(8, seed=4)
    encode_parallel(tmp_path / "par.mp3", pcm)
    spliced, _ = decode(tmp_path / "par.mp3")
    for onset in onsets:
        assert abs(lag(spliced, pcm.astype(np.float64), onset)) <= SR // 1000
        gate = np.flatnonzero(np.abs(spliced[onset - 400:onset + 400]) > 300)
        assert abs(gate[0] - 400) <= SR // 1000, onset


def test_chunk_sizes_do_not_change_the_file(tmp_path):
    pcm, _ = speech_like(7, seed=5, noise=0.005)
    encode_parallel(tmp_path / "a.mp3", pcm, chunk=len(pcm))
    encode_parallel(tmp_path / "b.mp3", pcm, chunk=7777)
    writer = ParallelMp3Writer(tmp_path / "c.mp3", 64, FFMPEG, **SMALL)
    rng = np.random.default_rng(0)
    i = 0
    while i < len(pcm):
        n = int(rng.integers(1, 30000))
        writer.write(pcm[i:i + n])
        i += n
    writer.close()
    a = (tmp_path / "a.mp3").read_bytes()
    assert a == (tmp_path / "b.mp3").read_bytes() == (tmp_path / "c.mp3").read_bytes()


@pytest.mark.parametrize("encoder", ["lame", "ffmpeg"])
@pytest.mark.parametrize("n", [0, 1, 300, 576, 577, 5000, 2 * SR + 7])
def test_short_streams_encode_in_one_piece(tmp_path, n, encoder):
    pcm, _ = speech_like(3, seed=6)
    pcm = pcm[:n]
    # default segments: far too short to split
    writer = ParallelMp3Writer(tmp_path / "par.mp3", 64, FFMPEG, encoder=encoder)
    writer.write(pcm)
    writer.close()
    assert writer.stats.segments == 1 and writer.stats.seams == 0
    assert mp3_decoded_samples(tmp_path / "par.mp3") == n
    encode_single(tmp_path / "one.mp3", pcm)
    if n == 0:  # an Info frame and nothing else, like Mp3Writer's (ffmpeg cannot open either)
        assert (tmp_path / "par.mp3").read_bytes() == (tmp_path / "one.mp3").read_bytes()
        return
    decoded, errors = decode(tmp_path / "par.mp3")
    assert errors == "" and len(decoded) == n
    capped = 1 <= n % FRAME <= 46
    if capped:
        # ffmpeg's muxer caps the stored padding at 576+529 samples, so its own single-pass file
        # decodes up to 46 samples long; ours stores the true padding and decodes to exactly n.
        assert len(decode(tmp_path / "one.mp3")[0]) == n + (n % FRAME and 47 - n % FRAME)
    if encoder == "ffmpeg":
        same = (tmp_path / "par.mp3").read_bytes() == (tmp_path / "one.mp3").read_bytes()
        assert same != capped  # byte for byte what Mp3Writer writes, but for that padding
    else:
        # LAME in this process: the same frames, frame sizes and Info frame as ffmpeg's LAME writes
        # (the coded bits differ: another build of LAME), and the same sound
        ours, theirs = info_fields(tmp_path / "par.mp3"), info_fields(tmp_path / "one.mp3")
        for key in ("frames", "bytes", "delay", "music_length", "info_size", "file_size"):
            assert ours[key] == theirs[key], key
        assert ours["tag_crc_ok"] and ours["music_crc"] == ours["audio_crc"]
        single = decode(tmp_path / "one.mp3")[0][:n]
        reference = pcm.astype(np.float64) * 0.95
        assert rms(decoded - reference) <= 1.2 * rms(single - reference) + 3


@pytest.mark.parametrize("bitrate", [8, 160])
def test_info_frame_matches_ffmpeg_at_other_bitrates(tmp_path, bitrate):
    pcm, _ = speech_like(2, seed=7)
    writer = ParallelMp3Writer(tmp_path / "par.mp3", bitrate, FFMPEG, encoder="ffmpeg")
    writer.write(pcm)
    writer.close()
    encode_single(tmp_path / "one.mp3", pcm, bitrate)
    assert (tmp_path / "par.mp3").read_bytes() == (tmp_path / "one.mp3").read_bytes()
    writer = ParallelMp3Writer(tmp_path / "lame.mp3", bitrate, FFMPEG, encoder="lame")
    writer.write(pcm)
    writer.close()
    ours, theirs = info_fields(tmp_path / "lame.mp3"), info_fields(tmp_path / "one.mp3")
    assert {k: v for k, v in ours.items() if "crc" not in k} == {k: v for k, v in theirs.items() if "crc" not in k}
    assert ours["tag_crc_ok"] and ours["music_crc"] == ours["audio_crc"]


def test_info_frame_rebuilt_from_a_single_pass_file_is_identical(tmp_path):
    """The header code reproduces ffmpeg's Info frame (TOC bags, CRCs) for a long frame list."""
    pcm, _ = speech_like(20, seed=8)
    pcm = pcm[:len(pcm) - len(pcm) % FRAME + 300]
    encode_single(tmp_path / "one.mp3", pcm)
    data = (tmp_path / "one.mp3").read_bytes()
    template, xoff, delay, _ = header.info_template(FFMPEG, 64, "x", 60)
    frames = splice.Frames(data[len(template):], 0, int.from_bytes(data[len(template):len(template) + 4], "big")
                            & 0xFFFFFDFF, "x")
    sizes = np.diff(frames.off)
    padding = frames.n * FRAME - delay - len(pcm)
    info = header.build_info_frame(template, xoff, sizes, delay, padding, crc16(data[len(template):]))
    assert info == data[:len(template)]


def test_seams_that_need_moved_main_data_or_a_bridge(tmp_path, monkeypatch):
    pcm, onsets = speech_like(12, seed=3, loud=True)
    encode_single(tmp_path / "one.mp3", pcm)
    single, _ = decode(tmp_path / "one.mp3")

    # Seams whose main data must move (lam > 0), preferred wherever one fits. These signals leave
    # plenty of reservoir free at every candidate, so the free space is cut down to the data area
    # of the frame before the seam (as if the frames before it were already written): then every
    # seam frame whose main data begins further back needs the later frames' data moved.
    plan, candidates = mp3_writer.plan_splice, ParallelMp3Writer._candidates

    def restricted(prev, written, nxt, c, limit):
        return plan(prev, max(written, c - prev.g0 - 1), nxt, c, limit)

    def moved_first(self, s):
        def moves(c):
            p = restricted(self._cur, self._written, s.frames, c, self._limit(s))
            return p is not None and len(p.lags) > 0
        return sorted(candidates(self, s), key=lambda c: not moves(c))

    monkeypatch.setattr(mp3_writer, "plan_splice", restricted)
    monkeypatch.setattr(ParallelMp3Writer, "_candidates", moved_first)
    moved = encode_parallel(tmp_path / "moved.mp3", pcm)
    monkeypatch.setattr(mp3_writer, "plan_splice", plan)
    # no candidate fits at any seam: every seam is bridged by another encode of its window
    monkeypatch.setattr(ParallelMp3Writer, "_candidates", lambda self, s: [])
    bridged = encode_parallel(tmp_path / "bridged.mp3", pcm)

    assert moved.stats.moved_seams >= 3
    assert bridged.stats.bridges == bridged.stats.seams // 2 >= 4
    for name in ("moved.mp3", "bridged.mp3"):
        spliced, errors = decode(tmp_path / name)
        assert errors == "" and len(spliced) == len(pcm) == mp3_decoded_samples(tmp_path / name)
        assert_reservoir_consistent(tmp_path / name)
        for onset in onsets:
            assert abs(lag(spliced, single, onset)) <= SR // 1000
    check_seams(decode(tmp_path / "moved.mp3")[0], single, pcm, moved.stats.seam_frames)
    check_seams(decode(tmp_path / "bridged.mp3")[0], single, pcm, bridged.stats.seam_frames)


def test_a_seam_that_cannot_fit_raises_instead_of_writing_a_bad_file(tmp_path, monkeypatch):
    pcm, _ = speech_like(6, seed=9)
    monkeypatch.setattr(mp3_writer, "plan_splice", lambda *a: None)
    writer = ParallelMp3Writer(tmp_path / "par.mp3", 64, FFMPEG, **SMALL)
    with pytest.raises(EncoderError, match="could not join"):
        writer.write(pcm)
        writer.close()
    writer.abort()


def test_both_cores_and_bounded_memory(tmp_path, monkeypatch):
    """At most `jobs` encoders at once, and both are used; PCM held stays near 3 segments."""
    running, peak = [], [0]
    submit = ParallelMp3Writer._submit

    def counting(self, seg, pieces):
        submit(self, seg, pieces)
        running.append(self._running())
        peak[0] = max(peak[0], self.stats.peak_pcm_bytes)

    monkeypatch.setattr(ParallelMp3Writer, "_submit", counting)
    slow = fake_ffmpeg(tmp_path, 'case "$*" in *pipe:1*) sleep 0.2;; esac\nexec "$REAL" "$@"')
    pcm, _ = speech_like(14, seed=10)
    writer = ParallelMp3Writer(tmp_path / "par.mp3", 64, slow, encoder="ffmpeg", **SMALL)
    for i in range(0, len(pcm), 4410):
        writer.write(pcm[i:i + 4410])
    writer.close()
    assert max(running) == 2
    buffer = writer._seg + writer._search + 2 * mp3_writer.HALF_WINDOW + mp3_writer.PREROLL + 49 + mp3_writer.POSTROLL + 1
    around = 4 * 49 + mp3_writer.PREROLL + 2 * mp3_writer.HALF_WINDOW + mp3_writer.POSTROLL + 49
    assert peak[0] <= 3 * (buffer + around) * FRAME * 2
    assert mp3_decoded_samples(tmp_path / "par.mp3") == len(pcm)


@pytest.mark.parametrize("minutes", [20, 120])
def test_segment_plan_for_long_streams(tmp_path, monkeypatch, minutes):
    """Default sizes (planning only, nothing encoded): segments of about 3 minutes, the rest
    split in two at the end so both cores finish together, at most about 25 MB of PCM held
    (the buffer being filled plus two encoders' unread input)."""
    plans, buffers = [], []

    def record(self, seg, pieces):
        plans.append((seg.first, seg.samples, seg.next_seam))
        buffers.append(self._pcm.nbytes())  # the pieces are views into it
        self._segments.append(seg)

    monkeypatch.setattr(ParallelMp3Writer, "_submit", record)
    monkeypatch.setattr(ParallelMp3Writer, "_collect", lambda self, block: None)
    writer = ParallelMp3Writer(tmp_path / "x.mp3", 64, FFMPEG)
    chunk = np.zeros(220500, np.int16)
    for _ in range(minutes * 60 * SR // len(chunk)):
        writer.write(chunk)
        assert writer._pcm.nbytes() < 9e6
    written = len(plans)
    with pytest.raises(EncoderError):  # nothing was encoded
        writer.close()
    seconds = [samples / SR for _, samples, _ in plans]
    assert len(plans) - written == 2 and len(plans) == round(minutes / 3) + 1
    assert max(seconds) < 3.3 * 60 and min(seconds[-2:]) > 60
    assert 3 * max(buffers) < 30e6  # this buffer, and two running encoders' input
    firsts = [first for first, _, _ in plans]
    assert firsts == sorted(firsts) and all(f % 49 == 0 for f in firsts)


# --- failures -----------------------------------------------------------------------------------

def fake_ffmpeg(tmp_path: Path, body: str) -> str:
    """An ffmpeg stand-in: `body` runs for every call; $REAL is the real ffmpeg."""
    path = tmp_path / "fake-ffmpeg"
    path.write_text(f'#!/bin/bash\nREAL="{FFMPEG}"\n{body}\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def encoder_body(body: str) -> str:
    """Run the real ffmpeg for the one-frame probe (file: output), `body` for segment encoders."""
    return f'case "$*" in *pipe:1*) ;; *) exec "$REAL" "$@";; esac\n{body}'


def gone(pgids: set[int], timeout: float = 3.0) -> bool:
    """True once no process of these groups is left (a killed process takes a moment to die)."""
    deadline = time.monotonic() + timeout
    while group_members(pgids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def group_members(pgids: set[int]) -> list[int]:
    alive = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) in pgids and fields[0] != "Z":
                alive.append(int(entry))
    return alive


@pytest.mark.parametrize("body, error, message", [
    ('cat > /dev/null; echo "Conversion failed: something broke" >&2; exit 1', EncoderError,
     "ffmpeg failed to encode: Conversion failed: something broke"),
    ('cat > /dev/null; echo "Error closing file: No space left on device" >&2; exit 0', OutputError,
     "the disk is full"),
    ("cat > /dev/null; exit 0", EncoderError, "ffmpeg stopped early"),
    ('head -c 1000 > /dev/null; exit 0', EncoderError, "ffmpeg stopped early"),
])
def test_failing_encoders_raise_clear_errors(tmp_path, body, error, message):
    ffmpeg = fake_ffmpeg(tmp_path, encoder_body(body))
    pcm, _ = speech_like(6, seed=11)
    writer = ParallelMp3Writer(tmp_path / "par.mp3", 64, ffmpeg, shown="out.mp3", encoder="ffmpeg", **SMALL)
    with pytest.raises(error, match=message):
        writer.write(pcm)
        writer.close()
    writer.abort()
    assert gone({s.encoder.proc.pid for s in writer._segments if s.encoder})


def test_ffmpeg_failing_at_once_raises_when_the_writer_starts(tmp_path):
    ffmpeg = fake_ffmpeg(tmp_path, 'echo "Unknown encoder libmp3lame" >&2; exit 1')
    with pytest.raises(EncoderError, match="Unknown encoder libmp3lame"):
        ParallelMp3Writer(tmp_path / "par.mp3", 64, ffmpeg)


def test_a_hung_encoder_is_killed(tmp_path):
    ffmpeg = fake_ffmpeg(tmp_path, encoder_body("sleep 30"))
    pcm, _ = speech_like(6, seed=12)
    writer = ParallelMp3Writer(tmp_path / "par.mp3", 64, ffmpeg, stall_timeout=1.0, encoder="ffmpeg", **SMALL)
    pgids = set()
    with deadline(25, "stopping encoders that sleep 30 s"), pytest.raises(EncoderError, match="stopped responding"):
        writer.write(pcm)
        pgids = {s.encoder.proc.pid for s in writer._segments if s.encoder}
        writer.close()
    pgids |= {s.encoder.proc.pid for s in writer._segments if s.encoder}
    assert pgids and gone(pgids)


def test_abort_leaves_no_process(tmp_path):
    ffmpeg = fake_ffmpeg(tmp_path, encoder_body('sleep 30 & wait'))  # a child too: the group must go
    pcm, _ = speech_like(5.5, seed=13)  # two segments start; a third would wait for them
    writer = ParallelMp3Writer(tmp_path / "par.mp3", 64, ffmpeg, encoder="ffmpeg", **SMALL)
    writer.write(pcm)
    pgids = {s.encoder.proc.pid for s in writer._segments}
    assert len(pgids) == 2 and group_members(pgids)
    with deadline(25, "aborting encoders that sleep 30 s"):
        writer.abort()
    assert gone(pgids)


class FailingLame:
    """lameenc's Encoder, failing on the `fail_at`-th call to encode as LAME reports an error."""

    calls = 0

    def __init__(self, real, fail_at: int):
        self._real, self._fail_at = real, fail_at

    def __getattr__(self, name):
        return getattr(self._real, name)

    def encode(self, data):
        FailingLame.calls += 1
        if FailingLame.calls == self._fail_at:
            raise RuntimeError("Error during encoding: -1")
        return self._real.encode(data)


def test_lame_failing_raises_a_clear_error_and_stops_every_encoder(tmp_path, monkeypatch):
    import sys
    import threading
    import types

    import lameenc

    FailingLame.calls = 0
    monkeypatch.setitem(sys.modules, "lameenc",
                        types.SimpleNamespace(Encoder=lambda: FailingLame(lameenc.Encoder(), 3)))
    pcm, _ = speech_like(6, seed=11)
    writer = ParallelMp3Writer(tmp_path / "par.mp3", 64, FFMPEG, shown="out.mp3", encoder="lame", **SMALL)
    with pytest.raises(EncoderError, match="out.mp3: LAME failed to encode: Error during encoding: -1"):
        writer.write(pcm)
        writer.close()
    writer.abort()
    assert not [t for t in threading.enumerate() if t.name == "rlsaudio-lame"]


def test_abort_stops_lame_encoders_at_once(tmp_path, monkeypatch):
    """Stopped within a block of samples, not after their segment: fewer blocks are encoded than
    the five minutes written need."""
    import sys
    import threading
    import types

    import lameenc

    class Counting:
        calls = 0

        def __init__(self):
            self._real = lameenc.Encoder()

        def __getattr__(self, name):
            return getattr(self._real, name)

        def encode(self, data):
            Counting.calls += 1
            return self._real.encode(data)

    monkeypatch.setitem(sys.modules, "lameenc", types.SimpleNamespace(Encoder=Counting))
    pcm, _ = speech_like(5.5, seed=13)
    written = np.tile(pcm, 60)  # five minutes: encoders of a minute each are in flight
    writer = ParallelMp3Writer(tmp_path / "par.mp3", 64, FFMPEG, encoder="lame", segment_seconds=60,
                               min_segment_seconds=20, search_seconds=5)
    writer.write(written)
    assert writer._running() >= 1
    writer.abort()
    assert not [t for t in threading.enumerate() if t.name == "rlsaudio-lame"]
    stopped_at = Counting.calls
    time.sleep(0.5)
    assert Counting.calls == stopped_at  # nothing encodes after abort() returns
    assert stopped_at < len(written) // encoders.LAME_BLOCK  # and the segments in flight were not finished


def test_the_encoder_falls_back_to_ffmpeg_without_lameenc(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "lameenc", None)  # import lameenc raises ImportError
    pcm, _ = speech_like(4, seed=14)
    writer = encode_parallel(tmp_path / "par.mp3", pcm)
    assert writer.encoder == "ffmpeg" and writer.stats.seams >= 1
    assert mp3_decoded_samples(tmp_path / "par.mp3") == len(pcm) == len(decode(tmp_path / "par.mp3")[0])


def test_output_errors(tmp_path):
    with pytest.raises(OutputError, match="could not write the MP3: Is a directory"):
        ParallelMp3Writer(tmp_path, 64, FFMPEG)
    pcm, _ = speech_like(6, seed=16)
    writer = ParallelMp3Writer(Path("/dev/full"), 64, FFMPEG, shown="out.mp3", **SMALL)
    with pytest.raises(OutputError, match="out.mp3: the disk is full"):
        writer.write(pcm)
        writer.close()
    writer.abort()


# --- reading MP3s -------------------------------------------------------------------------------

def test_decoded_samples_of_truncated_or_garbled_files(tmp_path):
    pcm, _ = speech_like(3, seed=14)
    encode_single(tmp_path / "one.mp3", pcm)
    data = (tmp_path / "one.mp3").read_bytes()
    assert mp3_decoded_samples(tmp_path / "one.mp3") == len(pcm)

    def check(name: str, content: bytes) -> int:
        (tmp_path / name).write_bytes(content)
        return mp3_decoded_samples(tmp_path / name)

    frames = splice.Frames(data[208:], 0, int.from_bytes(data[208:212], "big") & 0xFFFFFDFF, "x")
    with pytest.raises(ValueError, match="cut short"):
        check("cut.mp3", data[:-100])
    with pytest.raises(ValueError, match=f"counts {frames.n} frames but it has {frames.n - 1}"):
        check("frame-less.mp3", data[:208 + int(frames.off[-2])])
    garbled = bytearray(data)
    garbled[208 + int(frames.off[50]) + 1] = 0x12
    with pytest.raises(ValueError, match="no valid MPEG frame"):
        check("garbled.mp3", bytes(garbled))
    with pytest.raises(ValueError):
        check("empty.mp3", b"")
    with pytest.raises(ValueError):
        check("text.mp3", b"hello, world")
    # an ID3v2 tag before and an ID3v1 tag after the frames are skipped
    id3 = b"ID3\x03\x00\x00" + bytes([0, 0, 2, 0]) + bytes(256)
    assert check("tagged.mp3", id3 + data + b"TAG" + bytes(125)) == len(pcm)


def test_decoded_samples_of_a_45_minute_file_are_counted_from_its_frame_headers(tmp_path):
    """Counted without decoding (its speed is measured by scripts/bench, not here)."""
    pcm, _ = speech_like(60, seed=15)
    encode_single(tmp_path / "one.mp3", pcm)
    data = (tmp_path / "one.mp3").read_bytes()
    info, frames = data[:208], data[208:]
    n = 45  # 45 minutes of frames behind the same Info frame, with its count fixed up
    long = bytearray(info + frames * n)
    count = splice.Frames(frames, 0, int.from_bytes(frames[:4], "big") & 0xFFFFFDFF, "x").n * n
    long[13 + 8:13 + 12] = count.to_bytes(4, "big")
    (tmp_path / "long.mp3").write_bytes(long)
    samples = mp3_decoded_samples(tmp_path / "long.mp3")
    assert samples == count * FRAME - 576 - (int.from_bytes(data[154:157], "big") & 0xFFF)


def test_crc16_matches_a_bitwise_reference():
    def reference(data: bytes, crc: int = 0) -> int:
        for byte in data:
            crc ^= byte
            for _ in range(8):
                crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        return crc

    rng = np.random.default_rng(1)
    for n in (0, 1, 2, 3, 255, 2047, 2048, 5000, 70001):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert crc16(data) == reference(data)
        assert crc16(data, 0xBEEF) == reference(data, 0xBEEF)
        assert crc16(data[n // 3:], crc16(data[:n // 3])) == reference(data)


@pytest.mark.parametrize("jobs", [1, 3])
def test_other_job_counts(tmp_path, jobs):
    pcm, _ = speech_like(8, seed=17, noise=0.005)
    writer = encode_parallel(tmp_path / "par.mp3", pcm, jobs=jobs)
    spliced, errors = decode(tmp_path / "par.mp3")
    assert errors == "" and len(spliced) == len(pcm) and writer.stats.seams >= 3
    encode_single(tmp_path / "one.mp3", pcm)
    check_seams(spliced, decode(tmp_path / "one.mp3")[0], pcm, writer.stats.seam_frames)
