"""`rlsaudio serve`: a real server in a subprocess on 127.0.0.1, checked with real HTTP requests.

Odd paths are sent over a raw socket, byte for byte, so no client library normalises them.
A secret file planted next to the served folder must never appear in any response.
"""

import html
import io
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from email.utils import formatdate
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import feedparser
import podcastparser
import pytest
from click.testing import CliRunner
from mutagen.id3 import ID3
from places import FAKE_VOICE, ROOT

from rlsaudio.cli import cli
from rlsaudio.serve.files import Refused, path_segments
from rlsaudio.serve.guard import host_allowed
from rlsaudio.serve.network import lan_address, qr_text

ROUTINE = '''
title = "{title}"
author = "Test Author"
description = "A short routine <b>&amp;</b> \\"quotes\\" for {title}."
[[steps]]
title = "Settle"
say = "Lie down."
pause = "1s"
[[steps]]
title = "Press"
say = "Find your calf."
hold = 2
'''
SINGLE_TITLE = "Évening & calm #1 at 100%"
ALBUM = "Album é"
PODCAST_NS = "https://podcastindex.org/namespace/1.0"


def build(runner, tmp: Path, out: Path, title: str, fake_voice: str) -> Path:
    routine = tmp / f"routine-{secrets.token_hex(4)}.toml"
    routine.write_text(ROUTINE.format(title=title), encoding="utf-8")
    result = runner.invoke(cli, ["build", str(routine), "-o", str(out), "--voice", fake_voice])
    assert result.exit_code == 0, result.output
    return Path(result.stdout.split("  ")[0])


