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
