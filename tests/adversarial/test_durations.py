"""One strict duration grammar everywhere a person writes a duration: options, routine and
playlist keys, inline [pauses]. Anything else, a 400-digit number included, is one clear line."""

import pytest
from places import FAKE_VOICE, tiny_routine

from rlsaudio.cli import cli

HUGE = "9" * 400
BAD = ["10m10m", "10s5m", HUGE, HUGE + "s", "1h" + HUGE + "m", "1." + "5" * 400 + "s"]


def one_line(result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize("command, option", [
    (["plan", "{tiny}"], "--length"), (["plan", "{tiny}", "--mode", "bedtime"], "--tail"),
    (["build", "{tiny}"], "--length"), (["compose", "SP 6", "--routine-only"], "--hold"),
    (["compose", "SP 6", "--routine-only"], "--length"),
])
def test_options_refuse_loose_and_huge_durations(runner, tiny, tmp_path, command, option, value):
    args = [a.format(tiny=tiny) for a in command] + [option, value, "--voice", FAKE_VOICE, "-o", str(tmp_path / "o")] \
        if command[0] != "plan" else [a.format(tiny=tiny) for a in command] + [option, value, "--voice", FAKE_VOICE]
    line = one_line(runner.invoke(cli, args))
    assert line.startswith(f"cli {command[0]}: {option}: expected a duration like 10 or \"90s\"")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("value", BAD + ["10m10m", "1m30"])
@pytest.mark.parametrize("key", ["hold", "pause", "massage"])
def test_routine_keys_refuse_loose_and_huge_durations(runner, write, key, value):
    routine = write("r.toml", 'title = "R"\n[[steps]]\ntitle = "A"\nsay = "Hello."\n' + f'{key} = "{value}"\n')
    line = one_line(runner.invoke(cli, ["validate", str(routine)]))
    assert line.startswith(f"{routine}:5: steps[0].{key}: expected a duration like 10 or \"90s\"")


@pytest.mark.parametrize("number", [HUGE, "1e400", "-1e400"])
def test_huge_toml_numbers_are_refused(runner, write, number):
    routine = write("r.toml", f'title = "R"\n[[steps]]\ntitle = "A"\nsay = "Hello."\nhold = {number}\n')
    line = one_line(runner.invoke(cli, ["validate", str(routine)]))
    assert line.startswith(f"{routine}:") and "hold" in line


@pytest.mark.parametrize("value", BAD)
def test_inline_pauses_refuse_loose_and_huge_durations(runner, write, value):
    routine = write("r.toml", f'title = "R"\n[[steps]]\ntitle = "A"\nsay = "Hello. [{value}] There."\n')
    for command in (["validate", str(routine)], ["plan", str(routine), "--voice", FAKE_VOICE]):
        line = one_line(runner.invoke(cli, command))
        assert "inline pause" in line and "is not a duration" in line


@pytest.mark.parametrize("key", ["length", "tail"])
@pytest.mark.parametrize("value", BAD)
def test_playlist_keys_refuse_loose_and_huge_durations(runner, write, key, value):
    write("tiny.toml", tiny_routine())
    playlist = write("p.toml", f'name = "P"\n[[tracks]]\nroutine = "tiny.toml"\nmode = "bedtime"\n{key} = "{value}"\n')
    line = one_line(runner.invoke(cli, ["validate", str(playlist)]))
    assert line.startswith(f"{playlist}:5: tracks[0].{key}: expected a duration like 10 or \"90s\"")


def test_the_same_duration_is_read_alike_everywhere(runner, tiny):
    result = runner.invoke(cli, ["plan", str(tiny), "--voice", FAKE_VOICE, "--mode", "bedtime", "--tail", "1h30m",
                                 "--estimate"])
    assert result.exit_code == 0, result.output
