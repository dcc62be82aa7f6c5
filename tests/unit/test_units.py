import pytest

from rlsaudio.base.units import format_clock, format_length, format_ms, ms_to_samples, parse_duration


@pytest.mark.parametrize(
    "value, ms",
    [
        (10, 10_000), (2.5, 2_500), ("500ms", 500), ("90s", 90_000), ("2m", 120_000),
        ("1m30s", 90_000), ("1h", 3_600_000), ("1h2m3s", 3_723_000), (" 1m 30s ", 90_000),
        ("1.5s", 1_500), ("10", 10_000), (0, 0), ("-5s", -5_000), (-3, -3_000),
    ],
)
def test_parse_duration(value, ms):
    assert parse_duration(value) == ms


@pytest.mark.parametrize("value", ["ten", "", "5 sec", "1m30", True, [10], {"s": 1}, "m", float("nan")])
def test_parse_duration_rejects(value):
    with pytest.raises(ValueError, match='expected a duration like 10 or "90s"'):
        parse_duration(value)


@pytest.mark.parametrize("value, ms", [
    ("1h30m", 5_400_000), ("90s", 90_000), ("1m30s", 90_000), ("500ms", 500), ("1m500ms", 60_500),
    ("1h2m3s4ms", 3_723_004), ("1.5h", 5_400_000), ("0.5m", 30_000), ("2.25", 2_250), ("1 h 30 m", 5_400_000),
    ("999999999999", 999_999_999_999_000), ("0s", 0), ("-0", 0),
])
def test_the_duration_grammar_takes_each_unit_once_largest_first(value, ms):
    assert parse_duration(value) == ms


@pytest.mark.parametrize("value", [
    "10m10m", "10s5m", "1s1h", "30s1m", "5ms1s", "1h1h", "1m30", "1hm", "1.s", ".5s", "1e3", "1e3s", "0x10",
    "1_000", "inf", "nan", "5 sec", "1min", "2hours", "1,5s", "--5s", "+5s", "10m 10m", "1h30m1h",
])
def test_the_duration_grammar_refuses_everything_else(value):
    with pytest.raises(ValueError, match='expected a duration like 10 or "90s"'):
        parse_duration(value)


@pytest.mark.parametrize("value", [
    "9" * 400, "9" * 400 + "s", "1" * 13 + "ms", "1h" + "9" * 400 + "m", "9" * 400 + ".5", "1." + "5" * 400,
    10 ** 400, -10 ** 400, 10 ** 13, 1e300, -1e300, float("inf"), float("-inf"),
])
def test_huge_numbers_are_a_clear_error_never_an_overflow(value):
    with pytest.raises(ValueError, match='expected a duration like 10 or "90s"') as caught:
        parse_duration(value)
    assert len(str(caught.value)) < 200  # one line, the number cut short


def test_negative_lengths_are_shown_with_a_minus_sign_never_wrapped_around():
    assert format_ms(-1000) == "-1s"
    assert format_ms(-90_500) == "-90500ms"
    assert format_ms(-3_600_000) == "-1h"
    assert format_length(-22050) == "-1.0s"
    assert format_length(-22050 * 3725) == "-1h 02m 05s"
    assert format_clock(-22050) == "-0:01"
    assert format_clock(-22050 * 3725) == "-1:02:05"


def test_samples_are_exact_for_whole_milliseconds_at_50ms():
    assert ms_to_samples(1000) == 22050
    assert ms_to_samples(500) == 11025
    assert ms_to_samples(20) == 441


def test_formats():
    assert format_clock(22050 * 75) == "1:15"
    assert format_clock(22050 * 3725) == "1:02:05"
    assert format_length(22050 * 45) == "45.0s"
    assert format_length(22050 * 725) == "12m 05s"
    assert format_ms(90_000) == "1m30s"
    assert format_ms(500) == "500ms"
