"""Covers are decoded in full before they are embedded or served: a PNG or JPEG only, at most
4096x4096 pixels (known from the header, before any pixel is decoded), a complete stream.
The same check keeps a foreign track's picture out of the feed."""

import io
import struct
import zlib

import pytest
from mutagen.id3 import APIC, ID3
from PIL import Image
from places import FAKE_VOICE, deadline, tiny_routine

from rlsaudio.cli import cli


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_claiming(width: int, height: int, rows: int = 0) -> bytes:
    """A PNG whose header says width x height (1-bit grey); `rows` rows of zeros really follow."""
    idat = zlib.compressobj(9)
    row = b"\0" * (1 + (width + 7) // 8)
    data = b"".join(idat.compress(row) for _ in range(rows)) + idat.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def real_image(fmt: str, size=(600, 600)) -> bytes:
    image = Image.effect_noise(size, 64).convert("RGB")
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(real_image("JPEG", (16, 16)))
    at = data.index(b"\xff\xc0")  # the baseline frame header: length, precision, height, width
    data[at + 5:at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


BAD = {
    "decodes to 30000x30000": (lambda: png_claiming(30000, 30000, rows=30000), "claims 900,000,000 pixels"),
    "header claims 2^31-1 x 2^31-1": (lambda: png_claiming(2**31 - 1, 2**31 - 1), "claims 4,611,686,014,132,420,609 "
                                                                                  "pixels"),
    "header claims 5000x4000": (lambda: png_claiming(5000, 4000), "is 5000x4000 pixels"),
    "JPEG header claims 65535x65535": (lambda: jpeg_claiming(65535, 65535), "pixels"),
    "JPEG cut in half": (lambda: real_image("JPEG")[: len(real_image("JPEG")) // 2], "damaged or incomplete JPEG"),
    "PNG cut in half": (lambda: real_image("PNG")[: len(real_image("PNG")) // 2], "damaged or incomplete PNG"),
    "PNG signature then HTML": (lambda: b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>",
                                "starts like a PNG image but is not one"),
    "JPEG magic then HTML": (lambda: b"\xff\xd8\xff<html><script>alert(1)</script>", "is not one"),
    "a whole PNG then HTML": (lambda: real_image("PNG", (32, 32)) + b"<html><script>alert(1)</script></html>",
                              "has data after the end of its PNG image"),
    "a GIF": (lambda: real_image("GIF", (32, 32)), "not a PNG or JPEG image"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
@pytest.mark.parametrize("where", ["--cover", "playlist file"])
def test_bad_covers_are_refused_with_one_line_before_anything_is_written(runner, write, tmp_path, case, where):
    make, words = BAD[case]
    cover = tmp_path / "cover.png"
    cover.write_bytes(make())
    routine = write("tiny.toml", tiny_routine())
    out = tmp_path / "out"
    if where == "--cover":
        args = ["build", str(routine), "--cover", str(cover), "-o", str(out), "--voice", FAKE_VOICE]
        start = f"{cover}: "
    else:
        playlist = write("p.toml", 'name = "P"\ncover = "cover.png"\n[[tracks]]\nroutine = "tiny.toml"\n')
        args = ["playlist", str(playlist), "-o", str(out), "--voice", FAKE_VOICE]
        start = f"{playlist}:2: cover: {cover}: "
    with deadline(120, "checking a cover"):
        result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(start), result.stderr
    assert words in result.stderr and "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("fmt, mime", [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_real_covers_are_embedded(runner, write, tmp_path, fmt, mime):
    cover = tmp_path / f"cover.{fmt.lower()}"
    cover.write_bytes(real_image(fmt))
    routine = write("tiny.toml", tiny_routine())
    result = runner.invoke(cli, ["build", str(routine), "--cover", str(cover), "-o", str(tmp_path / "out"),
                                 "--voice", FAKE_VOICE])
    assert result.exit_code == 0, result.output
    pictures = ID3(tmp_path / "out" / "Tiny.mp3").getall("APIC")
    assert [(p.mime, p.data) for p in pictures] == [(mime, cover.read_bytes())]


@pytest.mark.parametrize("case", ["PNG signature then HTML", "header claims 5000x4000", "JPEG cut in half",
                                  "a whole PNG then HTML"])
def test_the_feed_never_publishes_a_bad_picture_found_in_a_track(runner, write, tmp_path, case):
    out = tmp_path / "out"
    routine = write("tiny.toml", tiny_routine())
    assert runner.invoke(cli, ["build", str(routine), "-o", str(out), "--voice", FAKE_VOICE]).exit_code == 0
    tags = ID3(out / "Tiny.mp3")
    tags.delall("APIC")
    tags.add(APIC(encoding=3, mime="image/png", type=3, desc="", data=BAD[case][0]()))
    tags.save(v2_version=3)
    result = runner.invoke(cli, ["feed", str(out), "--base-url", "https://example.org/r/"])
    assert result.exit_code == 0, result.output
    feed = (out / "feed.xml").read_text()
    item = feed[feed.index("<item>"):]
    assert "itunes:image" not in item  # the track has no cover as far as the feed is concerned
    from rlsaudio.publish.tags import default_cover

    covers = {p.read_bytes() for p in (out / "covers").iterdir()}
    assert covers == {default_cover()[0]}  # only rlsaudio's own picture is published
