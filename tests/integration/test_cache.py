"""The speech cache: hits, misses, corruption, sharing, and speech synthesised once."""

import os
import subprocess
import sys

import numpy as np
import pytest

from rlsaudio.base.errors import EngineError
from rlsaudio.speech.engines.fake import FakeEngine
from rlsaudio.speech.synth import SpeechSource
from rlsaudio.speech.voices import load_profile
from rlsaudio.system.cache import Cache, Clip


@pytest.fixture
def voice(fake_voice):
    return load_profile(fake_voice)


def test_miss_then_hit(voice, tmp_path):
    FakeEngine.calls.clear()
    first = SpeechSource(voice, Cache(tmp_path))
    n = first.length("Press gently.", 1.0)
    assert first.synthesised == 1 and FakeEngine.calls == ["Press gently."]
    second = SpeechSource(voice, Cache(tmp_path))
    assert second.length("Press gently.", 1.0) == n
    assert second.synthesised == 0 and FakeEngine.calls == ["Press gently."]


def test_each_distinct_phrase_is_synthesised_once(voice, tmp_path):
    FakeEngine.calls.clear()
    speech = SpeechSource(voice, Cache(tmp_path))
    speech.prepare([("Press.", 1.0), ("And release.", 1.0), ("Press.", 1.0), ("Press.", 0.9)] * 5)
    assert sorted(FakeEngine.calls) == ["And release.", "Press.", "Press."]  # "Press." at two rates


def test_the_key_covers_everything_that_changes_the_sound(voice, tmp_path):
    speech = SpeechSource(voice, Cache(tmp_path))
    base = speech.key("Press.", 1.0)
    assert speech.key("Press.", 0.9) != base
    assert speech.key("Press!", 1.0) != base
    other = load_profile("espeak")
    assert SpeechSource(other, Cache(tmp_path)).key("Press.", 1.0) != base
    pitched = type(voice)(**{**voice.__dict__, "options": {**voice.options, "pitch": 300.0}})
    assert SpeechSource(pitched, Cache(tmp_path)).key("Press.", 1.0) != base


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "garbage"])
def test_a_corrupt_entry_is_detected_and_synthesised_again(voice, tmp_path, damage):
    speech = SpeechSource(voice, Cache(tmp_path))
    good = speech.samples("Find the point.", 1.0).copy()
    (entry,) = (tmp_path / "clips").rglob("*.clip")
    raw = entry.read_bytes()
    damaged = {
        "truncate": raw[: len(raw) // 2],
        "flip": raw[:-10] + bytes([raw[-10] ^ 0xFF]) + raw[-9:],
        "empty": b"",
        "garbage": os.urandom(len(raw)),
    }[damage]
    entry.write_bytes(damaged)
    FakeEngine.calls.clear()
    again = SpeechSource(voice, Cache(tmp_path))
    assert np.array_equal(again.samples("Find the point.", 1.0), good)  # never the damaged audio
    assert again.synthesised == 1 and FakeEngine.calls == ["Find the point."]
    assert Cache(tmp_path).get_clip(again.key("Find the point.", 1.0)) is not None  # repaired


def test_an_unwritable_cache_degrades_to_memory_with_a_warning(voice, tmp_path):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    cache = Cache(blocked / "cache")
    assert not cache.writable
    assert cache.warning.startswith(f"warning: cannot write the speech cache at {blocked / 'cache'}")
    speech = SpeechSource(voice, cache)
    n = speech.length("Press.", 1.0)
    assert speech.samples("Press.", 1.0).size == n
    assert speech.synthesised == 1


def test_entries_are_written_atomically(tmp_path):
    cache = Cache(tmp_path)
    cache.put_clip("ab" + "0" * 62, Clip(np.arange(100, dtype=np.int16) + 1, -20.0))
    files = sorted(p.name for p in (tmp_path / "clips").rglob("*") if p.is_file())
    assert files == ["ab" + "0" * 62 + ".clip"]  # no temporary left behind


def test_two_processes_share_one_cache(tmp_path, fake_voice):
    """Concurrent builds write the same entries; every reader sees whole entries."""
    script = (
        "import sys\n"
        "from rlsaudio.system.cache import Cache\n"
        "from rlsaudio.speech.synth import SpeechSource\n"
        "from rlsaudio.speech.voices import load_profile\n"
        f"s = SpeechSource(load_profile({fake_voice!r}), Cache())\n"
        "for i in range(60):\n"
        "    assert s.samples(f'Phrase number {i % 20} of the test.', 1.0).size > 0\n"
    )
    env = {**os.environ, "RLSAUDIO_CACHE": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env) for _ in range(3)]
    assert [p.wait(60) for p in procs] == [0, 0, 0]
    cache = Cache(tmp_path)
    entries = list((tmp_path / "clips").rglob("*.clip"))
    assert len(entries) == 20
    assert not [p for p in (tmp_path / "clips").rglob("*.tmp")]
    speech = SpeechSource(load_profile(fake_voice), cache)
    for i in range(20):
        assert cache.get_clip(speech.key(f"Phrase number {i} of the test.", 1.0)) is not None


