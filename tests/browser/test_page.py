"""The listen-along page, in a real headless Chromium.

Tracks are built with the CLI (fake voice: tones, fast) from routines made for these tests,
and the bundled acupressure routine. What each page shows at a moment is checked against the
plan `rlsaudio plan --json` prints for the same routine and voice: the step, the sentence, the
countdown to the second, the kind of span and its breathing phase, the side, and the point mark.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from chromium import browser, errors  # noqa: F401  (browser is a fixture)
from click.testing import CliRunner
from places import FAKE_VOICE

import rlsaudio
from rlsaudio.cli import cli
from rlsaudio.script.pointfile import bundled_library

MAX_PAGE = 300_000
FAKE = FAKE_VOICE

ROUTINE = '''
title = "Page test"
author = "Test Author"
description = "A short routine for the page tests."

[pace]
inhale = 4
exhale = 6

[[steps]]
title = "Welcome"
say = "Welcome to the page test. Sit comfortably and let your legs rest."

[[steps]]
title = "Breathe"
say = "Breathe with me."
breathe = { cycles = 3 }

[[steps]]
point = "SP 6"
title = "above the inner ankle"
switch = "Now switch to your {side} leg."
say = "Find {point} on your {side} leg."
hold = 60
breathe = true

[[steps]]
point = "heart"
title = "Heart point"
say = "Press the heart point of your left foot."
hold = 8
rest = 5
repeat = 3
'''

TINY = '''
title = "{title}"
[[steps]]
title = "Rub"
say = "Rub your calf gently."
massage = 4
'''

KIND = {"hold": "Hold", "massage": "Massage", "rest": "Rest", "ready": "Get ready", "pause": "Pause"}


# --------------------------------------------------------------------------- building


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Every track the tests look at, built once. The bundled acupressure routine (42 minutes
    of audio) builds in a subprocess meanwhile; `acupressure` waits for it."""
    root = tmp_path_factory.mktemp("page")
    env = {**os.environ, "RLSAUDIO_CACHE": str(root / "cache-acupressure"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(rlsaudio.__file__).parents[1]),
                                                       os.environ.get("PYTHONPATH")]))}
    acupressure = subprocess.Popen([sys.executable, "-m", "rlsaudio", "build", "acupressure", "--voice", FAKE,
                                    "-o", str(root / "acupressure")], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("RLSAUDIO_CACHE", str(root / "cache"))
            routine = write(root, "page-test.toml", ROUTINE)
            tiny1 = write(root, "tiny1.toml", TINY.format(title="Tiny one & <friends>"))
            tiny2 = write(root, "tiny2.toml", TINY.format(title="Tiny two"))
            plan = json.loads(run("plan", str(routine), "--json", "--voice", FAKE))
            bedtime_plan = json.loads(run("plan", str(routine), "--json", "--voice", FAKE, "--mode", "bedtime"))
            acupressure_plan = json.loads(run("plan", "acupressure", "--json", "--voice", FAKE))
            run("build", str(routine), "-o", str(root / "massage"), "--voice", FAKE)
            run("build", str(routine), "-o", str(root / "bedtime"), "--voice", FAKE, "--mode", "bedtime")
            run("playlist", str(tiny1), str(tiny2), "--name", "Page album", "-o", str(root / "album"),
                "--voice", FAKE, "--jobs", "1")
            run("build", str(tiny2), "-o", str(root / "no-page"), "--voice", FAKE, "--no-page")
            run("playlist", str(tiny1), "--name", "No pages", "-o", str(root / "no-page-album"), "--voice", FAKE,
                "--jobs", "1", "--no-page")
        yield Site(root, plan, bedtime_plan, acupressure_plan, acupressure)
    finally:
        if acupressure.poll() is None:
            acupressure.kill()
            acupressure.wait()


class Site:
    def __init__(self, root: Path, plan: dict, bedtime_plan: dict, acupressure_plan: dict, acupressure):
        self.root, self.plan, self.bedtime_plan = root, plan, bedtime_plan
        self.acupressure_plan = acupressure_plan
        self._acupressure = acupressure

    @property
    def page(self) -> Path:
        return self.root / "massage" / "Page test.html"

    @property
    def bedtime_page(self) -> Path:
        return self.root / "bedtime" / "Page test (bedtime).html"

    def acupressure_page(self) -> Path:
        output, _ = self._acupressure.communicate(timeout=120)
        assert self._acupressure.returncode == 0, output
        return self.root / "acupressure" / "Acupressure for restless legs.html"


def url(path: Path, t: float | str | None = None) -> str:
    return path.as_uri() + ("" if t is None else f"#t={t}")


# --------------------------------------------------------------------------- what the plan says


def expected(plan: dict, t: float) -> dict:
    """What the page must show at t, read from the plan: an independent reading of the timeline."""
    chapters = plan["chapters"]
    ci = max([i for i, c in enumerate(chapters) if c["start"] <= t], default=0)
    chapter = chapters[ci]
    span = next((s for s in plan["spans"] if s["start"] <= t < s["end"]), None)
    speech = [e for e in plan["events"] if e["kind"] == "speech" and e["start"] <= t]
    sentence, past = "", False
    if speech:
        last = speech[-1]
        if t < last["start"] + last["duration"]:
            sentence = last["text"]
        elif span is None and last["start"] >= chapter["start"]:
            sentence, past = last["text"], True
    phase = ""
    if span and span.get("inhale"):
        cycle = span["inhale"] + span["exhale"]
        into = t - span["start"]
        if into < math.floor((span["end"] - span["start"]) / cycle + 1e-9) * cycle:
            phase = "Breathe in" if into % cycle < span["inhale"] else "Breathe out"
    countdown = kind = ""
    if span:
        left = math.ceil(span["end"] - t - 1e-6)
        countdown = f"{left // 60}:{left % 60:02d}"
        kind = phase if span["kind"] == "breath" else KIND[span["kind"]]
    side = (span or {}).get("side") or chapter.get("side", "")
    if not side and chapter.get("point"):
        laterality = bundled_library().lookup(chapter["point"]).laterality
        side = laterality if laterality in ("left", "right") else ""  # a one-sided point names its side
    return {"step": chapter["title"], "sentence": sentence, "past": past, "countdown": countdown, "kind": kind,
            "phase": "" if span and span["kind"] == "breath" else phase,
            "side": f"{side.capitalize()} side" if side else ""}


def shown(b) -> dict:
    """What the page shows now."""
    return b.js("""
        const text = id => document.getElementById(id).textContent;
        const marks = [...document.querySelectorAll('svg.figure:not([hidden]) .mark')];
        const svg = document.querySelector('svg.figure:not([hidden])');
        return {time: parseFloat(document.documentElement.getAttribute('data-time')),
                step: text('step'), sentence: text('sentence'),
                past: document.getElementById('sentence').classList.contains('past'),
                countdown: text('countdown'), kind: text('kind'), phase: text('phase'), side: text('side'),
                cautions: document.getElementById('cautions').hidden ? '' : text('cautions'),
                figure: document.getElementById('diagram').hidden || !svg ? '' : svg.getAttribute('data-figure'),
                mirrored: svg ? svg.getAttribute('data-mirrored') : '',
                marks: marks.map(m => ({point: m.getAttribute('data-point'), x: parseFloat(m.getAttribute('data-x')),
                                        y: parseFloat(m.getAttribute('data-y')),
                                        width: m.getBoundingClientRect().width})),
                playing: !document.getElementById('audio').paused};
    """)


def go(b, t: float | str) -> dict:
    """Open the moment t (seconds, or "MM:SS.ss") with a deep link on the page already loaded."""
    b.js("location.hash = arguments[0]", f"t={t}")
    seconds = t if isinstance(t, (int, float)) else sum(float(p) * 60 ** i for i, p in enumerate(t.split(":")[::-1]))
    b.wait(lambda: abs(b.js("return parseFloat(document.documentElement.getAttribute('data-time'))")
                       - seconds) < 1e-3, f"the page did not move to {t}")
    return shown(b)


def check_moment(b, plan: dict, t: float) -> dict:
    state = go(b, round(t, 3))
    want = expected(plan, round(t, 3))
    got = {key: state[key] for key in want}
    assert got == want, f"at {t:.3f}s"
    return state


def span_of(plan: dict, kind: str, n: int = 0, **where) -> dict:
    found = [s for s in plan["spans"] if s["kind"] == kind and all(s.get(k) == v for k, v in where.items())]
    return found[n]


def chapter(plan: dict, title: str) -> dict:
    return next(c for c in plan["chapters"] if c["title"] == title)


# --------------------------------------------------------------------------- without a browser


def embedded(path: Path) -> dict:
    match = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', path.read_text("utf-8"),
                      re.DOTALL)
    assert match
    return json.loads(match.group(1))


