"""`rlsaudio feed` and the feed builder: URLs under --base-url, escaping, covers, GUIDs, order."""

import hashlib
import html
import os
import re
import uuid
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import feedparser
import podcastparser
import pytest
from mutagen.id3 import ID3

from rlsaudio.cli import cli
from rlsaudio.publish.feed import Cover, FeedTrack, build_feed, check_base_url, scan

BASE = "https://example.org/rls/"
ROUTINE = '''
title = "{title}"
author = "Test Author"
description = "{description}"
[[steps]]
title = "Settle"
say = "Lie down."
pause = "1s"
'''
ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
PODCAST = "{https://podcastindex.org/namespace/1.0}"
TITLE = "Évening & calm #2 <at> 100%"
DESCRIPTION = 'Tags <b>&amp;</b> "quotes", a < b, and ünïcode.'


def build(runner, write, out: Path, title: str, fake_voice: str, description: str = DESCRIPTION) -> Path:
    routine = write(f"{hashlib.sha256(title.encode()).hexdigest()[:8]}.toml",
                    ROUTINE.format(title=title, description=description.replace('"', '\\"')))
    result = runner.invoke(cli, ["build", str(routine), "-o", str(out), "--voice", fake_voice])
    assert result.exit_code == 0, result.output
    return Path(result.stdout.split("  ")[0])


@pytest.fixture
def folder(runner, write, tmp_path, fake_voice):
    out = tmp_path / "My tracks"
    single = build(runner, write, out, TITLE, fake_voice)
    routines = [str(write(f"r{i}.toml", ROUTINE.format(title=t, description="Album track."))) for i, t in
                enumerate(("First one", "Second one"))]
    result = runner.invoke(cli, ["playlist", *routines, "--name", "Album é", "-o", str(out / "Album é"), "-j", "1",
                                 "--voice", fake_voice])
    assert result.exit_code == 0, result.output
    return out, single


def run_feed(runner, *args):
    return runner.invoke(cli, ["feed", *map(str, args)])


def test_feed_for_a_static_host(runner, folder):
    out, single = folder
    result = run_feed(runner, out, "--base-url", BASE)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{out / 'feed.xml'}  3 tracks\n"
    body = (out / "feed.xml").read_bytes()
    assert not [p for p in out.rglob(".*")]  # atomic writes leave no temporary files

    parsed = podcastparser.parse(BASE + "feed.xml", __import__("io").BytesIO(body))
    assert parsed["title"] == "rlsaudio: RLS sessions"  # the default a person would choose, not "My tracks"
    assert len(parsed["episodes"]) == 3
    audio = sorted(p for p in out.rglob("*.mp3"))
    enclosures = sorted(e["enclosures"][0]["url"] for e in parsed["episodes"])
    assert enclosures == sorted(BASE + "/".join(quote(part) for part in p.relative_to(out).parts) for p in audio)
    for url in enclosures:
        assert url.startswith(BASE) and re.fullmatch(r"[A-Za-z0-9%._~/:-]+", url), url  # every segment encoded
        assert (out / unquote(url[len(BASE):])).is_file()
    assert BASE + quote(single.name) in enclosures
    assert single.name == "Évening & calm #2 - at - 100%.mp3"
    assert BASE + "%C3%89vening%20%26%20calm%20%232%20-%20at%20-%20100%25.mp3" in enclosures

    # covers: content-addressed files beside feed.xml, the same bytes as the tags' pictures
    covers = {urlsplit(e["episode_art_url"]).path for e in parsed["episodes"]} | {urlsplit(parsed["cover_url"]).path}
    for path in covers:
        name = path.rsplit("/", 1)[1]
        data = (out / "covers" / name).read_bytes()
        assert name == hashlib.sha256(data).hexdigest()[:12] + ".png"
        assert path == "/rls/covers/" + name
    assert (out / "covers" / covers.pop().rsplit("/", 1)[1]).read_bytes() == ID3(str(single)).getall("APIC")[0].data

    fp = feedparser.parse(body)
    assert not fp.bozo, fp.bozo_exception
    assert {e.enclosures[0].href for e in fp.entries} == set(enclosures)
    assert fp.feed.title == "rlsaudio: RLS sessions" and fp.feed.link == BASE
    entry = next(e for e in fp.entries if e.title == TITLE)
    assert html.unescape(re.sub(r"<[^>]+>", "", entry.summary)) == DESCRIPTION

    root = ET.fromstring(body)
    channel = root.find("channel")
    assert channel.find(f"{PODCAST}guid").text == str(uuid.uuid5(uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6"),
                                                                  "example.org/rls/feed.xml"))
    assert channel.find(f"{ITUNES}explicit").text == "false"
    assert channel.find(f"{ITUNES}category").get("text") == "Health & Fitness"
    assert channel.find("{http://www.w3.org/2005/Atom}link").get("href") == BASE + "feed.xml"
    item = next(i for i in channel.iter("item") if i.find("title").text == TITLE)
    stem = BASE + quote(single.stem)
    assert item.find(f"{PODCAST}chapters").get("url") == stem + ".chapters.json"
    assert item.find(f"{PODCAST}transcript").get("url") == stem + ".vtt"
    assert item.find("guid").text == ID3(str(single))["TXXX:RLSAUDIO_GUID"].text[0]
    assert item.find("guid").get("isPermaLink") == "false"
    assert item.find("enclosure").get("length") == str(single.stat().st_size)
    assert item.find(f"{ITUNES}episode") is None  # a single track is not an episode of an album
    album = [i for i in channel.iter("item") if "Album%20%C3%A9" in i.find("enclosure").get("url")]
    assert sorted((i.find(f"{ITUNES}season").text, i.find(f"{ITUNES}episode").text) for i in album) == \
        [("1", "1"), ("1", "2")]