def build_folder(tmp: Path, fake_voice: str) -> Path:
    """A single track, a two-track album, a page beside one track, and things that must not be served."""
    runner = CliRunner()
    out = tmp / "output"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RLSAUDIO_CACHE", str(tmp / "cache"))
        single = build(runner, tmp, out, SINGLE_TITLE, fake_voice)
        routines = []
        for title in ("First one", "Second one"):
            routine = tmp / f"{title}.toml"
            routine.write_text(ROUTINE.format(title=title), encoding="utf-8")
            routines.append(str(routine))
        result = runner.invoke(cli, ["playlist", *routines, "--name", ALBUM, "-o", str(out / ALBUM), "-j", "1",
                                     "--voice", fake_voice])
        assert result.exit_code == 0, result.output
    single.with_suffix(".html").write_text("<!doctype html><title>page</title><script>1</script>", encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    out = build_folder(tmp, FAKE_VOICE)
    secret = b"TOP-SECRET-" + secrets.token_hex(16).encode()
    (tmp / "secret.mp3").write_bytes(secret)  # an allowed suffix: only containment keeps it out
    (tmp / "secret.txt").write_bytes(secret)
    os.symlink(tmp / "secret.mp3", out / "link-out.mp3")  # absolute link out of the folder
    os.symlink("../secret.mp3", out / ALBUM / "rel-link-out.mp3")  # relative link out
    os.symlink("..", out / "up")  # a folder link out
    os.symlink("loop.mp3", out / "loop.mp3")  # a link to itself
    os.symlink(next(out.glob("*.mp3")).name, out / "inside-link.mp3")  # inside: fine
    (out / ".hidden.mp3").write_bytes(secret)
    (out / ".rlsaudio-tmp-123-x").mkdir()
    (out / ".rlsaudio-tmp-123-x" / "track.mp3").write_bytes(secret)
    (out / "notes.txt").write_bytes(b"not a served type")
    (out / "empty").mkdir()
    os.mkfifo(out / "fifo.mp3")
    server = start_server(out)
    yield {"out": out, "secret": secret, "port": server.port, "tmp": tmp}
    stop_server(server)


class Server:
    def __init__(self, proc: subprocess.Popen, port: int, first_lines: list[str]):
        self.proc, self.port, self.first_lines = proc, port, first_lines


def serve_command(*args) -> list[str]:
    return [sys.executable, "-m", "rlsaudio", "serve", *map(str, args)]


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    e["PYTHONUNBUFFERED"] = "1"
    return e


def start_server(folder: Path, *args) -> Server:
    proc = subprocess.Popen(serve_command(folder, "--port", "0", *args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env())
    first = proc.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", first)
    assert match, (first, proc.stderr.read() if proc.poll() is not None else "")
    return Server(proc, int(match.group(1)), [first])


def stop_server(server: Server, sig=signal.SIGINT) -> tuple[int, str, str]:
    server.proc.send_signal(sig)
    out, err = server.proc.communicate(timeout=10)
    return server.proc.returncode, out, err


# --------------------------------------------------------------------------- HTTP helpers


def raw(port: int, target: bytes, method: bytes = b"GET", headers: dict | None = None) -> tuple[int, dict, bytes]:
    """One request, sent byte for byte; (status, headers, body)."""
    head = {"Host": f"127.0.0.1:{port}", "Connection": "close", **(headers or {})}
    request = method + b" " + target + b" HTTP/1.1\r\n" + b"".join(
        f"{k}: {v}\r\n".encode("latin-1") for k, v in head.items()) + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head_bytes, _, body = data.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    parsed: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return status, parsed, body


def get(port: int, path: str, **headers) -> tuple[int, dict, bytes]:
    """A request for an already-encoded path."""
    return raw(port, path.encode("ascii"), headers={k.replace("_", "-"): v for k, v in headers.items()})


def local(url: str, port: int) -> str:
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.netloc == f"127.0.0.1:{port}", url
    return parts.path


def feed_tree(body: bytes) -> ET.Element:
    return ET.fromstring(body)


def tracks(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.mp3") if not p.is_symlink() and not any(
        part.startswith(".") for part in p.relative_to(out).parts) and p.name != "fifo.mp3")


# --------------------------------------------------------------------------- the feed


def test_feed_parses_with_podcastparser_and_feedparser_and_every_url_is_served(site):
    port, out = site["port"], site["out"]
    status, headers, body = get(port, "/feed.xml")
    assert status == 200
    assert headers["content-type"] == "application/rss+xml; charset=utf-8"
    feed_url = f"http://127.0.0.1:{port}/feed.xml"

    parsed = podcastparser.parse(feed_url, io.BytesIO(body))
    expected = tracks(out)
    assert len(parsed["episodes"]) == len(expected) == 3
    assert parsed["title"] == "rlsaudio: RLS sessions"  # the default title, not the folder's name
    assert local(parsed["cover_url"], port).startswith("/covers/")
    by_path = {}
    for episode in parsed["episodes"]:
        (enclosure,) = episode["enclosures"]
        path = local(enclosure["url"], port)
        file = out / unquote(path[1:])
        assert file in expected
        by_path[file] = episode
        assert enclosure["file_size"] == file.stat().st_size
        assert enclosure["mime_type"] == "audio/mpeg"
        status, headers, data = get(port, path)
        assert (status, headers["content-type"], int(headers["content-length"])) == (200, "audio/mpeg", len(data))
        assert data == file.read_bytes()
        id3 = ID3(str(file))
        assert episode["guid"] == id3["TXXX:RLSAUDIO_GUID"].text[0] or file.name.startswith("02")
        assert episode["title"] == id3["TIT2"].text[0]
        comment = str(id3.getall("COMM")[0].text[0])
        assert "<b>&amp;</b>" in comment  # shown as text, not obeyed as markup:
        assert episode["description_html"] == "<p>" + html.escape(comment, quote=False) + "</p>"
        assert episode["total_time"] == round(int(id3["TLEN"].text[0]) / 1000)
        assert episode["published"] == int(file.stat().st_mtime)
        status, headers, cover = get(port, local(episode["episode_art_url"], port))
        assert (status, headers["content-type"]) == (200, "image/png")
        assert cover == id3.getall("APIC")[0].data
    assert len({e["guid"] for e in parsed["episodes"]}) == 3  # the album's same routine twice stays unique
    assert [e["published"] for e in parsed["episodes"]] == sorted((e["published"] for e in parsed["episodes"]),
                                                                  reverse=True)
    single = next(p for p in expected if p.parent == out)
    assert single.name == SINGLE_TITLE + ".mp3"
    assert f"/{quote(SINGLE_TITLE)}.mp3" == local(by_path[single]["enclosures"][0]["url"], port)
    assert "%25" in quote(SINGLE_TITLE) and "%23" in quote(SINGLE_TITLE)

    fp = feedparser.parse(body)
    assert not fp.bozo, fp.bozo_exception
    assert fp.version == "rss20"
    assert len(fp.entries) == 3
    assert {e.enclosures[0].href for e in fp.entries} == {e["enclosures"][0]["url"] for e in parsed["episodes"]}
    assert all(e.guidislink is False for e in fp.entries)
    assert all(html.unescape(re.sub(r"<[^>]+>", "", e.summary)).startswith('A short routine <b>&amp;</b> "quotes"')
               for e in fp.entries)
    assert parsed["explicit"] is False and all(e["explicit"] is False for e in parsed["episodes"])

    # Podcasting 2.0: chapters and transcript URLs, served with the right type and length
    root = feed_tree(body)
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}",
                        root.find(f"channel/{{{PODCAST_NS}}}guid").text)
    for item in root.iter("item"):
        chapters = item.find(f"{{{PODCAST_NS}}}chapters")
        transcript = item.find(f"{{{PODCAST_NS}}}transcript")
        assert chapters.get("type") == "application/json+chapters"
        assert transcript.get("type") == "text/vtt"
        status, headers, data = get(port, local(chapters.get("url"), port))
        assert (status, headers["content-type"], int(headers["content-length"])) == (200, "application/json", len(data))
        check_chapters_json(json.loads(data))
        status, headers, data = get(port, local(transcript.get("url"), port))
        assert (status, headers["content-type"]) == (200, "text/vtt; charset=utf-8")
        assert data.startswith(b"WEBVTT") and int(headers["content-length"]) == len(data)
    album_items = [i for i in root.iter("item") if f"/{quote(ALBUM)}/" in i.find("enclosure").get("url")]
    episodes = [int(i.find("{http://www.itunes.com/dtds/podcast-1.0.dtd}episode").text) for i in album_items]
    assert sorted(episodes) == [1, 2]
    # every track has its listen-along page beside it, and its item links to it
    links = sorted(local(i.find("link").text, port) for i in root.iter("item"))
    assert links == sorted(local(i.find("enclosure").get("url"), port).removesuffix(".mp3") + ".html"
                           for i in root.iter("item"))
    assert f"/{quote(SINGLE_TITLE)}.html" in links


