"""The command line through CliRunner: exact output, error text and exit codes."""

import json
import subprocess
import sys

import pytest

from rlsaudio.cli import cli
from rlsaudio.script.routinefile import load_bundled

COMMANDS = ["routines", "validate", "plan", "voices", "build", "playlist", "inspect"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(runner, command):
    for flag in ("-h", "--help"):
        result = runner.invoke(cli, [command, flag])
        assert result.exit_code == 0, result.output
        assert "Example" in result.output
        assert "rlsaudio " + command in result.output


def test_python_dash_m_works():
    out = subprocess.run([sys.executable, "-m", "rlsaudio", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("rlsaudio, version ")


def test_routines_lists_the_bundled_routines_with_their_estimated_length(runner):
    result = runner.invoke(cli, ["routines"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["id", "title", "steps", "length"]
    for line, rid, title in zip(lines[1:], ("acupressure", "foot-reflexology"),
                                ("Acupressure for restless legs", "Reflexology foot massage for restless legs")):
        assert line.startswith(f"{rid} ") and f" {title} " in line
        estimate = runner.invoke(cli, ["plan", rid, "--estimate", "--voice", "joe"]).stdout.splitlines()
        total = estimate[-1].removeprefix("Total ").split(",")[0]  # the plan's own estimated total
        steps = line.split()[-3]
        assert line.split()[-2:] == ["~" + total.split()[0], total.split()[1]], (line, total)
        assert int(steps) == len(load_bundled(rid).steps)  # the file's [[steps]], whatever mode speaks them


def test_validate_ok(runner, write):
    path = write("ok.toml", 'title = "T"\n[[steps]]\ntitle = "A"\nhold = 5\n')
    result = runner.invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0
    assert result.output == f"{path}: ok (routine 'T', 1 steps)\n"


def test_validate_reports_every_problem_and_exits_2(runner, write):
    good = write("good.toml", 'title = "T"\n[[steps]]\ntitle = "A"\npause = 5\n')
    bad = write("calf.toml", '''
        title = "Calf"

        [[steps]]
        title = "A"
        hold = "ten"
        holdd = 3
    ''')
    result = runner.invoke(cli, ["validate", str(good), str(bad), "missing.toml"])
    assert result.exit_code == 2
    assert result.stdout == f"{good}: ok (routine 'T', 1 steps)\n"
    assert result.stderr == (
        f'{bad}:5: steps[0].hold: expected a duration like 10 or "90s", got "ten"\n'
        f'{bad}:6: steps[0].holdd: unknown key; did you mean "hold"?\n'
        "missing.toml: no such TOML file; check the path\n"
    )
    assert "Traceback" not in result.output


def test_plan_json_acupressure(runner, fake_voice):
    result = runner.invoke(cli, ["plan", "acupressure", "--json", "--voice", fake_voice])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"title", "mode", "duration", "session_end", "chapters", "spans", "events"}
    chapters = [c["title"] for c in data["chapters"]]
    hands = [c for c in chapters if c.startswith("Hold the")]
    assert len(hands) == 4
    for point in ["B 40", "GV 26", "GB 20", "GB 21", "GV 20", "K 3", "LU 7", "LV 2", "LV 3", "SP 6", "SP 12", "ST 36"]:
        assert any(c.startswith(point + ":") for c in chapters), point
    assert len([c for c in chapters if c.startswith(("GV 26", "GV 20"))]) == 2  # once each
    assert len([c for c in chapters if c.startswith("B 40")]) == 2  # per side
    assert [c.get("point") for c in data["chapters"] if c["title"].startswith("B 40")] == ["B 40", "B 40"]
    # the four hand holds are two minutes each, measured between their start and end cues
    events = data["events"]
    holds = _timed_spans(events, "Hold.", "And release.")
    assert holds[:4] == pytest.approx([120.0] * 4, abs=0.002)  # JSON seconds are rounded to 1 ms
    assert data["duration"] == pytest.approx(events[-1]["start"] + events[-1]["duration"], abs=0.002)


def test_plan_json_foot_reflexology_heart_point(runner, fake_voice):
    result = runner.invoke(cli, ["plan", "foot-reflexology", "--json", "--voice", fake_voice])
    data = json.loads(result.stdout)
    (heart,) = [c for c in data["chapters"] if "Heart point" in c["title"]]
    events = [e for e in data["events"] if heart["start"] <= e["start"] < heart["end"]]
    holds = [e for e in events if e.get("reason") == "hold"]
    rests = [e for e in events if e.get("reason") == "rest"]
    assert [h["duration"] for h in holds] == [10.0, 10.0, 10.0]
    assert [r["duration"] for r in rests] == [10.0, 10.0]
    assert _timed_spans(events, "Press.", "And release.") == pytest.approx([10.0] * 3, abs=0.001)


def _timed_spans(events, start_text, end_text):
    spans, opened = [], None
    for e in events:
        if e["kind"] == "speech" and e["text"] == start_text:
            opened = e["start"] + e["duration"]
        elif e["kind"] == "speech" and e["text"] == end_text and opened is not None:
            spans.append(e["start"] - opened)
            opened = None
    return spans


def test_plan_table_shows_every_event_of_the_json_plan(runner, write, fake_voice):
    path = write("t.toml", 'title = "Tiny"\n[[steps]]\ntitle = "A"\nsay = "Find it. Then rest."\nhold = 5\n')
    table = runner.invoke(cli, ["plan", str(path), "--voice", fake_voice])
    data = json.loads(runner.invoke(cli, ["plan", str(path), "--voice", fake_voice, "--json"]).stdout)
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0] == "Tiny  (fake voice, massage mode, exact speech lengths)"
    assert lines[1].split() == ["start", "kind", "length", "what"]
    rows = [line.split(None, 3) for line in lines[2:-1]]
    assert len(rows) == len(data["events"])
    for (start, kind, length, what), e in zip(rows, data["events"]):
        assert start == f"{int(e['start']) // 60}:{int(e['start']) % 60:02d}"
        assert kind == e["kind"] and length == f"{e['duration']:.1f}s"
        assert what == e.get("text") or what == e.get("reason") or what == e.get("name")
    assert lines[-1] == f"Total {data['duration']:.1f}s, 1 chapters"


def test_plan_bad_routine_is_one_line_and_exit_2(runner, write):
    path = write("bad.toml", 'title = "T"\n[[steps]]\ntitle = "A"\nhold = -3\n')
    result = runner.invoke(cli, ["plan", str(path)])
    assert result.exit_code == 2
    assert result.stderr == f"{path}:4: steps[0].hold: duration must be more than zero, got -3s\n"


def test_plan_unknown_routine(runner):
    result = runner.invoke(cli, ["plan", "acupresure"])
    assert result.exit_code == 2
    assert result.stderr == 'acupresure: no such routine file or bundled routine; did you mean "acupressure"?\n'
    result = runner.invoke(cli, ["plan", "calf"])
    assert result.exit_code == 2
    assert result.stderr == "calf: no such routine file or bundled routine; bundled: acupressure, foot-reflexology\n"


def test_bad_duration_option(runner):
    result = runner.invoke(cli, ["plan", "acupressure", "--length", "ten"])
    assert result.exit_code == 2
    assert result.stderr == ('cli plan: --length: expected a duration like 10 or "90s", got "ten"; give a length like '
                             "15m (see cli plan -h)\n")