def test_the_page_embeds_the_plan_and_each_point_it_names(site):
    data = embedded(site.page)
    assert data["timeline"] == site.plan  # the same data as `plan --json`: what is shown is what is heard
    library = bundled_library()
    assert set(data["points"]) == {"SP 6", "heart"}
    sp6 = data["points"]["SP 6"]
    assert sp6["spoken"] == "Spleen 6" and sp6["location"] == library.lookup("SP 6").location
    assert sp6["cautions"] == ["Skip this point if you are pregnant."]
    for side in ("right", "left"):
        placement = library.placement("SP 6", side)
        assert sp6["places"][side] == [{"figure": "leg-inner", "x": placement.x, "y": placement.y,
                                        "mirrored": placement.mirrored}]
    assert sp6["places"]["left"][0]["mirrored"] and not sp6["places"]["right"][0]["mirrored"]
    assert data["points"]["heart"]["places"]["any"][0]["figure"] == "soles"
    html = site.page.read_text("utf-8")
    assert html.count('data-figure="leg-inner"') == 1 and html.count('data-figure="soles"') == 1
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing from the network
    assert "Page test.mp3" not in html and "Page%20test.mp3" in html


def test_every_page_is_small_and_no_page_means_none(site):
    pages = sorted(p for p in site.root.rglob("*.html") if "acupressure" not in p.parts)  # checked below
    assert sorted(p.relative_to(site.root).as_posix() for p in pages) == [
        "album/01 - Tiny one & - friends.html", "album/02 - Tiny two.html", "album/index.html",
        "bedtime/Page test (bedtime).html", "massage/Page test.html"]
    for page in pages:
        assert page.stat().st_size < MAX_PAGE, page
    assert not list((site.root / "no-page").glob("*.html")) and list((site.root / "no-page").glob("*.mp3"))
    assert not list((site.root / "no-page-album").glob("*.html"))
    assert list((site.root / "no-page-album").glob("*.m3u8"))