def check_chapters_json(doc: dict) -> None:
    """The Podcasting 2.0 JSON chapters format: version, and chapters with startTime and title."""
    assert isinstance(doc["version"], str) and re.fullmatch(r"\d+\.\d+(\.\d+)?", doc["version"])
    assert isinstance(doc["chapters"], list) and doc["chapters"]
    starts = []
    for chapter in doc["chapters"]:
        assert isinstance(chapter["startTime"], (int, float)) and chapter["startTime"] >= 0
        assert isinstance(chapter["title"], str) and chapter["title"]
        if "endTime" in chapter:
            assert chapter["endTime"] >= chapter["startTime"]
        starts.append(chapter["startTime"])
    assert starts == sorted(starts)


def test_feed_urls_follow_the_host_the_request_named(site):
    port = site["port"]
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):
        status, _, body = get(port, "/feed.xml", Host=host)
        assert status == 200
        urls = [e.get("url") for e in feed_tree(body).iter("enclosure")]
        assert urls and all(u.startswith(f"http://{host}/") for u in urls)
        assert feed_tree(body).find("channel/link").text == f"http://{host}/"


def test_a_track_built_while_it_runs_appears_in_the_next_feed(tmp_path, fake_voice):
    out = tmp_path / "output"
    out.mkdir()
    server = start_server(out)
    try:
        status, _, body = get(server.port, "/feed.xml")
        assert status == 200 and feed_tree(body).find("channel/item") is None
        assert "0 tracks" in server.first_lines[0]
        build(CliRunner(), tmp_path, out, "Built later", fake_voice)
        status, _, body = get(server.port, "/feed.xml")
        titles = [t.text for t in feed_tree(body).iter("title")]
        assert "Built later" in titles
        status, _, page = get(server.port, "/")
        assert b"Built later" in page
    finally:
        code, _, err = stop_server(server)
    assert code == 0, err


