"""Standard output that cannot be used (closed, a full disk, an encoding without the title's
characters) never shows a traceback and never loses the work: what can be said is said on
stderr, and the status says the report did not reach stdout. Run in real processes."""

import os
import subprocess

import pytest
from places import FAKE_VOICE, RLSAUDIO, tiny_routine

NOTE = "rlsaudio: cannot write to standard output"


def run(args, redirect: str, tmp_path, env=None, timeout=120):
    """rlsaudio ARGS with its standard streams redirected by the shell (`>&-`, `> /dev/full`)."""
    done = subprocess.run(["sh", "-c", f'exec "$@" {redirect}', "sh", *RLSAUDIO, *map(str, args)],
                          capture_output=True, encoding="utf-8", errors="replace", cwd=tmp_path, timeout=timeout,
                          env={**os.environ, **(env or {})})
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    return done


@pytest.mark.parametrize("redirect, reason", [(">&-", "it is closed"), ("> /dev/full", "No space left on device")])
def test_a_listing_to_an_unusable_stdout_is_shown_on_stderr(tmp_path, redirect, reason):
    done = run(["routines"], redirect, tmp_path)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0] == f"{NOTE} ({reason}); showing its lines here"
    assert lines[1].split() == ["id", "title", "steps", "length"] and any("acupressure" in l for l in lines)


@pytest.mark.parametrize("redirect", [">&-", "> /dev/full", ">&- 2>&-", "> /dev/full 2> /dev/full"])
def test_a_build_to_an_unusable_stdout_keeps_its_track(tmp_path, redirect):
    routine = tmp_path / "tiny.toml"
    routine.write_text(tiny_routine())
    done = run(["build", routine, "-o", tmp_path / "out", "--voice", FAKE_VOICE], redirect, tmp_path)
    assert done.returncode == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "Tiny.chapters.json", "Tiny.chapters.vtt", "Tiny.html", "Tiny.lrc", "Tiny.mp3", "Tiny.vtt"]
    if "2>" not in redirect:
        assert done.stderr.splitlines()[-1].startswith(f"{tmp_path / 'out' / 'Tiny.mp3'}  ")  # its report


def test_an_error_with_stdout_closed_is_still_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('title = "B"\n[[steps]]\ntitle = "A"\nhold = "ten"\n')
    done = run(["build", bad, "--voice", FAKE_VOICE], ">&-", tmp_path)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1 and done.stderr.startswith(f"{bad}:4:")


def test_a_command_with_nothing_to_print_is_not_failed_by_a_closed_stdout(tmp_path):
    done = run(["diary", "path"], "> /dev/null", tmp_path)
    assert done.returncode == 0
    done = run(["validate", tmp_path / "nope.toml"], ">&-", tmp_path)
    assert done.returncode == 2 and "no such TOML file" in done.stderr


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_an_output_encoding_without_the_title_s_characters_gets_escapes(tmp_path, encoding):
    routine = tmp_path / "r.toml"
    routine.write_text(tiny_routine(title="Évening 🌙 calm"), encoding="utf-8")
    out = tmp_path / "out"
    done = run(["build", routine, "-o", out, "--voice", FAKE_VOICE], "", tmp_path,
               env={"PYTHONIOENCODING": encoding})
    assert done.returncode == 0, done.stderr
    assert (out / "Évening 🌙 calm.mp3").is_file()
    assert "\\U0001f319 calm.mp3  " in done.stdout
    inspected = run(["inspect", out / "Évening 🌙 calm.mp3"], "", tmp_path, env={"PYTHONIOENCODING": encoding})
    assert inspected.returncode == 0 and "\\U0001f319 calm" in inspected.stdout


def test_a_closed_pipe_still_ends_quietly(tmp_path):
    done = subprocess.run(["sh", "-c", '"$@" | head -1', "sh", *RLSAUDIO, "routines"], capture_output=True,
                          text=True, cwd=tmp_path, timeout=120)
    assert done.stdout.split() == ["id", "title", "steps", "length"] and done.stderr == ""
