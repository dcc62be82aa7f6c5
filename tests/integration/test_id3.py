"""ID3 tags, chapters and the .lrc sidecar, read back with mutagen and ffmpeg."""

import subprocess

import pytest
from audio import ffmetadata, ffmpeg
from mutagen.id3 import ID3
from places import small_jpeg

from rlsaudio.base.errors import InputError, TagError
from rlsaudio.encode.chapters import ChapterMark
from rlsaudio.encode.writers import gapless_skip
from rlsaudio.publish.sidecars import lrc
from rlsaudio.publish.tags import TrackTags, default_cover, load_cover, read_tags, write_tags
from rlsaudio.script.timeline import Event, Timeline

TITLES = ["Settle in", "Ätherisches Öl – Fuß", "B 40: behind the knee (right)", "x",
          "A much longer chapter title that goes on and on about the point between the toes", "日本語のタイトル"]


@pytest.fixture
def mp3(tmp_path):
    path = tmp_path / "track.mp3"
    subprocess.run([ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=30:sample_rate=22050",
                    "-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k", str(path)], check=True)
    return path


def tags_for(chapters):
    cover, mime = default_cover()
    return TrackTags(
        title="Calf release", artist="Jane Doe", album="Evening", track=2, track_total=6, length_ms=30_000,
        cover=cover, cover_mime=mime, transcript="Settle in\nLie down.\n\nPress\nPress.", chapters=chapters,
        year="2026", comment="Ten minutes before bed.",
    )


def forty_chapters():
    return tuple(ChapterMark(TITLES[i % len(TITLES)] + f" {i}", i * 700, (i + 1) * 700) for i in range(40))


def test_every_frame_reads_back_with_mutagen(mp3):
    tags = tags_for(forty_chapters())
    write_tags(mp3, tags)
    id3 = ID3(str(mp3))
    assert id3.version == (2, 3, 0)
    assert id3["TIT2"].text == ["Calf release"]
    assert id3["TPE1"].text == ["Jane Doe"]
    assert id3["TALB"].text == ["Evening"]
    assert id3["TRCK"].text == ["2/6"]
    assert id3["TCON"].text == ["Speech"]
    assert str(id3["TDRC"].text[0]) == "2026"
    assert id3["TLEN"].text == ["30000"]
    (comment,) = id3.getall("COMM")
    assert comment.text == ["Ten minutes before bed."] and comment.lang == "eng"
    (cover,) = id3.getall("APIC")
    assert cover.type == 3 and cover.mime == "image/png" and cover.data == tags.cover
    (lyrics,) = id3.getall("USLT")
    assert lyrics.text == tags.transcript
    (toc,) = id3.getall("CTOC")
    assert toc.element_id == "toc" and int(toc.flags) == 3  # top-level | ordered
    chaps = {c.element_id: c for c in id3.getall("CHAP")}
    assert [(chaps[e].sub_frames["TIT2"].text[0], chaps[e].start_time, chaps[e].end_time)
            for e in toc.child_element_ids] == [(c.title, c.start_ms, c.end_ms) for c in tags.chapters]


def test_ffmpeg_lists_the_chapters_in_time_order(mp3):
    chapters = forty_chapters()
    write_tags(mp3, tags_for(chapters))
    blocks = ffmetadata(mp3).split("[CHAPTER]")[1:]
    found = []
    for block in blocks:
        fields = dict(line.split("=", 1) for line in block.strip().splitlines() if "=" in line)
        assert fields["TIMEBASE"] == "1/1000"
        found.append((fields["title"], int(fields["START"]), int(fields["END"])))
    # ffmpeg shifts chapters back by the gapless delay it trims from the audio (~50 ms)
    skip_ms = gapless_skip(mp3) * 1000 / 22050
    assert 40 < skip_ms < 60
    assert found == [(c.title, max(0, round(c.start_ms - skip_ms)), round(c.end_ms - skip_ms)) for c in chapters]


