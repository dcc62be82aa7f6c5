"""rlsaudio's benchmark: every performance target of the project, measured from outside the process.

Run it with scripts/bench (which sets up .venv). Every measured run is a separate process,
timed by wall clock; its memory is sampled from /proc every 50 ms (the largest process and the
whole process tree: a cold build speaks in one process per core), its CPU time is the kernel's
(user + system, children included). Cold runs start from an empty speech cache, warm runs
from a full one. Work files live in a temporary folder.

"Today's" figures come from the commit this work started from (`--baseline`, default the
commit before issue 10's work): it is checked out into a temporary folder with its own
virtual environment and measured side by side with the working tree, on the routine texts of
that commit (the bundled routines' words have changed since, so like is compared with like).

    scripts/bench              # everything (about 20 minutes on two cores)
    scripts/bench --quick      # no 8-hour track, no first run, no baseline (about 5 minutes)
    scripts/bench --voices     # the listening test instead (scripts/wer.py)
"""

from __future__ import annotations

import argparse
import os
import platform
import pty
import re
import resource
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SR = 22050
BASELINE = "093b09c"  # main before issue 10: the "today's" of issue 16

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


# --------------------------------------------------------------------------- measuring a process


class Sampler(threading.Thread):
    """Samples the resident memory of a process and all its descendants."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.largest, self.tree, self.stop = pid, 0, 0, False

    def run(self) -> None:
        while not self.stop:
            rss = _tree_rss(self.pid)
            if rss:
                self.largest = max(self.largest, max(rss))
                self.tree = max(self.tree, sum(rss))
            time.sleep(0.05)


def _tree_rss(root: int) -> list[int]:
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return [rss[p] for p in tree if p in rss]


class Run:
    """One measured process: seconds, CPU seconds (its own and its children's), peak RSS (the
    largest process and the whole tree), and what it printed."""

    def __init__(self, cmd: list[str], env: dict[str, str], cwd: Path | None = None):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sampler = Sampler(proc.pid)
        sampler.start()
        self.stdout, self.stderr = proc.communicate()
        self.seconds = time.perf_counter() - started
        sampler.stop = True
        sampler.join()
        if proc.returncode != 0:
            raise SystemExit(f"benchmark step failed: {' '.join(map(str, cmd))}\n{self.stderr}")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        self.largest_mb = sampler.largest / 1048576
        self.tree_mb = sampler.tree / 1048576


def timed(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> Run:
    return Run(cmd, env, cwd)


def rlsaudio(python: str, *args: str) -> list[str]:
    return [python, "-m", "rlsaudio", *args]


def fresh_env(cache: Path, **extra: str) -> dict[str, str]:
    shutil.rmtree(cache, ignore_errors=True)
    return {**os.environ, "RLSAUDIO_CACHE": str(cache), **extra}


# --------------------------------------------------------------------------- the encoder floor


FLOOR = """
import sys, numpy as np
from pathlib import Path
from rlsaudio.encode.writers import Mp3Writer, audio_format
from rlsaudio.system.ffmpeg import find
from rlsaudio.encode.formats import default_bitrate
fmt, raw, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
if fmt == "mp3":
    w = Mp3Writer(out, 64)  # one ffmpeg, single pass: the encoder alone
else:
    f = audio_format(fmt)
    w = f.writer(out, default_bitrate(fmt), find(), str(out), 0)
with open(raw, "rb") as f:
    while chunk := f.read(441000):
        w.write(np.frombuffer(chunk, dtype="<i2"))
w.close()
"""

WRITE_PCM = """
import sys
from rlsaudio.system.cache import Cache
from rlsaudio.cli.build import build
from rlsaudio.cli.options import request
from rlsaudio.system.ffmpeg import find
from rlsaudio.audio.mix import chunks, to_int16
from rlsaudio.plan import plan_track
from rlsaudio.publish.render import gain_for, loudness, mix_input, speak_and_time
from rlsaudio.system.progress import Quiet
from rlsaudio.encode.writers import audio_format
routine, voice, fmt, out = sys.argv[1:5]
params = build.make_context("build", [routine, "--voice", voice, *sys.argv[5:]]).params
mode = {k: params[k] for k in ("voice", "mode", "length_ms", "tail_ms", "no_chime", "pacer", "soundscape",
                               "soundscape_db", "points_file")}
