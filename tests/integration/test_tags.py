"""rlsaudio.publish.tags beyond test_id3.py: hard chapter titles, the saved frame layout, why the
chapter ids are padded, failure paths, and the bundled cover.
"""

import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from audio import ffmpeg
from mutagen.id3 import CHAP, ID3
from places import small_jpeg

from rlsaudio.base.errors import InputError, TagError
from rlsaudio.encode.chapters import ChapterMark
from rlsaudio.publish.tags import TrackTags, default_cover, load_cover, read_tags, write_tags

# Lengths vary a lot and not monotonically; several need UTF-16 surrogates or ffmetadata escapes.
HARD_TITLES = [
    "Settle in", "Ätherisches Öl – Fuß", "x", "🌙 Moon breath 🌙", "a=b; c#d \\ e",
    "The long one: " + "slowly press and release the point between the first and second toes, " * 4,
    "日本語のタイトル", "B 40", "Kidney 1 (Yongquan) — sole of the foot, both sides", "Ω",
]


@pytest.fixture
def mp3(tmp_path):
    path = tmp_path / "track.mp3"
    subprocess.run([ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=30:sample_rate=22050",
                    "-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k", "-id3v2_version", "0", str(path)], check=True)
    return path


def hard_chapters(n=40):
    return tuple(ChapterMark(f"{HARD_TITLES[i * 7 % len(HARD_TITLES)]} {i}", i * 700, (i + 1) * 700) for i in range(n))


def track_tags(chapters=(), **changes):
    cover, mime = default_cover()
    fields = dict(title="Calf release", artist="Jane Doe", album="Evening", track=2, track_total=6,
                  length_ms=30_000, cover=cover, cover_mime=mime, transcript="Lie down.\nPress.",
                  chapters=chapters, year="2026", comment="Ten minutes before bed.")
    return TrackTags(**(fields | changes))


def ffmpeg_chapters(path):
    """(title, start_ms, end_ms) in the order ffmpeg lists them. -copyts keeps the times as
    stored; without it ffmpeg shifts them back by the ~50 ms of encoder delay it trims."""
    out = subprocess.run([ffmpeg(), "-v", "error", "-i", str(path), "-copyts", "-f", "ffmetadata", "-"],
                         capture_output=True, text=True, check=True).stdout
    found = []
    for block in out.split("[CHAPTER]")[1:]:
        fields = {}
        for line in block.strip("\n").split("\n"):
            key, _, value = line.partition("=")
            fields[key] = _unescape(value)
        assert fields["TIMEBASE"] == "1/1000"
        found.append((fields["title"], int(fields["START"]), int(fields["END"])))
    return found


def _unescape(value):
    # ffmetadata escapes '=', ';', '#', '\\' and newlines with a backslash
    out, chars = [], iter(value)
    for ch in chars:
        out.append(next(chars, "") if ch == "\\" else ch)
    return "".join(out)


def raw_frames(path):
    """(frame id, body) of every frame in the file's ID3v2.3 tag, in saved order."""
    data = Path(path).read_bytes()
    assert data[:4] == b"ID3\x03" and data[5] == 0  # v2.3, no unsync, no extended header
    size = sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(data[6:10]))
    tag, pos, frames = data[10:10 + size], 0, []
    while pos + 10 <= len(tag) and tag[pos:pos + 4] != b"\0\0\0\0":
        frame_id, length = struct.unpack(">4sI", tag[pos:pos + 8])
        frames.append((frame_id.decode("ascii"), tag[pos + 10:pos + 10 + length]))
        pos += 10 + length
    return frames


def raw_chapters(path):
    """(element id, start_ms, saved frame size) of the CHAP frames, in saved order."""
    found = []
    for frame_id, body in raw_frames(path):
        if frame_id == "CHAP":
            end = body.index(b"\0")
            start_ms = struct.unpack(">I", body[end + 1:end + 5])[0]
            found.append((body[:end].decode("latin-1"), start_ms, 10 + len(body)))
    return found


def test_hard_titles_reach_ffmpeg_in_time_order_with_exact_times(mp3):
    chapters = hard_chapters()
    write_tags(mp3, track_tags(chapters))
    assert ffmpeg_chapters(mp3) == [(c.title, c.start_ms, c.end_ms) for c in chapters]


def test_chap_frames_are_saved_equal_sized_in_time_order_and_match_the_toc(mp3):
    chapters = hard_chapters()
    write_tags(mp3, track_tags(chapters))
    saved = raw_chapters(mp3)
    assert [start for _, start, _ in saved] == [c.start_ms for c in chapters]
    assert len({size for _, _, size in saved}) == 1
    (toc,) = ID3(str(mp3)).getall("CTOC")
    assert toc.child_element_ids == [element for element, _, _ in saved]