# --------------------------------------------------------------------------- a static file server


def test_byte_ranges(site):
    port, out = site["port"], site["out"]
    file = next(p for p in tracks(out) if p.parent == out)
    data, size = file.read_bytes(), file.stat().st_size
    path = "/" + quote(file.name)
    cases = {
        "bytes=0-99": (0, 99),
        "bytes=1000-4999": (1000, 4999),
        "bytes=-100": (size - 100, size - 1),
        f"bytes={size - 700}-": (size - 700, size - 1),
        f"bytes=5-{size + 5000}": (5, size - 1),
        f"bytes={size - 1}-{size - 1}": (size - 1, size - 1),
    }
    for spec, (first, last) in cases.items():
        status, headers, body = get(port, path, Range=spec)
        assert status == 206, spec
        assert headers["content-range"] == f"bytes {first}-{last}/{size}", spec
        assert body == data[first:last + 1], spec
        assert int(headers["content-length"]) == last - first + 1
        assert headers["content-type"] == "audio/mpeg"
    status, headers, body = get(port, path, Range=f"bytes={size}-")
    assert status == 416 and headers["content-range"] == f"bytes */{size}"
    status, headers, body = get(port, path, Range="bytes=0-9,20-29")
    assert status == 206 and headers["content-type"].startswith("multipart/byteranges")
    assert data[0:10] in body and data[20:30] in body
    # If-Range with a stale validator: the whole file, not a part of a changed one
    status, headers, body = get(port, path, Range="bytes=0-9", If_Range='"stale"')
    assert status == 200 and body == data
    status, headers, _ = get(port, path)
    status, _, body = get(port, path, Range="bytes=0-9", If_Range=headers["etag"])
    assert status == 206 and body == data[:10]


def test_head_matches_get(site):
    port, out = site["port"], site["out"]
    single = next(p for p in tracks(out) if p.parent == out)
    paths = ["/" + quote(single.name), "/" + quote(single.name[:-4]) + ".chapters.json", "/feed.xml", "/",
             f"/{quote(ALBUM)}/", f"/{quote(ALBUM)}/{quote(ALBUM)}.m3u8"]
    for path in paths:
        status, get_headers, body = get(port, path)
        head_status, head_headers, head_body = raw(port, path.encode(), b"HEAD")
        assert status == head_status == 200, path
        assert head_body == b""
        get_headers.pop("date"), head_headers.pop("date")
        assert head_headers == get_headers, path
        assert int(head_headers["content-length"]) == len(body)


def test_content_types(site):
    port = site["port"]
    stem = "/" + quote(SINGLE_TITLE)
    expected = {
        stem + ".mp3": "audio/mpeg",
        stem + ".html": "text/html; charset=utf-8",
        stem + ".vtt": "text/vtt; charset=utf-8",
        stem + ".chapters.vtt": "text/vtt; charset=utf-8",
        stem + ".chapters.json": "application/json",
        stem + ".lrc": "text/plain; charset=utf-8",
        f"/{quote(ALBUM)}/{quote(ALBUM)}.m3u8": "audio/mpegurl",
        "/feed.xml": "application/rss+xml; charset=utf-8",
        "/": "text/html; charset=utf-8",
    }
    for path, content_type in expected.items():
        status, headers, _ = get(port, path)
        assert (status, headers["content-type"]) == (200, content_type), path
        assert headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "script-src 'self' 'unsafe-inline'" in headers["content-security-policy"]
        assert "media-src 'self'" in headers["content-security-policy"]
    status, headers, _ = get(port, "/inside-link.mp3")  # a link that stays inside the folder is fine
    assert (status, headers["content-type"]) == (200, "audio/mpeg")


