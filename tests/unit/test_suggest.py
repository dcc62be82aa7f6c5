"""The one "did you mean": keys, routines, voices and points get their suggestions from one place."""

from places import PACKAGE

from rlsaudio.base.suggest import closest, did_you_mean, hint, one_of
from rlsaudio.cli import cli


def test_closest_compares_through_a_key_and_respects_what_is_allowed():
    assert closest("holdd", ["hold", "rest"]) == "hold"
    assert closest("SP-6", ["sp 6", "sp 12"], key=lambda s: s.replace("-", " ").lower()) == "sp 6"
    assert closest("holdd", ["hold"], allow=lambda c: False) is None
    assert did_you_mean("zzz", ["hold"]) is None
    assert hint("zzz", ["a", "b", "c"], one_of) == 'use "a", "b" or "c"'
    assert hint("restt", ["rest"], one_of) == 'did you mean "rest"?'


def test_only_the_suggest_module_compares_names():
    users = [p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if "difflib" in p.read_text()]
    assert users == ["base/suggest.py"]


def test_a_mistyped_routine_and_voice_get_a_suggestion(runner):
    result = runner.invoke(cli, ["plan", "foot-reflexolgy", "--estimate"])
    assert result.exit_code == 2
    assert result.stderr == ('foot-reflexolgy: no such routine file or bundled routine; '
                             'did you mean "foot-reflexology"?\n')
    result = runner.invoke(cli, ["plan", "acupressure", "--estimate", "--voice", "espek"])
    assert result.exit_code == 2
    assert result.stderr == 'espek: unknown voice; did you mean "espeak"?\n'