plan = plan_track(request(routine, **mode))
cache = Cache()
speech, timeline = speak_and_time(plan, cache, Quiet())
mix = mix_input(plan, timeline, speech, find())
level, _ = loudness(mix, speech, cache, Quiet())
gain = 10 ** (gain_for(level, plan.mix, audio_format(fmt).codec_gain_db) / 20)
with open(out, "wb") as f:
    for chunk in chunks(mix, gain):
        f.write(to_int16(chunk).tobytes())
"""


def encode_floor(python: str, routine: str, voice: str, extra: list[str], fmt: str, work: Path,
                 env: dict[str, str]) -> tuple[float, float, float]:
    """(seconds fed through rlsaudio's writer, seconds of plain ffmpeg reading the file, audio
    seconds) for one encoder encoding the session's exact PCM (written first, not timed). The
    plain figure is `ffmpeg -f s16le -i raw <codec> out`: the encoder with nothing of ours around it."""
    raw = work / "floor.raw"
    subprocess.run([python, "-c", WRITE_PCM, routine, voice, fmt, str(raw), *extra], env=env, check=True,
                   cwd=ROOT)
    run = timed([python, "-c", FLOOR, fmt, str(raw), str(work / f"floor.{fmt}")], env, ROOT)
    ffmpeg = subprocess.run([python, "-c", "from rlsaudio.system.ffmpeg import find; print(find())"], env=env,
                            capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()
    codec = {"mp3": ["-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3"],
             "m4b": ["-c:a", "aac", "-b:a", "64k", "-f", "ipod"],
             "opus": ["-ar", "48000", "-c:a", "libopus", "-b:a", "32k", "-f", "opus"]}[fmt]
    plain = timed([ffmpeg, "-v", "error", "-y", "-f", "s16le", "-ar", str(SR), "-ac", "1", "-i", str(raw), *codec,
                   str(work / f"plain.{fmt}")], env, ROOT)
    audio = raw.stat().st_size / 2 / SR
    raw.unlink()
    return run.seconds, plain.seconds, audio


# --------------------------------------------------------------------------- the baseline


def baseline_python(rev: str, work: Path) -> tuple[str, Path]:
    """A checkout of `rev` with its own venv (made once, kept under the system's temp folder)."""
    home = Path(tempfile.gettempdir()) / f"rlsaudio-baseline-{rev}"
    python = home / "venv" / "bin" / "python"
    if not python.exists():
        shutil.rmtree(home, ignore_errors=True)
        (home / "src").mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(home / "src")], input=archive, check=True)
        subprocess.run([sys.executable, "-m", "venv", str(home / "venv")], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"{home / 'src'}[espeak,piper,loudness]"],
                       check=True, capture_output=True)
    routines = work / "baseline-routines"
    routines.mkdir(exist_ok=True)
    for name in ("acupressure", "foot-reflexology"):
        text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:rlsaudio/routines/{name}.toml"],
                              capture_output=True, check=True).stdout
        (routines / f"{name}.toml").write_bytes(text)
    return str(python), routines


# --------------------------------------------------------------------------- time to first progress


def first_progress(python: str, routine: str, env: dict[str, str], work: Path) -> float:
    """Seconds from start until `rlsaudio build` draws its first progress bar on a terminal."""
    master, slave = pty.openpty()
    started = time.perf_counter()
    proc = subprocess.Popen(rlsaudio(python, "build", routine, "-o", str(work / "tty")), env=env, stdin=slave,
                            stdout=slave, stderr=slave, cwd=ROOT)
    os.close(slave)
    seen = None
    buffer = b""
    while proc.poll() is None or seen is None:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            buffer += data
            if seen is None and b"%" in buffer:
                seen = time.perf_counter() - started
        elif proc.poll() is not None:
            break
    proc.wait()
    os.close(master)
    return seen if seen is not None else float("nan")


