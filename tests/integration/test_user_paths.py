"""No crash a user can reach: a plain install, Ctrl-C during real speech, a reader that stops early,
every problem with its line, inspect, plan and build agreeing, and no failure swallowed."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from audio import SR, decode, integrated_loudness
from places import FAKE_VOICE, RLSAUDIO, ROOT

from rlsaudio.cli import cli

FAKE = FAKE_VOICE


# --------------------------------------------------------------------------- installable anywhere


@pytest.mark.slow
def test_a_plain_pip_install_gives_a_working_tool_with_every_voice_offline(tmp_path):
    """From a fresh venv (on RLSAUDIO_SMOKE_PYTHON when set: CI's Python 3.13 smoke test)."""
    venv = tmp_path / "venv"
    subprocess.run([os.environ.get("RLSAUDIO_SMOKE_PYTHON", sys.executable), "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(ROOT)],
                         capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stderr[-2000:]
    rlsaudio = str(venv / "bin" / "rlsaudio")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("RLSAUDIO_TEST_ENGINES", "PYTHONPATH")}
    env["RLSAUDIO_CACHE"] = str(tmp_path / "cache")
    # Everything after the install runs with no network at all (a network namespace of its own,
    # where the system allows one): nothing is downloaded at run time, by any voice.
    offline = ["unshare", "-n"] if shutil.which("unshare") and subprocess.run(
        ["unshare", "-n", "true"], capture_output=True).returncode == 0 else []
    voices = subprocess.run([*offline, rlsaudio, "voices"], cwd=elsewhere, capture_output=True, text=True, env=env,
                            check=True)
    assert voices.stdout.count(" ready ") == 4, voices.stdout
    assert [line.split()[1] for line in voices.stdout.splitlines() if line.startswith(("heart", "michael"))] == \
        ["kokoro", "kokoro"]
    routine = elsewhere / "short.toml"
    routine.write_text('title = "Short"\n[[steps]]\ntitle = "A"\nsay = "Find the point above your ankle."\nhold = 3\n')
    for voice in ("joe", "espeak", "heart"):
        done = subprocess.run([*offline, rlsaudio, "build", "short.toml", "-o", f"out-{voice}", "--voice", voice],
                              cwd=elsewhere, capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        # joe is the default where piper runs (it does here: both voices are ready); the other is named
        mp3 = elsewhere / f"out-{voice}" / ("Short.mp3" if voice == "joe" else f"Short ({voice}).mp3")
        plan = json.loads(subprocess.run([rlsaudio, "plan", "short.toml", "--json", "--voice", voice], cwd=elsewhere,
                                         capture_output=True, text=True, env=env, check=True).stdout)
        audio = decode(mp3)
        assert abs(len(audio) / SR - plan["duration"]) < 0.003
        assert abs(integrated_loudness(mp3) - -19.0) < 1.0


# --------------------------------------------------------------------------- Ctrl-C during a real synthesis


def _start_build(tmp_path: Path, voice: str = "joe", **popen) -> tuple[subprocess.Popen, Path]:
    sentences = " ".join(f"Sentence number {i} is here to keep the natural voice busy for a while." for i in range(60))
    routine = tmp_path / "busy.toml"
    routine.write_text(f'title = "Busy"\n[[steps]]\ntitle = "A"\nsay = "{sentences}"\n')
    out = tmp_path / "out"
    env = {**os.environ, "RLSAUDIO_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen([*RLSAUDIO, "build", str(routine), "-o", str(out), "--voice", voice], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)
    return proc, out


@pytest.mark.engine
@pytest.mark.parametrize("voice", ["joe", pytest.param("heart", marks=pytest.mark.slow)])
@pytest.mark.parametrize("how", ["terminal", "process"])
def test_ctrl_c_during_a_real_synthesis_exits_130_and_leaves_nothing(tmp_path, how, voice):
    proc, out = _start_build(tmp_path, voice, start_new_session=True)
    # wait until the voice is inside its synthesis: clips start to land in the cache
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(list((tmp_path / "cache").rglob("*.clip"))) < 2:
        time.sleep(0.05)
    assert len(list((tmp_path / "cache").rglob("*.clip"))) >= 2, "synthesis never started"
    if how == "terminal":
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    else:
        os.kill(proc.pid, signal.SIGINT)  # kill -INT to rlsaudio alone
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err == "interrupted\n"
    assert not out.exists() or list(out.iterdir()) == []


# --------------------------------------------------------------------------- a reader that stops early


@pytest.mark.parametrize("args", [["plan", "acupressure", "--estimate"], ["routines"], ["voices"],
                                  ["plan", "acupressure", "--estimate", "--json"], ["--help"]])
def test_a_closed_pipe_ends_quietly(args):
    proc = subprocess.Popen([*RLSAUDIO, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read().decode() if proc.stderr else ""
    code = proc.wait(timeout=60)
    assert err == ""
    assert code in (0, 141)  # done before noticing, or stopped by the closed pipe (128 + SIGPIPE)


def test_head_in_a_shell_pipeline():
    done = subprocess.run(f"{sys.executable} -m rlsaudio plan acupressure --estimate | head -3", shell=True,
                          capture_output=True, text=True)
    assert len(done.stdout.splitlines()) == 3 and done.stderr == ""


# --------------------------------------------------------------------------- {side} in a title


def test_side_in_a_title_names_the_side_and_the_title_gets_no_suffix(runner, write, fake_voice):
    path = write("calf.toml", 'title = "T"\n[[steps]]\ntitle = "Calf stretch, {side} leg"\nsides = ["right", "left"]\n'
                              'say = "Stretch your {side} calf."\nhold = 3\n')
    data = json.loads(runner.invoke(cli, ["plan", str(path), "--voice", fake_voice, "--json"]).stdout)
    assert [c["title"] for c in data["chapters"]] == ["Calf stretch, right leg", "Calf stretch, left leg"]
    assert [c["side"] for c in data["chapters"]] == ["right", "left"]


# --------------------------------------------------------------------------- playlist files and lines


def test_validate_knows_a_playlist_and_checks_its_tracks(runner, write):
    write("calf.toml", 'title = "Calf"\n[[steps]]\ntitle = "A"\nsay = "Hi."\nhold = 3\n')
    broken = write("broken.toml", 'title = "B"\n[[steps]]\ntitle = "A"\nhold = "ten"\n')
    week = write("week.toml", 'name = "Week"\n[[tracks]]\nroutine = "calf.toml"\n[[tracks]]\nroutine = "acupressure"\n')
    result = runner.invoke(cli, ["validate", str(week)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{week}: ok (playlist 'Week', 2 tracks)\n"
    bad = write("bad.toml", f'name = "Bad"\n[[tracks]]\nroutine = "{broken.name}"\n')
    result = runner.invoke(cli, ["validate", str(bad)])
    assert result.exit_code == 2
    assert result.stderr == (f'{bad}:3: tracks[0].routine: {broken}:4: steps[0].hold: expected a duration like 10 or '
                             '"90s", got "ten"\n')


def test_a_routine_given_to_playlist_alone_says_what_to_do(runner, write):
    stretch = write("stretch.toml", 'title = "S"\n[[steps]]\ntitle = "A"\nsay = "Hi."\n')
    result = runner.invoke(cli, ["playlist", str(stretch)])
    assert result.exit_code == 2
    assert result.stderr == (f'{stretch}: is a routine file, not a playlist; give --name "Album name" to make an album '
                             "of routines, or a playlist file with [[tracks]]\n")


@pytest.mark.parametrize("text, expected", [
    ('title = "T"\n[[step]]\ntitle = "A"\nsay = "x"\n',
     '{f}:2: step: unknown key; did you mean "steps"?'),
    ('title = "T"\n[[steps]]\ntitle = "A"\nsay = "x"\n[steps.extra]\nx = 1\n',
     '{f}:5: steps[0].extra: unknown key; allowed keys: '),
])
def test_every_problem_names_its_line(runner, write, text, expected):
    path = write("s2.toml", text)
    result = runner.invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2
    assert any(line.startswith(expected.format(f=path)) for line in result.stderr.splitlines()), result.stderr


def test_a_playlist_track_length_out_of_reach_names_its_line(runner, write, fake_voice):
    write("calf.toml", 'title = "Calf"\n[[steps]]\ntitle = "A"\nsay = "Hi."\nhold = 3\npause = 10\n')
    week = write("week.toml", f'name = "Week"\nvoice = "{fake_voice}"\n\n[[tracks]]\nroutine = "calf.toml"\n'
                              'length = "15m"\n')
    result = runner.invoke(cli, ["playlist", str(week), "-o", str(week.parent / "o"), "--jobs", "1"])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("track 1 (") and f"{week}:6: tracks[0].length: cannot fit 'Calf' to 15m 00s: " in line
    assert line.endswith("choose a length in that range")


def test_bedtime_tail_and_cover_problems_name_the_playlist_file(runner, write):
    week = write("week.toml", 'name = "W"\ncover = "cover.jpg"\nmode = "bedtime"\n[[tracks]]\n'
                              'routine = "acupressure"\ntail = "10s"\n')
    result = runner.invoke(cli, ["playlist", str(week)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{week}:2: cover: {week.parent / 'cover.jpg'}: no such cover file; check the path",
        f"{week}:6: tracks[0].tail: bedtime needs a tail of at least 20s for its fade to silence; use 20s or longer",
    ]


def test_a_missing_engine_is_a_failure_of_the_installation(runner, write):
    gone = write("gone.toml", 'engine = "fake"\nunavailable = "not installed"\n')
    result = runner.invoke(cli, ["build", "acupressure", "--voice", str(gone)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{gone}: voice cannot run here: not installed")


# --------------------------------------------------------------------------- inspect a bedtime track


def test_inspect_shows_the_session_loudness_and_the_whole_file(runner, write, tmp_path, fake_voice):
    routine = write("r.toml", 'title = "Night"\n[[steps]]\ntitle = "A"\nsay = "Lie down and let go."\nhold = 20\n'
                              'breathe = true\n')
    out = tmp_path / "out"
    result = runner.invoke(cli, ["build", str(routine), "-o", str(out), "--voice", fake_voice, "--mode", "bedtime",
                                 "--soundscape", "brown", "--tail", "3m"])
    assert result.exit_code == 0, result.output
    track = out / "Night (bedtime) (3 min tail).mp3"  # a --tail variant is named
    info = json.loads(runner.invoke(cli, ["inspect", str(track), "--json"]).stdout)
    assert info["loudness_lufs"] == pytest.approx(-24.0, abs=0.5)  # the session: the mode's target
    assert info["whole_file_lufs"] < info["loudness_lufs"] - 1.0  # the quiet tail pulls the whole file down
    assert info["session_duration"] < info["duration"] - 170
    text = runner.invoke(cli, ["inspect", str(track)]).stdout
    assert "LUFS integrated over the session" in text and "over the whole file, with its quiet tail" in text


# --------------------------------------------------------------------------- plan and build agree


@pytest.mark.engine
def test_plan_and_build_agree_whatever_the_cache_held(runner, write, tmp_path, monkeypatch):
    routine = write("r.toml", 'title = "R"\n[[steps]]\ntitle = "A"\nsay = "Rest for ten seconds. Drink some water. '
                              'Move to your right foot."\nhold = 3\n')
    monkeypatch.setenv("RLSAUDIO_CACHE", str(tmp_path / "cache"))
    # the cache holds some of the phrases, spoken in another order by another process
    subprocess.run([*RLSAUDIO, "plan", str(write("part.toml", 'title = "P"\n[[steps]]\ntitle = "B"\nsay = '
                                                               '"Move to your right foot. Drink some water."\n')),
                    "--voice", "espeak"], check=True, capture_output=True, env={**os.environ})
    built = runner.invoke(cli, ["build", str(routine), "-o", str(tmp_path / "o"), "--voice", "espeak"])
    assert built.exit_code == 0, built.output
    planned = json.loads(runner.invoke(cli, ["plan", str(routine), "--json", "--voice", "espeak"]).stdout)
    assert built.stdout.split("  ")[1].strip() == f"{planned['duration']:.1f}s"
    from rlsaudio.speech.voices import default_voice_name

    built_file = tmp_path / "o" / ("R.mp3" if default_voice_name() == "espeak" else "R (espeak).mp3")
    assert abs(len(decode(built_file)) / SR - planned["duration"]) < 0.003


def test_a_second_synthesis_of_a_phrase_adopts_the_first(tmp_path):
    import numpy as np

    from rlsaudio.system.cache import Cache, Clip

    cache = Cache(tmp_path)
    first = cache.put_clip("k" * 64, Clip(np.ones(100, dtype=np.int16), -20.0))
    second = cache.put_clip("k" * 64, Clip(np.ones(103, dtype=np.int16), -20.0))
    assert first.samples.size == second.samples.size == 100


# --------------------------------------------------------------------------- no swallowed failures


def test_a_bug_inside_mutagen_calls_is_not_reported_as_a_tag_problem(tmp_path, monkeypatch):
    from rlsaudio.publish import tags

    mp3 = tmp_path / "x.mp3"
    mp3.write_bytes(b"")

    def buggy(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("mutagen.id3.ID3", buggy)
    with pytest.raises(ZeroDivisionError):
        tags.read_tags(mp3)


def test_a_synthesis_worker_that_dies_is_reported(write, tmp_path):
    crash = write("crash.toml", 'engine = "fake"\ncrash_on = "Crash here"\n')
    routine = write("r.toml", 'title = "R"\n[[steps]]\ntitle = "A"\nsay = "Crash here now."\n')
    other = write("o.toml", 'title = "O"\n[[steps]]\ntitle = "A"\nsay = "Fine words."\n')
    env = {**os.environ, "RLSAUDIO_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([*RLSAUDIO, "playlist", str(routine), str(other), "--name", "P", "-o", str(tmp_path / "p"),
                           "--voice", str(crash), "--jobs", "2"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "a fake speech process stopped unexpectedly" in done.stderr and "Traceback" not in done.stderr, done.stderr



_STOPPED_WHILE_STARTING = """
import os, signal, sys, time
from concurrent.futures.process import BrokenProcessPool
from rlsaudio.system import threads
from rlsaudio.system import workers as jobs

def parent_handler(signum, frame):  # as the CLI's: SIGTERM becomes KeyboardInterrupt
    raise KeyboardInterrupt

signal.signal(signal.SIGTERM, parent_handler)
threads.one_blas_thread = lambda: time.sleep(3)  # a worker slow to start
assert jobs._start_method() == "fork"
executor = jobs.pool(1)
future = executor.submit(os.getpid)
time.sleep(1)
(worker,) = executor._processes.values()
os.kill(worker.pid, signal.SIGTERM)
try:
    future.result(timeout=30)
except BrokenProcessPool:
    print("stopped")
executor.shutdown()
"""


def test_a_worker_stopped_while_it_starts_ends_quietly():
    """A forked worker inherits the parent's handlers, which raise KeyboardInterrupt: stopped
    before its initializer had set its own, it printed a traceback into the user's terminal."""
    done = subprocess.run([sys.executable, "-c", _STOPPED_WHILE_STARTING], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "stopped", done.stderr
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr, done.stderr


@pytest.mark.slow
def test_the_wheel_holds_every_subpackage_its_data_and_the_licence(tmp_path):
    """Built from a copy of the checkout (setuptools writes build/ beside the sources)."""
    import shutil
    import zipfile

    source = tmp_path / "src"
    shutil.copytree(ROOT, source, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", ".venv", "output", "build", "*.egg-info", "__pycache__",
                                                  ".pytest_cache", ".ruff_cache", "docs"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                           str(tmp_path / "dist"), str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("rlsaudio-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {str(p.parent.relative_to(ROOT)) for p in (ROOT / "rlsaudio").rglob("__init__.py")}
    for package in packages:
        assert f"{package}/__init__.py" in names, package
    for data in ("rlsaudio/data/voices/joe.toml", "rlsaudio/data/routines/acupressure.toml",
                 "rlsaudio/data/figures/soles.svg", "rlsaudio/data/points.toml", "rlsaudio/data/favicon.png",
                 "rlsaudio/publish/page/page.js"):
        assert data in names, data
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
