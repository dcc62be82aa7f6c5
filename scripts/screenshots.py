"""The README's pictures, taken again from real builds (scripts/screenshots).

- docs/page-massage.png and docs/page-bedtime.png: the bundled acupressure routine built with
  the default voice, once per mode, each page opened in Chromium at 390x844 during the right
  side of SP 6 (21.3 s into its massage), as a listener holding a phone would see it.
- docs/app-*.png: the app's browser test, run with RLSAUDIO_SCREENSHOTS=docs.

Needs Debian's chromium and chromedriver (apt-get install chromium chromium-driver).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from chromium import Browser, missing, start_chromium  # noqa: E402

MOMENT_S = 21.3  # into SP 6's right-side massage: the countdown and the ring are mid-way


def rlsaudio(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "rlsaudio", *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"rlsaudio {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def build(folder: Path, mode: str) -> tuple[Path, float]:
    """The page of the acupressure routine in `mode`, and the moment to show."""
    out = folder / mode
    rlsaudio("build", "acupressure", "--mode", mode, "-o", str(out))
    plan = json.loads(rlsaudio("plan", "acupressure", "--mode", mode, "--json"))
    span = next(s for s in plan["spans"] if s.get("point") == "SP 6" and s.get("side") == "right"
                and s["kind"] in ("massage", "hold"))
    (page,) = out.glob("*.html")
    return page, round(span["start"] + MOMENT_S, 3)


def main() -> None:
    reason = missing()
    if reason:
        sys.exit(reason)
    docs = ROOT / "docs"
    with tempfile.TemporaryDirectory() as tmp:
        shots = {mode: build(Path(tmp), mode) for mode in ("massage", "bedtime")}
        browser = Browser(start_chromium(Path(tmp) / "profile"))
        try:
            browser.phone(True)
            for mode, (page, moment) in shots.items():
                try:
                    browser.open(f"{page.as_uri()}#t={moment}")  # waits until the page says it is ready
                except AssertionError as exc:
                    sys.exit(str(exc))
                theme = browser.js("return document.documentElement.getAttribute('data-theme')")
                if theme != mode:
                    sys.exit(f"{page.name}: opened in the {theme} theme, not {mode}")
                target = docs / f"page-{mode}.png"
                browser.driver.save_screenshot(str(target))
                print(f"{target.relative_to(ROOT)}: {page.name} at {moment} s")
        finally:
            browser.driver.quit()
    env = {**os.environ, "RLSAUDIO_SCREENSHOTS": str(docs), "RLSAUDIO_REQUIRE_CHROMIUM": "1"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/browser/test_app.py", "-k", "screenshots"], cwd=ROOT, env=env)
    if done.returncode != 0:
        sys.exit("the app's screenshot test failed")
    print("docs/app-*.png: from tests/browser/test_app.py")


if __name__ == "__main__":
    main()
