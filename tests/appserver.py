"""`rlsaudio app` in a subprocess, and a small HTTP client for it: what the app's tests share.

The app is started as a person starts it (`rlsaudio app --no-browser`), on port 0, with the fake
voice offered (`--voice tests/data/fake.toml`) and its own cache, diary folder and output folder
under the test's temporary folder. Requests go over http.client, so a test controls every header
(Host, Origin, Cookie) and sees every answer as it is.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from places import FAKE_VOICE, ROOT

ADDRESS = re.compile(r"(http://127\.0\.0\.1:(\d+)/)\?key=([A-Za-z0-9_-]+)")


@dataclass
class App:
    proc: subprocess.Popen
    url: str  # the printed address, with the key
    port: int
    key: str
    out: Path
    home: Path
    lines: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def request(self, method: str, path: str, body=None, headers: dict | None = None, key: str | None = "bearer",
                timeout: float = 30.0) -> "Answer":
        """One request. `key`: "bearer" (the default), "cookie", "query", or None (no key)."""
        headers = dict(headers or {})
        if key == "bearer":
            headers.setdefault("Authorization", f"Bearer {self.key}")
        elif key == "cookie":
            headers.setdefault("Cookie", f"rlsaudio_key={self.key}")
        elif key == "query":
            path += ("&" if "?" in path else "?") + f"key={self.key}"
        if body is not None and not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            conn.close()

    def json(self, method: str, path: str, body=None, **kw):
        answer = self.request(method, path, body, **kw)
        return answer.status, answer.json()


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body.decode()) if self.body else None


def environment(home: Path, cache: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    env["RLSAUDIO_TEST_ENGINES"] = "1"
    env["RLSAUDIO_HOME"] = str(home)
    env["RLSAUDIO_CACHE"] = str(cache)
    return env


def start_app(tmp: Path, *voices: str, out: Path | None = None) -> App:
    """A fresh `rlsaudio app --no-browser` with the fake voice (and any other profile files)."""
    out = out or tmp / "output"
    home, cache = tmp / "home", tmp / "cache"
    home.mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "rlsaudio", "app", "--no-browser", "--port", "0", "-o", str(out),
           "--voice", FAKE_VOICE, *[a for v in voices for a in ("--voice", v)]]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp,
                            env=environment(home, cache))
    first = proc.stdout.readline()
    match = ADDRESS.search(first)
    if not match:
        proc.kill()
        raise AssertionError(f"no address printed: {first!r} {proc.stderr.read()}")
    app = App(proc, match.group(0), int(match.group(2)), match.group(3), out, home, [first])
    # Drain the server's log so a full pipe never blocks it.
    threading.Thread(target=lambda: [app.lines.append(line) for line in proc.stderr], daemon=True).start()
    return app


def stop_app(app: App) -> int:
    app.proc.send_signal(signal.SIGINT)
    try:
        app.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        app.proc.kill()
        app.proc.wait(timeout=10)
    return app.proc.returncode


def wait_build(app: App, job: str, until=("done", "failed", "cancelled"), timeout: float = 120.0,
               condition=None) -> dict:
    """Poll a build until its state is one of `until` (or `condition(state)` holds)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        status, state = app.json("GET", f"/api/builds/{job}")
        assert status == 200, state
        if state["state"] in until or (condition is not None and condition(state)):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"build {job} still {state} after {timeout} s")
        time.sleep(0.2)
