"""`rlsaudio app` in headless Chromium, as a person uses it: from a fresh start of the app to a track
built, heard on its page and deleted; the screenshots; the diary's Tonight form; the diary
questions the listen-along page asks when the app serves it (and never from disk).

RLSAUDIO_SCREENSHOTS=docs saves the screenshots where the README shows them; by default they go
to the test's own folder, so the test never writes outside it.
"""

import json
import os
import re
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from appserver import start_app, stop_app, wait_build
from audio import SR, decode, ffmetadata
from chromium import PHONE, browser, errors  # noqa: F401  (browser is a fixture)
from places import tiny_routine

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    running = start_app(tmp_path_factory.mktemp("app"))
    yield running
    stop_app(running)


def ready(browser, url):
    """Open a page and wait (generously: the app may be busy building) until its script is ready."""
    browser.open(url, ready=False)
    browser.wait(lambda: browser.js("return document.documentElement.getAttribute('data-ready')") == "true",
                 f"{url} did not finish loading", 30)
    logs = browser.logs()
    assert errors(logs) == [], logs
    return logs


def select(browser, element_id, value):
    browser.js("var s = document.getElementById(arguments[0]); s.value = arguments[1];"
               "s.dispatchEvent(new Event('change', {bubbles: true}));", element_id, value)


def pick_on_figure(browser, code):
    """Show the point's figure, tap its mark, read what it says, add it."""
    figure = browser.js("return document.querySelector('#point-list button[data-code=\"' + arguments[0] + '\"]') && "
                        "arguments[0]", code)
    assert figure == code
    points = browser.js("return fetch('/api/points').then(r => r.json())")
    target = next(p for p in points["points"] if p["code"] == code)
    select(browser, "figure-choice", target["figure"])
    mark = browser.driver.find_element("css selector", f'#figure .mark[data-code="{code}"]')
    mark.click()
    browser.wait(lambda: not browser.js("return document.getElementById('point-detail').hidden"), "no point details")
    detail = browser.driver.find_element("id", "point-detail").text
    assert target["location"] in detail
    for caution in target["cautions"]:
        assert caution["text"] in detail
    browser.driver.find_element("id", "add-point").click()


def plan_text(browser) -> str:
    return browser.js("return document.getElementById('plan-summary').textContent")


@pytest.mark.slow
def test_from_a_fresh_start_to_a_built_track_and_back(browser, tmp_path_factory):
    app = start_app(tmp_path_factory.mktemp("fresh"))
    try:
        assert not app.out.exists()
        ready(browser, app.url)
        assert browser.js("return location.search") == ""  # the key went from the address bar to the cookie
        assert browser.js("return document.getElementById('make').hidden") is False
        assert browser.js("return document.querySelectorAll('#point-list li').length") > 10
        pick_on_figure(browser, "SP 6")
        pick_on_figure(browser, "K 3")
        assert browser.js("return [...document.querySelectorAll('#chosen li')].length") == 2
        select(browser, "mode", "bedtime")
        select(browser, "voice", "fake")
        browser.driver.find_element("id", "fit").click()
        browser.wait(lambda: int(browser.js("return +document.getElementById('length').max")) > 720,
                     "the slider did not get the plan's range", 30)
        browser.js("var s = document.getElementById('length'); s.value = 720;"
                   "s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change'));")
        browser.wait(lambda: "12:00" in plan_text(browser) and "approximate" not in plan_text(browser),
                     "the exact plan did not show 12:00", 60)
        chapters = browser.js("return [...document.querySelectorAll('#plan-chapters li')].map(l => l.textContent)")
        assert any("SP 6" in c and "(right)" in c for c in chapters) and any("K 3" in c and "(left)" in c for c in chapters)
        assert "pregnant" in browser.js("return document.getElementById('plan-cautions').textContent")
        browser.driver.find_element("id", "build").click()
        seen = set()

        def landed():
            # one script: the app may leave for the track's page between two calls
            value, path = browser.js("const p = document.getElementById('progress');"
                                     "return [p ? p.value : null, location.pathname]")
            if value is not None:
                seen.add(value)
            return path.endswith(".html")

        browser.wait(landed, "the build did not open the track's page", 180)
        browser.wait(lambda: browser.js("return document.documentElement.getAttribute('data-ready')") == "true",
                     "the track's page did not load")
        assert any(0 < p < 1 for p in seen) or len(seen) > 1, seen  # the bar moved while it built
        tracks = list(app.out.glob("*.mp3"))
        assert len(tracks) == 1
        track = tracks[0]
        assert abs(len(decode(track)) / SR - 720.0) <= 0.1
        titles = re.findall(r"^title=(.*)$", ffmetadata(track), re.M)
        for point in ("SP 6", "K 3"):
            for side in ("right", "left"):
                assert sum(t.startswith(point) and t.endswith(f"({side})") for t in titles) == 1, titles
        data = json.loads(browser.js("return document.getElementById('page-data').textContent"))
        assert [(c.get("point"), c.get("side")) for c in data["timeline"]["chapters"] if c.get("point")] == [
            ("SP 6", "right"), ("SP 6", "left"), ("K 3", "right"), ("K 3", "left")]
        # the routine file is offered: in the Library, and it is compose's
        ready(browser, app.base + "#library")
        browser.wait(lambda: browser.js("return document.querySelectorAll('#tracks li').length") == 1, "no track listed")
        routine_link = browser.js("return [...document.querySelectorAll('#tracks a')].find(a => a.textContent == "
                                  "'Routine file').href")
        assert routine_link and app.request("GET", routine_link.split(str(app.port), 1)[1]).body.startswith(b"# ")
        browser.driver.find_element("css selector", "#tracks button.delete").click()
        browser.wait(lambda: browser.js("return document.getElementById('confirm-delete').open"), "no confirmation")
        browser.driver.find_element("id", "confirm-yes").click()
        browser.wait(lambda: browser.js("return document.querySelectorAll('#tracks li').length") == 0,
                     "the track was not deleted")
        assert not track.exists() and not track.with_suffix(".html").exists()
        assert track.with_suffix(".toml").exists()  # the routine file is the user's unless they ask
    finally:
        stop_app(app)


