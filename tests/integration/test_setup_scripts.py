"""The set-up scripts (scripts/_venv.sh, sourced by run, test and bench), on every path.

Each test copies the scripts and pyproject.toml into a folder of its own and puts a fake Python
there: it answers `-c` with the real interpreter, makes a fake venv for `-m venv`, and for
`-m pip install` writes pip-like lines into the log slowly, then exits with the status asked.
The terminal paths run on a real pseudo-terminal (tests/terminal.py): CI has none, and the
progress poller that only runs on one once killed the first `scripts/run` of every new user.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import terminal
from places import ROOT

FAKE_PYTHON = r"""#!/usr/bin/env bash
# A stand-in for python: enough of it for scripts/_venv.sh.
if [ "$1" = "-c" ]; then exec "$REAL_PYTHON" "$@"; fi
if [ "$1 $2" = "-m venv" ]; then
    mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && chmod +x "$3/bin/python"; exit 0
fi
if [ "$1 $2 $3" = "-m pip --version" ]; then exit 0; fi
if [ "$1 $2 $3" = "-m pip install" ]; then
    echo $$ >> "$FAKE_PIP_PIDS"
    shift 3
    echo "args: $*" >> "$FAKE_PIP_CALLS"
    for step in $FAKE_PIP_STEPS; do
        sleep "$FAKE_PIP_DELAY"
        echo "Collecting ${step}"
        echo "  some detail line about ${step}"
    done
    if [ "${FAKE_PIP_STATUS:-0}" -ne 0 ]; then
        echo "ERROR: No matching distribution found for wheel-that-is-not-there"
    else
        echo "Successfully installed everything"
    fi
    exit "${FAKE_PIP_STATUS:-0}"
