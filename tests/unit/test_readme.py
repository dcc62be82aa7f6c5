"""The README shows what the commands print: every quick, deterministic command in a ```text
block runs here and prints exactly the lines shown ("..." stands for lines left out)."""

import re
import shlex

import pytest
from places import ROOT

from rlsaudio.cli import cli

# Commands that answer from the bundled data alone, quickly, the same on every machine.
QUICK = ("routines", "points", "voices")


def shown_commands() -> list[tuple[list[str], list[str]]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```text\n(.*?)```", text, flags=re.S):
        lines = block.rstrip("\n").splitlines()
        starts = [i for i, line in enumerate(lines) if line.startswith("$ rlsaudio ")]
        for n, i in enumerate(starts):
            args = shlex.split(lines[i][len("$ rlsaudio "):])
            end = starts[n + 1] if n + 1 < len(starts) else len(lines)
            if args[0] in QUICK:
                found.append((args, [line for line in lines[i + 1:end] if line.strip()]))
    return found


def matches(expected: list[str], actual: list[str]) -> bool:
    """`expected` line for line, each "..." standing for one or more lines left out."""
    pattern = "\n".join("(?:.*)" if line == "..." else re.escape(line.rstrip()) for line in expected)
    return re.fullmatch(pattern, "\n".join(a.rstrip() for a in actual), flags=re.S) is not None


@pytest.mark.parametrize("args, expected", shown_commands(), ids=[" ".join(a) for a, _ in shown_commands()])
def test_the_readme_shows_what_the_command_prints(runner, args, expected):
    result = runner.invoke(cli, args, prog_name="rlsaudio")
    assert result.exit_code == 0, result.output
    actual = [line for line in result.stdout.splitlines() if line.strip()]
    assert matches(expected, actual), "\n".join(actual)


def test_the_quick_commands_are_all_shown():
    assert {args[0] for args, _ in shown_commands()} == set(QUICK)
