"""Bad input, faults and interruptions: clear one-line errors, and nothing the user had is lost."""

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from audio import SR, decode
from places import FAKE_VOICE, deadline

from rlsaudio.cli import cli

FAKE = FAKE_VOICE
GOOD = 'title = "T"\n[[steps]]\ntitle = "A"\nsay = "Hello there."\nhold = 2\n'


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def destination(tmp_path):
    """An output folder that already holds tracks, which must survive any failure untouched."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "T.mp3").write_bytes(b"ID3 an earlier good track" * 100)
    (out / "T.lrc").write_text("[00:00.00]earlier\n")
    (out / "Other.mp3").write_bytes(b"another track")
    return out


def assert_clean_failure(result, exit_code, destination, before, first_words):
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith(first_words) for line in lines), result.stderr
    assert snapshot(destination) == before  # nothing written, nothing changed


ROUTINE_CASES = {
    "toml syntax": 'title = "T"\n[[steps]\n',
    "unknown key": GOOD + "colour = 3\n",
    "wrong type": GOOD.replace("hold = 2", 'hold = [2]'),
    "negative duration": GOOD.replace("hold = 2", "hold = -2"),
    "zero duration": GOOD.replace("hold = 2", "hold = 0"),
    "absurd duration": GOOD.replace("hold = 2", 'hold = "500h"'),
    "absurd session": 'title = "T"\n' + '[[steps]]\ntitle = "A"\nmassage = "4h"\n' * 4,
    "no steps": 'title = "T"\n',
    "step with nothing to do": 'title = "T"\n[[steps]]\ntitle = "A"\n',
    "cues and repeat disagree": GOOD + 'repeat = 3\ncues = ["a", "b"]\n',
    "side without sides": GOOD.replace("Hello there.", "Your {side} foot."),
    "invalid utf-8": b'title = "T\xff"\n[[steps]]\ntitle = "A"\nsay = "x"\n',
    "control character": GOOD.replace("Hello there.", "Hello\\u001bthere."),
    "NUL in title": GOOD.replace('title = "T"', 'title = "T\\u0000x"'),
    "1 MB narration": GOOD.replace("Hello there.", "word " * 210_000),
    "long narration": GOOD.replace("Hello there.", "word " * 2_000),
}


PLAYLIST_CASES = {
    "toml syntax": 'name = "x"\n[[tracks]\n',
    "unknown key": 'name = "x"\ncolour = 1\n[[tracks]]\nroutine = "acupressure"\n',
    "wrong type": 'name = 5\n[[tracks]]\nroutine = "acupressure"\n',
    "bad duration": 'name = "x"\n[[tracks]]\nroutine = "acupressure"\nlength = "-5m"\n',
    "no tracks": 'name = "x"\n',
    "bad bitrate": 'name = "x"\nbitrate = "1000k"\n[[tracks]]\nroutine = "acupressure"\n',
    "invalid utf-8": b'name = "\xfe"\n[[tracks]]\nroutine = "acupressure"\n',
}


VOICE_CASES = {
    "toml syntax": 'engine = "fake\n',
    "unknown key": 'engine = "fake"\nspeed = 2\n',
    "wrong type": 'engine = "fake"\nwords_per_minute = "fast"\n',
    "unknown engine": 'engine = "festival"\n',
    "no engine": 'voice = "x"\n',
    "bad pause": 'engine = "fake"\nsentence_pause = "-1s"\n',
    "invalid utf-8": b'engine = "fake"\ndescription = "\xff"\n',
}


def _command(kind: str, path, tmp_path, destination) -> list[str]:
    """The command that reads a file of this kind: build for routines and voice profiles."""
    if kind == "routine":
        return ["build", str(path), "-o", str(destination), "--voice", FAKE]
    if kind == "playlist":
        return ["playlist", str(path), "-o", str(destination)]
    routine = tmp_path / "T.toml"
    routine.write_text(GOOD)
    return ["build", str(routine), "-o", str(destination), "--voice", str(path)]


CATALOGUE = [(kind, case, cases[case]) for kind, cases in
             (("routine", ROUTINE_CASES), ("playlist", PLAYLIST_CASES), ("voice", VOICE_CASES)) for case in cases]


@pytest.mark.parametrize("kind, case, content", CATALOGUE, ids=[f"{k}: {c}" for k, c, _ in CATALOGUE])
def test_bad_file_catalogue(runner, tmp_path, destination, kind, case, content):
    path = tmp_path / f"{kind}.toml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = snapshot(destination)
    result = runner.invoke(cli, _command(kind, path, tmp_path, destination))
    assert_clean_failure(result, 2, destination, before, f"{path}")


@pytest.mark.parametrize("kind", ["routine", "playlist", "voice"])
@pytest.mark.parametrize("problem", ["missing", "folder"])
def test_a_missing_file_or_a_folder(runner, tmp_path, destination, kind, problem):
    path = tmp_path / ("nope.toml" if problem == "missing" else "adir.toml")
    if problem == "folder":
        path.mkdir()
    before = snapshot(destination)
    result = runner.invoke(cli, _command(kind, path, tmp_path, destination))
    assert_clean_failure(result, 2, destination, before, f"{path}: ")


# --------------------------------------------------------------------------- faults


def test_output_folder_that_cannot_be_written(runner, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    routine = tmp_path / "T.toml"
    routine.write_text(GOOD)
    result = runner.invoke(cli, ["build", str(routine), "-o", str(blocker / "out"), "--voice", FAKE])
    assert result.exit_code == 1
    assert result.stderr == (f"{blocker / 'out'}: cannot create the output folder ({blocker} is a file, not a "
                             "folder); choose another -o\n")
    result = runner.invoke(cli, ["build", str(routine), "-o", str(blocker), "--voice", FAKE])
    assert result.exit_code == 1
    assert result.stderr == f"{blocker}: exists and is not a folder; choose another -o\n"


def _limit_file_size(limit: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_disk_that_fills_during_the_write(tmp_path, destination):
    routine = tmp_path / "T.toml"
    routine.write_text('title = "T"\n[[steps]]\ntitle = "A"\nsay = "Hello there."\nmassage = "10m"\n')
    before = snapshot(destination)
    env = {**os.environ, "RLSAUDIO_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "rlsaudio", "build", str(routine), "-o", str(destination),
                           "--voice", FAKE], capture_output=True, text=True, env=env,
                          preexec_fn=_limit_file_size(1_000_000), timeout=120)
    assert done.returncode == 1
    assert done.stderr.startswith(f"{destination / 'T.mp3'}: the disk is full (")
    assert done.stderr.rstrip().endswith("free some space and build again")
    assert len(done.stderr.splitlines()) == 1
    assert snapshot(destination) == before


def test_no_ffmpeg_found(runner, tmp_path, destination, monkeypatch):
    import imageio_ffmpeg

    def no_binary():
        raise RuntimeError("No ffmpeg exe could be found")

    monkeypatch.setattr("shutil.which", lambda name: None)
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", no_binary)
    routine = tmp_path / "T.toml"
    routine.write_text(GOOD)
    before = snapshot(destination)
    result = runner.invoke(cli, ["build", str(routine), "-o", str(destination), "--voice", FAKE])
    assert result.exit_code == 1
    assert result.stderr == ("no ffmpeg found: reinstall rlsaudio (its imageio-ffmpeg dependency brings one) or "
                             "install ffmpeg with libmp3lame\n")
    assert snapshot(destination) == before
    monkeypatch.setenv("RLSAUDIO_FFMPEG", str(tmp_path / "missing-ffmpeg"))
    result = runner.invoke(cli, ["build", str(routine), "-o", str(destination), "--voice", FAKE])
    assert result.exit_code == 1
    assert result.stderr == f"RLSAUDIO_FFMPEG={tmp_path / 'missing-ffmpeg'} is not an executable ffmpeg; fix or unset it\n"


def test_a_speech_engine_that_cannot_load(runner, tmp_path, destination, monkeypatch):
    from rlsaudio.speech.engines import base
    from rlsaudio.speech.engines.pyttsx3_engine import Pyttsx3Engine

    broken = Pyttsx3Engine()
    monkeypatch.setattr(broken, "_library_source", lambda: ("wheel", str(tmp_path / "libespeak-ng.so")))
    monkeypatch.setitem(base._instances, "pyttsx3", broken)
    routine = tmp_path / "T.toml"
    routine.write_text(GOOD)
    before = snapshot(destination)
    result = runner.invoke(cli, ["build", str(routine), "-o", str(destination), "--voice", "espeak"])
    assert result.exit_code == 1  # the installation's failure, not the user's input
    (line,) = result.stderr.splitlines()
    assert line.startswith("espeak: voice cannot run here: pyttsx3 could not start espeak-ng (wheel library ")
    assert line.endswith("; available voices: heart, joe, michael")
    assert snapshot(destination) == before


def test_a_speech_engine_that_fails_while_speaking(runner, tmp_path, destination):
    voice = tmp_path / "v.toml"
    voice.write_text('engine = "fake"\nfail_on = "there"\n')
    routine = tmp_path / "T.toml"
    routine.write_text(GOOD)
    before = snapshot(destination)
    result = runner.invoke(cli, ["build", str(routine), "-o", str(destination), "--voice", str(voice)])
    assert_clean_failure(result, 1, destination, before, "fake engine failed on 'Hello there.'")


def test_a_speech_engine_that_hangs(runner, tmp_path, destination):
    voice = tmp_path / "v.toml"
    voice.write_text('engine = "fake"\nhang_on = "there"\ntimeout = 1\n')
    routine = tmp_path / "T.toml"
    routine.write_text(GOOD)
    before = snapshot(destination)
    with deadline(120, "a build whose engine hangs"):
        result = runner.invoke(cli, ["build", str(routine), "-o", str(destination), "--voice", str(voice)])
    assert_clean_failure(result, 1, destination, before, "the fake engine did not finish speaking 'Hello there.'")


def test_a_cache_that_cannot_be_written(runner, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("RLSAUDIO_CACHE", str(blocker / "cache"))
    routine = tmp_path / "T.toml"
    routine.write_text(GOOD)
    result = runner.invoke(cli, ["build", str(routine), "-o", str(tmp_path / "out"), "--voice", FAKE])
    assert result.exit_code == 0
    assert result.stderr.startswith(f"warning: cannot write the speech cache at {blocker / 'cache'} (")
    assert (tmp_path / "out" / "T.mp3").exists()


def test_a_cache_that_fails_during_the_build(runner, tmp_path, monkeypatch):
    from rlsaudio.system import cache

    def full(path, data, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache, "write_atomic", full)
    routine = tmp_path / "T.toml"
    routine.write_text(GOOD)
    result = runner.invoke(cli, ["build", str(routine), "-o", str(tmp_path / "out"), "--voice", FAKE])
    assert result.exit_code == 0
    assert result.stderr.startswith("warning: cannot write the speech cache at ")
    assert "(No space left on device); carrying on without it" in result.stderr
    assert (tmp_path / "out" / "T.mp3").exists()


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _temps(folder: Path):
    """Files being written: they live in staging folders inside the destination."""
    return [p for d in folder.glob(".rlsaudio-tmp-*") for p in d.iterdir() if p.name != ".lock"]


def test_ctrl_c_during_a_render(tmp_path, destination):
    routine = tmp_path / "T.toml"
    routine.write_text('title = "T"\n[[steps]]\ntitle = "A"\nsay = "Hello there."\nmassage = "1h"\n')
    before = snapshot(destination)
    env = {**os.environ, "RLSAUDIO_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "rlsaudio", "build", str(routine), "-o", str(destination),
                             "--voice", FAKE], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert _wait_for(lambda: _temps(destination))  # the render has started writing
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err == "interrupted\n"
    assert snapshot(destination) == before  # the temporary file is gone, the old track intact


def test_ctrl_c_during_a_playlist_keeps_finished_tracks(tmp_path):
    short = tmp_path / "short.toml"
    short.write_text('title = "Short"\n[[steps]]\ntitle = "A"\nsay = "Hello there."\nhold = 2\n')
    long = tmp_path / "long.toml"
    long.write_text('title = "Long"\n[[steps]]\ntitle = "A"\nsay = "Hello there."\nmassage = "1h"\n')
    out = tmp_path / "album"
    env = {**os.environ, "RLSAUDIO_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "rlsaudio", "playlist", str(short), str(long), str(long),
                             "--name", "Night", "-o", str(out), "--jobs", "2", "--voice", FAKE],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    finished = out / "01 - Short.mp3"
    assert _wait_for(lambda: finished.exists() and any("Long" in p.name for p in _temps(out)), timeout=120)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.splitlines()[-1] == "interrupted" and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == [f"01 - Short{suffix}" for suffix in (
        ".chapters.json", ".chapters.vtt", ".html", ".lrc", ".mp3", ".vtt")]
    assert abs(len(decode(finished)) / SR - 7) < 5  # the finished track is whole and playable