def test_guids_are_stable_across_rebuilds_and_dates_are_build_times(runner, write, tmp_path, fake_voice):
    out = tmp_path / "out"
    first = build(runner, write, out, "Stable", fake_voice)
    build(runner, write, out, "Other", fake_voice)
    os.utime(first, (1_700_000_000, 1_700_000_000))
    assert run_feed(runner, out, "--base-url", BASE).exit_code == 0
    before = ET.parse(out / "feed.xml").getroot()
    assert run_feed(runner, out, "--base-url", BASE).exit_code == 0
    assert ET.tostring(ET.parse(out / "feed.xml").getroot()) == ET.tostring(before)  # same folder, same feed

    items = before.findall("channel/item")
    assert [i.find("title").text for i in items] == ["Other", "Stable"]  # newest first
    dates = [parsedate_to_datetime(i.find("pubDate").text).timestamp() for i in items]
    assert dates[1] == 1_700_000_000 and dates[0] > dates[1]
    assert items[1].find("pubDate").text == "Tue, 14 Nov 2023 22:13:20 GMT"  # RFC 822

    build(runner, write, out, "Stable", fake_voice)  # rebuilt: a new date, the same GUID
    assert run_feed(runner, out, "--base-url", BASE).exit_code == 0
    after = ET.parse(out / "feed.xml").getroot().findall("channel/item")
    assert [i.find("title").text for i in after] == ["Stable", "Other"]
    guid = {i.find("title").text: i.find("guid").text for i in after}
    assert guid == {i.find("title").text: i.find("guid").text for i in items}