def test_etag_last_modified_and_304(site):
    port, out = site["port"], site["out"]
    single = next(p for p in tracks(out) if p.parent == out)
    path = "/" + quote(single.name)
    status, headers, _ = get(port, path)
    etag, last_modified = headers["etag"], headers["last-modified"]
    assert etag.startswith('"') and last_modified == formatdate(single.stat().st_mtime, usegmt=True)
    for condition in ({"If_None_Match": etag}, {"If_None_Match": f'"other", W/{etag}'}, {"If_None_Match": "*"},
                      {"If_Modified_Since": last_modified},
                      {"If_Modified_Since": formatdate(time.time() + 3600, usegmt=True)}):
        status, headers, body = get(port, path, **condition)
        assert (status, body) == (304, b""), condition
        assert headers["etag"] == etag
    for condition in ({"If_None_Match": '"other"'}, {"If_Modified_Since": formatdate(0, usegmt=True)},
                      {"If_Modified_Since": "not a date"},
                      {"If_None_Match": '"other"', "If_Modified_Since": last_modified}):  # If-None-Match wins
        status, _, body = get(port, path, **condition)
        assert status == 200 and len(body) == single.stat().st_size, condition
    for doc in ("/feed.xml", "/"):
        status, headers, _ = get(port, doc)
        status, _, body = get(port, doc, If_None_Match=headers["etag"])
        assert (status, body) == (304, b"")


def test_index_pages_list_tracks_with_escaped_names(site):
    port = site["port"]
    status, headers, body = get(port, "/")
    page = body.decode("utf-8")
    assert status == 200
    assert "Évening &amp; calm #1 at 100%" in page
    assert f'href="/{quote(SINGLE_TITLE)}.mp3"' in page and f'href="/{quote(SINGLE_TITLE)}.html"' in page
    assert f'href="/{quote(ALBUM)}/"' in page
    for hidden in ("secret", "hidden", "rlsaudio-tmp", "notes.txt", "link-out", "fifo"):
        assert hidden not in page
    status, _, body = get(port, f"/{quote(ALBUM)}/")
    page = body.decode("utf-8")
    assert status == 200 and "First one" in page and "Second one" in page
    assert f'href="/{quote(ALBUM)}/{quote(ALBUM)}.m3u8"' in page
    status, headers, _ = get(port, f"/{quote(ALBUM)}")
    assert status == 301 and headers["location"] == f"/{quote(ALBUM)}/"
    assert get(port, "/empty/")[0] == 404  # a folder without tracks has no index


# --------------------------------------------------------------------------- what must never be served