# --------------------------------------------------------------------------- a server under load


def serve_under_load(python: str, folder: Path, host: str, idle: int = 300, slow: int = 60,
                     requests: int = 20, app: bool = False) -> tuple[float, float, float]:
    """(median, slowest, alone) seconds for a normal request to `rlsaudio serve` (or, with `app`,
    to `rlsaudio app`, its key in the query) while `idle` connections send nothing and `slow`
    trickle a request head byte by byte ("alone": the same request with nobody else connected)."""
    import re
    import socket
    import statistics

    command = "app" if app else "serve"
    if app:
        argv = rlsaudio(python, command, "--no-browser", "--port", "0", "-o", str(folder)) + \
            (["--lan"] if host != "127.0.0.1" else [])
    else:
        argv = rlsaudio(python, command, str(folder), "--port", "0", "--host", host)
    home = folder.parent / "app-home"  # the app's records and diary stay in the bench's folder
    home.mkdir(exist_ok=True)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "RLSAUDIO_HOME": str(home)})
    try:
        line = proc.stdout.readline()
        found = re.search(r"http://([^/\s]+):(\d+)/(?:\?key=([A-Za-z0-9_-]+))?", line)
        if not found:
            raise SystemExit(f"no address printed: {line!r}")
        port = int(found[2])
        path = f"/api/tracks?key={found[3]}" if app else "/feed.xml"

        def one() -> float:
            started = time.perf_counter()
            with socket.create_connection((host, port), timeout=30) as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
                head = s.recv(65536)
                if not head.startswith(b"HTTP/1.1 200"):
                    raise SystemExit(f"{command} answered {head[:60]!r}")
                while s.recv(65536):
                    pass
            return time.perf_counter() - started

        alone = statistics.median(one() for _ in range(5))
        held = [socket.create_connection((host, port), timeout=30) for _ in range(idle)]
        trickling = [socket.create_connection((host, port), timeout=30) for _ in range(slow)]
        times = []
        for i in range(requests):
            for s in trickling:
                try:
                    s.sendall(b"GET / HTTP/1.1\r\n"[i % 16:i % 16 + 1])
                except OSError:
                    pass
            times.append(one())
        for s in held + trickling:
            s.close()
        return statistics.median(times), max(times), alone
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def lan_host() -> str | None:
    try:
        from rlsaudio.serve.network import lan_address

        return lan_address()
    except Exception:  # no network address on this machine: the LAN row is left out
        return None


