"""PCM -> an audio file (MP3, M4B or Opus), streamed; and the checks that the file is whole.

Streamed, not through pydub's export, which needs the whole track as one AudioSegment (1.3 GB
for an 8-hour track). MP3 goes to the spliced writer (encode/mp3/: LAME in this process on every
core, or ffmpeg processes where lameenc is missing), which writes the Info/LAME header that lets
players trim the encoder delay; `Mp3Writer`, one ffmpeg with the same settings, is what it
reproduces frame for frame (its probe, its fallback, and the benchmark's encoder floor). M4B and
Opus go to one ffmpeg, which takes PCM on a pipe and encodes on another core while Python mixes
the next chunk.

M4B is AAC in MP4 (`-f ipod`, major brand "M4B "), for audiobook apps; Opus is Ogg Opus through
libopus, for small files. Both containers record their encoder's priming (AAC's 1024 samples in
an edit list, Opus's pre-skip in its header) and every decoder trims it, so their audio and
chapters line up with the plan without the shift MP3's chapters get (measured: the decoded
audio is sample-aligned with the PCM, and as long, to the sample for M4B and within one sample
for Opus, whose 48 kHz clock does not divide 22.05 kHz).

A writer's file is a temporary one in a private staging folder: the caller verifies it
against the plan and commits it. `close()` fails when ffmpeg fails, when ffmpeg reports a
write error (even with exit status 0), and when ffmpeg stops taking audio for too long.
"""

from __future__ import annotations

import math
import queue
import subprocess
import time
from pathlib import Path

import numpy as np

from ..base import limits
from ..base.errors import EncoderError, OutputError
from ..base.units import SAMPLE_RATE
from ..system import ffmpeg as ff
from ..system import threads
from .chapters import ChapterMark
from .containers import OPUS_RATE, mp4_presented, ogg_opus_presented
from .formats import format_info

# LAME scales its input by 0.95 (measured through ffmpeg's libmp3lame: a 1 kHz sine and
# noise both decode 0.446 dB quieter, at every bitrate). The mix is raised by this much
# before encoding so the delivered MP3, not our PCM, hits the loudness target.
CODEC_GAIN_DB = -20 * math.log10(0.95)

