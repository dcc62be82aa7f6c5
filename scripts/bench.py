"""rlsaudio's benchmark: render times, the encoder floor, memory, playlists. Prints one table.

Run it with scripts/bench (which sets up .venv). Every measured run is a separate process,
timed by wall clock and measured by the kernel's peak RSS for that process (wait4), so
imports and start-up are counted just as a user pays them. Cold runs start from an empty
speech cache, warm runs from a full one. Work files live in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SR = 22050

SENTENCES = [
    "Let your shoulders drop and your jaw soften.",
    "Notice where your legs meet the bed, and let them grow heavy.",
    "Find the soft place just above your ankle bone, on the inside of the leg.",
    "Rest your thumb there, and feel the warmth of your own hand.",
    "There is nothing to do for a moment but breathe.",
    "Slide your fingers slowly along the calf, from the ankle toward the knee.",
    "If anything feels sharp or painful, ease off at once.",
    "Let the breath move low in the belly, slow and unhurried.",
    "Imagine the restlessness draining down through your heels.",
    "Circle the point gently, as if you were smoothing a crease in cloth.",
]


def generated_routine(path: Path, steps: int = 16, seed: int = 0) -> Path:
    """A routine of varied steps; --length 20m fits it to exactly 20 minutes."""
    lines = [f'title = "Generated routine {seed}"', "[pace]", "hold = 20", "rest = 10", ""]
    kinds = [
        ["hold = 20", "rest = 10", "repeat = 2", 'cues = ["Gently.", "A little firmer."]'],
        ['massage = "45s"', "breathe = true"],
        ['sides = ["right", "left"]', "hold = 15"],
        ["breathe = { cycles = 3 }"],
    ]
    for i in range(steps):
        say = " ".join(SENTENCES[(i * 3 + seed + k) % len(SENTENCES)] for k in range(3))
        if i % 4 == 2:
            say = "On your {side} leg. " + say
        lines += ["[[steps]]", f'title = "Step {i + 1} (set {seed})"', f'say = "Part {i + 1}. {say}"',
                  *kinds[i % 4], 'pause = "20s"', ""]
    path.write_text("\n".join(lines))
    return path


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, stdout) of one process, its waited children included."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"benchmark step failed: {' '.join(cmd)}\n{err}")
    return seconds, usage.ru_maxrss / 1024, out


def rlsaudio(*args: str) -> list[str]:
    return [sys.executable, "-m", "rlsaudio", *args]


def pcm_and_encode(routine: str, voice: str, extra: list[str], work: Path, env: dict[str, str]) -> tuple[float, float]:
    """Encode-only floor: write the session's exact PCM to a file (not timed), then time
    ffmpeg encoding that PCM with the same settings the build uses, fed through a pipe."""
    raw = work / "floor.raw"
    run([sys.executable, __file__, "--write-pcm", routine, voice, str(raw), *extra], env)
    script = (
        "import sys, numpy as np\n"
        "from pathlib import Path\n"
        "from rlsaudio.encode import Mp3Writer\n"
        "w = Mp3Writer(Path(sys.argv[2]), 64)\n"
        "with open(sys.argv[1], 'rb') as f:\n"
        "    while chunk := f.read(441000):\n"
        "        w.write(np.frombuffer(chunk, dtype='<i2'))\n"
        "w.close()\n"
    )
    seconds, rss, _ = run([sys.executable, "-c", script, str(raw), str(work / "floor.mp3")], env)
    audio_seconds = raw.stat().st_size / 2 / SR
    raw.unlink()
    return seconds, audio_seconds


def session_for(routine: str, voice: str, extra: list[str]):
    """The exact session `rlsaudio build ROUTINE --voice VOICE EXTRA...` renders (options parsed by the CLI)."""
    from rlsaudio.cache import Cache
    from rlsaudio.cli import _request, build
    from rlsaudio.session import exact_session

    params = build.make_context("build", [routine, "--voice", voice, *extra]).params
    mode = {k: v for k, v in params.items() if k not in ("routines", "out_dir", "bitrate", "cover")}
    cache = Cache()
    session, speech = exact_session(_request(routine, **mode), cache)
    return session, speech, cache


def write_pcm(routine: str, voice: str, out: str, extra: list[str]) -> None:
    from rlsaudio.encode import find_ffmpeg
    from rlsaudio.mix import chunks, to_int16
    from rlsaudio.render import Quiet, gain_for, loudness, mix_input

    session, speech, cache = session_for(routine, voice, extra)
    mix = mix_input(session, speech, find_ffmpeg())
    level, _ = loudness(mix, session.mix, speech, cache, Quiet())
    gain = 10 ** (gain_for(level, session.mix) / 20)
    with open(out, "wb") as f:
        for chunk in chunks(mix, gain):
            f.write(to_int16(chunk).tobytes())


def naive(routine: str, voice: str, out: str, extra: list[str]) -> None:
    """The way the NOTES warn against: one AudioSegment grown with + per event, exported by pydub."""
    import numpy as np

    from rlsaudio.encode import audio_segment_class, configure_pydub, find_ffmpeg
    from rlsaudio.tones import tone

    AudioSegment = audio_segment_class()
    configure_pydub(find_ffmpeg())
    session, speech, _ = session_for(routine, voice, extra)
    track = AudioSegment.silent(duration=0, frame_rate=SR)
    for e in session.timeline.events:
        if e.kind == "silence":
            piece = AudioSegment.silent(duration=e.length * 1000 / SR, frame_rate=SR)
        else:
            x = speech.samples(e.text, e.rate) if e.kind == "speech" else tone(e.reason, e.length, e.gain_db)
            piece = AudioSegment(data=(np.clip(x, -1, 1) * 32767).astype("<i2").tobytes(), sample_width=2,
                                 frame_rate=SR, channels=1)
        track += piece
    track.export(out, format="mp3", bitrate="64k")


def playlist_routines(work: Path, count: int) -> list[str]:
    return [str(generated_routine(work / f"list{i}.toml", steps=6, seed=i + 1)) for i in range(count)]


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def main() -> None:
    # Child steps, run in their own processes so each is measured on its own.
    if len(sys.argv) > 1 and sys.argv[1] in ("--write-pcm", "--naive"):
        step = write_pcm if sys.argv[1] == "--write-pcm" else naive
        step(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--voice", default="joe")
    parser.add_argument("--quick", action="store_true", help="skip the 8-hour track and the naive build")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="rlsaudio-bench-"))
    cache = work / "cache"
    env = {**os.environ, "RLSAUDIO_CACHE": str(cache)}
    generated = str(generated_routine(work / "generated.toml"))
    rows: list[tuple[str, ...]] = []
    try:
        for name, ref, extra in [("generated 20 min", generated, ["--length", "20m"]),
                                 ("acupressure", "acupressure", []),
                                 ("foot-reflexology", "foot-reflexology", [])]:
            shutil.rmtree(cache, ignore_errors=True)
            out = work / "out"
            cold, cold_rss, text = run(rlsaudio("build", ref, "-o", str(out), "--voice", args.voice, *extra), env)
            warm, warm_rss, _ = run(rlsaudio("build", ref, "-o", str(out), "--voice", args.voice, *extra), env)
            floor, audio = pcm_and_encode(ref, args.voice, extra, work, env)
            rows.append((f"{name} ({audio / 60:.1f} min)", f"{cold:.1f} s", f"{warm:.2f} s", f"{floor:.2f} s",
                         f"{warm / floor:.2f}", f"{audio / cold:.0f}x / {audio / warm:.0f}x",
                         f"{cold_rss:.0f} / {warm_rss:.0f} MB"))
            print(f"  {rows[-1]}", file=sys.stderr)
            if name.startswith("generated") and not args.quick:
                naive_s, naive_rss, _ = run([sys.executable, __file__, "--naive", ref, args.voice,
                                             str(work / "naive.mp3"), *extra], env)
                rows.append((f"{name}, naive pydub `+=` (warm cache)", "", f"{naive_s:.2f} s", "",
                             f"{naive_s / floor:.2f}", f"{audio / naive_s:.0f}x", f"{naive_rss:.0f} MB"))
                print(f"  {rows[-1]}", file=sys.stderr)
        render = table(rows, ("track", "cold", "warm", "encode only", "warm / encode", "x real time cold / warm",
                              "peak RSS cold / warm"))

        long_rows = []
        lengths = [("20 min", "1s"), ("2 h", "100m")] + ([] if args.quick else [("8 h", "460m")])
        for label, tail in lengths:
            shutil.rmtree(cache, ignore_errors=True)
            extra = ["--mode", "bedtime", "--soundscape", "brown", "--tail", tail] if tail != "1s" else \
                ["--mode", "bedtime", "--soundscape", "brown"]
            out = work / "long"
            cold, cold_rss, text = run(rlsaudio("build", generated, "-o", str(out), "--voice", args.voice, *extra),
                                       env)
            warm, warm_rss, text = run(rlsaudio("build", generated, "-o", str(out), "--voice", args.voice, *extra),
                                       env)
            length = text.strip().split("  ")[-1]
            floor, audio = pcm_and_encode(generated, args.voice, extra, work, env)
            long_rows.append((f"bedtime + brown noise, {label} ({length})", f"{cold:.1f} s", f"{warm:.1f} s",
                              f"{floor:.1f} s", f"{warm / floor:.2f}", f"{cold_rss:.0f} MB", f"{warm_rss:.0f} MB"))
            print(f"  {long_rows[-1]}", file=sys.stderr)
            shutil.rmtree(out, ignore_errors=True)
        memory = table(long_rows, ("track", "cold", "warm", "encode only", "warm / encode", "peak RSS cold",
                                   "peak RSS warm"))

        list_rows = []
        routines = playlist_routines(work, 6)
        for state in ("cold", "warm"):
            times = {}
            for jobs in (1, 2):
                if state == "cold":
                    shutil.rmtree(cache, ignore_errors=True)
                else:
                    run(rlsaudio("playlist", *routines, "--name", "Bench", "-o", str(work / "pl"),
                                 "--voice", args.voice, "--jobs", "2"), env)
                seconds, rss, _ = run(rlsaudio("playlist", *routines, "--name", "Bench", "-o", str(work / "pl"),
                                               "--voice", args.voice, "--jobs", str(jobs)), env)
                times[jobs] = seconds
                list_rows.append((f"6 tracks, {state} cache", str(jobs), f"{seconds:.1f} s", f"{rss:.0f} MB"))
            list_rows[-1] = (*list_rows[-1], f"{times[1] / times[2]:.2f}x")
            list_rows[-2] = (*list_rows[-2], "")
            print(f"  {list_rows[-2:]}", file=sys.stderr)
        playlists = table(list_rows, ("playlist", "--jobs", "time", "peak RSS (largest process)", "speed-up"))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    cpu = platform.processor() or platform.machine()
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        model = cpu
    print(f"Machine: {model}, {os.cpu_count()} cores, Python {platform.python_version()}, voice {args.voice}, "
          f"{time.strftime('%Y-%m-%d')}\n")
    print(render + "\n\n" + memory + "\n\n" + playlists)


if __name__ == "__main__":
    main()
