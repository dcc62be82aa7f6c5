"""The doctor's page in a real Chromium: it prints to exactly one A4 page, its chart shows the known
28-night diary where the values say, its averages are the diary's, and it loads nothing."""

from __future__ import annotations

import base64
import datetime as dt
import re
from statistics import mean

import pytest
from chromium import browser, errors  # noqa: F401  (browser is a fixture)
from click.testing import CliRunner
from nights import ACUPRESSURE, END, REFLEXOLOGY, add_known, known_nights

from rlsaudio.cli import cli
from rlsaudio.diary import FACTORS, Diary
from rlsaudio.diary.summary import onset_minutes

A4_POINTS = (595.0, 842.0)

# Rendered centres (CSS pixels) of every element a selector finds, with its data attributes.
CENTRES = """
return Array.from(document.querySelectorAll(arguments[0])).map(el => {
  const r = el.getBoundingClientRect();
  return {x: r.x + r.width / 2, y: r.y + r.height / 2, top: r.top, bottom: r.bottom,
          data: Object.assign({}, el.dataset)};
});
"""


def write_report(tmp_path, weeks: int = 4, end: dt.date = END):
    out = tmp_path / "doctor.html"
    result = CliRunner().invoke(cli, ["diary", "report", "--weeks", str(weeks), "--end", end.isoformat(),
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def pdf_of(browser) -> bytes:
    printed = browser.driver.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True})
    return base64.b64decode(printed["data"])


def pages(pdf: bytes) -> list[tuple[float, float]]:
    """The size of each page of a PDF, in points (Chromium's PDFs keep pages as plain objects)."""
    count = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))
    boxes = [tuple(float(v) for v in box.split()[2:]) for box in re.findall(rb"/MediaBox\s*\[([^\]]*)\]", pdf)]
    assert count == len(boxes), (count, boxes)
    return boxes


@pytest.fixture
def known_report(tmp_path, browser):
    with Diary.open() as diary:
        add_known(diary)
    path = write_report(tmp_path)
    logs = browser.open(path.as_uri(), ready=False)
    assert errors(logs) == []
    return path


def centres(browser, selector: str) -> list[dict]:
    return browser.js(CENTRES, selector)


def test_the_report_prints_to_exactly_one_a4_page(known_report, browser):
    boxes = pages(pdf_of(browser))
    assert len(boxes) == 1
    assert boxes[0] == pytest.approx(A4_POINTS, abs=1.5)
    assert "@page { size: A4; margin: 12mm; }" in known_report.read_text()


def test_the_chart_puts_each_nights_scores_where_its_values_say(known_report, browser):
    nights = {n["date"]: n for n in known_nights()}
    grid = {int(g["data"]["value"]): g["y"] for g in centres(browser, "line.grid.score")}
    assert sorted(grid) == [0, 2, 4, 6, 8, 10]
    ticks = centres(browser, "line.tick")
    days = [(END - dt.timedelta(days=27 - i)).isoformat() for i in range(28)]
    assert [t["data"]["date"] for t in ticks] == days  # one column per night, in order
    gaps = {round(b["x"] - a["x"], 3) for a, b in zip(ticks, ticks[1:])}
    assert max(gaps) - min(gaps) < 0.05  # equally spaced
    x_of = {t["data"]["date"]: t["x"] for t in ticks}
    for field in ("restless", "sleep"):
        points = centres(browser, f".point.{field}")
        expected = {d: n[field] for d, n in nights.items() if n.get(field) is not None}
        assert {p["data"]["date"]: int(p["data"]["value"]) for p in points} == expected
        for p in points:
            day, value = p["data"]["date"], expected[p["data"]["date"]]
            assert p["x"] == pytest.approx(x_of[day], abs=0.5), (field, day)
            shown = (grid[0] - p["y"]) / (grid[0] - grid[10]) * 10  # read back against the gridlines
            assert shown == pytest.approx(value, abs=0.05), (field, day, value)
    assert len(centres(browser, ".point.restless")) == 26  # two nights with no entry have no mark


def test_the_chart_shows_each_nights_onset_time(known_report, browser):
    grid = sorted((int(g["data"]["minutes"]), g["y"]) for g in centres(browser, "line.grid.onset"))
    (m0, y0), (m1, y1) = grid[0], grid[-1]
    points = centres(browser, ".point.onset")
    expected = {n["date"]: n["onset"] for n in known_nights()}
    assert {p["data"]["date"]: p["data"]["value"] for p in points} == expected
    for p in points:
        minutes = m0 + (p["y"] - y0) / (y1 - y0) * (m1 - m0)
        assert minutes == pytest.approx(onset_minutes(expected[p["data"]["date"]]), abs=3), p