def test_a_hanging_engine_times_out_with_a_clear_error(tmp_path, write):
    profile = write("hang.toml", 'engine = "fake"\nhang_on = "stuck"\ntimeout = 1\n')
    speech = SpeechSource(load_profile(str(profile)), Cache(tmp_path))
    with pytest.raises(EngineError) as info:
        speech.length("This phrase is stuck.", 1.0)
    assert str(info.value) == ("the fake engine did not finish speaking 'This phrase is stuck.' within 1s and seems "
                               "stuck; try again, raise timeout in the voice profile, or use another voice with --voice")


# --------------------------------------------------------------------------- what kill -9 leaves

_WRITER_KILLED_MID_WRITE = """
import os, sys, time
from pathlib import Path
import numpy as np
os.fsync = lambda fd: time.sleep(3600)  # stop inside the write, after the data, before the rename
from rlsaudio.system.cache import Cache, Clip
cache = Cache(Path(sys.argv[1]))
if sys.argv[2] == "clip":
    cache.put_clip("cd" + "1" * 62, Clip(np.arange(1, 200, dtype=np.int16), -20.0))
else:
    cache.put_mix("ef" + "2" * 62, {"integrated": -20.0, "true_peak": -3.0, "max_short_term": -18.0})
"""


def _temps(root):
    return sorted(p for p in root.rglob("*.tmp"))


def _killed_writer(root, what):
    """Start a writer of an entry of the cache at `root`, kill -9 it mid-write: its temporary file stays."""
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-c", _WRITER_KILLED_MID_WRITE, str(root), what])
    try:
        deadline = time.monotonic() + 60
        while not _temps(root) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert _temps(root), "the writer never started its temporary file"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return _temps(root)


@pytest.mark.parametrize("what", ["clip", "mix"])
def test_temporary_files_of_a_killed_writer_are_removed_by_the_next_use(tmp_path, what, monkeypatch):
    import rlsaudio.system.cache as cache_module

    left = _killed_writer(tmp_path, what)
    assert len(left) == 1 and left[0].stat().st_size > 0
    monkeypatch.setattr(cache_module, "_tidied", set())  # a new process
    Cache(tmp_path)
    assert _temps(tmp_path) == []


def test_a_build_removes_what_a_killed_writer_left_in_its_cache(runner, tmp_path, tiny, fake_voice, monkeypatch):
    import rlsaudio.system.cache as cache_module
    from rlsaudio.cli import cli

    root = tmp_path / "cache"
    monkeypatch.setenv("RLSAUDIO_CACHE", str(root))
    assert len(_killed_writer(root, "clip")) == 1
    monkeypatch.setattr(cache_module, "_tidied", set())
    result = runner.invoke(cli, ["build", str(tiny), "-o", str(tmp_path / "out"), "--voice", fake_voice])
    assert result.exit_code == 0, result.output
    assert _temps(root) == []


def test_temporary_files_being_written_now_are_left_alone(tmp_path, monkeypatch):
    """A live writer's file (its pid is alive) and a recent one without a pid stay; an old one goes."""
    import time

    import rlsaudio.system.cache as cache_module

    Cache(tmp_path)
    live = tmp_path / "clips" / "ab" / f".{'ab' * 32}.clip.{os.getpid()}-k2j3h4g5.tmp"
    recent = tmp_path / "mixes" / f".{'cd' * 32}.json.q1w2e3r4.tmp"
    old = tmp_path / "mixes" / f".{'ef' * 32}.json.z9x8c7v6.tmp"
    probe = tmp_path / ".probe-abc123"
    for path in (live, recent, old, probe):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"partial")
    yesterday = time.time() - 2 * 24 * 3600
    os.utime(old, (yesterday, yesterday))
    os.utime(probe, (yesterday, yesterday))
    user = tmp_path / "mixes" / ".notes.tmp"  # not a name rlsaudio writes
    user.write_text("mine")
    os.utime(user, (yesterday, yesterday))
    monkeypatch.setattr(cache_module, "_tidied", set())
    Cache(tmp_path)
    assert live.exists() and recent.exists() and user.exists()
    assert not old.exists() and not probe.exists()


def test_a_relative_xdg_cache_home_is_ignored(monkeypatch, tmp_path):
    from rlsaudio.system.cache import default_cache_dir

    monkeypatch.delenv("RLSAUDIO_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for relative in ("cache", "./cache", "relative/dir", "~x"):
        monkeypatch.setenv("XDG_CACHE_HOME", relative)
        assert default_cache_dir() == tmp_path / "home" / ".cache" / "rlsaudio"
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "rlsaudio"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "rlsaudio"
