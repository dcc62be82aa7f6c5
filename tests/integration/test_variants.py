"""Variants of a track and the one --force rule: a --length, --tail or bundled --voice variant has
its own name; replacing a track built as another variant, or a routine file a person edited,
needs --force; the formats of one variant share its sidecars and its page lists them all; names
are checked as the full set of files each track writes."""

import json
import re

import pytest
from places import FAKE_VOICE, routine_text, tiny_routine

from rlsaudio.cli import cli

SIDECARS = [".chapters.json", ".chapters.vtt", ".html", ".lrc", ".vtt"]


def run(runner, *args, code=0):
    result = runner.invoke(cli, [str(a) for a in args])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    return result


def names(folder):
    return sorted(p.name for p in folder.iterdir())


def snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.fixture
def short(write):
    return write("short.toml", routine_text())


# --------------------------------------------------------------------------- names of variants


def test_length_and_tail_variants_get_their_own_names(runner, short, tmp_path):
    out = tmp_path / "out"
    for extra, stem in [([], "Short session"), (["--length", "1m"], "Short session (1 min)"),
                        (["--length", "75s"], "Short session (1m15s)"),
                        (["--mode", "bedtime", "--tail", "40s"], "Short session (bedtime) (40s tail)"),
                        (["--mode", "bedtime", "--tail", "2m", "--length", "3m"],
                         "Short session (bedtime) (3 min) (2 min tail)")]:
        result = run(runner, "build", short, "-o", out, "--voice", FAKE_VOICE, *extra)
        assert result.stdout.startswith(f"{out / stem}.mp3  ")
    stems = {n.rsplit(".", 1)[0] for n in names(out) if n.endswith(".mp3")}
    assert len(stems) == 5  # every variant kept beside the others
    for stem in stems:
        assert all((out / f"{stem}{suffix}").is_file() for suffix in SIDECARS)


@pytest.mark.engine
def test_a_bundled_voice_other_than_the_default_is_named(runner, write, tmp_path):
    from rlsaudio.speech.voices import default_voice_name

    other = "espeak" if default_voice_name() == "joe" else "joe"
    tiny = write("tiny.toml", tiny_routine())
    result = run(runner, "build", tiny, "-o", tmp_path / "out", "--voice", other)
    assert result.stdout.startswith(f"{tmp_path / 'out' / f'Tiny ({other})'}.mp3  ")


# --------------------------------------------------------------------------- the one --force rule


@pytest.mark.parametrize("first, second, difference", [
    ([], ["--no-chime"], "chime true, now false"),
    ([], ["--pacer", "silence"], "pacer tones, now silence"),
    (["--soundscape", "brown"], ["--soundscape", "pink"], "soundscape brown, now pink"),
    ([], ["--voice", "{other_voice}"], "voice fake, now other"),
])
def test_replacing_another_variant_needs_force(runner, short, write, tmp_path, first, second, difference):
    other = write("other.toml", 'engine = "fake"\n')
    out = tmp_path / "out"
    run(runner, "build", short, "-o", out, "--voice", FAKE_VOICE, *first)
    before = snapshot(out)
    args = ["build", short, "-o", out, "--voice", FAKE_VOICE, *[a.format(other_voice=other) for a in second]]
    if "--voice" in second:
        args = ["build", short, "-o", out, "--voice", other]
    refused = run(runner, *args, code=2)
    assert refused.stderr == (f"{out / 'Short session.mp3'}: was built as another variant of this title "
                              f"({difference}); give --force to replace it, or -o another folder\n")
    assert snapshot(out) == before
    run(runner, *args, "--force")
    assert snapshot(out) != before and names(out) == names(tmp_path / "out")


def test_the_same_variant_is_simply_rebuilt(runner, short, tmp_path):
    out = tmp_path / "out"
    run(runner, "build", short, "-o", out, "--voice", FAKE_VOICE, "--no-chime")
    run(runner, "build", short, "-o", out, "--voice", FAKE_VOICE, "--no-chime")
    run(runner, "build", short, "-o", out, "--voice", FAKE_VOICE, "--no-chime", "--format", "m4b")


def test_a_playlist_track_built_as_another_variant_needs_force(runner, short, tmp_path):
    out = tmp_path / "album"
    run(runner, "playlist", short, "--name", "A", "-o", out, "--voice", FAKE_VOICE, "-j", "1")
    before = snapshot(out)
    refused = run(runner, "playlist", short, "--name", "A", "-o", out, "--voice", FAKE_VOICE, "-j", "1",
                  "--no-chime", code=2)
    assert "was built as another variant of this title (chime true, now false); give --force" in refused.stderr
    assert snapshot(out) == before
    run(runner, "playlist", short, "--name", "A", "-o", out, "--voice", FAKE_VOICE, "-j", "1", "--no-chime",
        "--force")


def test_a_composed_track_built_as_another_variant_needs_force(runner, tmp_path):
    out = tmp_path / "out"
    run(runner, "compose", "SP 6", "--hold", "1m", "-o", out, "--voice", FAKE_VOICE)
    before = snapshot(out)
    refused = run(runner, "compose", "SP 6", "--hold", "1m", "-o", out, "--voice", FAKE_VOICE, "--no-chime",
                  code=2)
    assert "was built as another variant of this title (chime true, now false)" in refused.stderr
    assert snapshot(out) == before
    run(runner, "compose", "SP 6", "--hold", "1m", "-o", out, "--voice", FAKE_VOICE, "--no-chime", "--force")


# --------------------------------------------------------------------------- a routine file a person edits