fi
echo "fake python: unexpected arguments: $*" >&2
exit 3
"""


@pytest.fixture
def clone(tmp_path):
    """A folder shaped like a checkout for the set-up script: scripts/, pyproject.toml, a fake python."""
    root = tmp_path / "clone"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "_venv.sh", root / "scripts" / "_venv.sh")
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    fake = tmp_path / "fake-python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    return root


def _env(tmp_path: Path, **fake) -> dict[str, str]:
    env = {**os.environ, "REAL_PYTHON": sys.executable, "PYTHON": str(tmp_path / "fake-python"),
           "FAKE_PIP_PIDS": str(tmp_path / "pip-pids"), "FAKE_PIP_CALLS": str(tmp_path / "pip-calls"),
           "FAKE_PIP_STEPS": "numpy mutagen", "FAKE_PIP_DELAY": "0", "RLSAUDIO_EXTRAS": ""}
    env.pop("VIRTUAL_ENV", None)
    env.update({f"FAKE_PIP_{k.upper()}": str(v) for k, v in fake.items()})
    return env


def _source(root: Path) -> list[str]:
    return ["bash", "-c", f'source "{root}/scripts/_venv.sh"; echo "reached $VENV"']


def _installed(root: Path, extras: str = "-") -> None:
    digest = hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest()
    (root / ".venv" / ".rlsaudio-installed").write_text(f"{digest} {extras}\n")


def _pip_calls(tmp_path: Path) -> list[str]:
    calls = tmp_path / "pip-calls"
    return calls.read_text().splitlines() if calls.exists() else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purpose
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# --------------------------------------------------------------------------- on a terminal


def test_a_first_install_on_a_terminal_shows_what_pip_does_and_reaches_the_command(clone, tmp_path):
    """The first poll finds no pip step in the log yet: that must not end the script (it did)."""
    term = terminal.run(_source(clone), env=_env(tmp_path, steps="numpy mutagen piper-tts", delay="0.7"),
                        timeout=60)
    assert term.status == 0, term.text
    assert f"reached {clone / '.venv'}" in term.text
    assert "Creating " in term.text and "with Python 3." in term.text
    assert "starting pip" in term.text  # the empty log at the first poll
    assert "Collecting numpy" in term.text and "Collecting mutagen" in term.text  # it moved on
    # each pip call shows its own steps: the second starts afresh, not on the first's last line
    second = term.text.split("done in ")[1]
    assert "Successfully installed" not in second.split("Collecting")[0]
    assert term.text.count("done in ") == 2  # pip upgraded itself, then rlsaudio
    assert (clone / ".venv" / ".rlsaudio-installed").exists()


def test_the_progress_line_fits_a_narrow_terminal(clone, tmp_path):
    long_name = "a-package-with-a-very-long-name-that-would-wrap-on-a-small-terminal" * 2
    term = terminal.run(_source(clone), env=_env(tmp_path, steps=f"{long_name} last", delay="1.2"), timeout=60, columns=40)
    assert term.status == 0, term.text
    progress = [part for part in term.text.replace("\x1b[K", "").split("\r") if "Collecting" in part]
    assert progress, term.text
    assert all(len(part.rstrip("\n")) <= 40 for part in progress), progress


def test_a_reinstall_on_a_terminal_after_pyproject_changed(clone, tmp_path):
    env = _env(tmp_path, delay="0.3")
    assert terminal.run(_source(clone), env=env).status == 0
    with open(clone / "pyproject.toml", "a") as f:
        f.write("\n# changed\n")
    term = terminal.run(_source(clone), env=env)
    assert term.status == 0, term.text
    assert "Creating" not in term.text  # the venv is reused
    assert "Installing rlsaudio" in term.text
    assert len(_pip_calls(tmp_path)) == 4


def test_nothing_to_install_on_a_terminal_goes_straight_on(clone, tmp_path):
    env = _env(tmp_path)
    assert terminal.run(_source(clone), env=env).status == 0
    term = terminal.run(_source(clone), env=env)
    assert term.status == 0 and f"reached {clone / '.venv'}" in term.text
    assert "Installing" not in term.text
    assert len(_pip_calls(tmp_path)) == 2  # only the first run installed


def test_a_pip_failure_on_a_terminal_shows_the_log_and_exits_non_zero(clone, tmp_path):
    term = terminal.run(_source(clone), env=_env(tmp_path, status=1, delay="0.6"))
    assert term.status == 1, term.text
    assert "reached" not in term.text
    assert "installing failed (pip exit status 1)" in term.text
    assert "ERROR: No matching distribution found" in term.text  # the log's last lines
    assert not (clone / ".venv" / ".rlsaudio-installed").exists()


def test_ctrl_c_during_the_install_stops_pip_too(clone, tmp_path):
    term = terminal.start(_source(clone), env=_env(tmp_path, steps="a b c d e f g h i j", delay="1"))
    term.expect("Collecting b")
    pids = [int(p) for p in (tmp_path / "pip-pids").read_text().split()]
    assert _alive(pids[-1])
    term.ctrl_c()
    assert term.wait(30) == 130, term.text
    assert "installing was interrupted; run the same command again" in term.text
    deadline = time.monotonic() + 10
    while _alive(pids[-1]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pids[-1]), "pip carried on after Ctrl-C"
    assert "reached" not in term.text
    assert not (clone / ".venv" / ".rlsaudio-installed").exists()  # the next run installs again
    again = terminal.run(_source(clone), env=_env(tmp_path))
    assert again.status == 0 and "Installing rlsaudio" in again.text, again.text


def test_sigterm_during_the_install_stops_pip_too(clone, tmp_path):
    proc = subprocess.Popen(_source(clone), env=_env(tmp_path, steps="a b c d e f g h", delay="1"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pids = tmp_path / "pip-pids"
    deadline = time.monotonic() + 20
    while not pids.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    pip = int(pids.read_text().split()[0])
    proc.terminate()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    time.sleep(0.2)
    assert not _alive(pip)
    assert "installing was interrupted" in err


# --------------------------------------------------------------------------- without a terminal (CI)


def test_a_first_install_without_a_terminal_says_only_what_it_installs(clone, tmp_path):
    done = subprocess.run(_source(clone), capture_output=True, text=True, env=_env(tmp_path, delay="0.1"), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"reached {clone / '.venv'}"
    lines = done.stderr.splitlines()
    assert lines[0].startswith("Creating ") and lines[1].startswith("Installing rlsaudio with its voices into .venv")
    assert all(line.startswith("  done in ") for line in lines[2:]) and len(lines) == 4, done.stderr
    assert "\r" not in done.stderr and "\x1b" not in done.stderr  # no progress line in a pipe
    assert (clone / ".venv" / ".rlsaudio-installed").read_text().split()[1] == "-"


def test_a_pip_failure_without_a_terminal_shows_the_log_and_exits_non_zero(clone, tmp_path):
    done = subprocess.run(_source(clone), capture_output=True, text=True, env=_env(tmp_path, status=2), timeout=60)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "installing failed (pip exit status 2); the last lines of" in done.stderr
    assert "ERROR: No matching distribution found" in done.stderr


@pytest.mark.parametrize("stamp_extras, wanted, installs", [
    ("-", "", False), ("test", "", False), ("test", "test", False), ("bench,test", "test", False),
    ("-", "test", True), ("test", "bench", True),
])
def test_an_installed_venv_is_reused_unless_an_extra_is_missing(clone, tmp_path, stamp_extras, wanted, installs):
    (clone / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(tmp_path / "fake-python", clone / ".venv" / "bin" / "python")
    _installed(clone, stamp_extras)
    done = subprocess.run(_source(clone), capture_output=True, text=True,
                          env={**_env(tmp_path), "RLSAUDIO_EXTRAS": wanted}, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"reached {clone / '.venv'}"
    assert ("Installing" in done.stderr) == installs
    if installs:  # the extras already there are kept
        want = sorted({*stamp_extras.split(","), *wanted.split(",")} - {"-", ""})
        assert _pip_calls(tmp_path)[-1].endswith(f"[{','.join(want)}]")
        assert (clone / ".venv" / ".rlsaudio-installed").read_text().split()[1] == ",".join(want)


def test_a_venv_left_without_pip_by_an_interrupted_creation_is_made_again(clone, tmp_path):
    broken = clone / ".venv" / "bin" / "python"
    broken.parent.mkdir(parents=True)
    broken.write_text("#!/bin/sh\nexit 1\n")  # python without pip: `-m pip` fails
    broken.chmod(0o755)
    done = subprocess.run(_source(clone), capture_output=True, text=True, env=_env(tmp_path), timeout=30)
    assert done.returncode == 0, done.stderr
    assert "an earlier set-up did not finish" in done.stderr


def test_no_python_new_enough_is_one_clear_line(clone, tmp_path):
    old = tmp_path / "bin"
    old.mkdir()
    for name in ("python3", "python3.13", "python3.12", "python3.11", "python"):
        (old / name).write_text("#!/bin/sh\nexit 1\n")
        (old / name).chmod(0o755)
    env = {**_env(tmp_path), "PYTHON": "", "PATH": f"{old}:/usr/bin:/bin"}
    done = subprocess.run(_source(clone), capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 1
    assert done.stderr.strip() == "rlsaudio: Python 3.11 or newer is needed; set PYTHON=/path/to/python3.11"