def test_screenshots_in_both_themes_at_phone_and_desktop_sizes(browser, app, tmp_path):
    folder = Path(os.environ.get("RLSAUDIO_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    ready(browser, app.url)
    select(browser, "voice", "fake")
    for code in ("SP 6", "K 3"):
        browser.js("document.querySelector('#point-list button[data-code=\"' + arguments[0] + '\"]').click();"
                   "document.getElementById('add-point').click()", code)
    browser.wait(lambda: "approximate" not in plan_text(browser) and ":" in plan_text(browser), "no plan", 60)
    try:
        for size, metrics in (("phone", PHONE), ("desktop", DESKTOP)):
            browser.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
            for theme in ("light", "dark"):
                browser.js("document.documentElement.setAttribute('data-theme', arguments[0]); window.scrollTo(0, 0)",
                           theme)
                time.sleep(0.2)
                path = folder / f"app-{size}-{theme}.png"
                browser.driver.save_screenshot(str(path))
                assert path.stat().st_size > 10_000
                # everything fits the width: nothing scrolls sideways
                assert browser.js("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    finally:
        browser.phone(False)


def test_keyboard_only_reaches_points_and_build(browser, app):
    ready(browser, app.url)
    from selenium.webdriver.common.keys import Keys

    mark = browser.driver.find_element("css selector", "#figure .mark")
    assert mark.get_attribute("tabindex") == "0"
    mark.send_keys(Keys.ENTER)
    browser.wait(lambda: not browser.js("return document.getElementById('point-detail').hidden"), "Enter did nothing")
    tab = browser.driver.find_element("id", "tab-make")
    tab.send_keys(Keys.ARROW_RIGHT)
    assert browser.js("return document.activeElement.id") == "tab-library"
    assert browser.js("return document.getElementById('library').hidden") is False


def test_the_tonight_form_saves_an_entry(browser, app):
    ready(browser, app.base + "#diary")
    browser.wait(lambda: browser.js("return document.getElementById('d-date').value") != "", "no date", 10)
    browser.js("for (const [id, v] of [['d-restless', 7], ['d-sleep', 3]]) { const s = document.getElementById(id);"
               "s.value = v; s.dispatchEvent(new Event('input')); }")
    browser.driver.find_element("id", "d-minutes").send_keys("25")
    browser.driver.find_element("css selector", ".factor[value='caffeine']").click()
    browser.driver.find_element("id", "d-note").send_keys("Long drive today.")
    browser.driver.find_element("id", "d-save").click()
    browser.wait(lambda: "Saved" in browser.js("return document.getElementById('d-result').textContent"), "not saved")
    night = browser.js("return document.getElementById('d-date').value")
    entry = next(e for e in app.json("GET", "/api/diary")[1]["entries"] if e["date"] == night)
    assert (entry["restless"], entry["sleep"], entry["minutes_to_sleep"]) == (7, 3, 25)
    assert entry["factors"] == ["caffeine"] and entry["note"] == "Long drive today."
    assert "<svg" in browser.js("return document.getElementById('d-chart').innerHTML")


def test_the_page_asks_the_diary_questions_at_the_end_when_the_app_serves_it(browser, app):
    status, up = app.json("POST", "/api/uploads?name=short.toml", tiny_routine("Evening short").encode())
    assert status == 201
    status, job = app.json("POST", "/api/builds", {"upload": up["id"], "voice": "fake"})
    state = wait_build(app, job["id"])
    assert state["state"] == "done", state
    ready(browser, app.url)  # the key cookie
    ready(browser, app.base + state["page"].lstrip("/"))
    browser.wait(lambda: browser.js("return document.documentElement.getAttribute('data-app-diary')") == "ready",
                 "the page did not find the app")
    browser.js("var a = document.getElementById('audio'); a.dispatchEvent(new Event('play'));"
               "a.dispatchEvent(new Event('ended'))")
    browser.wait(lambda: browser.js("return !!document.getElementById('app-diary')"), "no diary questions")
    browser.js("for (const [k, v] of [['restless', 2], ['sleep', 8]]) { const s = document.getElementById('app-diary-' + k);"
               "s.value = v; s.dispatchEvent(new Event('input')); }")
    save = browser.driver.find_element("id", "app-diary-save")
    browser.js("arguments[0].scrollIntoView({block: 'center'})", save)
    save.click()
    browser.wait(lambda: browser.js("return document.getElementById('app-diary').getAttribute('data-saved')") == "true",
                 "not saved")
    diary = app.json("GET", "/api/diary")[1]
    entry = next(e for e in diary["entries"] if e["date"] == diary["last_night"])
    assert entry["restless"] == 2 and entry["sleep"] == 8 and "Evening short" in entry["tracks"]
    # the same page from disk asks nothing
    page = app.out / "Evening short.html"
    browser.open(page.as_uri())
    browser.js("var a = document.getElementById('audio'); a.dispatchEvent(new Event('play'));"
               "a.dispatchEvent(new Event('ended'))")
    time.sleep(0.5)
    assert browser.js("return !!document.getElementById('app-diary') || "
                      "document.documentElement.hasAttribute('data-app-diary')") is False
    assert quote("Evening short") in state["page"]
