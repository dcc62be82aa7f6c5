"""Fixtures every test gets: the fake engine, a cache and a working folder of its own.

Each test runs in a temporary working folder (so a stray relative path, such as ffmpeg's
"pipe:1" once was, lands there), with its own speech cache; at the end of the session the
repository root is checked for files that a test left behind.
"""

import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from places import FAKE_VOICE, ROOT, routine_text, tiny_routine

# The fake engine (tones instead of speech) is registered only for tests; subprocesses inherit it.
os.environ["RLSAUDIO_TEST_ENGINES"] = "1"


def _root_entries() -> set[str]:
    """Everything at the repository root that git does not ignore."""
    try:
        done = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=all"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return set()
    if done.returncode != 0:  # not a git checkout: compare the folder's entries instead
        return {p.name for p in ROOT.iterdir()}
    return {line[3:] for line in done.stdout.splitlines() if line.startswith("??")}


def pytest_sessionstart(session):
    session.config._root_before = _root_entries()


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput"):  # an xdist worker: the controller checks once
        return
    gained = sorted(_root_entries() - getattr(session.config, "_root_before", set()))
    if gained:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nFAILED: the tests left new files in the repository: {', '.join(gained)}")


@pytest.fixture(autouse=True)
def _own_folders(tmp_path_factory, monkeypatch):
    """Nothing is written outside a test's own folders: the working folder, the speech cache and
    the diary's folder (never the user's own diary)."""
    monkeypatch.setenv("RLSAUDIO_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("RLSAUDIO_HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
def write(tmp_path):
    """write("name.toml", text) -> path, with the text dedented."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def fake_voice():
    """A voice profile for the fake engine: tones instead of speech, milliseconds per phrase."""
    return FAKE_VOICE


@pytest.fixture
def short_routine(write):
    """The short routine file (places.routine_text): sides, holds, rests, a massage."""
    return write("short.toml", routine_text())


@pytest.fixture
def tiny(write):
    """The smallest routine file: one step, one hold."""
    return write("tiny.toml", tiny_routine())
