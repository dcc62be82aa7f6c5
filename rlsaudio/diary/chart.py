"""The report's chart as plain inline SVG: scores, onset times and the nights of each routine.

Plain SVG rather than a charting library: the page must print on its own, with no script and
no network, and three small panels on one shared axis of nights are a few dozen lines. Units
are millimetres (the viewBox is the printed size). One column per night, shared by every panel,
so that a night's scores, its onset and its sessions stand one above the other.

Each mark carries its night and value (data-date, data-value) and each gridline its value, so
tests can check positions against the data and a reader's tools can read the figures back.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from .entry import Entry
from .summary import Row, Summary, clock, onset_minutes

RESTLESS = "#b3261e"  # red, solid line, round marks
SLEEP = "#1f4e9c"  # blue, dashed line, square marks: told apart in black and white too
TRACK = "#17685f"
FACTOR = "#8a6d3b"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MAX_LABEL_CHARS = 26


@dataclass(frozen=True)
class Geometry:
    """Where each panel sits, in millimetres."""

    nights: int
    rows: int  # sessions and factors marked under the onset panel
    width: float = 186.0
    left: float = 36.0  # labels
    right: float = 2.0
    scores_top: float = 7.0
    scores_height: float = 42.0
    onset_gap: float = 6.0
    onset_height: float = 18.0
    marks_gap: float = 4.0
    row_height: float = 4.0
    axis_height: float = 6.0

    @property
    def step(self) -> float:
        return (self.width - self.left - self.right) / self.nights

    def x(self, night: int) -> float:
        """The centre of a night's column."""
        return self.left + (night + 0.5) * self.step

    def score_y(self, value: float) -> float:
        return self.scores_top + self.scores_height * (1 - value / 10)

    @property
    def onset_top(self) -> float:
        return self.scores_top + self.scores_height + self.onset_gap

    @property
    def marks_top(self) -> float:
        return self.onset_top + self.onset_height + self.marks_gap

    @property
    def axis_top(self) -> float:
        return self.marks_top + self.rows * self.row_height + 1

    @property
    def height(self) -> float:
        return self.axis_top + self.axis_height


