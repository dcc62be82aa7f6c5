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
