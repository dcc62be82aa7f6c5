"""What a build pays for (counted, never timed): speed targets live in scripts/bench."""

import json
import os
import subprocess
import sys

import pytest

from rlsaudio.cli import cli

PROBE = """
import json, sys
from rlsaudio.cli import cli
code = cli.main(["build", sys.argv[1], "-o", sys.argv[2], "--voice", sys.argv[3]], standalone_mode=False)
assert code == 0, code
print(json.dumps({"modules": sorted(m for m in ("scipy", "onnxruntime", "piper", "pyloudnorm") if m in sys.modules)}))
"""


def build_in_fresh_process(routine, out, voice, env):
    done = subprocess.run([sys.executable, "-c", PROBE, str(routine), str(out), voice], capture_output=True,
                          text=True, env=env, check=True)
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.engine
def test_a_warm_build_neither_loads_the_voice_nor_measures_again(tmp_path, write):
    routine = write("t.toml", 'title = "T"\n[[steps]]\ntitle = "A"\nsay = "Find the point."\nhold = 3\n')
    env = {**os.environ, "RLSAUDIO_CACHE": str(tmp_path / "cache")}
    cold = build_in_fresh_process(routine, tmp_path / "a", "joe", env)
    assert cold["modules"] == ["onnxruntime", "piper"]  # the voice, once; scipy never (numpy filters)
    warm = build_in_fresh_process(routine, tmp_path / "b", "joe", env)
    assert warm["modules"] == []  # no voice model, no scipy, no pyloudnorm


@pytest.mark.engine
def test_piper_loads_once_per_process(runner, write, tmp_path, monkeypatch):
    from rlsaudio.speech.engines import piper_engine

    loads = []
    original = piper_engine._load_voice
    monkeypatch.setattr(piper_engine, "_load_voice", lambda path: loads.append(path) or original(path))
    monkeypatch.setattr(piper_engine.PiperEngine, "__init__", lambda self: setattr(self, "_voices", {}))
    from rlsaudio.speech.engines import base

    monkeypatch.setitem(base._instances, "piper", piper_engine.PiperEngine())
    for i in range(2):
        routine = write(f"r{i}.toml", f'title = "R{i}"\n[[steps]]\ntitle = "A"\nsay = "Routine number {i}."\n')
        result = runner.invoke(cli, ["build", str(routine), "-o", str(tmp_path / "out"), "--voice", "joe"])
        assert result.exit_code == 0, result.output
    assert len(loads) == 1


def test_each_distinct_phrase_is_spoken_once_per_playlist(runner, write, tmp_path, fake_voice):
    from rlsaudio.speech.engines.fake import FakeEngine

    routines = [write(f"r{i}.toml", f'title = "R{i}"\n[[steps]]\ntitle = "A"\nsay = "Shared words. Own words {i}."\n'
                      'hold = 2\n') for i in range(3)]
    FakeEngine.calls.clear()
    result = runner.invoke(cli, ["playlist", *map(str, routines), "--name", "P", "-o", str(tmp_path / "p"),
                                 "--voice", fake_voice, "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert sorted(FakeEngine.calls) == sorted(set(FakeEngine.calls))
    assert FakeEngine.calls.count("Shared words.") == 1
