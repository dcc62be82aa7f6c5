"""Voice profiles: what a voice costs to speak, and the estimate a first build announces."""

import pytest
from places import ROOT


def test_synthesis_time_is_the_voice_cost_times_the_speech_shared_by_processes():
    from rlsaudio.speech.profile import VoiceProfile

    voice = VoiceProfile("v", "fake", words_per_minute=60, compute=0.5)  # a word a second
    # 3 s, then 6 s at half the rate, each with the plan estimate's quarter second (to the sample)
    phrases = [("one two three", 1.0), ("four five six", 0.5)]
    assert voice.synthesis_seconds(phrases, 1) == pytest.approx(4.75, abs=1e-3)
    assert voice.synthesis_seconds(phrases, 2) == pytest.approx(2.375, abs=1e-3)
    assert voice.synthesis_seconds(phrases, 8) == pytest.approx(2.375, abs=1e-3)  # no more processes than phrases
    assert voice.synthesis_seconds([], 1) is None
    assert VoiceProfile("v", "fake").synthesis_seconds(phrases, 1) is None  # cost unknown: nothing said


def test_every_bundled_voice_states_its_cost():
    from rlsaudio.speech.voices import load_profile

    for path in (ROOT / "voices").glob("*.toml"):
        assert load_profile(str(path)).compute, path.name