def _n(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _text(text: str) -> str:
    return escape(text if len(text) <= MAX_LABEL_CHARS else text[:MAX_LABEL_CHARS - 1] + "\u2026")


def onset_range(summary: Summary) -> tuple[int, int]:
    """The hours the onset panel shows (on the noon clock): whole hours around the data, at least four."""
    times = [onset_minutes(e.onset) for e in summary.entries if e.onset]
    if not times:
        return 18 * 60, 24 * 60
    low, high = min(times) // 60 * 60, -(-max(times) // 60) * 60
    if high - low < 240:
        high = min(low + 240, 36 * 60)
        low = high - 240
    step = _every(high - low) * 60  # the last gridline at the bottom edge, labelled like the others
    return low, min(low + -(-(high - low) // step) * step, 36 * 60)


def _every(span: int) -> int:
    """Hours between the onset panel's labels."""
    hours = span // 60
    return 1 if hours <= 6 else 2 if hours <= 12 else 6


def chart(summary: Summary) -> tuple[str, float]:
    """The SVG and its height in millimetres."""
    days = summary.period.days
    rows = [*summary.tracks, *summary.factors]
    g = Geometry(len(days), len(rows))
    index = {day: i for i, day in enumerate(days)}
    by_day = {e.date: e for e in summary.entries}
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_n(g.width)} {_n(g.height)}" '
             f'width="{_n(g.width)}mm" height="{_n(g.height)}mm" role="img" '
             f'aria-label="Restlessness, sleep quality and onset time for each night">']
    parts += _weeks(g, days)
    parts += _legend(g)
    parts += _scores(g, days, by_day)
    parts += _onsets(g, summary, index)
    parts += _marks(g, rows, index)
    parts += _axis(g, days)
    parts.append("</svg>")
    return "\n".join(parts), g.height


def _weeks(g: Geometry, days: list[str]) -> list[str]:
    out = []
    for week in range(1, len(days) // 7 + 1, 2):
        x = g.left + week * 7 * g.step
        width = min(7, len(days) - week * 7) * g.step
        if width > 0:
            out.append(f'<rect class="week" x="{_n(x)}" y="{_n(g.scores_top)}" width="{_n(width)}" '
                       f'height="{_n(g.axis_top - g.scores_top)}" fill="#f1f1f1"/>')
    return out


def _legend(g: Geometry) -> list[str]:
    y = 3.2
    x = g.left
    return [
        f'<line x1="{_n(x)}" y1="{y}" x2="{_n(x + 6)}" y2="{y}" stroke="{RESTLESS}" stroke-width="0.5"/>',
        f'<circle cx="{_n(x + 3)}" cy="{y}" r="0.9" fill="{RESTLESS}"/>',
        f'<text x="{_n(x + 7.5)}" y="{y + 1}" class="legend">Restlessness (0 none, 10 worst)</text>',
        f'<line x1="{_n(x + 62)}" y1="{y}" x2="{_n(x + 68)}" y2="{y}" stroke="{SLEEP}" stroke-width="0.5" '
        'stroke-dasharray="1.4 0.8"/>',
        f'<rect x="{_n(x + 64.2)}" y="{y - 0.8}" width="1.6" height="1.6" fill="{SLEEP}"/>',
        f'<text x="{_n(x + 69.5)}" y="{y + 1}" class="legend">Sleep quality (0 none, 10 best)</text>',
    ]


def _scores(g: Geometry, days: list[str], by_day: dict[str, Entry]) -> list[str]:
    right = g.width - g.right
    out = [f'<text x="0" y="{_n(g.scores_top + 3)}" class="panel">Scores</text>']
    for value in range(0, 11, 2):
        y = g.score_y(value)
        out.append(f'<line class="grid score" data-value="{value}" x1="{_n(g.left)}" y1="{_n(y)}" x2="{_n(right)}" '
                   f'y2="{_n(y)}" stroke="#bbb" stroke-width="{0.3 if value in (0, 10) else 0.15}"/>')
        out.append(f'<text x="{_n(g.left - 1.2)}" y="{_n(y + 0.9)}" class="tick-label" '
                   f'text-anchor="end">{value}</text>')
    for field, colour, dash in (("restless", RESTLESS, ""), ("sleep", SLEEP, ' stroke-dasharray="1.4 0.8"')):
        run: list[str] = []
        lines, marks = [], []
        for i, day in enumerate(days + [""]):
            value = getattr(by_day[day], field) if day in by_day else None
            if value is None:
                if len(run) > 1:
                    lines.append(f'<polyline class="line {field}" points="{" ".join(run)}" fill="none" '
                                 f'stroke="{colour}" stroke-width="0.5"{dash}/>')
                run = []
                continue
            x, y = g.x(i), g.score_y(value)
            run.append(f"{_n(x)},{_n(y)}")
            if field == "restless":
                marks.append(f'<circle class="point restless" data-date="{day}" data-value="{value}" cx="{_n(x)}" '
                             f'cy="{_n(y)}" r="0.9" fill="{colour}"/>')
            else:
                marks.append(f'<rect class="point sleep" data-date="{day}" data-value="{value}" x="{_n(x - 0.8)}" '
                             f'y="{_n(y - 0.8)}" width="1.6" height="1.6" fill="{colour}"/>')
        out += lines + marks
    return out


def _onsets(g: Geometry, summary: Summary, index: dict[str, int]) -> list[str]:
    low, high = onset_range(summary)
    top = g.onset_top

    def y(minutes: int) -> float:
        return top + g.onset_height * (minutes - low) / (high - low)

    out = [f'<text x="0" y="{_n(top + 3)}" class="panel">Symptoms began</text>']
    every = _every(high - low)
    for minutes in range(low, high + 1, every * 60):
        out.append(f'<line class="grid onset" data-minutes="{minutes}" x1="{_n(g.left)}" y1="{_n(y(minutes))}" '
                   f'x2="{_n(g.width - g.right)}" y2="{_n(y(minutes))}" stroke="#bbb" stroke-width="0.15"/>')
        out.append(f'<text x="{_n(g.left - 1.2)}" y="{_n(y(minutes) + 0.9)}" class="tick-label" '
                   f'text-anchor="end">{clock(minutes)}</text>')
    if not summary.onset_nights:
        out.append(f'<text x="{_n(g.left + 2)}" y="{_n(top + g.onset_height / 2 + 1)}" class="empty">'
                   'no onset times recorded in these weeks</text>')
    for entry in summary.entries:
        if entry.onset:
            out.append(f'<circle class="point onset" data-date="{entry.date}" data-value="{entry.onset}" '
                       f'cx="{_n(g.x(index[entry.date]))}" cy="{_n(y(onset_minutes(entry.onset)))}" r="0.8" '
                       'fill="#333"/>')
    return out


def _marks(g: Geometry, rows: list[Row], index: dict[str, int]) -> list[str]:
    out = []
    size = min(g.row_height - 1.2, max(g.step - 0.5, 0.9))
    for r, row in enumerate(rows):
        top = g.marks_top + r * g.row_height
        colour = FACTOR if row.key.startswith("factor:") else TRACK
        out.append(f'<g class="row" data-row="{escape(row.key)}">')
        out.append(f'<text x="0" y="{_n(top + g.row_height / 2 + 0.9)}" class="row-label">{_text(row.label)}</text>')
        out.append(f'<line x1="{_n(g.left)}" y1="{_n(top + g.row_height)}" x2="{_n(g.width - g.right)}" '
                   f'y2="{_n(top + g.row_height)}" stroke="#ddd" stroke-width="0.15"/>')
        for day in row.dates:
            x = g.x(index[day])
            out.append(f'<rect class="mark" data-date="{day}" x="{_n(x - size / 2)}" '
                       f'y="{_n(top + (g.row_height - size) / 2)}" width="{_n(size)}" height="{_n(size)}" '
                       f'fill="{colour}"/>')
        out.append("</g>")
    return out


def _axis(g: Geometry, days: list[str]) -> list[str]:
    top = g.axis_top
    out = []
    for i, day in enumerate(days):
        x = g.x(i)
        first = i % 7 == 0
        out.append(f'<line class="tick" data-date="{day}" x1="{_n(x)}" y1="{_n(top)}" x2="{_n(x)}" '
                   f'y2="{_n(top + (1.4 if first else 0.7))}" stroke="#555" stroke-width="0.2"/>')
        if first:
            month = MONTHS[int(day[5:7]) - 1]
            out.append(f'<text x="{_n(x)}" y="{_n(top + 4.2)}" class="tick-label" text-anchor="middle">'
                       f'{int(day[8:])} {month}</text>')
    return out