def test_foot_reflexology_page_is_small():
    from rlsaudio.plan import TrackRequest, plan_track
    from rlsaudio.publish.page import page_html
    from rlsaudio.publish.render import speak
    from rlsaudio.system.cache import Cache
    from rlsaudio.system.progress import Quiet

    plan = plan_track(TrackRequest("foot-reflexology", FAKE))
    timeline = plan.timeline(speak(plan, Cache(), Quiet()).length)
    html = page_html(timeline, plan.library, title=plan.title, artist="a", album="b", audio_href="x.mp3",
                     mode="massage")
    assert len(html.encode("utf-8")) < MAX_PAGE


# --------------------------------------------------------------------------- in the browser


def test_loads_from_file_without_errors_and_finds_its_audio(site, browser):
    assert errors(browser.open(url(site.page))) == []
    browser.wait(lambda: browser.js("return document.getElementById('audio').readyState") >= 1,
                 "the audio beside the page did not load")
    audio_seconds = browser.js("return document.getElementById('audio').duration")
    assert abs(audio_seconds - site.plan["duration"]) < 0.2
    assert browser.js("return document.title") == "Page test"
    state = shown(browser)
    assert state["step"] == "Welcome" and not state["playing"] and state["time"] == 0
    buttons = browser.js("return [...document.querySelectorAll('button')].filter(b => b.offsetParent)"
                         ".map(b => b.getAttribute('aria-label') || b.textContent.trim())")
    assert {"Play", "Previous step", "Next step"} <= set(buttons) and all(buttons)
    roles = browser.js("return [...document.querySelectorAll('[role=status],[role=timer],[aria-live]')]"
                       ".map(e => e.id)")
    assert {"now", "timer"} <= set(roles)


