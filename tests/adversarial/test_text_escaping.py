"""Text a person or a foreign file gave never changes what a terminal or a text format means:
titles that look blank are refused, control characters are escaped wherever text is shown, and
each format escapes (or refuses) the characters it gives meaning to, in every field."""

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