class StreamWriter:
    """Streams int16 chunks into one ffmpeg process writing `path`.

    A feeder thread writes the pipe, so the caller can mix the next chunk while ffmpeg encodes.
    """

    def __init__(self, path: Path, codec_args: list[str], ffmpeg: str | None = None, shown: str | None = None,
                 stall_s: float | None = None, chapters: Path | None = None):
        self.path = path
        self.shown = shown or str(path)
        self.stall_s = stall_s or limits.ffmpeg_stall_s()
        self._queue: queue.Queue = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        # `chapters` is an ffmetadata file for a muxer that writes chapters itself (MP4's chapter
        # track). "-map_metadata -1" would strip the chapters' titles too, so then only the global
        # metadata is dropped (the tags are written afterwards, through tags.py).
        inputs, metadata = [], ["-map_metadata", "-1"]
        if chapters is not None:
            inputs = ["-f", "ffmetadata", "-i", ff.file_url(chapters)]
            metadata = ["-map", "0:a", "-map_chapters", "1", "-map_metadata:g", "-1"]
        cmd = [
            ffmpeg or ff.find(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0", *inputs,
            *metadata, *codec_args, ff.file_url(path),
        ]
        self._proc, self._stderr = ff.start(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
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
        message = ff.messages(self._stderr).strip()
        failure = ff.write_error(message)
        if code != 0 or failure:
            raise ff.encode_failure(self.shown, failure or message, code)
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


class Mp3Writer(StreamWriter):
    """MP3, constant bitrate, with the Xing/LAME header that makes decoding gapless."""

    def __init__(self, path: Path, bitrate_k: int = 64, ffmpeg: str | None = None, shown: str | None = None):
        from .mp3.encoders import mp3_args

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



class AudioFormat:
    """One output format: its file suffix, how to write it, and how to check a written file."""

    name = ""
    codec_gain_db = 0.0  # the encoder's own gain, made up for in the mix
    decode_slack = 0  # samples a decoder may legitimately add or drop at the end

    @property
    def label(self) -> str:
        """The format's name for people: MP3, M4B, Opus."""
        return format_info(self.name).label

    @property
    def suffix(self) -> str:
        return format_info(self.name).suffix

    def for_track(self, chapters: tuple[ChapterMark, ...]) -> AudioFormat:
        """This format as one track's encoding needs it. Chapters normally go in with the tags,
        after encoding; a format whose muxer must write them (M4B) keeps them for its writer."""
        return self

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
    """MP3 on every core (encode/mp3/): one gapless file that decodes to exactly the samples written."""

    name = "mp3"
    codec_gain_db = CODEC_GAIN_DB

    def writer(self, path: Path, bitrate_k: int, ffmpeg: str, shown: str, samples: int) -> StreamWriter:
        from .mp3.writer import ParallelMp3Writer

        # verify=False: the build checks the file's length right after (publish.py), twice
        return ParallelMp3Writer(path, bitrate_k, ffmpeg, shown, jobs=encoder_jobs(),
                                 stall_timeout=limits.ffmpeg_stall_s(), verify=False)

    def decoded_samples(self, path: Path, ffmpeg: str) -> int:
        """Counted from the frames and the LAME tag, without decoding: a cut file has too few."""
        from .mp3.frames import mp3_decoded_samples

        return mp3_decoded_samples(path)


# --------------------------------------------------------------------------- M4B


def m4b_args(bitrate_k: int) -> list[str]:
    # -movie_timescale: the edit list that trims AAC's priming and padding is counted in the
    # movie's time scale; at the audio's own rate it is exact to the sample (older ffmpegs
    # default to 1000, a millisecond). +faststart moves the index (moov) before the audio in a
    # second pass over the file (it needs a seekable output: the staged file is one, the PCM
    # pipe is only ffmpeg's input), so players streaming it from `serve` or a feed start without
    # fetching the end first. Tagging then grows moov in front of the audio: mutagen shifts the
    # rest of the file and its chunk offsets (measured: 0.05 s for an 8-hour, 234 MB track).
    return ["-c:a", "aac", "-b:a", f"{bitrate_k}k", "-brand", "M4B ", "-movie_timescale", str(SAMPLE_RATE),
            "-movflags", "+faststart", "-f", "ipod"]


CHPL_TITLE_BYTES = 255  # Nero chapter titles carry a one-byte length (ffmpeg cuts them there)


def ffmetadata_chapters(chapters: tuple[ChapterMark, ...]) -> str:
    """An ffmetadata document holding only chapters, times in milliseconds."""
    lines = [";FFMETADATA1"]
    for chapter in chapters:
        title = chapter.title.encode("utf-8")[:CHPL_TITLE_BYTES].decode("utf-8", errors="ignore")
        escaped = "".join("\\" + ch if ch in "=;#\\\n" else ch for ch in title)
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={chapter.start_ms}", f"END={chapter.end_ms}",
                  f"title={escaped}"]
    return "\n".join(lines) + "\n"


class M4bWriter(StreamWriter):
    """AAC in MP4 with the track's chapters. The muxer writes them twice from an ffmetadata file:
    as a QuickTime chapter track (a text track the audio's `tref/chap` points to: what Apple's
    players read, and the only kind iTunes reads, Zeugma440/atldotnet#47) and as a Nero `chpl`
    atom (what mutagen, Mp3tag and several Android apps read; ffmpeg adds it unless told
    `-movflags disable_chpl`, rmcrackan/Libation#332). mutagen writes neither, and both must
    exist before the tags are written (mutagen's save keeps them and moves their offsets), so
    they go in here. ffmpeg lists the chapter track's; a chpl title is cut at 255 bytes."""

    def __init__(self, path: Path, bitrate_k: int, chapters: tuple[ChapterMark, ...], ffmpeg: str, shown: str):
        self._chapters = path.with_name(f".{path.name}.chapters") if chapters else None
        if self._chapters is not None:
            try:
                self._chapters.write_text(ffmetadata_chapters(chapters), encoding="utf-8")
            except OSError as exc:
                raise OutputError(f"{shown}: could not write the chapters for ffmpeg: {exc.strerror or exc}; "
                                  "check the disk (is it full?) and build again") from None
        try:
            super().__init__(path, m4b_args(bitrate_k), ffmpeg, shown, chapters=self._chapters)
        except BaseException:
            self._remove_chapters()
            raise

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._remove_chapters()

    def abort(self) -> None:
        try:
            super().abort()
        finally:
            self._remove_chapters()

    def _remove_chapters(self) -> None:
        if self._chapters is not None:
            self._chapters.unlink(missing_ok=True)


class M4bFormat(AudioFormat):
    name = "m4b"
    # Measured on two 45-minute renders (massage -19, bedtime -24 with brown noise), decoded and
    # metered: ffmpeg's aac reads -0.01 to -0.06 dB from 32k to 128k: nothing to make up.
    # Its true peak overshoots the PCM's by +0.2 to +1.2 dB at 48-64k (+1.7 at 32k), inside the
    # headroom the -3 dBTP PCM ceiling leaves.
    codec_gain_db = 0.0
    # The edit list gives the length to the sample (measured through M4bWriter on 40 lengths from
    # 20 ms to 5 minutes: 0 samples off, and ffmpeg decodes exactly that many). A lost AAC frame
    # is 1024 samples, and a cut file fails the atom walk before its length is even compared.
    decode_slack = 0

    def __init__(self, chapters: tuple[ChapterMark, ...] = ()):
        self.chapters = chapters

    def for_track(self, chapters: tuple[ChapterMark, ...]) -> AudioFormat:
        return M4bFormat(chapters)

    def writer(self, path: Path, bitrate_k: int, ffmpeg: str, shown: str, samples: int) -> StreamWriter:
        return M4bWriter(path, bitrate_k, self.chapters, ffmpeg, shown)

    def decoded_samples(self, path: Path, ffmpeg: str) -> int:
        """What the file's edit list presents, after checking its atoms: quick, no decoding."""
        return mp4_presented(path).at(SAMPLE_RATE)


# --------------------------------------------------------------------------- Opus


def opus_args(bitrate_k: int) -> list[str]:
    # Opus codes at 48 kHz; libopus takes 8, 12, 16, 24 or 48 kHz, so ffmpeg resamples the 22.05
    # kHz PCM. Asking for 48 kHz outright is faster than letting ffmpeg pick 24 kHz (measured:
    # 8.3-9.4 s against 10-10.7 s of CPU for 20 minutes at 32k), and the same to the ear.
    return ["-ar", str(OPUS_RATE), "-c:a", "libopus", "-b:a", f"{bitrate_k}k", "-f", "opus"]


class OpusFormat(AudioFormat):
    name = "opus"
    # Measured as for M4B: libopus below 64k narrows the band it codes, which takes off some of
    # the K-weighted energy above 8 kHz: -0.26 dB (speech) and -0.36 dB (speech over brown noise)
    # at 32k, -0.32/-0.43 at 24k, 0.00 at 64k and up. 0.3 dB puts 16k to 96k within 0.3 LU.
    # True peak: +0.2 to +1.1 dB over the PCM at 24-48k (+1.7 at 16k), inside the -3 dBTP headroom.
    codec_gain_db = 0.3
    # The last granule, at 48 kHz, brought to 22.05 kHz, is the plan's length (measured on the same
    # 40 lengths: 0 samples off); ffmpeg decodes 0 or 1 sample more (its resampler rounds up).
    # One lost Opus packet is 20 ms (441 samples); a cut file fails the page walk first.
    decode_slack = 1

    def writer(self, path: Path, bitrate_k: int, ffmpeg: str, shown: str, samples: int) -> StreamWriter:
        return StreamWriter(path, opus_args(bitrate_k), ffmpeg, shown)

    def decoded_samples(self, path: Path, ffmpeg: str) -> int:
        """What the last page's granule presents, after walking every page: quick, no decoding."""
        return ogg_opus_presented(path).at(SAMPLE_RATE)


_ENCODERS: dict[str, AudioFormat] = {"mp3": Mp3Format(), "m4b": M4bFormat(), "opus": OpusFormat()}


def encoder_jobs() -> int:
    """Encoders to run at once: a playlist worker's share of the cores (RLSAUDIO_THREADS), else all."""
    import os

    from ..system.workers import default_jobs

    share = os.environ.get("RLSAUDIO_THREADS", "")
    if share.isdigit() and int(share) > 0:
        return int(share)
    return default_jobs()


def audio_format(name: str) -> AudioFormat:
    return _ENCODERS[name]
