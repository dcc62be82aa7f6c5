import os
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

DATA = Path(__file__).parent / "data"


# The fake engine (tones instead of speech) is registered only for tests; subprocesses inherit it.
os.environ["RLSAUDIO_TEST_ENGINES"] = "1"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Nothing is written outside tmp_path: the speech cache lives in a per-test folder."""
    monkeypatch.setenv("RLSAUDIO_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def write(tmp_path):
    """write("name.toml", text) -> path, with the text dedented."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def fake_voice():
    """A voice profile for the fake engine: tones instead of speech, milliseconds per phrase."""
    return str(DATA / "fake.toml")