def test_base_url_forms_and_output_file(runner, folder, tmp_path):
    out, single = folder
    other = tmp_path / "elsewhere.xml"
    result = run_feed(runner, out, "--base-url", "http://host.example:8080/a b/ü", "-o", other,
                      "--title", "Mine & yours")
    assert result.exit_code == 0, result.output
    root = ET.parse(other).getroot()
    assert root.find("channel/title").text == "Mine & yours"
    assert root.find("channel/{http://www.w3.org/2005/Atom}link").get("href") == \
        "http://host.example:8080/a%20b/%C3%BC/elsewhere.xml"
    assert run_feed(runner, out, "--base-url", BASE, "-o", out / "Album é" / "podcast.xml").exit_code == 0
    inside = ET.parse(out / "Album é" / "podcast.xml").getroot()
    assert inside.find("channel/{http://www.w3.org/2005/Atom}link").get("href") == BASE + "Album%20%C3%A9/podcast.xml"
    urls = [e.get("url") for e in root.iter("enclosure")]
    assert all(u.startswith("http://host.example:8080/a%20b/%C3%BC/") for u in urls)
    assert not (out / "feed.xml").exists() and list((out / "covers").glob("*.png"))
    assert check_base_url("https://example.org") == "https://example.org/"
    assert check_base_url("https://example.org/x%20y") == "https://example.org/x%20y/"
    assert check_base_url("https://Bücher.example:8443/ü/") == "https://xn--bcher-kva.example:8443/%C3%BC/"
    assert check_base_url("http://[::1]:8000/p") == "http://[::1]:8000/p/"


@pytest.mark.parametrize("url, problem", [
    ("ftp://example.org/", "is not an http(s) URL"),
    ("example.org/rls", "is not an http(s) URL"),
    ("https://exa mple.org/", "is not an http(s) URL"),
    ("https://example.org/a\tb", "contains control characters"),
    ("https://example.org:99999/", "is not an http(s) URL"),
    ("https://example.org/?x=1", "has a query or fragment"),
    ("https://me:secret@example.org/", "contains a user name or password"),
])
def test_bad_base_urls_are_one_line_and_status_2(runner, tmp_path, url, problem):
    result = run_feed(runner, tmp_path, "--base-url", url)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("--base-url: ") and problem in result.stderr


def test_missing_or_empty_folders(runner, tmp_path):
    result = run_feed(runner, tmp_path / "nope", "--base-url", BASE)
    assert result.exit_code == 2 and result.stderr.startswith(f"{tmp_path / 'nope'}: no such folder")
    result = run_feed(runner, tmp_path, "--base-url", BASE)
    assert result.exit_code == 2 and "no tracks found" in result.stderr
    assert result.stderr.count("\n") == 1


def test_damaged_hidden_and_linked_files_are_skipped(runner, write, tmp_path, fake_voice):
    out = tmp_path / "out"
    track = build(runner, write, out, "Good", fake_voice)
    (out / "broken.mp3").write_bytes(b"not audio at all" * 100)
    (out / "broken.m4b").write_bytes(b"\x00" * 64)
    (out / ".hidden.mp3").write_bytes(track.read_bytes())
    (out / ".rlsaudio-tmp-1-x").mkdir()
    (out / ".rlsaudio-tmp-1-x" / "t.mp3").write_bytes(track.read_bytes())
    os.symlink(track, out / "link.mp3")
    result = run_feed(runner, out, "--base-url", BASE)
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("  1 track\n")
    assert "warning: skipped broken.mp3: " in result.stderr and "warning: skipped broken.m4b: " in result.stderr
    assert [e.get("url") for e in ET.parse(out / "feed.xml").getroot().iter("enclosure")] == [BASE + "Good.mp3"]


def test_text_xml_cannot_carry_is_dropped_and_the_rest_escaped():
    cover = Cover(b"\x89PNG\r\n\x1a\n" + b"0" * 20, "image/png")
    track = FeedTrack(rel="a/b c#?.mp3", size=10, mtime=1_700_000_000.5, title="Bad\x01 ]]> title\ufffe <x>",
                      artist="A & B", album="", comment="line one\nline\x0b two </description>", track=None,
                      track_total=None, length_ms=61_500, guid="", cover=cover)
    body = build_feed([track], base_url=BASE, title="T\x00 & <b>", identity="x")
    root = ET.fromstring(body)
    item = root.find("channel/item")
    assert item.find("title").text == "Bad ]]> title <x>"
    assert root.find("channel/title").text == "T & <b>"
    assert item.find("enclosure").get("url") == BASE + "a/b%20c%23%3F.mp3"
    assert item.find(f"{ITUNES}duration").text == "62"
    assert item.find("guid").text == str(uuid.uuid5(uuid.UUID("0d8f4a52-7c1e-4f55-b3a4-2f6f9c8e1b07"), "a/b c#?.mp3"))
    assert html.unescape(item.find("description").text) == "<p>line one\nline two </description></p>"
    assert item.find(f"{ITUNES}image").get("href") == BASE + "covers/" + cover.name
    assert podcastparser.parse(BASE, __import__("io").BytesIO(body))["episodes"][0]["title"] == "Bad ]]> title <x>"