ODD_PATHS = [
    b"/../secret.mp3",
    b"/../../../../etc/passwd",
    b"/%2e%2e/secret.mp3",
    b"/%2E%2E/%2E%2E/etc/passwd",
    b"/%252e%252e/secret.mp3",
    b"/%252e%252e%252fsecret.mp3",
    b"/..%2fsecret.mp3",
    b"/..%2Fsecret.mp3",
    b"/..%5csecret.mp3",
    b"/%2e%2e%5csecret.mp3",
    b"//etc/passwd",
    b"/%2Fetc%2Fpasswd",
    b"/%2f%2e%2e%2fsecret.mp3",
    b"/Album%20%C3%A9/../../secret.mp3",
    b"/Album%20%C3%A9/%2e%2e/%2e%2e/secret.mp3",
    b"/./secret.mp3",
    b"/link-out.mp3",
    b"/Album%20%C3%A9/rel-link-out.mp3",
    b"/up/secret.mp3",
    b"/up/output/link-out.mp3",
    b"/loop.mp3",
    b"/secret.mp3%00.mp3",
    b"/%00",
    b"/link-out.mp3%00",
    b"/" + b"a" * 3000 + b".mp3",
    b"/" + b"a/" * 200 + b"x.mp3",
    b"/" + b"%2e%2e/" * 20 + b"etc/passwd",
    b"/..\\secret.mp3",
    b"/\\..\\secret.mp3",
    b"/.rlsaudio-tmp-123-x/track.mp3",
    b"/.hidden.mp3",
    b"/%2ehidden.mp3",
    b"/notes.txt",
    b"/fifo.mp3",
    b"/empty",
    b"/up/",
    b"/up/secret.txt",
    b"/covers/../../secret.mp3",
    b"/covers/000000000000.png",
    b"/feed.xml/../../secret.mp3",
    b"/%C0%AE%C0%AE/secret.mp3",  # overlong UTF-8 dots
    b"/%ff%fe/secret.mp3",
    b"/\xc3\xa9/../../secret.mp3",
    b"http://127.0.0.1/../secret.mp3",
    b"/etc/passwd",
    b"/proc/self/environ",
    b"/proc/self/fd/0",
]


def test_traversal_and_odd_paths_never_leave_the_folder(site):
    port, secret = site["port"], site["secret"]
    assert len(ODD_PATHS) >= 20
    for target in ODD_PATHS:
        status, headers, body = raw(port, target)
        assert status in (400, 404), (target, status, body[:200])
        assert secret not in body and b"root:" not in body, target
        assert b"PATH=" not in body, target
    # HEAD and ranges take the same checks
    for target in (b"/link-out.mp3", b"/%2e%2e/secret.mp3", b"/.hidden.mp3"):
        assert raw(port, target, b"HEAD")[0] == 404
        status, _, body = raw(port, target, headers={"Range": "bytes=0-5"})
        assert status == 404 and secret not in body


def test_a_request_line_too_long_for_the_server_is_refused(site):
    status, _, body = raw(site["port"], b"/" + b"a" * 20000)
    assert status in (400, 414) and site["secret"] not in body


