"""Real speech engines: pyttsx3 (espeak-ng) and piper synthesise real audio, reliably."""

import os
import subprocess
import sys

import numpy as np
import pytest

from rlsaudio.audio.clips import trim
from rlsaudio.base.units import SAMPLE_RATE
from rlsaudio.speech.engines.base import get_engine, synthesize_clip
from rlsaudio.speech.voices import load_profile, unavailable_reason

pytestmark = pytest.mark.engine


def _seconds(samples: np.ndarray) -> float:
    return trim(samples).size / SAMPLE_RATE


@pytest.mark.parametrize("voice", ["espeak", "joe"])
def test_real_synthesis_of_a_short_text(voice):
    profile = load_profile(voice)
    assert unavailable_reason(profile) is None
    engine = get_engine(profile.engine)
    short = synthesize_clip(engine, "Press.", profile, 1.0)
    long = synthesize_clip(engine, "Find the point behind your right knee, in the center.", profile, 1.0)
    assert short.dtype == np.int16 and long.dtype == np.int16
    assert 0.2 < _seconds(short) < 1.5
    assert 2.0 < _seconds(long) < 6.0
    assert np.abs(long.astype(np.int32)).max() > 3000  # real speech, not near-silence
    slower = synthesize_clip(engine, "Find the point behind your right knee, in the center.", profile, 0.7)
    assert _seconds(slower) > _seconds(long) * 1.2  # the rate factor reaches the engine


def test_piper_is_deterministic():
    profile = load_profile("joe")
    engine = get_engine("piper")
    a = synthesize_clip(engine, "Breathe in slowly.", profile, 1.0)
    b = synthesize_clip(engine, "Breathe in slowly.", profile, 1.0)
    assert np.array_equal(a, b)


def test_pyttsx3_speaks_300_phrases_in_one_process_with_none_lost_swapped_or_empty():
    """pyttsx3's espeak driver drops and swaps files when used naively (NOTES.md). Phrases of
    1 to 12 words at three rates alternate, so a lost, swapped or stale file shows up as a
    length that does not match its own phrase."""
    profile = load_profile("espeak")
    engine = get_engine("pyttsx3")
    numbers = "one two three four five six seven eight nine ten eleven twelve".split()
    rates = (0.8, 1.0, 1.25)
    lengths: dict[tuple[int, float], list[float]] = {}
    for i in range(300):
        block, j = divmod(i, 12)  # every block says 1..12 words in a scrambled order ...
        n_words = 1 + (5 * j) % 12
        rate = rates[(j + block) % 3]  # ... and the rate changes at every phrase
        text = " ".join(numbers[:n_words]) + "."
        samples = synthesize_clip(engine, text, profile, rate)
        assert samples.size > SAMPLE_RATE // 10, f"phrase {i} came back empty"
        lengths.setdefault((n_words, rate), []).append(_seconds(samples))
    # The same phrase at the same rate always has the same length (espeak varies by ~30 ms) ...
    for key, values in lengths.items():
        assert max(values) - min(values) < 0.1, (key, values)
    means = {key: float(np.mean(v)) for key, v in lengths.items()}
    for rate in rates:
        # ... longer phrases are longer ...
        by_words = [means[(n, rate)] for n in range(1, 13)]
        assert all(b > a for a, b in zip(by_words, by_words[1:])), (rate, by_words)
    for n in range(1, 13):
        # ... and every rate change took effect (a dropped setProperty would equalise them).
        assert means[(n, 0.8)] > means[(n, 1.0)] > means[(n, 1.25)], n


_HEAP_PROBE = r"""
import ctypes, sys
from rlsaudio.system import memory
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
if sys.argv[1] == "fixed":
    memory.map_blocks_above(1 << 20)
libc.free(libc.malloc(6 << 20))   # glibc raises its own threshold to 6 MB on this free
block = libc.malloc(3 << 20)
heap = [tuple(int(x, 16) for x in line.split()[0].split("-"))
        for line in open("/proc/self/maps") if line.rstrip().endswith("[heap]")]
print("heap" if any(lo <= block < hi for lo, hi in heap) else "own mapping")
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_a_fixed_mmap_threshold_gives_large_blocks_their_own_mapping():
    """What keeps a Piper worker's heap from fragmenting: after a 6 MB block is freed, glibc on
    its own puts a 3 MB block in the heap; with the threshold fixed at 1 MB, in its own mapping."""
    def where(mode):
        return subprocess.run([sys.executable, "-c", _HEAP_PROBE, mode], capture_output=True, text=True,
                              check=True).stdout.strip()
    assert where("dynamic") == "heap"
    assert where("fixed") == "own mapping"


def _blas_threads() -> int:
    from threadpoolctl import threadpool_info

    return max(d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas")


_BLAS_THREADS = """
import numpy
from threadpoolctl import threadpool_info
print(max(d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"))
"""

_CLI_BLAS = """
import sys, click
from rlsaudio import cli
@cli.cli.command("blas-threads")
def blas_threads():
    exec(%r)
sys.argv = ["rlsaudio", "blas-threads"]
cli.main()
""" % _BLAS_THREADS


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="BLAS runs one thread on one core anyway")
def test_numpy_blas_runs_one_thread_in_the_cli_and_in_its_speech_workers():
    """BLAS threads spinning between small matrix products took the cores from the speech
    processes (threads.py): the CLI and every worker keep it to one."""
    def blas_threads(program):
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
        return int(subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True,
                                  env=env).stdout)

    assert blas_threads(_BLAS_THREADS) > 1  # numpy's own choice on this machine
    assert blas_threads(_CLI_BLAS) == 1
    from rlsaudio.system import workers

    executor = workers.pool(2)
    try:
        assert executor.submit(_blas_threads).result(timeout=60) == 1
    finally:
        executor.shutdown()
