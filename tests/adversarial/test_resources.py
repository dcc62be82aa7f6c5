"""Resources stay bounded for every input that validates, and what no format can hold is refused
when the plan is made (validate, plan and build alike), with the number and the limit.

Memory is measured: each command runs in a child of a small wrapper process, which reports the
peak resident size of its children (getrusage RUSAGE_CHILDREN), under a generous deadline."""

import json
import os
import subprocess
import sys

import pytest
from places import FAKE_VOICE, RLSAUDIO, deadline

from rlsaudio.base import limits
from rlsaudio.cli import cli

MB = 1024 * 1024
# "A few hundred MB": espeak and the clip pipeline peaked at 1.1 GB on a 4.9 KB sentence before
# long text was spoken in pieces, joe (Piper) at 4.5 GB; now about 170 MB and 310 MB.
MEMORY_BOUND = 450 * MB

_MEASURE = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"code": done.returncode, "stdout": done.stdout[-2000:], "stderr": done.stderr[-2000:],
                  "peak": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}))
"""

RESPELLING = "rest less legs sin drome is a con dish un that makes you want to move your legs"[:79]
NO_PUNCTUATION = "the legs feel calm and heavy and warm as you breathe out slowly "


def measured(args: list[str], cwd, seconds: float) -> dict:
    """Run rlsaudio with `args` in a fresh process; its exit status, output and peak memory."""
    with deadline(seconds, f"rlsaudio {' '.join(args[:2])}"):
        done = subprocess.run([sys.executable, "-c", _MEASURE, *RLSAUDIO, *args], capture_output=True, text=True,
                              cwd=cwd, env={**os.environ})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def respelled(write, repeats: int):
    say = "ab " * (repeats - 1) + "ab."
    return write(f"respelled{repeats}.toml", f'title = "Respelled"\n[pronounce]\nab = "{RESPELLING}"\n'
                                             f'[[steps]]\ntitle = "A"\nsay = "{say}"\n')


def unpunctuated(write, chars: int):
    say = (NO_PUNCTUATION * (chars // len(NO_PUNCTUATION) + 1))[:chars].rsplit(" ", 1)[0]
    assert len(say) <= limits.MAX_SAY_CHARS
    return write(f"long{chars}.toml", f'title = "Long"\n[[steps]]\ntitle = "A"\nsay = "{say}"\n')


# --------------------------------------------------------------------------- memory


def test_the_spoken_form_limit_applies_after_the_pronunciation_table(runner, write, tmp_path):
    """A 1.3 KB file whose [pronounce] turns a two-letter word into 79 characters, 400 times in one
    sentence: refused when the plan is made, by validate, plan and build, with the file and limit."""
    routine = respelled(write, 400)
    assert routine.stat().st_size < 1500
    for args in (["validate", str(routine)], ["plan", str(routine), "--voice", FAKE_VOICE],
                 ["build", str(routine), "--voice", FAKE_VOICE, "-o", str(tmp_path / "out")]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2, result.output
        assert result.stderr == (f'{routine}: the sentence beginning "ab ab ab ab ab ab" is 32000 characters long '
                                 f"once its pronunciations are applied, more than the {limits.MAX_SPOKEN_CHARS} "
                                 "allowed; shorten it or its [pronounce] respellings\n")
    assert not (tmp_path / "out").exists()


@pytest.mark.engine
def test_a_refused_respelling_is_refused_with_little_memory(write, tmp_path):
    result = measured(["plan", str(respelled(write, 1600)), "--voice", "espeak"], tmp_path, 120)
    assert result["code"] == 2 and "more than the 5000 allowed" in result["stderr"]
    assert result["peak"] < 200 * MB


@pytest.mark.engine
@pytest.mark.parametrize("make", [lambda w: respelled(w, 62), lambda w: unpunctuated(w, 4900)],
                         ids=["respelling x62 (4.9 KB spoken)", "4.9 KB sentence without punctuation"])
@pytest.mark.slow
def test_espeak_speaks_the_longest_valid_phrases_in_bounded_memory(write, tmp_path, make):
    routine = make(write)
    result = measured(["build", str(routine), "--voice", "espeak", "-o", str(tmp_path / "out")], tmp_path, 600)
    assert result["code"] == 0, result["stderr"]
    assert result["peak"] < MEMORY_BOUND, f"peak {result['peak'] / MB:.0f} MB"
    assert "4m" in result["stdout"] or "5m" in result["stdout"]  # minutes of speech, all of it spoken


@pytest.mark.engine
@pytest.mark.slow
@pytest.mark.parametrize("make", [lambda w: respelled(w, 16), lambda w: unpunctuated(w, 1300)],
                         ids=["respelling x16", "1.3 KB sentence without punctuation"])
def test_joe_speaks_long_phrases_in_bounded_memory(write, tmp_path, make):
    """Piper's decoder holds a whole call's activations: a phrase without commas was one call."""
    routine = make(write)
    result = measured(["plan", str(routine), "--voice", "joe"], tmp_path, 900)
    assert result["code"] == 0, result["stderr"]
    assert result["peak"] < MEMORY_BOUND, f"peak {result['peak'] / MB:.0f} MB"


def test_a_long_phrase_is_spoken_in_pieces_no_engine_call_over_a_few_hundred_characters(write, tmp_path,
                                                                                          monkeypatch):
    from rlsaudio.speech import synth
    from rlsaudio.speech.engines.fake import FakeEngine
    from rlsaudio.speech.voices import load_profile
    from rlsaudio.system.cache import Cache

    calls: list[str] = []
    real = synth.synthesize_clip
    monkeypatch.setattr(synth, "synthesize_clip", lambda engine, text, *a: calls.append(text) or real(engine, text, *a))
    text = (NO_PUNCTUATION * 80)[:4900]
    source = synth.SpeechSource(load_profile(FAKE_VOICE), Cache(tmp_path))
    FakeEngine.calls.clear()
    length = source.length(text, 1.0)
    assert len(calls) > 10 and max(map(len, calls)) <= synth.MAX_CALL_CHARS
    assert " ".join(calls).split() == text.split()
    assert length > len(text.split()) * 0.1 * 22050  # every word is in the clip
    # a short phrase is one call, as it always was
    calls.clear()
    source.length("Press gently.", 1.0)
    assert calls == ["Press gently."]


# --------------------------------------------------------------------------- chapters


def many_steps(write, steps: int, sides: bool) -> "os.PathLike":
    side = 'sides = ["right", "left"]\n' if sides else ""
    body = "".join(f'[[steps]]\ntitle = "S{i}"\n{side}say = "Press {i}."\nhold = 1\n' for i in range(steps))
    return write(f"steps{steps}{'x2' if sides else ''}.toml", f'title = "Many"\n{body}')


@pytest.mark.parametrize("steps, sides, chapters", [(256, False, 256), (128, True, 256), (300, False, 300),
                                                    (200, True, 400)])
def test_more_chapters_than_every_format_holds_are_refused_when_planned(runner, write, tmp_path, steps, sides,
                                                                         chapters):
    routine = many_steps(write, steps, sides)
    expected = (f"{routine}: would have {chapters} chapters (one per step and side), more than the 255 a track's "
                "chapter list can hold; use fewer steps or sides, or split the routine in two\n")
    for args in (["validate", str(routine)], ["plan", str(routine), "--voice", FAKE_VOICE, "--estimate"],
                 ["build", str(routine), "--voice", FAKE_VOICE, "-o", str(tmp_path / "out")],
                 ["build", str(routine), "--voice", FAKE_VOICE, "-o", str(tmp_path / "out"), "--format", "m4b"]):
        result = runner.invoke(cli, args)
        assert (result.exit_code, result.stderr) == (2, expected), result.output
    assert not (tmp_path / "out").exists()


def test_a_playlist_names_the_track_with_too_many_chapters(runner, write):
    many_steps(write, 128, True)
    playlist = write("p.toml", 'name = "P"\n[[tracks]]\nroutine = "steps128x2.toml"\n')
    result = runner.invoke(cli, ["validate", str(playlist)])
    assert result.exit_code == 2 and "would have 256 chapters" in result.stderr and "tracks[0].routine" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["mp3", "m4b", "opus"])
def test_the_most_chapters_allowed_are_written_and_read_back_in_every_format(runner, write, tmp_path, fmt):
    routine = many_steps(write, 255, False)
    assert runner.invoke(cli, ["validate", str(routine)]).exit_code == 0
    result = runner.invoke(cli, ["build", str(routine), "--voice", FAKE_VOICE, "-o", str(tmp_path / "out"),
                                 "--format", fmt, "--no-page"])
    assert result.exit_code == 0, result.output
    info = json.loads(runner.invoke(cli, ["inspect", "--json", str(tmp_path / "out" / f"Many.{fmt}")]).stdout)
    assert [c["title"] for c in info["chapters"]] == [f"S{i}" for i in range(255)]