def test_other_methods_are_refused_with_405(site):
    port = site["port"]
    for method in (b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS", b"PROPFIND", b"TRACE"):
        for target in (b"/", b"/feed.xml", b"/" + quote(SINGLE_TITLE).encode() + b".mp3", b"/nothing"):
            status, headers, _ = raw(port, target, method, {"Content-Length": "0"})
            assert status == 405, (method, target)
            assert headers["allow"] == "GET, HEAD"


def test_a_host_header_that_does_not_name_this_machine_is_refused(site):
    port = site["port"]
    status, _, body = get(port, "/feed.xml", Host=f"rebind.example.com:{port}")
    assert status == 400 and b"<rss" not in body
    assert get(port, "/", Host=f"localhost:{port}")[0] == 200
    assert get(port, "/", Host=f"{socket.gethostname()}:{port}")[0] == 200


# --------------------------------------------------------------------------- starting and stopping


def test_help_has_examples(runner):
    for command in ("serve", "feed"):
        result = runner.invoke(cli, [command, "-h"])
        assert result.exit_code == 0 and "Example" in result.output and f"rlsaudio {command}" in result.output


def test_the_lan_banner_shows_the_address_a_qr_code_and_what_is_exposed(tmp_path):
    from rlsaudio.serve.window import _banner

    out = io.StringIO()
    _banner(tmp_path, "192.168.1.23", "http://192.168.1.23:8765/", 2, out)
    text = out.getvalue()
    assert text.startswith(f"Serving {tmp_path} (2 tracks) on the network at http://192.168.1.23:8765/\n")
    assert qr_text("http://192.168.1.23:8765/", colour=False, unicode=False) in text  # StringIO: no colour
    assert "Anyone on this network can read the tracks" in text
    assert "Podcast feed: http://192.168.1.23:8765/feed.xml" in text
    out = io.StringIO()
    _banner(tmp_path, "127.0.0.1", "http://127.0.0.1:8765/", 1, out)
    assert out.getvalue().splitlines()[0] == (f"Serving {tmp_path} (1 track) at http://127.0.0.1:8765/  (this "
                                              "computer only; --lan to open it on your phone)")


def test_sigint_and_sigterm_stop_it_cleanly_with_status_0(tmp_path):
    for sig in (signal.SIGINT, signal.SIGTERM):
        server = start_server(tmp_path)
        assert get(server.port, "/")[0] == 200
        code, out, err = stop_server(server, sig)
        assert code == 0, err
        assert out.splitlines()[-1] == "stopped"
        assert "Traceback" not in err and "Error" not in err


def test_a_port_in_use_is_one_line_and_status_1(site):
    result = subprocess.run(serve_command(site["out"], "--port", site["port"]), capture_output=True, text=True,
                            env=env(), timeout=20)
    assert result.returncode == 1
    assert result.stderr == (f"port {site['port']} on 127.0.0.1 is already in use (is rlsaudio already "
                             "running?); stop that, or choose another port with --port\n")


def test_an_address_that_is_not_this_machines_is_one_line_and_status_2(tmp_path):
    result = subprocess.run(serve_command(tmp_path, "--host", "192.0.2.1", "--port", "0"), capture_output=True,
                            text=True, env=env(), timeout=20)
    assert result.returncode == 2
    assert result.stderr == ("--host: 192.0.2.1 is not an address of this computer; give one of its addresses, "
                             "or use --lan\n")


def test_a_missing_folder_is_one_line_and_status_2(runner, tmp_path):
    result = runner.invoke(cli, ["serve", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert result.stderr == f"{tmp_path / 'nope'}: no such folder; give the folder your tracks are in " \
                            "(rlsaudio build writes them to output/)\n"
    result = runner.invoke(cli, ["serve", str(tmp_path), "--lan", "--host", "127.0.0.1"])
    assert result.exit_code == 2 and "--lan or --host" in result.stderr


# --------------------------------------------------------------------------- the parts


def test_path_segments():
    assert path_segments("/") == ([], True)
    assert path_segments("/a b/c.mp3") == (["a b", "c.mp3"], False)
    assert path_segments("/Album/") == (["Album"], True)
    for path, status in [("/../x", 404), ("//x", 404), ("/a//b", 404), ("/./x", 404), ("/.x", 404),
                         ("/a/\x00", 400), ("/a\\b", 400), ("/a\nb", 400), ("x", 400), ("/" + "a" * 256, 400),
                         ("/" + "é" * 600, 400), ("/a" * 17, 404), ("/%2e%2e/x", None)]:
        if status is None:
            assert path_segments(path) == (["%2e%2e", "x"], False)  # decoded once, by the server: a literal name
            continue
        with pytest.raises(Refused) as exc:
            path_segments(path)
        assert exc.value.status == status, path


def test_the_host_header_must_name_the_bound_address_or_this_machine(monkeypatch):
    """DNS rebinding: a page on another site reaches the server only under a name it controls, so
    only the address bound and this machine's own names are accepted (no longer every *.local)."""
    from rlsaudio.serve import network

    monkeypatch.setattr(socket, "gethostname", lambda: "mybox")
    lan = network.host_names("192.168.1.20")
    for ok in ("192.168.1.20:8765", "192.168.1.20", "mybox:8765", "mybox.local:8765", "mybox.local.", "MYBOX"):
        assert host_allowed(ok, lan), ok
    for bad in ("127.0.0.1:8765", "localhost", "printer.local", "evil.local:8765", "evil.example:8765",
                "mybox.evil.example", "192.168.1.20.nip.io", "[::1", "mybox:http", "", "192.168.1.20:80:80",
                "192.168.1.21"):
        assert not host_allowed(bad, lan), bad
    loopback = network.host_names("127.0.0.1")
    for ok in ("127.0.0.1:8765", "localhost:8765", "LOCALHOST", "[::1]:8765", "mybox"):
        assert host_allowed(ok, loopback), ok
    for bad in ("192.168.1.20", "printer.local", "127.0.0.2", "127.0.0.1.nip.io"):
        assert not host_allowed(bad, loopback), bad


def test_lan_address_uses_the_route_then_the_interfaces():
    assert lan_address(lambda target: "192.168.1.23", lambda: []) == "192.168.1.23"
    assert lan_address(lambda target: None, lambda: [("lo", "127.0.0.1"), ("docker0", "172.17.0.1"),
                                                    ("wlan0", "10.0.0.7")]) == "10.0.0.7"
    assert lan_address(lambda target: "127.0.0.1", lambda: [("eth0", "192.168.5.5")]) == "192.168.5.5"
    from rlsaudio.base.errors import RlsaudioError
    with pytest.raises(RlsaudioError, match="no local network address found"):
        lan_address(lambda target: None, lambda: [("lo", "127.0.0.1")])


def test_qr_code_is_text_that_reads_back_as_the_url():
    import segno

    url = "http://192.168.1.23:8765/"
    expected = [[bool(m) for m in row] for row in segno.make_qr(url, error="m").matrix_iter(scale=1, border=2)]
    text = qr_text(url, colour=False)
    halves = {" ": (0, 0), "\u2580": (1, 0), "\u2584": (0, 1), "\u2588": (1, 1)}
    rows = []
    for line in text.splitlines():
        pairs = [halves[ch] for ch in line]
        rows += [[bool(a) for a, _ in pairs], [bool(b) for _, b in pairs]]
    assert rows[:len(expected)] == expected
    coloured = qr_text(url, colour=True)
    assert all(line.startswith("\033[30;107m") and line.endswith("\033[0m") for line in coloured.splitlines())
    assert set(qr_text(url, colour=False, unicode=False)) <= {"#", " ", "\n"}


def test_a_link_swapped_in_after_the_check_is_not_followed(tmp_path, monkeypatch):
    """The second layer: even if the resolved path looked inside (a link swapped in after
    realpath), the descriptor walk refuses every symbolic link on the way."""
    from rlsaudio.serve import window as serve_module

    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.mp3").write_bytes(b"secret")
    os.symlink(tmp_path / "outside", root / "album")
    os.symlink(tmp_path / "outside" / "secret.mp3", root / "x.mp3")
    monkeypatch.setattr(serve_module.os.path, "realpath", lambda p: os.path.normpath(p))
    for segments in (["album", "secret.mp3"], ["x.mp3"]):
        with pytest.raises(Refused) as exc:
            serve_module.open_inside(str(root), segments)
        assert exc.value.status == 404


def test_a_file_replaced_while_it_is_sent_is_sent_whole(tmp_path):
    """What is sent is the file that was checked, by its descriptor: a rebuild that renames a new
    track into place mid-request cannot mix two files or change the length under the response."""
    import asyncio

    from rlsaudio.serve.files import OpenFileResponse, open_inside

    root = tmp_path / "root"
    root.mkdir()
    (root / "t.mp3").write_bytes(b"old" * 50_000)
    opened = open_inside(str(root), ["t.mp3"])
    (tmp_path / "new.mp3").write_bytes(b"new" * 10)
    os.replace(tmp_path / "new.mp3", root / "t.mp3")
    sent = []

    async def receive():
        await asyncio.sleep(10)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "headers": [], "asgi": {"spec_version": "2.4"}, "extensions": {}}
    asyncio.run(OpenFileResponse(opened, "audio/mpeg", {})(scope, receive, send))
    assert b"".join(m.get("body", b"") for m in sent) == b"old" * 50_000
    assert dict(sent[0]["headers"])[b"content-length"] == b"150000"
    assert opened.fd == -1  # closed
