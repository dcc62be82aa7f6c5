"""The output folder: a run that fails or is stopped leaves no empty folder tree behind (only the
folders it made, only if empty); a folder that cannot be entered is the same clear line as one
that cannot be written; two processes committing the same title never mix their files."""

import errno
import multiprocessing
import os
import signal
import subprocess
import time

import pytest
from places import FAKE_VOICE, RLSAUDIO, deadline, tiny_routine

from rlsaudio.cli import cli

LONG = 'title = "Long"\n[[steps]]\ntitle = "A"\nsay = "Hi."\nmassage = "2h"\n'


def tree(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


# --------------------------------------------------------------------------- no empty folder tree


@pytest.fixture
def broken_encoder(monkeypatch):
    """Encoding fails after the speech is done, as ffmpeg failing would."""
    from rlsaudio.base.errors import EncoderError
    from rlsaudio.publish import track  # the one caller: patched where it looks the name up

    def fail(*args, **kwargs):
        raise EncoderError("ffmpeg failed: simulated; check the disk")

    monkeypatch.setattr(track, "render_audio", fail)


@pytest.mark.parametrize("command", [
    ["build", "{tiny}"], ["build", "{tiny}", "{tiny2}"], ["playlist", "{tiny}", "{tiny2}", "--name", "N", "-j", "1"],
    ["compose", "SP 6", "--hold", "1m"],
])
def test_a_failed_render_leaves_no_empty_folder_tree(runner, write, tmp_path, broken_encoder, command):
    tiny, tiny2 = write("tiny.toml", tiny_routine()), write("tiny2.toml", tiny_routine("Tiny two"))
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "keep").write_text("the user's")  # a folder that was there stays, as it was
    out = tmp_path / "new" / "a" / "b"
    args = [a.format(tiny=tiny, tiny2=tiny2) for a in command] + ["-o", str(out), "--voice", FAKE_VOICE]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "ffmpeg failed: simulated" in result.stderr
    assert tree(tmp_path / "new") == ["keep"]


def test_a_full_disk_leaves_no_empty_folder_tree(runner, write, tmp_path, monkeypatch):
    from rlsaudio.base import safeio

    real = safeio.Staging._commit

    def full(self, files):
        raise safeio.OutputError(f"{files[0][1]}: could not move the finished file into place: the disk is full")

    monkeypatch.setattr(safeio.Staging, "_commit", full)
    tiny = write("tiny.toml", tiny_routine())
    out = tmp_path / "x" / "y" / "z"
    result = runner.invoke(cli, ["build", str(tiny), "-o", str(out), "--voice", FAKE_VOICE])
    assert result.exit_code == 1 and "the disk is full" in result.stderr
    assert not (tmp_path / "x").exists()
    monkeypatch.setattr(safeio.Staging, "_commit", real)


def test_a_successful_build_keeps_its_folders_and_a_failed_second_keeps_the_first(runner, write, tmp_path):
    tiny = write("tiny.toml", tiny_routine())
    bad_voice = write("v.toml", 'engine = "fake"\nfail_on = "Hello there."\n')
    out = tmp_path / "n" / "o"
    assert runner.invoke(cli, ["build", str(tiny), "-o", str(out), "--voice", FAKE_VOICE]).exit_code == 0
    second = write("t2.toml", tiny_routine("Two"))
    result = runner.invoke(cli, ["build", str(second), "-o", str(out / "deeper"), "--voice", str(bad_voice)])
    assert result.exit_code == 1, result.output
    assert not (out / "deeper").exists() and (out / "Tiny.mp3").is_file()


