"""`serve` under attack: idle and slow connections, foreign files, foreign host names, odd dates.

The server runs in a subprocess on 127.0.0.1 (and on this machine's network address); requests
are real HTTP over sockets. Timeouts are generous (a busy machine must not fail them); the
2-second answer under load is measured by scripts/bench, not here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from places import FAKE_VOICE, ROOT, routine_text

from rlsaudio.cli import cli
from rlsaudio.serve.network import lan_address


def _env(**extra) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "PYTHONUNBUFFERED": "1", **extra}
    return env


class Served:
    def __init__(self, folder: Path, *args, **env):
        self.proc = subprocess.Popen([sys.executable, "-m", "rlsaudio", "serve", str(folder), "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(**env))
        line = self.proc.stdout.readline()
        assert " at http://" in line or "on the network at http://" in line, line + self.proc.stderr.read()
        url = line.split("at http://", 1)[1].split()[0]
        self.host, _, port = url.rstrip("/").rpartition(":")
        self.port = int(port)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()


def request(host: str, port: int, path: str = "/", headers: dict[str, str] | None = None,
            timeout: float = 10.0) -> tuple[int, bytes]:
    """(status, body) of one GET on a fresh connection."""
    head = {"Host": f"{host}:{port}", "Connection": "close", **(headers or {})}
    raw = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items()) + "\r\n"
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(raw.encode("latin-1"))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A built track, and beside it everything that is not rlsaudio's to publish."""
    tmp = tmp_path_factory.mktemp("attacks")
    out = tmp / "output"
    routine = tmp / "r.toml"
    routine.write_text(routine_text("Calm"), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RLSAUDIO_CACHE", str(tmp / "cache"))
        result = CliRunner().invoke(cli, ["build", str(routine), "-o", str(out), "--voice", FAKE_VOICE])
    assert result.exit_code == 0, result.output
    (out / "secrets.json").write_text('{"pin": "1234"}')
    (out / "Documents").mkdir()
    (out / "Documents" / "bank.json").write_text('{"iban": "X"}')
    (out / "Pictures").mkdir()
    (out / "Pictures" / "passport.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    (out / "notes.html").write_text("<script>fetch('/secrets.json')</script>")
    (out / "Documents" / "notes.html").write_text("<script>1</script>")
    song = out / "song.mp3"  # another program's track: a real MP3 without rlsaudio's GUID tag
    song.write_bytes((out / "Calm.mp3").read_bytes())
    from mutagen.id3 import ID3

    tags = ID3(song)
    tags.delall("TXXX:RLSAUDIO_GUID")
    tags.save(song)
    (out / "Calm.txt").write_text("not a sidecar")
    return out


@pytest.fixture(scope="module")
def server(folder):
    served = Served(folder, RLSAUDIO_HEADER_TIMEOUT="2")
    yield served
    served.stop()


# --------------------------------------------------------------------------- only what rlsaudio published


def test_only_what_rlsaudio_published_is_served(server):
    host, port = server.host, server.port
    for path in ("/Calm.mp3", "/Calm.html", "/Calm.vtt", "/Calm.lrc", "/Calm.chapters.vtt", "/Calm.chapters.json",
                 "/feed.xml", "/", "/favicon.ico"):
        assert request(host, port, path)[0] == 200, path
    for path in ("/secrets.json", "/Documents/bank.json", "/Pictures/passport.png", "/notes.html",
                 "/Documents/notes.html", "/song.mp3", "/Calm.txt", "/Documents/", "/Pictures/"):
        assert request(host, port, path)[0] == 404, path


def test_a_foreign_track_is_neither_served_nor_in_the_feed(server):
    status, body = request(server.host, server.port, "/feed.xml")
    assert status == 200
    assert b"Calm.mp3" in body and b"song.mp3" not in body


def test_the_index_follows_the_system_theme_has_a_favicon_and_counts_in_words(server):
    status, body = request(server.host, server.port, "/")
    page = body.decode()
    assert status == 200
    assert "prefers-color-scheme: dark" in page and '<meta name="color-scheme" content="light dark">' in page
    assert '<link rel="icon" href="/favicon.ico"' in page
    assert "1 track</p>" in page and "1 tracks" not in page
    status, icon = request(server.host, server.port, "/favicon.ico")
    assert status == 200 and icon.startswith(b"\x89PNG")


@pytest.mark.parametrize("where", ["root", "home", "parent of home"])
def test_serving_the_top_a_home_folder_or_its_parent_is_refused(tmp_path, where):
    home = tmp_path / "people" / "you"
    home.mkdir(parents=True)
    target = {"root": Path("/"), "home": home, "parent of home": home.parent}[where]
    done = subprocess.run([sys.executable, "-m", "rlsaudio", "serve", str(target), "--port", "0"], capture_output=True,
                          text=True, env=_env(HOME=str(home)), timeout=60)
    assert done.returncode == 2, done.stderr
    why = {"root": "is the top of the file system", "home": "is your home folder",
           "parent of home": "holds your home folder"}[where]
    assert done.stderr == (f"{target}: {why}: it is not a folder of tracks; serve the folder your tracks are in "
                           "(rlsaudio build writes them to output/), or give --any-folder to serve it anyway\n")


def test_a_folder_of_thousands_of_other_files_needs_any_folder(tmp_path):
    for i in range(1001):
        (tmp_path / f"photo{i}.heic").write_bytes(b"x")
    done = subprocess.run([sys.executable, "-m", "rlsaudio", "serve", str(tmp_path), "--port", "0"],
                          capture_output=True, text=True, env=_env(), timeout=60)
    assert done.returncode == 2
    assert "holds more than 1000 files that are not tracks or their pages" in done.stderr
    served = Served(tmp_path, "--any-folder")
    try:
        assert request(served.host, served.port, "/")[0] == 200
        assert request(served.host, served.port, "/photo1.heic")[0] == 404
    finally:
        served.stop()


# --------------------------------------------------------------------------- host names


@pytest.mark.parametrize("host", ["evil.example", "printer.local", "rlsaudio.local", "127.0.0.1.nip.io", "10.0.0.1"])
def test_a_foreign_host_name_is_refused(server, host):
    status, body = request(server.host, server.port, "/feed.xml", {"Host": host})
    assert status == 400 and b"Unknown host name" in body


# --------------------------------------------------------------------------- idle and slow connections


def _idle_and_slow(host: str, port: int, idle: int, slow: int) -> tuple[list[socket.socket], list[socket.socket]]:
    quiet = [socket.create_connection((host, port), timeout=30) for _ in range(idle)]
    trickle = []
    for _ in range(slow):
        s = socket.create_connection((host, port), timeout=30)
        s.sendall(b"G")
        trickle.append(s)
    return quiet, trickle


def _closed_by_server(s: socket.socket, within: float) -> bool:
    s.settimeout(within)
    try:
        while True:
            if s.recv(4096) == b"":
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


@pytest.mark.parametrize("where", ["loopback", "lan"])
def test_hundreds_of_idle_or_slow_connections_do_not_lock_anyone_out(folder, where):
    """300 connections that send nothing and 60 that trickle a header byte by byte: a normal
    request is still answered, and the stale connections are closed by the server."""
    args = () if where == "loopback" else ("--host", lan_address())
    served = Served(folder, *args, RLSAUDIO_HEADER_TIMEOUT="2")
    try:
        quiet, trickle = _idle_and_slow(served.host, served.port, 300, 60)
        for s in trickle:  # keep the slow ones sending: one more byte each
            s.sendall(b"E")
        assert request(served.host, served.port, "/feed.xml", timeout=10)[0] == 200
        assert request(served.host, served.port, "/Calm.mp3", timeout=10)[0] == 200
        for s in trickle:
            try:
                s.sendall(b"T")
            except OSError:
                pass
        # every one of them is closed by the server: past the bound at once, the rest at their deadline
        assert all(_closed_by_server(s, within=20) for s in quiet + trickle)
        for s in quiet + trickle:
            s.close()
    finally:
        served.stop()


def test_a_kept_alive_connection_that_goes_quiet_is_closed(server):
    with socket.create_connection((server.host, server.port), timeout=30) as s:
        s.sendall(f"GET /feed.xml HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n\r\n".encode())
        first = s.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        s.sendall(b"GET /feed.xml HTTP/1.1\r\nHo")  # half a request head, then nothing
        assert _closed_by_server(s, within=20)


# --------------------------------------------------------------------------- dates


def test_a_file_dated_in_the_year_10000_does_not_take_the_feed_down(folder, tmp_path):
    """Such dates exist on tmpfs, XFS and btrfs (this machine's /tmp cannot store one), so the
    track's stat is given by hand: the feed and the server's dates are clamped to 9999."""
    from email.utils import parsedate_to_datetime

    from rlsaudio.publish import feed
    from rlsaudio.serve.files import http_date

    year_10000 = 253402300800 + 86400 * 3
    real = os.stat(folder / "Calm.mp3")
    fake = os.stat_result((real.st_mode, real.st_ino, real.st_dev, real.st_nlink, real.st_uid, real.st_gid,
                           real.st_size, year_10000, year_10000, year_10000))
    track = feed._read_track(folder, "Calm.mp3", fake)
    assert isinstance(track, feed.FeedTrack) and track.mtime == feed.LAST_FEED_TIME
    xml = feed.build_feed([track], base_url="https://example.org/", title="T", identity="x").decode()
    assert "<pubDate>Fri, 31 Dec 9999 23:59:59 GMT</pubDate>" in xml
    assert parsedate_to_datetime(http_date(year_10000)).year == 9999
    assert parsedate_to_datetime(http_date(-5)).year == 1970


def test_a_malformed_range_is_ignored_and_the_whole_file_sent(server):
    whole = request(server.host, server.port, "/Calm.mp3")[1]
    for value in ("bytes=5-2", "bytes=abc", "bytes=", "chars=0-1", "bytes=1-2,x"):
        status, body = request(server.host, server.port, "/Calm.mp3", {"Range": value})
        assert (status, len(body)) == (200, len(whole)), value
    status, body = request(server.host, server.port, "/Calm.mp3", {"Range": "bytes=0-9"})
    assert (status, body) == (206, whole[:10])
    assert request(server.host, server.port, "/Calm.mp3", {"Range": f"bytes={len(whole) + 5}-"})[0] == 416