def test_without_the_padding_the_same_chapters_come_out_of_order(mp3):
    """Why the element ids are padded (quodlibet/mutagen#506): strip the padding from a written
    file, save it again with mutagen, and ffmpeg lists the chapters in size order. If this
    fails, mutagen no longer sorts frames by size and the padding may be unnecessary."""
    chapters = hard_chapters()
    write_tags(mp3, track_tags(chapters))
    id3 = ID3(str(mp3))
    unpadded = [CHAP(element_id=c.element_id.rstrip("_"), start_time=c.start_time, end_time=c.end_time,
                     start_offset=c.start_offset, end_offset=c.end_offset, sub_frames=c.sub_frames)
                for c in id3.getall("CHAP")]
    id3.delall("CHAP")
    for frame in unpadded:
        id3.add(frame)
    id3.getall("CTOC")[0].child_element_ids = sorted(f.element_id for f in unpadded)
    id3.save(str(mp3), v2_version=3)

    saved = raw_chapters(mp3)
    assert len({size for _, _, size in saved}) > 1
    assert [size for _, _, size in saved] == sorted(size for _, _, size in saved)
    listed = ffmpeg_chapters(mp3)
    assert sorted(listed, key=lambda c: c[1]) == [(c.title, c.start_ms, c.end_ms) for c in chapters]
    assert [start for _, start, _ in listed] != sorted(start for _, start, _ in listed)


def test_rewriting_replaces_the_whole_tag(mp3):
    write_tags(mp3, track_tags(hard_chapters(12)))
    write_tags(mp3, track_tags(hard_chapters(3), title="Second", transcript=""))
    info = read_tags(mp3)
    assert info["title"] == "Second" and info["transcript"] == ""
    assert info["chapters"] == list(hard_chapters(3))
    assert [frame_id for frame_id, _ in raw_frames(mp3)].count("CHAP") == 3


def test_the_year_is_stored_as_a_v23_tyer_frame(mp3):
    write_tags(mp3, track_tags())
    stored = ID3(str(mp3), translate=False)
    assert "TDRC" not in stored and stored["TYER"].text == ["2026"]
    assert read_tags(mp3)["year"] == "2026"


def test_write_tags_refuses_a_file_that_is_not_an_mp3(tmp_path):
    text = tmp_path / "notes.mp3"
    text.write_text("not audio")
    with pytest.raises(TagError, match=f"^{text}: "):
        write_tags(text, track_tags())
    assert text.read_text() == "not audio"


def test_write_tags_refuses_a_missing_file(tmp_path):
    missing = tmp_path / "missing.mp3"
    with pytest.raises(TagError, match=f"^{missing}: "):
        write_tags(missing, track_tags())
    assert not missing.exists()


def test_read_tags_of_an_untagged_mp3_gives_empty_fields(mp3):
    info = read_tags(mp3)
    assert info["title"] is None and info["chapters"] == [] and info["has_cover"] is False


def test_write_tags_errors_name_the_file(tmp_path):
    for path in (tmp_path / "no-folder" / "t.mp3", tmp_path):
        with pytest.raises(TagError, match=f"^{path}: could not write the tags"):
            write_tags(path, track_tags())


def test_cover_type_comes_from_the_bytes_not_the_name(tmp_path):
    png_named_jpg = tmp_path / "cover.jpg"
    png_named_jpg.write_bytes(default_cover()[0])
    assert load_cover(png_named_jpg) == (default_cover()[0], "image/png")
    jpeg_named_png = tmp_path / "cover.png"
    jpeg_named_png.write_bytes(small_jpeg())
    assert load_cover(jpeg_named_png)[1] == "image/jpeg"


@pytest.mark.parametrize("make, expected", [
    (lambda p: p.write_bytes(b""), "not a PNG or JPEG image; give a .png or .jpg cover"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(5 * 1024 * 1024)), "cover file is larger than 5 MB; use a smaller image"),
    (lambda p: p.mkdir(), "is a folder, not a cover file; give a .png or .jpg image"),
])
def test_cover_errors_are_one_line_naming_the_file(tmp_path, make, expected):
    path = tmp_path / "cover.png"
    make(path)
    with pytest.raises(InputError) as info:
        load_cover(path)
    (line,) = info.value.lines()
    assert line.startswith(f"{path}: {expected}")


def test_an_unreadable_cover_is_an_input_error(tmp_path, monkeypatch):
    path = tmp_path / "cover.png"
    path.write_bytes(default_cover()[0])

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("rlsaudio.base.safeio.os.open", refuse)
    with pytest.raises(InputError, match=f"^{path}: cannot read the cover file: Permission denied; check its"):
        load_cover(path)


def test_the_bundled_cover_is_a_small_valid_600px_rgb_png():
    data, mime = default_cover()
    assert mime == "image/png" and len(data) < 60_000
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + body)
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (width, height, depth, colour, interlace) == (600, 600, 8, 2, 0)
    assert len(zlib.decompress(chunks[b"IDAT"])) == height * (1 + 3 * width)
    assert b"IEND" in chunks
