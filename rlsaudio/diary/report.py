"""The page to take to the doctor: N weeks of the diary on one printed A4 page, as one HTML file.

Self-contained: inline CSS and SVG, no script, no font or image to fetch, and a Content
Security Policy that forbids loading anything, so the page shows and prints the same offline
and never calls out. It always fits one page: the chart and the table have bounded sizes
(MAX_TRACK_ROWS sessions, six factors, at most MAX_WEEKS weeks), the notes get the height that
is left and say how many did not fit, and the page's box is clipped to the printable area.

Pure: entries and a period in, HTML out.
"""

from __future__ import annotations

import datetime as dt
from html import escape

from ..base.text import printable
from .chart import chart
from .entry import Entry
from .summary import Mean, Period, Row, Summary, clock, summarise

MAX_WEEKS = 12
PAGE_MM = 297 - 2 * 12  # A4 less the top and bottom margins
USED_MM = 4  # kept free: rounding in the browser must never spill a line onto a second page
LINE_MM = 3.6  # one line of the notes
ROW_MM = 4.3  # one row of the table
NOTE_CHARS = 300  # a longer note is cut, with an ellipsis (and the page shows two lines of it at most)
SHORT_NOTE_CHARS = 50  # fits on one line beside its date even in the widest letters (W)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
CAVEAT = ("This is a personal record, not proof. Nights with and without a session or a factor differ in many "
          "other ways, and over a few weeks a difference can arise by chance: these figures are a starting point "
          "for a conversation, not evidence that anything helps or harms.")

CSS = """
@page { size: A4; margin: 12mm; }
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; }
body { font: 8pt/1.3 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #111; background: #fff;
       -webkit-print-color-adjust: exact; print-color-adjust: exact; }
main { width: 186mm; height: 269mm; overflow: hidden; display: flex; flex-direction: column; }
@media screen { body { background: #e4e4e4; padding: 1px 0; }
                main { margin: 16mm auto; background: #fff; box-shadow: 0 0 0 12mm #fff, 0 1mm 6mm 12mm #aaa; } }
h1 { font-size: 13pt; margin: 0 0 1mm; }
h2 { font-size: 9pt; margin: 2.5mm 0 1mm; }
p { margin: 0 0 1mm; }
.period { color: #333; }
.chart { display: block; margin: 1mm 0; flex: none; }
.chart text { font-family: inherit; }
.chart .legend, .chart .tick-label, .chart .row-label, .chart .empty { font-size: 2.5px; fill: #222; }
.chart .panel { font-size: 2.7px; font-weight: bold; fill: #111; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; flex: none; }
th, td { height: 4.3mm; padding: 0 1.5mm; text-align: right; white-space: nowrap; overflow: hidden;
         text-overflow: ellipsis; line-height: 4.3mm; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 0.3mm solid #555; font-weight: bold; }
tbody tr:nth-child(even) td { background: #f3f3f3; }
td .n { color: #555; font-size: 7pt; }
.caveat { font-style: italic; margin-top: 1.5mm; }
.notes-box { flex: 1 1 auto; overflow: hidden; min-height: 0; }
ol.notes { list-style: none; margin: 0; padding: 0; }
ol.notes li { line-height: 3.6mm; max-height: 7.2mm; margin: 0; overflow: hidden; overflow-wrap: anywhere;
              display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2; line-clamp: 2; }
p.others { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
ol.notes b { font-weight: bold; margin-right: 1.5mm; }
.more { color: #444; font-style: italic; }
"""


def day_label(day: str, year: bool = False) -> str:
    d = dt.date.fromisoformat(day)
    return f"{WEEKDAYS[d.weekday()]} {d.day} {MONTHS[d.month - 1]}" + (f" {d.year}" if year else "")


def _clean(text: str) -> str:
    """Text from the diary, safe for the page: line breaks shown as " / ", controls escaped."""
    return escape(printable(" / ".join(line for line in text.split("\n") if line.strip())))


def _figure(mean: Mean, field: str) -> str:
    if mean.value is None:
        return f'<td class="{field}" data-nights="0">\u2013</td>'
    nights = "1 night" if mean.nights == 1 else f"{mean.nights} nights"
    return (f'<td class="{field}" data-value="{mean.value:.4f}" data-nights="{mean.nights}">{mean.value:.1f} '
            f'<span class="n">({nights})</span></td>')


