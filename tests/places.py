"""What every test file shares: where things are, the fake voice, and the one short routine.

The fake voice "speaks" tones (120 ms per word), so most audio tests run in milliseconds; it is
registered only for tests (RLSAUDIO_TEST_ENGINES=1, set by conftest.py). `routine_text` writes
the short routine most mechanics tests need: a spoken step with a pause, a paired hold with
rests and repeats, and a massage; its keyword arguments change a part of it.
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
PACKAGE = ROOT / "rlsaudio"
DATA = TESTS / "data"
GOLDEN = TESTS / "golden"
FAKE_VOICE = str(DATA / "fake.toml")
RLSAUDIO = [sys.executable, "-m", "rlsaudio"]


def routine_text(title: str = "Short session", *, author: str | None = "Test Author",
                 description: str | None = "A short routine for tests.",
                 settle: str = "Lie down. [2s] Let your legs go heavy.", pause: str = "3s", hold: int = 4,
                 rest: int = 3, repeat: int = 2, rub: str = "Rub the ankle.", massage: int = 5, extra: str = "") -> str:
    """A short routine with the mechanics of a real one: narration with an inline pause, a step
    pause, a hold on both sides with rests between repeats, and a massage."""
    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    head = f"title = {q(title)}\n" + (f"author = {q(author)}\n" if author is not None else "") + \
        (f"description = {q(description)}\n" if description is not None else "")
    return (head +
            f"[[steps]]\ntitle = \"Settle\"\nsay = {q(settle)}\npause = \"{pause}\"\n"
            f"[[steps]]\ntitle = \"Press\"\nsides = [\"right\", \"left\"]\nsay = \"Find your {{side}} calf.\"\n"
            f"hold = {hold}\nrest = {rest}\nrepeat = {repeat}\n"
            f"[[steps]]\ntitle = \"Rub\"\nsay = {q(rub)}\nmassage = {massage}\n" + extra)


def tiny_routine(title: str = "Tiny", say: str = "Hello there.", hold: int = 2) -> str:
    """The smallest routine that makes a track: one step, one hold."""
    return f'title = "{title}"\n[[steps]]\ntitle = "A"\nsay = "{say}"\nhold = {hold}\n'


def small_jpeg(size: tuple[int, int] = (16, 16)) -> bytes:
    """A real JPEG (covers are decoded in full: magic bytes alone are refused)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (40, 30, 90)).save(out, "JPEG")
    return out.getvalue()


class TookTooLong(BaseException):
    """Raised inside a `deadline` block that outlived it: a BaseException, so that neither the code
    under test nor click's CliRunner mistakes it for an error of its own."""


@contextmanager
def deadline(seconds: float, what: str = "the call"):
    """Fail the test if the block runs longer than `seconds`: a bound on a hang, never a speed
    test (speed is measured by scripts/bench), so keep it generous. Main thread only (SIGALRM)."""
    def expired(signum, frame):
        raise TookTooLong(f"{what} was still running after {seconds:g} s: it hangs")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