def test_the_chart_marks_the_nights_of_each_session_and_factor(known_report, browser):
    x_of = {t["data"]["date"]: t["x"] for t in centres(browser, "line.tick")}
    for key, field, name in ((f"track:{ACUPRESSURE}", "tracks", ACUPRESSURE),
                             (f"track:{REFLEXOLOGY}", "tracks", REFLEXOLOGY),
                             ("factor:caffeine", "factors", "caffeine"), ("factor:alcohol", "factors", "alcohol"),
                             ("factor:sitting", "factors", "sitting")):
        marks = centres(browser, f'g.row[data-row="{key}"] rect.mark')
        expected = sorted(n["date"] for n in known_nights() if name in n[field])
        assert sorted(m["data"]["date"] for m in marks) == expected and expected, key
        for m in marks:
            assert m["x"] == pytest.approx(x_of[m["data"]["date"]], abs=0.5)
    rows = [g["data"]["row"] for g in centres(browser, "g.row")]
    assert rows == [f"track:{ACUPRESSURE}", f"track:{REFLEXOLOGY}", "factor:caffeine", "factor:alcohol",
                    "factor:sitting"]


def test_the_averages_are_the_diarys_with_the_nights_behind_each(known_report, browser):
    nights = known_nights()
    for key, has in ((f"track:{ACUPRESSURE}", lambda n: ACUPRESSURE in n["tracks"]),
                     ("factor:caffeine", lambda n: "caffeine" in n["factors"])):
        cells = browser.js("return Array.from(document.querySelectorAll(`tr[data-row='${arguments[0]}'] td`))"
                           ".map(td => td.textContent)", key)
        figures = []
        for field in ("restless", "sleep"):
            for side in (True, False):
                values = [n[field] for n in nights if has(n) == side and n.get(field) is not None]
                figures.append(f"{mean(values):.1f} ({len(values)} nights)")
        assert cells[1:] == [str(sum(map(has, nights))), *figures], key
    text = browser.js("return document.body.innerText")
    assert "This is a personal record, not proof." in text
    assert "symptoms began at" in text


def test_notes_are_shown_as_text_and_the_page_loads_nothing(known_report, browser):
    html = known_report.read_text()
    assert "default-src 'none'" in html and "<script" not in html
    assert re.findall(r"https?://[^\"' ]+", html) == ["http://www.w3.org/2000/svg"]  # the SVG namespace only
    assert browser.js("return performance.getEntriesByType('resource').length") == 0
    notes = browser.js("return Array.from(document.querySelectorAll('ol.notes li')).map(li => li.textContent)")
    assert any('=1+1 <b>bold?</b> & "quoted", then / a second line' in note for note in notes)
    assert browser.js("return document.querySelectorAll('main b').length") == len(notes)  # only the dates in bold


def test_a_full_diary_of_12_weeks_still_prints_on_one_page_with_nothing_cut_off(tmp_path, browser):
    with Diary.open() as diary:
        for i in range(84):
            day = END - dt.timedelta(days=i)
            diary.add(day, restless=i % 11, sleep=(i * 5) % 11, onset=f"{(i * 7) % 24:02d}:{i % 60:02d}",
                      minutes_to_sleep=i, woke=i % 9, factors=[f.name for f in FACTORS],
                      tracks=[f"A very long session title number {k} " + "x" * 150 for k in range(i % 10 + 1)],
                      note=f"Night {i}: " + "W" * 1990, today=END)
    path = write_report(tmp_path, weeks=12)
    browser.open(path.as_uri(), ready=False)
    assert len(pages(pdf_of(browser))) == 1
    main = centres(browser, "main")[0]
    box = centres(browser, ".notes-box")[0]
    shown = centres(browser, "ol.notes li")
    assert shown, "no note fitted at all"
    assert all(li["bottom"] <= box["bottom"] + 0.5 for li in shown)  # no note cut at the bottom
    more = centres(browser, ".notes-box p.more")
    assert more and more[0]["bottom"] <= box["bottom"] + 0.5
    assert browser.js("return document.querySelector('.notes-box p.more').textContent").startswith(
        f"{84 - len(shown)} more notes did not fit on this page")
    table = centres(browser, "table.averages")[0]
    assert table["bottom"] <= main["bottom"]
    assert len(centres(browser, "g.row")) == 6 + 6  # five sessions by name, the others folded, six factors