def test_scan_reads_each_unchanged_file_once(runner, write, tmp_path, fake_voice, monkeypatch):
    out = tmp_path / "out"
    build(runner, write, out, "Cached", fake_voice)
    cache: dict = {}
    assert [t.title for t in scan(out, cache).tracks] == ["Cached"]
    import rlsaudio.publish.feed as feed_module

    monkeypatch.setattr(feed_module, "read_tags", lambda path: pytest.fail("read again"))
    assert [t.title for t in scan(out, cache).tracks] == ["Cached"]
    assert "chapters_json" in scan(out, cache).tracks[0].sidecars


# --------------------------------------------------------------------------- modes, and both or neither


@pytest.fixture
def umask():
    """Run a block under another umask, restored afterwards."""
    from contextlib import contextmanager

    @contextmanager
    def under(mask: int):
        old = os.umask(mask)
        try:
            yield
        finally:
            os.umask(old)

    return under


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077, 0o027])
def test_every_published_file_respects_the_umask(runner, write, tmp_path, fake_voice, umask, mask):
    """feed.xml and covers/*.png like every other output: 0644 under umask 022 (a web server can
    read them after rsync -a), 0664 under 002, 0600 under 077."""
    out = tmp_path / "out"
    with umask(mask):
        build(runner, write, out, "Moded", fake_voice)
        routine = write("r.toml", ROUTINE.format(title="Album track", description="x"))
        assert runner.invoke(cli, ["playlist", str(routine), "--name", "Al", "-o", str(out / "Al"), "-j", "1",
                                   "--voice", fake_voice]).exit_code == 0
        assert run_feed(runner, out, "--base-url", BASE).exit_code == 0
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"feed.xml", "Moded.mp3", "Moded.html", "Moded.lrc", "index.html", "Al.m3u8"}
    assert any(p.parent.name == "covers" for p in files)
    assert {p.relative_to(out).as_posix(): oct(p.stat().st_mode & 0o777) for p in files} == \
        {p.relative_to(out).as_posix(): oct(0o666 & ~mask) for p in files}


