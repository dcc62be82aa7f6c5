"""A real headless Chromium for the listen-along page tests: Debian's chromium and
chromedriver, driven by selenium. Nothing is downloaded: selenium is pointed at both binaries.

Without them the browser tests are skipped with one line that says how to install them; CI sets
RLSAUDIO_REQUIRE_CHROMIUM=1, which makes that a failure instead.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL = "apt-get install chromium chromium-driver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
         "--autoplay-policy=no-user-gesture-required", "--hide-scrollbars", "--window-size=1024,900")
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    absent = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if absent:
        return f"Chromium is not installed ({', '.join(absent)} missing): {INSTALL}"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed: pip install -e '.[test]'"
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """One headless Chromium for the whole module, with a fresh profile."""
    reason = missing()
    if reason and os.environ.get("RLSAUDIO_REQUIRE_CHROMIUM") == "1":  # CI: a missing browser is a failure
        pytest.fail(reason)
    if reason:
        pytest.skip(reason)
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield Browser(driver)
    finally:
        driver.quit()


def start_chromium(profile: Path):
    """A headless Chromium driven by chromedriver, with the profile folder `profile`."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(20)
    return driver


class Browser:
    """The driver, with the few things the page tests do again and again."""

    def __init__(self, driver):
        self.driver = driver

    def open(self, url: str, *, ready: bool = True) -> list[dict]:
        """Load a page, wait until its script says it is ready (unless it has none), and return
        what it logged."""
        self.driver.get("about:blank")
        self.logs()
        self.driver.get(url)
        if ready:
            self.wait(lambda: self.js("return document.documentElement.getAttribute('data-ready')") == "true",
                      f"{url} did not finish loading")
        return self.logs()

    def logs(self) -> list[dict]:
        return self.driver.get_log("browser")

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def wait(self, condition, message: str, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(message)
            time.sleep(0.05)

    def phone(self, on: bool = True) -> None:
        if on:
            self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
        else:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def errors(logs: list[dict]) -> list[str]:
    return [entry["message"] for entry in logs if entry.get("level") == "SEVERE"]