def _table(summary: Summary) -> str:
    rows: list[Row] = [*summary.tracks, *summary.factors]
    if not rows:
        return "<p>No sessions or factors recorded in these weeks.</p>"
    body = []
    for row in rows:
        kind = "Factor" if row.key.startswith("factor:") else "Session"
        body.append(f'<tr data-row="{escape(row.key)}"><td title="{_clean(row.label)}">{kind}: {_clean(row.label)}'
                    f'</td><td class="nights">{row.nights}</td>' + _figure(row.restless_with, "restless-with")
                    + _figure(row.restless_without, "restless-without") + _figure(row.sleep_with, "sleep-with")
                    + _figure(row.sleep_without, "sleep-without") + "</tr>")
    return ('<table class="averages"><colgroup><col style="width:38%"><col style="width:7%">'
            '<col><col><col><col></colgroup><thead>'
            '<tr><th></th><th></th><th colspan="2" style="text-align:center">Restlessness (10 worst)'
            '</th><th colspan="2" style="text-align:center">Sleep quality (10 best)</th></tr>'
            '<tr><th>Average on the nights with and without</th><th>nights</th><th>with</th><th>without</th>'
            '<th>with</th><th>without</th></tr></thead><tbody>' + "".join(body) + "</tbody></table>")


def _overview(summary: Summary) -> str:
    parts = []
    for mean, words, digits in ((summary.restless, "restlessness averaged {}", 1),
                                (summary.sleep, "sleep quality averaged {}", 1),
                                (summary.minutes_to_sleep, "{} minutes to fall asleep on average", 0),
                                (summary.woke, "woken {} times a night on average", 1)):
        if mean.value is not None:
            parts.append(words.format(f"{mean.value:.{digits}f}") + f" ({_nights(mean.nights)})")
    if summary.onset_median is not None:
        parts.append(f"symptoms began at {clock(summary.onset_median)} (the median of {_nights(summary.onset_nights)})")
    if not parts:
        return ""
    text = "; ".join(parts)
    return f'<p class="overview">{text[0].upper() + text[1:]}.</p>'


def _nights(n: int) -> str:
    return "1 night" if n == 1 else f"{n} nights"


def _notes(entries: tuple[Entry, ...], room_mm: float) -> str:
    notes = [e for e in entries if e.note]
    if not notes:
        return '<p class="more">No notes in these weeks.</p>'
    lines_left = int(room_mm / LINE_MM) - 1  # one line kept for "n more notes"
    items = []
    for entry in notes:
        text = entry.note if len(entry.note) <= NOTE_CHARS else entry.note[:NOTE_CHARS - 1].rstrip() + "\u2026"
        lines = 1 if len(text) <= SHORT_NOTE_CHARS else 2  # a note shows on two lines at most
        if lines > lines_left:
            break
        lines_left -= lines
        items.append(f'<li data-date="{entry.date}"><b>{day_label(entry.date)}</b>{_clean(text)}</li>')
    more = len(notes) - len(items)
    tail = (f'<p class="more">{more} more {"note" if more == 1 else "notes"} did not fit on this page: '
            'rlsaudio diary show lists them all.</p>') if more else ""
    return f'<ol class="notes">{"".join(items)}</ol>{tail}'


def report(entries: list[Entry], end: dt.date, weeks: int) -> str:
    """The HTML page for the `weeks` weeks ending with the night of `end`."""
    period = Period.weeks_ending(end, weeks)
    summary = summarise(entries, period)
    svg, chart_mm = chart(summary)
    days = len(period.days)
    recorded = len(summary.entries)
    overview = _overview(summary)
    table_rows = len(summary.tracks) + len(summary.factors)
    used = (12 + 8 + (7 if overview else 0) + chart_mm + 2 + 6 + (2 + table_rows) * ROW_MM + 11 + 6
            + (4 if summary.hidden_tracks else 0))
    hidden = ""
    if summary.hidden_tracks:
        hidden = ('<p class="more others">Other sessions: ' + _clean("; ".join(summary.hidden_tracks)[:400])
                  + "</p>")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="generator" content="rlsaudio diary report">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Restless legs and sleep diary, {day_label(period.start.isoformat(), True)} to {day_label(period.end.isoformat(), True)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<h1>Restless legs and sleep diary</h1>
<p class="period">{weeks} {"week" if weeks == 1 else "weeks"}: the nights of {day_label(period.start.isoformat(), True)} to {day_label(period.end.isoformat(), True)} \u00b7 {recorded} of {days} nights recorded \u00b7 a night is named by the date of its evening</p>
{overview}
<h2>Each night</h2>
{svg}
<h2>Averages on nights with and without each session and factor</h2>
{_table(summary)}
{hidden}
<p class="caveat">{CAVEAT}</p>
<h2>Notes</h2>
<div class="notes-box">{_notes(summary.entries, PAGE_MM - USED_MM - used)}</div>
</main>
</body>
</html>
"""
