"""Progress on a real terminal (a pty): the clock moves while phrases are spoken out of sight, with
phrases done out of total; a playlist with the default --jobs shows its speech, an overall bar of
its tracks and a line per track; every line fits the terminal's width."""

import re

import pytest
import terminal
from places import RLSAUDIO, routine_text

LONG_TITLE = "Reflexology foot massage for restless legs, the long evening version"


def frames(text: str) -> list[str]:
    """What each redraw of the progress line showed (the pty's "\\r\\n" line ends aside)."""
    shown = text.replace("\r\n", "\n").replace("\x1b[K", "")
    return [part.split("\n")[-1] for part in shown.split("\r") if part.strip()]


def clock(frame: str) -> int | None:
    found = re.search(r" (\d+):(\d\d)$", frame)
    return int(found[1]) * 60 + int(found[2]) if found else None


@pytest.fixture
def slow_voice(write):
    """A voice that takes a second and a half per phrase: a cold build's speech takes a while."""
    return write("slow.toml", 'engine = "fake"\nseconds = 1.5\n')


@pytest.mark.slow
def test_a_cold_build_shows_the_clock_and_phrases_done_while_it_speaks(write, tmp_path, slow_voice):
    routine = write("r.toml", routine_text())
    term = terminal.run([*RLSAUDIO, "build", str(routine), "-o", str(tmp_path / "out"), "--voice", str(slow_voice)],
                        timeout=300, columns=100)
    assert term.status == 0, term.text
    speaking = [f for f in frames(term.text) if f.startswith("Speaking with slow")]
    counts = [tuple(map(int, m.groups())) for f in speaking if (m := re.search(r"(\d+)/(\d+) phrases", f))]
    total = counts[-1][1]
    assert total >= 5 and counts[-1] == (total, total)
    assert [done for done, _ in counts] == sorted(done for done, _ in counts)  # only forward
    clocks = sorted({clock(f) for f in speaking if clock(f) is not None})
    # the clock is redrawn every half second while phrases are spoken, so (allowing for a busy
    # machine) most seconds of the speech are shown, not only the moments a phrase finished
    assert clocks[-1] >= total and len(clocks) >= 0.6 * (clocks[-1] + 1), clocks
    assert len(speaking) > total + clocks[-1]  # redrawn far more often than phrases finished


@pytest.mark.slow
def test_a_playlist_with_the_default_jobs_shows_its_progress(write, tmp_path, slow_voice):
    first = write("one.toml", routine_text("One"))
    second = write("two.toml", routine_text("Two", settle="Sit down. [2s] Let your feet rest."))
    out = tmp_path / "album"
    term = terminal.run([*RLSAUDIO, "playlist", str(first), str(second), "--name", "Album", "-o", str(out),
                         "--voice", str(slow_voice)], timeout=300, columns=100)
    assert term.status == 0, term.text
    shown = frames(term.text)
    assert any(re.search(r"^Speaking with slow .* \d+/\d+ phrases \d+:\d\d$", f) for f in shown), shown
    assert any(re.search(r"^Rendering 2 tracks, 2 at a time .* 0/2 tracks \d+:\d\d$", f) for f in shown), shown
    lines = term.text.replace("\x1b[K", "").replace("\r\n", "\n").split("\n")
    assert any(line.endswith(f"{out / '01 - One.mp3'}  " + line.rsplit("  ", 1)[-1]) for line in lines)
    assert sum(1 for line in lines if re.search(r"/0[12] - (One|Two)\.mp3  \d", line)) == 2  # a line per track


@pytest.mark.parametrize("columns", [40, 60, 100, 200])
def test_progress_lines_fit_the_terminal_width(write, tmp_path, columns):
    routine = write("r.toml", routine_text(LONG_TITLE))
    term = terminal.run([*RLSAUDIO, "build", str(routine), "-o", str(tmp_path / "out"), "--voice",
                         str(write("v.toml", 'engine = "fake"\nseconds = 0.2\n'))], timeout=300, columns=columns)
    assert term.status == 0, term.text
    bars = [f for f in frames(term.text) if clock(f) is not None]
    assert bars and all(len(f) < columns for f in bars), [f for f in bars if len(f) >= columns]
    encoding = [f for f in bars if f.startswith("Encoding")]
    assert encoding
    if columns >= 200:
        assert any(f"Encoding {LONG_TITLE}.mp3 [" in f for f in encoding)  # whole, not cut at 44
    else:
        assert all("\u2026" in f and f.split(" [")[0].split(" \u2026")[0] for f in encoding)


@pytest.mark.slow
def test_the_clock_moves_while_the_first_phrases_are_spoken_in_worker_processes(write, tmp_path, slow_voice):
    """As a cold build with joe: the phrases go to a pool of speech processes, four at a time, and
    the parent waits; the bar still shows the time passing and the phrases done out of all."""
    import os

    say = " ".join(f"Breathe in slowly number {i}. Let it go number {i}." for i in range(10))
    routine = write("many.toml", f'title = "Many"\n[[steps]]\ntitle = "A"\nsay = "{say}"\nhold = 2\n')
    term = terminal.run([*RLSAUDIO, "build", str(routine), "-o", str(tmp_path / "out"), "--voice", str(slow_voice)],
                        timeout=600, columns=100, env={**os.environ, "RLSAUDIO_FAKE_PARALLEL": "1"})
    assert term.status == 0, term.text
    speaking = [f for f in frames(term.text) if f.startswith("Speaking with slow")]
    counts = [int(m[1]) for f in speaking if (m := re.search(r"(\d+)/(\d+) phrases", f))]
    assert counts[-1] >= 16 and counts[0] == 0
    assert sorted(set(counts)) == sorted(set(counts), key=counts.index)  # only forward
    distinct = sorted(set(counts))
    steps = [b - a for a, b in zip(distinct, distinct[1:])]
    assert max(steps) >= 4  # back from the pool in chunks of four (two may land between redraws)
    first_done = next(i for i, f in enumerate(speaking) if re.search(r" [1-9]\d*/\d+ phrases", f))
    waiting = {clock(f) for f in speaking[:first_done]}
    assert len(waiting) >= 2  # before any phrase came back, the clock already moved


def test_a_first_synthesis_says_how_long_it_will_take_and_a_warm_build_does_not(write, tmp_path):
    """Issue 23: the first run says how long speech will take (from the voice's measured cost)."""
    routine = write("r.toml", routine_text())
    costly = write("costly.toml", 'engine = "fake"\ncompute = 20\nwords_per_minute = 150\n')
    argv = [*RLSAUDIO, "build", str(routine), "-o", str(tmp_path / "out"), "--voice", str(costly), "--force"]
    first = terminal.run(argv, timeout=300, columns=200)
    assert first.status == 0, first.text
    said = re.search(r"Speaking (\d+) new phrases with costly: about (\d+) (s|min) on this computer", first.text)
    assert said, first.text
    assert int(said[1]) >= 5
    again = terminal.run(argv, timeout=300, columns=200)
    assert again.status == 0, again.text
    assert "new phrases" not in again.text  # every phrase is in the cache now