def test_deep_links_show_that_moment(site, browser):
    plan = site.plan
    browser.open(url(site.page))
    hold = span_of(plan, "hold", side="right", point="SP 6")
    assert hold["end"] - hold["start"] == pytest.approx(60, abs=0.001) and hold["inhale"] == 4 and hold["exhale"] == 6

    # Inside the hold, breathing in, then out: the countdown is to the second.
    state = check_moment(browser, plan, hold["start"] + 12.5)
    assert (state["kind"], state["phase"], state["countdown"], state["side"]) == ("Hold", "Breathe in", "0:48",
                                                                                  "Right side")
    assert state["step"] == "SP 6: above the inner ankle (right)"
    assert state["cautions"] == "\u26a0\ufe0e Skip this point if you are pregnant."
    assert state["figure"] == "leg-inner" and state["mirrored"] == "false"
    assert [(m["point"], m["x"], m["y"]) for m in state["marks"]] == [("SP 6", 146, 242)]
    assert state["marks"][0]["width"] > 0
    state = check_moment(browser, plan, hold["start"] + 17.5)
    assert (state["kind"], state["phase"], state["countdown"]) == ("Hold", "Breathe out", "0:43")
    assert browser.js("return document.querySelector('[data-point=\"SP 6\"]') !== null")

    # A rest between the heart point's presses: left foot only, on the soles.
    rest = span_of(plan, "rest", point="heart")
    state = check_moment(browser, plan, rest["start"] + 2.5)
    assert (state["kind"], state["countdown"], state["side"]) == ("Rest", "0:03", "Left side")
    assert state["figure"] == "soles" and [m["point"] for m in state["marks"]] == ["heart"]
    assert state["cautions"] == "\u26a0\ufe0e " + bundled_library().cautions["feet"].text  # feet with less feeling

    # The breathing exercise: breathe in, then out, with the exercise's time left.
    breath = span_of(plan, "breath")
    state = check_moment(browser, plan, breath["start"] + 2)
    assert (state["kind"], state["countdown"]) == ("Breathe in", "0:28")
    state = check_moment(browser, plan, breath["start"] + 16.5)
    assert (state["kind"], state["countdown"]) == ("Breathe out", "0:14")
    assert state["figure"] == ""  # a step without a point draws none

    # A spoken sentence, given as MM:SS.decimals.
    welcome = next(e for e in plan["events"] if e["kind"] == "speech" and e["text"].startswith("Welcome"))
    t = welcome["start"] + welcome["duration"] / 2
    state = go(browser, f"{int(t // 60):02d}:{t % 60:06.3f}")
    assert abs(state["time"] - round(t, 3)) < 1e-3
    assert state["sentence"] == welcome["text"] and not state["past"] and state["countdown"] == ""

    # Just after the switch to the left side: the drawing is mirrored, the mark where the left is.
    left = chapter(plan, "SP 6: above the inner ankle (left)")
    state = check_moment(browser, plan, left["start"] + 0.2)
    assert state["sentence"] == "Now switch to your left leg."
    assert state["figure"] == "leg-inner" and state["mirrored"] == "true"
    placement = bundled_library().placement("SP 6", "left")
    assert [(m["point"], m["x"], m["y"]) for m in state["marks"]] == [("SP 6", placement.x, placement.y)]

    # Moments all through the track agree with the plan.
    for i in range(1, 40):
        check_moment(browser, plan, plan["duration"] * i / 40 + 0.137)
    assert errors(browser.logs()) == []


