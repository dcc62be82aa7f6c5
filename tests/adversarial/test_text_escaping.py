"""Text a person or a foreign file gave never changes what a terminal or a text format means:
titles that look blank are refused, control characters are escaped wherever text is shown, and
each format escapes (or refuses) the characters it gives meaning to, in every field."""

import json

import pytest
from places import FAKE_VOICE

from rlsaudio.cli import cli

BLANK_LOOKING = ["\uffa0", "\u3164", "\u115f", "\u1160", "\u2800", "\u034f", "\u17b4", "\u180b"]


def one_line(result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("char", BLANK_LOOKING)
@pytest.mark.parametrize("key", ["title", "author", "album", "step title"])
def test_blank_looking_characters_are_refused_in_files(runner, write, char, key):
    escaped = "\\u" + f"{ord(char):04x}"
    fields = {"title": "T", "author": "A", "album": "B", "step title": "S"}
    fields[key] = f"{escaped}" if key == "title" else f"X{escaped}Y"
    path = write("r.toml", f'title = "{fields["title"]}"\nauthor = "{fields["author"]}"\nalbum = "{fields["album"]}"\n'
                           f'[[steps]]\ntitle = "{fields["step title"]}"\nsay = "Hi."\nhold = 2\n')
    line = one_line(runner.invoke(cli, ["validate", str(path)]))
    assert f"contains a character that shows as blank (U+{ord(char):04X}" in line and line.endswith("; remove it")


@pytest.mark.parametrize("char", BLANK_LOOKING)
@pytest.mark.parametrize("option", ["--artist", "--name"])
def test_blank_looking_characters_are_refused_in_options(runner, tiny, tmp_path, option, char):
    texts = {"--name": "N", "--artist": "A", option: char * 3}
    args = ["playlist", str(tiny), "-o", str(tmp_path / "o"), "--voice", FAKE_VOICE,
            "--name", texts["--name"], "--artist", texts["--artist"]]
    line = one_line(runner.invoke(cli, args))
    assert f"{option}: contains a character that shows as blank (U+{ord(char):04X}" in line
    assert not (tmp_path / "o").exists()


def test_emoji_sequences_and_joiners_stay_allowed(runner, write):
    path = write("r.toml", 'title = "Night \U0001F319\u200d\u2728 \u2764\ufe0f"\n'
                 '[[steps]]\ntitle = "A"\nsay = "Hi."\nhold = 2\n')
    result = runner.invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0, result.output


# --------------------------------------------------------------------------- text from a file, on a terminal

HOSTILE = {
    "title": "\x1b]0;PWNED\x07\x1b[2J evil",
    "artist": "over\rwrite",
    "album": "c1\x9b31m csi",
    "comment": "del\x7f and \u202eright-to-left\u202c and \u2066isolate\u2069",
}
RAW = ["\x1b", "\x07", "\r", "\x9b", "\x7f", "\u202e", "\u2066"]


def hostile_track(runner, write, tmp_path, fmt: str):
    """A built track whose tags a foreign tool then rewrote with terminal escapes and bidi overrides."""
    from rlsaudio.publish.tags import read_tags, write_tags
    from rlsaudio.publish.tags.fields import TrackTags
    from rlsaudio.encode.chapters import ChapterMark

    routine = write("tiny.toml", 'title = "Tiny"\n[[steps]]\ntitle = "A"\nsay = "Hello there."\nhold = 2\n')
    out = tmp_path / "out"
    assert runner.invoke(cli, ["build", str(routine), "-o", str(out), "--voice", FAKE_VOICE, "--format", fmt,
                               "--no-page"]).exit_code == 0
    track = out / f"Tiny.{fmt}"
    old = read_tags(track)
    from rlsaudio.publish.tags import default_cover

    cover, mime = default_cover()
    write_tags(track, TrackTags(title=HOSTILE["title"], artist=HOSTILE["artist"], album=HOSTILE["album"], track=1,
                                track_total=1, genre="Speech", year="2026", comment=HOSTILE["comment"],
                                length_ms=old["length_ms"], cover=cover, cover_mime=mime, transcript="x",
                                chapters=(ChapterMark("chap\x1b[31mter\x85two", 0, old["length_ms"]),),
                                guid="g", session_ms=old["length_ms"]))
    return track


@pytest.mark.parametrize("fmt", ["mp3", "m4b", "opus"])
def test_inspect_escapes_control_characters_in_a_pipe_and_in_json(runner, write, tmp_path, fmt):
    track = hostile_track(runner, write, tmp_path, fmt)
    shown = runner.invoke(cli, ["inspect", str(track)])
    assert shown.exit_code == 0, shown.output
    assert not [ch for ch in RAW + ["\x85"] if ch in shown.stdout], repr(shown.stdout)
    assert "\\x1b]0;PWNED\\x07\\x1b[2J evil" in shown.stdout and "over\\rwrite" in shown.stdout
    if fmt != "m4b":  # an M4B's chapters are a track of their own, written by the encoder: not retagged here
        assert "chap\\x1b[31mter\\x85two" in shown.stdout
    as_json = runner.invoke(cli, ["inspect", "--json", str(track)])
    assert not [ch for ch in RAW + ["\x85"] if ch in as_json.stdout], repr(as_json.stdout)
    data = json.loads(as_json.stdout)  # the escapes decode back to the file's own text
    assert {key: data[key] for key in HOSTILE} == HOSTILE
    if fmt != "m4b":
        assert data["chapters"][0]["title"] == "chap\x1b[31mter\x85two"


def test_inspect_escapes_control_characters_on_a_terminal(runner, write, tmp_path):
    import terminal
    from places import RLSAUDIO

    track = hostile_track(runner, write, tmp_path, "mp3")
    for extra in ([], ["--json"]):
        term = terminal.run([*RLSAUDIO, "inspect", str(track), *extra], timeout=120)
        assert term.status == 0, term.text
        shown = term.output.decode("utf-8")
        assert "PWNED" in shown
        # the pty turns "\n" into "\r\n": no other carriage return, no escape, no C1, no override
        assert not [ch for ch in RAW if ch in shown.replace("\r\n", "\n")], repr(shown)


def test_warnings_that_quote_a_file_name_escape_it(runner, write, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "bad\x9b2J\u202ename.mp3").write_bytes(b"not audio at all")
    routine = write("tiny.toml", 'title = "Tiny"\n[[steps]]\ntitle = "A"\nsay = "Hello."\nhold = 2\n')
    assert runner.invoke(cli, ["build", str(routine), "-o", str(out), "--voice", FAKE_VOICE]).exit_code == 0
    result = runner.invoke(cli, ["feed", str(out), "--base-url", "https://example.org/r/"])
    assert result.exit_code == 0, result.output
    assert "warning: skipped bad\\x9b2J\\u202ename.mp3" in result.stderr
    assert "\x9b" not in result.stderr and "\u202e" not in result.stderr


# --------------------------------------------------------------------------- the formats' own characters

INJECTIONS = {
    "title": "T][00:00.00]INJECTED --> <b>&amp; #2, \"q\" }{",
    "author": "A][ar:evil] <i>",
    "album": "B[al:x]&lt; -->",
    "step title": "S -- > <b>&amp; x --> y ; # = \\\\ end",
    "say": "Hello --> <b>bold</b> & more, \\\"quoted\\\" (brace) #hash = sign.",
}


STEP_TITLE = "S -- > <b>&amp; x --> y ; # = \\ end"  # as the file says it (one backslash)


@pytest.fixture
def injected(runner, write, tmp_path):
    """A playlist of one routine whose every text field tries to inject into a text format."""
    f = INJECTIONS
    write("inj.toml", f'title = "{f["title"].replace(chr(34), chr(92) + chr(34))}"\nauthor = "{f["author"]}"\n'
                      f'album = "{f["album"]}"\n[[steps]]\ntitle = "{f["step title"]}"\nsay = "{f["say"]}"\n'
                      'hold = 1\n[[steps]]\ntitle = "Second"\nsay = "Two."\nhold = 1\n')
    out = tmp_path / "out"
    formats = {}
    for fmt in ("mp3", "m4b"):
        playlist = write(f"{fmt}.toml", f'name = "Al]bum [00:00.00]x, #y"\nartist = "Ar[ti]st, --> <x>"\n'
                                        f'format = "{fmt}"\n[[tracks]]\nroutine = "inj.toml"\n')
        result = runner.invoke(cli, ["playlist", str(playlist), "-o", str(out / fmt), "--voice", FAKE_VOICE])
        assert result.exit_code == 0, result.output
        formats[fmt] = out / fmt
    return formats


def test_lrc_has_only_its_own_tags_and_one_timed_line_per_sentence(injected):
    import re

    (lrc,) = injected["mp3"].glob("*.lrc")
    lines = lrc.read_text("utf-8").splitlines()
    head = [line for line in lines if not re.match(r"\[\d\d:\d\d\.\d\d\]", line)]
    timed = [line for line in lines if re.match(r"\[\d\d:\d\d\.\d\d\]", line)]
    assert [line.split(":")[0] for line in head] == ["[ti", "[ar", "[al", "[length", "[re"]
    for line in head:
        assert line.count("[") == 1 and line.count("]") == 1 and line.endswith("]")
    for line in timed:
        assert line.count("[") == 1 and line.count("]") == 1  # no second time tag anywhere
    cues = next(f for f in injected["mp3"].glob("*.vtt") if not f.name.endswith(".chapters.vtt"))
    assert len(timed) == cues.read_text("utf-8").count(" --> ") and len(timed) > 2  # one line per sentence
    assert timed[0].endswith("]Hello --> <b>bold</b> & more, \"quoted\" (brace) #hash = sign.")
    assert head[0] == "[ti:T)(00:00.00)INJECTED --> <b>&amp; #2, \"q\" }{]"
    assert head[1] == "[ar:Ar(ti)st, --> <x>]"


def test_webvtt_cues_carry_no_markup_and_no_timing_arrow(injected):
    import re

    for vtt in injected["mp3"].glob("*.vtt"):
        blocks = vtt.read_text("utf-8").split("\n\n")
        assert blocks[0] == "WEBVTT"
        for block in blocks[1:]:
            ident, timing, *payload = block.strip("\n").split("\n")
            assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d\d\d --> \d\d:\d\d:\d\d\.\d\d\d", timing)
            assert len(payload) == 1 and "-->" not in payload[0] and "<" not in payload[0]
            assert not re.search(r"&(?!amp;|lt;|gt;)", payload[0])  # every & is an entity
    chapters = next(injected["mp3"].glob("*.chapters.vtt")).read_text("utf-8")
    assert "S -- &gt; &lt;b&gt;&amp;amp; x --&gt; y ; # = \\ end" in chapters


def test_chapters_json_and_tags_keep_the_text_exactly(injected):
    (doc,) = injected["mp3"].glob("*.chapters.json")
    data = json.loads(doc.read_text("utf-8"))
    assert data["title"] == INJECTIONS["title"] and data["author"] == "Ar[ti]st, --> <x>"
    assert [c["title"] for c in data["chapters"]] == [STEP_TITLE, "Second"]


def test_ffmetadata_chapter_titles_round_trip_in_m4b(runner, injected):
    (track,) = injected["m4b"].glob("*.m4b")
    info = json.loads(runner.invoke(cli, ["inspect", "--json", str(track)]).stdout)
    assert [c["title"] for c in info["chapters"]] == [STEP_TITLE, "Second"]


def test_m3u8_lines_are_one_entry_each_with_encoded_paths(injected):
    from urllib.parse import unquote

    for fmt, folder in injected.items():
        (playlist,) = folder.glob("*.m3u8")
        lines = playlist.read_text("utf-8").splitlines()
        assert lines[0] == "#EXTM3U" and len(lines) == 3
        assert lines[1].startswith("#EXTINF:") and lines[1].count("\n") == 0
        assert lines[1].split(",", 1)[1] == f"Ar[ti]st, --> <x> - {INJECTIONS['title']}"
        path = lines[2]
        assert not path.startswith("#") and " " not in path and "#" not in path
        assert (folder / unquote(path)).is_file() and unquote(path).endswith("." + fmt)