# --------------------------------------------------------------------------- tables


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voice", default="joe")
    parser.add_argument("--quick", action="store_true", help="no 8-hour track, no first run, no baseline")
    parser.add_argument("--baseline", default=BASELINE, help="the commit whose figures are today's")
    args = parser.parse_args()
    python = sys.executable
    work = Path(tempfile.mkdtemp(prefix="rlsaudio-bench-"))
    # Every run starts in the work folder: `python -m rlsaudio` puts the current folder first on
    # sys.path, and in the checkout the baseline's Python would import the working tree's package.
    os.chdir(work)
    cache = work / "cache"
    generated = str(generated_routine(work / "generated.toml"))
    out: list[str] = []

    def show(text: str) -> None:
        out.append(text)
        print(text, file=sys.stderr)

    try:
        # 1. Renders: cold and warm builds, and the encoder alone on the same PCM.
        rows = []
        for name, ref, extra in [("generated 20 min", generated, ["--length", "20m"]),
                                 ("acupressure", "acupressure", []),
                                 ("foot-reflexology", "foot-reflexology", [])]:
            env = fresh_env(cache)
            cold = timed(rlsaudio(python, "build", ref, "-o", str(work / "out"), "--voice", args.voice, *extra), env)
            warm = timed(rlsaudio(python, "build", ref, "-o", str(work / "out"), "--voice", args.voice, *extra), env)
            floor, plain, audio = encode_floor(python, ref, args.voice, extra, "mp3", work, env)
            ratio = warm.seconds / floor
            rows.append((f"{name} ({audio / 60:.1f} min)", f"{cold.seconds:.1f} s", f"{warm.seconds:.2f} s",
                         f"{floor:.2f} s", f"{ratio:.2f} ({verdict(ratio <= 0.7)})", f"{plain:.2f} s",
                         f"{warm.seconds / plain:.2f}",
                         f"{cold.largest_mb:.0f} / {cold.tree_mb:.0f} MB", f"{warm.largest_mb:.0f} MB"))
            show(f"  {rows[-1]}")
        renders = table(rows, ("MP3, voice " + args.voice, "cold", "warm", "one ffmpeg fed by rlsaudio",
                               "warm / fed (<= 0.7)", "plain ffmpeg on a file", "warm / plain",
                               "peak RSS cold: largest / all processes", "peak RSS warm"))

        # 2. Long bedtime tracks (warm), and the other formats.
        rows = []
        lengths = [("20 min", None), ("2 h", "100m")] + ([] if args.quick else [("8 h", "460m")])
        for label, tail in lengths:
            for fmt in ("mp3", "m4b", "opus") if label == "20 min" or label == "8 h" else ("mp3",):
                extra = ["--mode", "bedtime", "--soundscape", "brown", "--format", fmt] + (["--tail", tail] if tail
                                                                                          else [])
                env = {**os.environ, "RLSAUDIO_CACHE": str(cache)}
                timed(rlsaudio(python, "build", generated, "-o", str(work / "long"), "--voice", args.voice, *extra),
                      env)  # makes the cache warm
                warm = timed(rlsaudio(python, "build", generated, "-o", str(work / "long"), "--voice", args.voice,
                                      *extra), env)
                floor, plain, audio = encode_floor(python, generated, args.voice, extra, fmt, work, env)
                ratio = warm.seconds / floor
                target = f"({verdict(ratio <= 0.7)})" if fmt == "mp3" else "(reach)"
                mem_target = f" ({verdict(warm.largest_mb < 120)})" if label == "8 h" else ""
                rows.append((f"bedtime + brown noise, {label}, {fmt} ({audio / 3600:.2f} h)", f"{warm.seconds:.1f} s",
                             f"{floor:.1f} s", f"{ratio:.2f} {target}", f"{plain:.1f} s", f"{warm.seconds / plain:.2f}",
                             f"{warm.largest_mb:.0f} MB{mem_target}"))
                show(f"  {rows[-1]}")
                shutil.rmtree(work / "long", ignore_errors=True)
        longs = table(rows, ("warm builds", "warm", "one ffmpeg fed by rlsaudio", "warm / fed", "plain ffmpeg",
                             "warm / plain", "peak RSS"))

        # 3. The server: a normal request while hundreds of connections are idle or slow.
        rows = []
        folder = work / "out"
        for command, where, host in [(c, w, h) for c in ("serve", "app")
                                     for w, h in (("127.0.0.1", "127.0.0.1"), ("--lan", lan_host()))]:
            if host is None:
                continue
            median, slowest, alone = serve_under_load(python, folder, host, app=command == "app")
            rows.append((f"{command}, {where}: 300 idle + 60 slow connections", f"{alone * 1000:.0f} ms",
                         f"{median * 1000:.0f} ms", f"{slowest * 1000:.0f} ms ({verdict(slowest <= 2.0)})"))
            show(f"  {rows[-1]}")
        servers = table(rows, ("server under load", "a request alone", "median under load", "slowest (<= 2 s)"))

        sections = [renders, longs, servers]
        if not args.quick:
            base_python, base_routines = baseline_python(args.baseline, work)

            # 3. Cold builds against today's, on the routine texts of the baseline.
            rows = []
            for name in ("acupressure", "foot-reflexology"):
                routine = str(base_routines / f"{name}.toml")
                old = timed(rlsaudio(base_python, "build", routine, "-o", str(work / "old"), "--voice", args.voice),
                            fresh_env(cache))
                new = timed(rlsaudio(python, "build", routine, "-o", str(work / "new"), "--voice", args.voice),
                            fresh_env(cache))
                speedup = old.seconds / new.seconds
                rows.append((f"{name} (the baseline's text)", f"{old.seconds:.1f} s", f"{new.seconds:.1f} s",
                             f"{speedup:.2f}x ({verdict(speedup >= 1.5)})",
                             f"{new.largest_mb:.0f} / {new.tree_mb:.0f} MB ({verdict(new.largest_mb < 400)})"))
                show(f"  {rows[-1]}")
            colds = table(rows, (f"cold build, voice {args.voice}", f"today's ({args.baseline})", "now",
                                 "speed-up (>= 1.5x)", "peak RSS now: largest / all (< 400)"))

            # 4. A cold playlist: the two bundled routines and four generated ones.
            routines = [str(base_routines / "acupressure.toml"), str(base_routines / "foot-reflexology.toml")]
            routines += [str(generated_routine(work / f"list{i}.toml", steps=6, seed=i + 1)) for i in range(4)]
            old = timed(rlsaudio(base_python, "playlist", *routines, "--name", "Bench", "-o", str(work / "pl-old"),
                                 "--voice", args.voice, "--jobs", "2"), fresh_env(cache))
            new = timed(rlsaudio(python, "playlist", *routines, "--name", "Bench", "-o", str(work / "pl-new"),
                                 "--voice", args.voice), fresh_env(cache))
            cores = len(os.sched_getaffinity(0))
            busy = new.cpu / (new.seconds * cores)
            speedup = old.seconds / new.seconds
            playlists = table([("6 tracks, cold cache", f"{old.seconds:.1f} s", f"{new.seconds:.1f} s",
                                f"{speedup:.2f}x ({verdict(speedup >= 1.4)})", f"{busy:.0%} ({verdict(busy >= 0.85)})")],
                              ("playlist", "today's --jobs 2", "now, default --jobs", "speed-up (>= 1.4x)",
                               f"CPU busy, {cores} cores (>= 85%)"))
            show(playlists)

            # 5. A first run: a fresh clone, an empty pip cache, an empty speech cache.
            clone = work / "clone"
            subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
            env = fresh_env(work / "clone-cache", PIP_NO_CACHE_DIR="1", PYTHON=sys.executable)
            first = timed([str(clone / "scripts" / "run")], env, clone)
            install = sum(int(n) for n in re.findall(r"done in (\d+) s", first.stderr))
            ttfp = first_progress(python, "foot-reflexology", {**os.environ, "RLSAUDIO_CACHE": str(cache)}, work)
            firsts = table([("scripts/run on a fresh clone, empty pip cache", f"{first.seconds:.1f} s",
                             f"about {install:.0f} s of it installing", verdict(first.seconds < 60)),
                            ("first progress of `rlsaudio build` on a terminal", f"{ttfp:.2f} s", "",
                             verdict(ttfp < 1.0))],
                           ("first run", "time", "", "target: 60 s / 1 s"))
            show(firsts)
            sections += [colds, playlists, firsts]
    finally:
        os.chdir(ROOT)
        shutil.rmtree(work, ignore_errors=True)

    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.machine()
    print(f"Machine: {model}, {os.cpu_count()} cores, Python {platform.python_version()}, voice {args.voice}, "
          f"{time.strftime('%Y-%m-%d')}\n")
    print("\n\n".join(sections))


if __name__ == "__main__":
    main()