def test_playing_moves_the_display_on(site, browser):
    browser.open(url(site.page))
    assert shown(browser)["sentence"] == ""
    # The massage theme keeps the screen on while playing, where the browser can.
    browser.js("""window.locks = [];
        Object.defineProperty(navigator, 'wakeLock', {configurable: true, value: {request: kind => {
            const lock = {kind, released: false, addEventListener() {},
                          release() { this.released = true; return Promise.resolve(); }};
            window.locks.push(lock);
            return Promise.resolve(lock);
        }}});""")
    browser.driver.find_element("id", "play").click()
    browser.wait(lambda: browser.js("return parseFloat(document.documentElement.getAttribute('data-time'))") > 1.3,
                 "playing did not move the page on", timeout=8)
    state = shown(browser)
    assert state["playing"] and state["sentence"]
    assert {k: state[k] for k in ("step", "sentence")} == {k: expected(site.plan, state["time"])[k]
                                                          for k in ("step", "sentence")}
    audio_time = browser.js("return document.getElementById('audio').currentTime")
    assert abs(audio_time - state["time"]) < 0.5
    assert browser.js("return document.getElementById('play').getAttribute('aria-label')") == "Pause"
    assert browser.js("return window.locks.map(l => [l.kind, l.released])") == [["screen", False]]
    browser.driver.find_element("id", "play").click()
    browser.wait(lambda: not shown(browser)["playing"], "the pause button did not pause")
    browser.wait(lambda: browser.js("return window.locks.map(l => l.released)") == [True], "the wake lock stayed")

    # With vibration on, crossing the start of a hold while playing vibrates once.
    hold = span_of(site.plan, "hold", side="right")
    browser.js("window.vibrations = []; navigator.vibrate = p => { window.vibrations.push(p); return true; };")
    browser.driver.find_element("id", "vibrate").click()
    assert browser.driver.find_element("id", "vibrate").get_attribute("aria-pressed") == "true"
    go(browser, round(hold["start"] - 0.4, 3))
    browser.driver.find_element("id", "play").click()
    browser.wait(lambda: shown(browser)["time"] > hold["start"] + 0.2, "playing did not reach the hold", timeout=8)
    browser.driver.find_element("id", "play").click()
    assert browser.js("return window.vibrations") == [60, [200]]
    assert errors(browser.logs()) == []