@pytest.mark.parametrize("routine_only", [True, False])
def test_a_composed_routine_file_that_was_edited_is_never_replaced_without_force(runner, tmp_path, routine_only):
    out = tmp_path / "out"
    args = ["compose", "SP 6", "K 3", "--hold", "1m", "-o", out, "--voice", FAKE_VOICE] + \
        (["--routine-only"] if routine_only else [])
    run(runner, *args)
    routine = out / "Acupressure - SP 6, K 3.toml"
    assert routine.read_text().startswith("# Written by rlsaudio (sha256 ")
    run(runner, *args)  # unchanged since written: made again
    edited = routine.read_text() + "# my own note: press more gently on the left\n"
    routine.write_text(edited)
    before = snapshot(out)
    refused = run(runner, *args, code=2)
    assert refused.stderr == (f"{routine}: has been changed since rlsaudio wrote it (or is not rlsaudio's), so it "
                              "is kept; give --force to replace it, or --title for another name\n")
    assert snapshot(out) == before
    run(runner, *args, "--force")
    assert routine.read_text() != edited and routine.read_text().startswith("# Written by rlsaudio")


def test_a_routine_file_of_the_user_s_own_under_that_name_is_kept(runner, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    mine = out / "Acupressure - SP 6.toml"
    mine.write_text('title = "Mine"\n')
    refused = run(runner, "compose", "SP 6", "--routine-only", "-o", out, code=2)
    assert refused.stderr.startswith(f"{mine}: has been changed since rlsaudio wrote it")
    assert mine.read_text() == 'title = "Mine"\n'


def test_the_stamp_tells_an_edit_from_what_rlsaudio_wrote(tmp_path):
    from rlsaudio.base.safeio import changed_since_written, stamped

    path = tmp_path / "r.toml"
    assert not changed_since_written(path)  # nothing there
    text = stamped('title = "A"\n')
    for edit, changed in [(text, False), (text + "\n", True), (text.replace("A", "B"), True),
                          (text.split("\n", 1)[1], True), ("", True)]:
        path.write_text(edit)
        assert changed_since_written(path) is changed, edit


# --------------------------------------------------------------------------- formats share sidecars


def test_the_formats_of_one_variant_share_their_sidecars_and_page(runner, short, tmp_path):
    out = tmp_path / "out"
    for fmt in ("m4b", "mp3", "opus"):
        run(runner, "build", short, "-o", out, "--voice", FAKE_VOICE, "--format", fmt)
    assert names(out) == sorted(["Short session" + s for s in SIDECARS + [".m4b", ".mp3", ".opus"]])
    page = (out / "Short session.html").read_text()
    assert re.search(r'<audio id="audio"[^>]* src="Short%20session\.mp3"', page)  # MP3 first, whatever came last
    links = re.findall(r'<a href="([^"]+)" class="format">([^<]+)</a>', page)
    assert links == [("Short%20session.mp3", "MP3"), ("Short%20session.m4b", "M4B"), ("Short%20session.opus", "Opus")]
    data = json.loads((out / "Short session.chapters.json").read_text())
    assert data["rlsaudio"]["variant"]["mode"] == "massage" and data["chapters"]


def test_feed_titles_are_unique_across_formats_and_variants(runner, short, tmp_path):
    import xml.etree.ElementTree as ET

    out = tmp_path / "out"
    run(runner, "build", short, "-o", out, "--voice", FAKE_VOICE)
    run(runner, "build", short, "-o", out, "--voice", FAKE_VOICE, "--format", "m4b")
    run(runner, "build", short, "-o", out, "--voice", FAKE_VOICE, "--length", "1m")
    run(runner, "feed", out, "--base-url", "https://example.org/r/")
    titles = [i.findtext("title") for i in ET.parse(out / "feed.xml").getroot().iter("item")]
    assert sorted(titles) == ["Short session (1 min)", "Short session (M4B)", "Short session (MP3)"]


def test_unique_titles_fall_back_to_a_number():
    from rlsaudio.publish.feed import FeedTrack, unique_titles

    def track(rel, title):
        return FeedTrack(rel, 1, 0.0, title, "", "", "", None, None, 1000, "", None)

    tracks = [track("a/T.mp3", "T"), track("b/T.mp3", "T"), track("c/T.mp3", "T"), track("U.mp3", "U")]
    assert unique_titles(tracks) == {"a/T.mp3": "T (MP3)", "b/T.mp3": "T (MP3) (2)", "c/T.mp3": "T (MP3) (3)",
                                     "U.mp3": "U"}


# --------------------------------------------------------------------------- every file a track writes


COLLIDING = [("Foo", "Foo.chapters"), ("Night", "night.CHAPTERS"), ("Évening", "E\u0301vening.chapters")]


@pytest.mark.parametrize("first, second", COLLIDING)
def test_two_tracks_of_one_build_that_would_share_any_file_are_refused(runner, write, tmp_path, first, second):
    a, b = write("a.toml", tiny_routine(first)), write("b.toml", tiny_routine(second))
    refused = run(runner, "build", a, b, "-o", tmp_path / "out", "--voice", FAKE_VOICE, code=2)
    assert refused.stderr.startswith(f"{b}: would write ") and "give one of them another title" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("first, second", COLLIDING + [(b, a) for a, b in COLLIDING])
def test_a_track_that_would_replace_another_track_s_file_is_refused(runner, write, tmp_path, first, second):
    out = tmp_path / "out"
    run(runner, "build", write("a.toml", tiny_routine(first)), "-o", out, "--voice", FAKE_VOICE)
    before = snapshot(out)
    refused = run(runner, "build", write("b.toml", tiny_routine(second)), "-o", out, "--voice", FAKE_VOICE, code=2)
    assert " would replace " in refused.stderr and "give it another title, or -o another folder" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1
    assert snapshot(out) == before