def test_chap_frames_are_saved_in_time_order(mp3):
    """The raw frame order in the file is time order (mutagen sorts by size, then by id)."""
    write_tags(mp3, tags_for(forty_chapters()))
    raw = mp3.read_bytes()
    size = sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(raw[6:10]))  # syncsafe tag size
    tag = raw[10:10 + size]
    elements, start = [], 0
    while (i := tag.find(b"CHAP", start)) != -1:
        elements.append(tag[i + 10: tag.index(b"\0", i + 10)].decode().rstrip("_"))
        start = i + 4
    assert elements == [f"chp{i:04d}" for i in range(40)]


def test_read_tags(mp3):
    write_tags(mp3, tags_for(forty_chapters()))
    info = read_tags(mp3)
    assert (info["title"], info["artist"], info["album"], info["track"], info["year"]) == (
        "Calf release", "Jane Doe", "Evening", "2/6", "2026")
    assert info["has_cover"] and info["cover_mime"] == "image/png"
    assert [c.title for c in info["chapters"]] == [c.title for c in forty_chapters()]


def test_tag_errors_name_the_file(tmp_path):
    missing = tmp_path / "missing.mp3"
    with pytest.raises(TagError, match=f"^{missing}: could not read the tags: "):
        read_tags(missing)
    text = tmp_path / "notes.mp3"
    text.write_text("not audio")
    with pytest.raises(TagError, match=f"^{text}: could not read the tags"):
        read_tags(text)


def test_lrc_sidecar():
    sr = 22050
    events = (Event(0, sr // 2, "silence", reason="gap"), Event(sr // 2, sr, "speech", "Lie down."),
              Event(3 * sr // 2, 61_234 * sr // 1000 - 3 * sr // 2, "silence", reason="pause"),
              Event(61_234 * sr // 1000, sr, "speech", "Press."))
    events += (Event(events[-1].end, 125_400 * sr // 1000 - events[-1].end, "silence", reason="gap"),)
    text = lrc(Timeline("Calf", events, ()), title="Calf", artist="Jane\nDoe", album="Evening")
    assert text == (
        "[ti:Calf]\n[ar:Jane Doe]\n[al:Evening]\n[length: 02:05]\n[re:rlsaudio]\n"
        "[00:00.50]Lie down.\n[01:01.23]Press.\n"
    )


def test_cover_files(tmp_path):
    png = tmp_path / "c.png"
    png.write_bytes(default_cover()[0])
    assert load_cover(png)[1] == "image/png"
    jpg = tmp_path / "c.jpg"
    jpg.write_bytes(small_jpeg())
    assert load_cover(jpg)[1] == "image/jpeg"
    fake = tmp_path / "c.gif"
    fake.write_bytes(b"GIF89a")
    with pytest.raises(InputError) as info:
        load_cover(fake)
    assert info.value.lines() == [f"{fake}: not a PNG or JPEG image; give a .png or .jpg cover"]
    with pytest.raises(InputError) as info:
        load_cover(tmp_path / "none.png")
    assert info.value.lines() == [f"{tmp_path / 'none.png'}: no such cover file; check the path"]


@pytest.mark.parametrize("routine", ["tiny", "short"])
def test_no_chapter_starts_before_zero_once_a_gapless_player_shifts_it(runner, tmp_path, routine, write):
    """mpv and ffmpeg subtract the encoder delay (in samples) from every stored chapter time; the
    stored times are rounded up, so the first chapter is at 0 or later, never "-00:00:00"."""
    from places import FAKE_VOICE, routine_text, tiny_routine

    from rlsaudio.cli import cli

    path = write(f"{routine}.toml", tiny_routine() if routine == "tiny" else routine_text())
    result = runner.invoke(cli, ["build", str(path), "-o", str(tmp_path / "out"), "--voice", FAKE_VOICE])
    assert result.exit_code == 0, result.output
    (mp3,) = (tmp_path / "out").glob("*.mp3")
    skip = gapless_skip(mp3)
    assert skip > 0
    chapters = sorted(ID3(mp3).getall("CHAP"), key=lambda c: c.start_time)
    assert chapters[0].start_time * 22050 >= skip * 1000  # shifted back by the delay: at 0 or later
    assert chapters[0].start_time * 22050 < (skip + 22050 // 1000 + 1) * 1000  # and not later than a ms
    for chapter in chapters:
        assert chapter.start_time * 22050 >= skip * 1000