def test_chapter_taps_and_keys_seek(site, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    plan = site.plan
    browser.open(url(site.page))
    buttons = browser.driver.find_elements("css selector", "#chapters button")
    titles = browser.js("return [...document.querySelectorAll('#chapters button .n')].map(n => n.textContent)")
    assert titles == [c["title"] for c in plan["chapters"]]
    target = chapter(plan, "SP 6: above the inner ankle (right)")
    buttons[2].click()
    state = shown(browser)
    assert state["time"] == target["start"] and state["step"] == target["title"] and not state["playing"]
    assert buttons[2].get_attribute("aria-current") == "step"
    keys = ActionChains(browser.driver)
    keys.send_keys(Keys.ARROW_RIGHT).perform()
    assert shown(browser)["step"] == plan["chapters"][3]["title"]
    keys.send_keys(Keys.ARROW_LEFT).perform()
    assert shown(browser)["step"] == plan["chapters"][2]["title"]
    keys.send_keys(" ").perform()
    browser.wait(lambda: shown(browser)["playing"], "space did not play")
    keys.send_keys(" ").perform()
    browser.wait(lambda: not shown(browser)["playing"], "space did not pause")
    assert errors(browser.logs()) == []


def rgb(css: str) -> tuple[float, ...]:
    return tuple(float(v) for v in re.findall(r"[\d.]+", css)[:3])


def luminance(color: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in color)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


# Each visible text element's colour and the first opaque background behind it.
COLOURS = """
    const out = [];
    const background = el => {
        for (; el; el = el.parentElement) {
            const bg = getComputedStyle(el).backgroundColor;
            if (bg && !bg.startsWith('rgba(0, 0, 0, 0)') && bg !== 'transparent') return bg;
        }
        return getComputedStyle(document.documentElement).backgroundColor;
    };
    for (const el of document.querySelectorAll('h1,h2,p,span,button,a,li,strong,figcaption')) {
        const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
        if (!own || !el.getClientRects().length) continue;
        out.push([el.id || el.className || el.tagName, getComputedStyle(el).color, background(el)]);
    }
    return out;
"""


def test_themes_bedtime_dark_and_warm_massage_readable(site, browser, tmp_path_factory, capsys):
    hold = span_of(site.bedtime_plan, "hold", side="right")
    moment = round(hold["start"] + 21.3, 3)
    # Before any script runs, the bedtime page is already dark: no white flash.
    bare_page = tmp_path_factory.mktemp("no-script") / "page.html"
    bare_page.write_text(re.sub(r"<script\b.*?</script>", "", site.bedtime_page.read_text("utf-8"), flags=re.DOTALL),
                         encoding="utf-8")
    browser.open(url(bare_page), ready=False)
    colours = browser.js("return [getComputedStyle(document.documentElement).backgroundColor,"
                         " getComputedStyle(document.body).backgroundColor, document.scripts.length]")
    assert colours[2] == 0
    for colour in colours[:2]:
        assert luminance(rgb(colour)) < 0.02, colours

    shots = tmp_path_factory.mktemp("screenshots")
    browser.phone(True)
    try:
        assert errors(browser.open(url(site.bedtime_page, moment))) == []
        assert browser.js("return document.documentElement.getAttribute('data-theme')") == "bedtime"
        state = shown(browser)
        assert state["countdown"] == expected(site.bedtime_plan, moment)["countdown"]
        background = rgb(browser.js("return getComputedStyle(document.body).backgroundColor"))
        assert luminance(background) < 0.02 and background[0] > background[2]  # dark and warm
        for name, colour, behind in browser.js(COLOURS):
            c, bg = rgb(colour), rgb(behind)
            assert luminance(bg) < 0.05, (name, behind)  # nothing bright anywhere
            assert c[0] >= c[2], (name, colour)  # warm text, no blue
            assert 4.5 <= contrast(c, bg) < 10, (name, colour, behind)  # dim, not glaring, still legible (WCAG AA)
        bedtime_png = shots / "page-bedtime.png"
        browser.driver.save_screenshot(str(bedtime_png))

        browser.driver.find_element("id", "theme").click()
        assert browser.js("return document.documentElement.getAttribute('data-theme')") == "massage"
        assert errors(browser.open(url(site.page, round(span_of(site.plan, "hold", side="right")["start"] + 21.3,
                                                        3)))) == []
        assert browser.js("return document.documentElement.getAttribute('data-theme')") == "massage"
        pairs = browser.js(COLOURS)
        assert len(pairs) > 15
        for name, colour, behind in pairs:
            assert contrast(rgb(colour), rgb(behind)) >= 4.5, (name, colour, behind)
        step_px = float(browser.js("return getComputedStyle(document.getElementById('step')).fontSize")[:-2])
        count_px = float(browser.js("return getComputedStyle(document.getElementById('countdown')).fontSize")[:-2])
        assert step_px >= 32 and count_px >= 48  # readable at arm's length
        massage_png = shots / "page-massage.png"
        browser.driver.save_screenshot(str(massage_png))
    finally:
        browser.phone(False)
    for png in (bedtime_png, massage_png):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with capsys.disabled():
        print(f"\nscreenshots: {bedtime_png} {massage_png}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_works_from_a_plain_static_server(site, browser):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(site.page.parent)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the static server did not start"
                time.sleep(0.05)
        hold = span_of(site.plan, "hold", side="right")
        t = round(hold["start"] + 30.5, 3)
        logs = browser.open(f"http://127.0.0.1:{port}/{quote(site.page.name)}#t={t}")
        assert errors(logs) == []
        state = shown(browser)
        assert {k: state[k] for k in ("step", "countdown", "kind")} == {
            "step": "SP 6: above the inner ankle (right)", "countdown": "0:30", "kind": "Hold"}
        assert [m["point"] for m in state["marks"]] == ["SP 6"]
        browser.wait(lambda: browser.js("return document.getElementById('audio').readyState") >= 1,
                     "the audio did not load from the server")
        assert errors(browser.logs()) == []
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_album_index_links_each_track_page(site, browser):
    folder = site.root / "album"
    index = folder / "index.html"
    assert errors(browser.open(url(index), ready=False)) == []
    links = browser.js("return [...document.querySelectorAll('a.page')].map(a => [a.textContent, a.href])")
    titles = [text for text, _ in links]
    assert titles == ["Tiny one & <friends>", "Tiny two"]
    audio = browser.js("return [...document.querySelectorAll('a.audio')].map(a => a.href)")
    m3u8 = (folder / "Page album.m3u8").read_text("utf-8").splitlines()
    assert [unquote(a.rsplit("/", 1)[1]) for a in audio] == [unquote(line) for line in m3u8 if not line.startswith("#")]
    for (title, href), sound in zip(links, audio):
        page = Path(unquote(href.removeprefix("file://")))
        assert page.parent == folder and page.suffix == ".html" and page.exists()
        assert page.stem == Path(unquote(sound)).stem
    browser.driver.find_element("css selector", "a.page").click()
    browser.wait(lambda: browser.js("return document.documentElement.getAttribute('data-ready')") == "true",
                 "the track page did not open from the index")
    assert browser.js("return document.getElementById('title').textContent") == "Tiny one & <friends>"
    assert errors(browser.logs()) == []


def test_bundled_acupressure_at_the_sp6_hold(site, browser):
    page = site.acupressure_page()
    assert page.stat().st_size < MAX_PAGE
    plan = site.acupressure_plan
    assert embedded(page)["timeline"] == plan
    library = bundled_library()
    assert errors(browser.open(url(page))) == []
    for side in ("right", "left"):
        step = chapter(plan, f"SP 6: above the inner ankle ({side})")
        span = next(s for s in plan["spans"] if step["start"] <= s["start"] < step["end"])
        state = check_moment(browser, plan, (span["start"] + span["end"]) / 2 + 0.4)
        assert state["step"] == step["title"] and state["countdown"] == "0:30" and state["kind"] == "Massage"
        assert state["figure"] == "leg-inner" and "pregnant" in state["cautions"]
        placement = library.placement("SP 6", side)
        assert [(m["point"], m["x"], m["y"]) for m in state["marks"]] == [("SP 6", placement.x, placement.y)]
        assert state["mirrored"] == ("true" if side == "left" else "false")
        # On screen: the mark sits on the inside of the leg, just above the ankle bone, and the
        # drawing turns with it: right leg, the ankle bone right of the mark; left leg, left of it.
        mark, bone, text = browser.js("""
            const svg = document.querySelector('svg.figure[data-figure="leg-inner"]');
            const c = r => [(r.left + r.right) / 2, (r.top + r.bottom) / 2];
            return [c(svg.querySelector('.mark .dot').getBoundingClientRect()),
                    c(svg.querySelector('.drawing circle').getBoundingClientRect()),
                    getComputedStyle(svg.querySelector('.drawing .labels text')).transform];
        """)
        assert mark[1] < bone[1]  # above the ankle bone
        assert (bone[0] > mark[0]) == (side == "right")
        assert text == ("matrix(-1, 0, 0, 1, 0, 0)" if side == "left" else "none")  # labels read left to right
    assert errors(browser.logs()) == []


# --------------------------------------------------------------------------- a phone, a keyboard


def _box(b, selector: str) -> dict:
    return b.js("const r = document.querySelector(arguments[0]).getBoundingClientRect();"
                "return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width, height: r.height}",
                selector)


@pytest.mark.parametrize("theme", ["massage", "bedtime"])
def test_the_page_at_390_pixels(site, browser, theme):
    """No empty ring when nothing is timed; during a hold the ring sits beside the figure; the
    figure's labels are at least 10 px tall on screen; the title and subtitle are never cut."""
    page, plan = (site.page, site.plan) if theme == "massage" else (site.bedtime_page, site.bedtime_plan)
    hold = span_of(plan, "hold", side="right")
    browser.phone(True)
    try:
        assert errors(browser.open(url(page, round(hold["start"] - 0.5, 3)))) == []  # the cue before the hold
        assert browser.js("return getComputedStyle(document.getElementById('timer')).display") == "none"
        assert errors(browser.open(url(page, round(hold["start"] + 3.2, 3)))) == []
        ring, figure = _box(browser, "#timer"), _box(browser, "svg.figure:not([hidden])")
        assert ring["width"] > 60 and figure["width"] > 150
        assert ring["right"] <= figure["left"] + 1  # side by side: no gap of a screen between them
        assert ring["top"] < figure["bottom"] and figure["top"] < ring["bottom"]
        heights = browser.js("return [...document.querySelectorAll('svg.figure:not([hidden]) text')]"
                             ".map(t => t.getBoundingClientRect().height)")
        assert heights and min(heights) >= 10, heights
        overflow = browser.js("""return [...document.querySelectorAll('.top h1, .top .sub, #step')]
            .map(el => [el.className || el.id, el.scrollWidth - el.clientWidth, getComputedStyle(el).textOverflow])""")
        assert all(extra <= 1 and cut != "ellipsis" for _, extra, cut in overflow), overflow
    finally:
        browser.phone(False)


def test_keyboard_play_is_the_first_stop_and_the_seek_bar_moves_five_seconds(site, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    assert errors(browser.open(url(site.page, 30))) == []
    ActionChains(browser.driver).send_keys(Keys.TAB).perform()
    assert browser.js("return document.activeElement.id") == "play"
    seek = browser.driver.find_element("id", "seek")
    seek.send_keys(Keys.ARROW_RIGHT)
    assert abs(shown(browser)["time"] - 35) < 0.01
    seek.send_keys(Keys.ARROW_LEFT, Keys.ARROW_LEFT)
    assert abs(shown(browser)["time"] - 25) < 0.01
    seek.send_keys(Keys.PAGE_UP)
    assert abs(shown(browser)["time"] - 85) < 0.01
    seek.send_keys(Keys.HOME)
    assert shown(browser)["time"] == 0


def test_deep_links_to_a_step_or_a_point_land_on_its_start(site, browser):
    """#step=N and #point=CODE[&side=...] open a step whatever the voice's timing: the README's
    "start at the SP 6 step" link cannot drift into another step."""
    plan = site.plan
    chapters = plan["chapters"]
    browser.open(url(site.page))
    for fragment, chapter in [("step=1", chapters[0]), (f"step={len(chapters)}", chapters[-1]),
                              ("point=SP6", next(c for c in chapters if c.get("point") == "SP 6")),
                              ("point=sp%206&side=left",
                               next(c for c in chapters if c.get("point") == "SP 6" and c.get("side") == "left")),
                              ("point=heart", next(c for c in chapters if c.get("point") == "heart"))]:
        browser.js("location.hash = arguments[0]", fragment)
        browser.wait(lambda: abs(shown(browser)["time"] - chapter["start"]) < 1e-3, f"#{fragment} did not open")
        assert shown(browser)["step"] == chapter["title"], fragment
    before = shown(browser)["time"]
    for fragment in ("step=0", f"step={len(chapters) + 1}", "point=SP99", "step=x"):  # nothing to open: stay
        browser.js("location.hash = arguments[0]", fragment)
        time.sleep(0.2)
        assert shown(browser)["time"] == before, fragment