def test_a_diary_export_stays_private_whatever_the_umask(runner, tmp_path, umask):
    assert runner.invoke(cli, ["diary", "add", "--date", "2025-03-01", "--restless", "5"]).exit_code == 0
    with umask(0o022):
        for name in ("d.csv", "d.json"):
            assert runner.invoke(cli, ["diary", "export", str(tmp_path / name)]).exit_code == 0
            assert oct((tmp_path / name).stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("blocker", ["folder", "full disk"])
def test_a_feed_that_cannot_be_written_leaves_no_covers(runner, write, tmp_path, fake_voice, monkeypatch, blocker):
    out = tmp_path / "out"
    build(runner, write, out, "Blocked", fake_voice)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    if blocker == "folder":
        (out / "feed.xml").mkdir()
        (out / "feed.xml" / "keep").write_text("x")
        before = sorted(p.relative_to(out) for p in out.rglob("*"))
    else:
        import errno

        import rlsaudio.publish.feed as feed_module

        real = feed_module.write_atomic

        def full(path, data, *args, **kwargs):
            if path.name == "feed.xml":
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(path, data, *args, **kwargs)

        monkeypatch.setattr(feed_module, "write_atomic", full)
    result = run_feed(runner, out, "--base-url", BASE)
    assert result.exit_code == 1 and result.stderr.startswith(f"{out / 'feed.xml'}: could not write the feed: ")
    assert len(result.stderr.splitlines()) == 1
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # no covers/, no temporary file


def test_existing_covers_stay_when_a_feed_fails(runner, write, tmp_path, fake_voice, monkeypatch):
    out = tmp_path / "out"
    build(runner, write, out, "Kept", fake_voice)
    assert run_feed(runner, out, "--base-url", BASE).exit_code == 0
    covers = sorted((out / "covers").iterdir())
    (out / "feed.xml").unlink()
    (out / "feed.xml").mkdir()
    (out / "feed.xml" / "x").write_text("x")
    assert run_feed(runner, out, "--base-url", BASE).exit_code == 1
    assert sorted((out / "covers").iterdir()) == covers


def test_temporary_files_of_a_killed_feed_are_removed_by_the_next(runner, write, tmp_path, fake_voice):
    import subprocess
    import sys

    out = tmp_path / "out"
    build(runner, write, out, "Again", fake_voice)
    assert run_feed(runner, out, "--base-url", BASE).exit_code == 0
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    left = [out / f".feed.xml.{dead}-abcd1234.tmp", out / "covers" / f".0123456789ab.png.{dead}-efgh5678.tmp"]
    live = out / f".feed.xml.{os.getpid()}-ijkl9012.tmp"
    for path in (*left, live):
        path.write_bytes(b"<rss")
    assert run_feed(runner, out, "--base-url", BASE).exit_code == 0
    assert not any(p.exists() for p in left) and live.exists()


def test_the_feed_has_an_owner_podlove_chapters_and_a_plain_text_description(runner, write, tmp_path, fake_voice):
    """Read back as podcast clients read them: gPodder's podcastparser (psc:chapters, plain and HTML
    descriptions) and feedparser (itunes:owner, the plain text)."""
    import io

    out = tmp_path / "out"
    build(runner, write, out, "Owned", fake_voice, description="Plain & <simple> words.")
    result = run_feed(runner, out, "--base-url", BASE)
    assert result.stdout == f"{out / 'feed.xml'}  1 track\n"
    body = (out / "feed.xml").read_bytes()
    parsed = podcastparser.parse(BASE + "feed.xml", io.BytesIO(body))
    assert parsed["title"] == "rlsaudio: RLS sessions"
    (episode,) = parsed["episodes"]
    assert [c["title"] for c in episode["chapters"]] == ["Settle"] and episode["chapters"][0]["start"] == 0
    assert episode["description"].startswith("Plain") and "<p>" not in episode["description"]  # its own cleaning
    assert episode["description_html"] == "<p>Plain &amp; &lt;simple&gt; words.</p>"
    feed = feedparser.parse(body)
    assert feed.feed.publisher_detail == {"name": "Test Author"}
    assert ("text/plain", "Plain & <simple> words.") in [(c.type, c.value) for c in feed.entries[0].content]
    root = ET.fromstring(body)
    psc = "{http://podlove.org/simple-chapters}"
    (chapters,) = root.iter(f"{psc}chapters")
    assert chapters.get("version") == "1.2"
    assert [(c.get("title"), re.fullmatch(r"\d\d:\d\d:\d\d\.\d\d\d", c.get("start")) is not None)
            for c in chapters] == [("Settle", True)]


def test_the_default_podcast_title_is_one_a_person_would_choose(runner, write, tmp_path, fake_voice):
    out = tmp_path / "output"
    build(runner, write, out, "T", fake_voice)
    assert run_feed(runner, out, "--base-url", BASE).exit_code == 0
    assert ET.parse(out / "feed.xml").getroot().findtext("channel/title") == "rlsaudio: RLS sessions"
    assert run_feed(runner, out, "--base-url", BASE, "--title", "Evening sessions").exit_code == 0
    assert ET.parse(out / "feed.xml").getroot().findtext("channel/title") == "Evening sessions"
    for command in ("feed", "serve"):
        help_text = runner.invoke(cli, [command, "-h"]).stdout
        assert 'default: "rlsaudio: RLS sessions"' in " ".join(help_text.split())