def _wait(predicate, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("command", [["build"], ["playlist", "--name", "N", "-j", "1"]])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_stopped_run_leaves_no_empty_folder_tree(write, tmp_path, command, sig):
    routine = write("long.toml", LONG)
    out = tmp_path / "new" / "a" / "b"
    proc = subprocess.Popen([*RLSAUDIO, command[0], str(routine), *command[1:], "-o", str(out), "--voice",
                             FAKE_VOICE], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait(lambda: any(out.glob(".rlsaudio-tmp-*/*-Long*")) or any(out.glob(".rlsaudio-tmp-*/*Long*")),
                     120), "the render never started"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 128 + sig and err.endswith("interrupted\n"), err
    assert not (tmp_path / "new").exists()


# --------------------------------------------------------------------------- a folder that cannot be entered


@pytest.fixture
def locked(tmp_path, monkeypatch):
    """A folder this user cannot enter (tests run as root, so stat() is made to say so, as the
    kernel would for another user: EACCES for anything inside it)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    real_stat, real_mkdir = os.stat, os.mkdir

    def inside(path) -> bool:
        try:
            return os.path.abspath(os.fspath(path)).startswith(str(folder) + os.sep)
        except TypeError:
            return False

    def stat(path, *args, **kwargs):
        if inside(path):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_stat(path, *args, **kwargs)

    def mkdir(path, *args, **kwargs):
        if inside(path):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "mkdir", mkdir)
    return folder


@pytest.mark.parametrize("below", ["x", "x/y/z"])
@pytest.mark.parametrize("command", [["build", "{tiny}"], ["playlist", "{tiny}", "--name", "N", "-j", "1"],
                                     ["compose", "SP 6", "--routine-only"]])
def test_an_output_folder_that_cannot_be_entered_is_one_clear_line(runner, write, locked, below, command):
    tiny = write("tiny.toml", tiny_routine())
    out = locked / below
    args = [a.format(tiny=tiny) for a in command] + ["-o", str(out), "--voice", FAKE_VOICE]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{out}: ") and "not writable" in lines[0], lines
    assert lines[0].endswith("choose another with -o")


def test_the_check_says_the_same_as_for_a_read_only_folder(locked):
    from rlsaudio.base.errors import OutputError
    from rlsaudio.publish.output import check_output_dir, output_dir

    for check in (check_output_dir, output_dir):
        with pytest.raises(OutputError) as caught:
            check(locked / "deep" / "out")
        assert "is not writable" in str(caught.value) and str(caught.value).endswith("choose another with -o")


def test_a_feed_folder_that_cannot_be_entered_is_one_clear_line(runner, locked):
    result = runner.invoke(cli, ["feed", str(locked / "tracks"), "--base-url", "https://example.org/"])
    assert result.exit_code == 2 and result.stderr == (f"{locked / 'tracks'}: cannot be read (a folder on its path "
                                                       "cannot be entered: permission denied); check its permissions\n")


# --------------------------------------------------------------------------- the commit lock

NAMES = ["T.mp3", "T.lrc", "T.vtt", "T.chapters.vtt", "T.chapters.json", "T.html"]
ROUNDS = 150


def _committer(folder: str, tag: str, start, done) -> None:
    from pathlib import Path

    from rlsaudio.base.safeio import Staging

    root = Path(folder)
    for i in range(ROUNDS):
        with Staging(root) as stage:
            staged = [stage.text(root / name, f"{tag}:{i}") for name in NAMES]
            start.wait()
            stage.commit(staged)
        done.wait()


def test_two_processes_committing_the_same_title_never_mix_their_files(tmp_path):
    context = multiprocessing.get_context("fork")
    start, done = context.Barrier(3), context.Barrier(3)
    procs = [context.Process(target=_committer, args=(str(tmp_path), tag, start, done)) for tag in "AB"]
    for proc in procs:
        proc.start()
    try:
        with deadline(300, "two committing processes"):
            for i in range(ROUNDS):
                start.wait()
                done.wait()
                contents = {(tmp_path / name).read_text() for name in NAMES}
                assert len(contents) == 1 and contents <= {f"A:{i}", f"B:{i}"}, (i, contents)
    finally:
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
    assert all(proc.exitcode == 0 for proc in procs)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(NAMES)  # no lock file, no staging left


@pytest.mark.parametrize("sig, stops_with", [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, SystemExit)])
def test_a_stop_during_a_commit_waits_for_the_whole_track(tmp_path, monkeypatch, sig, stops_with):
    """A stop arriving between the renames of a track and its sidecars acts once all are in place:
    before, it unwound the commit and undid the track a playlist had just finished."""
    from rlsaudio.base import safeio

    def stop(signum, frame):
        raise stops_with(signum)

    real_replace = os.replace
    moved = []

    def replace(src, dst):
        real_replace(src, dst)
        moved.append(dst)
        if len(moved) == 1:
            os.kill(os.getpid(), sig)  # the stop arrives with one file of six in place
            time.sleep(0.01)

    old = signal.signal(sig, stop)
    try:
        with safeio.Staging(tmp_path) as stage:
            staged = [stage.text(tmp_path / name, name) for name in NAMES]
            monkeypatch.setattr(safeio.os, "replace", replace)
            with pytest.raises(stops_with):
                stage.commit(staged)
            monkeypatch.setattr(safeio.os, "replace", real_replace)
        assert signal.getsignal(sig) is stop  # the handler is back
    finally:
        signal.signal(sig, old)
    assert len(moved) == len(NAMES)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(NAMES)
    assert all((tmp_path / name).read_text() == name for name in NAMES)


def test_a_symlink_at_the_lock_s_name_is_never_followed(runner, write, tmp_path):
    tiny = write("tiny.toml", tiny_routine())
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (out / ".rlsaudio.lock").symlink_to(victim)
    result = runner.invoke(cli, ["build", str(tiny), "-o", str(out), "--voice", FAKE_VOICE])
    assert result.exit_code == 1 and result.stderr.startswith(f"{out}: cannot lock the output folder"), result.output
    assert victim.read_text() == "precious"
