"""The numbers on the doctor's page: the period, averages with and without each routine and factor.

Pure: entries in, figures out. Every average carries the number of nights behind it, and a
night counts for a figure only when it holds that value: a night without a sleep score is not
a night of sleep 0. "Without" a session or factor means the recorded nights of the period that
do not name it; nights with no entry at all count nowhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .entry import FACTOR_LABELS, FACTORS, Entry

MAX_TRACK_ROWS = 6  # sessions shown by name; more are folded into one "other sessions" row
NOON = 12 * 60  # onset times are read on a clock that starts at noon: 01:30 comes after 23:00


@dataclass(frozen=True)
class Period:
    """The nights from `start` to `end`, both included."""

    start: dt.date
    end: dt.date

    @classmethod
    def weeks_ending(cls, end: dt.date, weeks: int) -> "Period":
        return cls(end - dt.timedelta(days=7 * weeks - 1), end)

    @property
    def days(self) -> list[str]:
        n = (self.end - self.start).days + 1
        return [(self.start + dt.timedelta(days=i)).isoformat() for i in range(n)]

    def holds(self, day: str) -> bool:
        return self.start.isoformat() <= day <= self.end.isoformat()


@dataclass(frozen=True)
class Mean:
    """An average and the number of nights behind it (value None when there are none)."""

    value: float | None
    nights: int

    @classmethod
    def of(cls, values) -> "Mean":
        values = [v for v in values if v is not None]
        return cls(sum(values) / len(values) if values else None, len(values))


@dataclass(frozen=True)
class Row:
    """One session or factor: how many nights named it, and the averages with and without it."""

    key: str  # "track:<title>", "factor:<name>" or "other"
    label: str
    nights: int
    restless_with: Mean
    restless_without: Mean
    sleep_with: Mean
    sleep_without: Mean
    dates: tuple[str, ...]  # the nights that name it


@dataclass(frozen=True)
class Summary:
    period: Period
    entries: tuple[Entry, ...]  # the recorded nights of the period, oldest first
    restless: Mean
    sleep: Mean
    minutes_to_sleep: Mean
    woke: Mean
    onset_median: int | None  # minutes after midnight
    onset_nights: int
    tracks: tuple[Row, ...]
    factors: tuple[Row, ...]
    hidden_tracks: tuple[str, ...]  # titles folded into the "other sessions" row


def onset_minutes(onset: str) -> int:
    """Minutes on a clock that starts at noon, so that the nights' times sort as they happen."""
    hours, minutes = onset.split(":")
    value = int(hours) * 60 + int(minutes)
    return value + 24 * 60 if value < NOON else value


def clock(minutes: float) -> str:
    minutes = round(minutes) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _row(key: str, label: str, entries: tuple[Entry, ...], has) -> Row:
    with_ = [e for e in entries if has(e)]
    without = [e for e in entries if not has(e)]
    return Row(key, label, len(with_),
               Mean.of(e.restless for e in with_), Mean.of(e.restless for e in without),
               Mean.of(e.sleep for e in with_), Mean.of(e.sleep for e in without),
               tuple(e.date for e in with_))


def summarise(entries: list[Entry], period: Period) -> Summary:
    nights = tuple(e for e in entries if period.holds(e.date))
    counts: dict[str, int] = {}
    for entry in nights:
        for title in entry.tracks:
            counts[title] = counts.get(title, 0) + 1
    titles = sorted(counts, key=lambda t: (-counts[t], t))
    shown = titles if len(titles) <= MAX_TRACK_ROWS else titles[:MAX_TRACK_ROWS - 1]
    hidden = tuple(t for t in titles if t not in shown)
    tracks = [_row(f"track:{t}", t, nights, lambda e, t=t: t in e.tracks) for t in shown]
    if hidden:
        tracks.append(_row("other", f"Other sessions ({len(hidden)})", nights,
                           lambda e: any(t in hidden for t in e.tracks)))
    factors = [_row(f"factor:{f.name}", FACTOR_LABELS[f.name], nights, lambda e, n=f.name: n in e.factors)
               for f in FACTORS if any(f.name in e.factors for e in nights)]
    onsets = sorted(onset_minutes(e.onset) for e in nights if e.onset)
    median = None
    if onsets:
        mid = len(onsets) // 2
        median = onsets[mid] if len(onsets) % 2 else round((onsets[mid - 1] + onsets[mid]) / 2)
    return Summary(period, nights, Mean.of(e.restless for e in nights), Mean.of(e.sleep for e in nights),
                   Mean.of(e.minutes_to_sleep for e in nights), Mean.of(e.woke for e in nights),
                   median, len(onsets), tuple(tracks), tuple(factors), hidden)
