"""A known diary for the diary's tests: 28 nights with every kind of value, gaps included.

Two nights have no entry, some have no sleep score, onsets run from 20:00 past midnight, two
sessions and three factors recur on known nights, and every fourth night has a note, one of them
with a line break and characters that mean something to HTML, CSV and spreadsheets.
"""

from __future__ import annotations

import datetime as dt

END = dt.date(2025, 3, 1)  # a Saturday: the known diary is the 4 weeks ending that night
ACUPRESSURE = "Acupressure for restless legs"
REFLEXOLOGY = "Reflexology foot massage for restless legs"
MISSING = (5, 17)  # nights with no entry at all


def known_nights() -> list[dict]:
    """The 28 nights ending with END, as the JSON objects the diary takes (without the gaps)."""
    nights = []
    for i in range(28):
        if i in MISSING:
            continue
        night = {"date": (END - dt.timedelta(days=27 - i)).isoformat(), "restless": (i * 3) % 11,
                 "onset": f"{(20 + i % 7) % 24:02d}:{(i * 13) % 60:02d}",
                 "tracks": [t for t, every in ((ACUPRESSURE, 2), (REFLEXOLOGY, 3)) if i % every == 0],
                 "factors": [f for f, every in (("caffeine", 4), ("alcohol", 5), ("sitting", 3)) if i % every == 1]}
        if i % 9 != 4:
            night["sleep"] = 10 - (i * 7) % 11
        if i % 2:
            night["minutes_to_sleep"] = 10 + i
            night["woke"] = i % 4
        if i % 4 == 2:
            night["note"] = f"Night {i}: legs crawling after dinner, walked a bit."
        nights.append(night)
    nights[3]["note"] = "=1+1 <b>bold?</b> & \"quoted\", then\na second line"
    return nights


def add_known(diary) -> None:
    for night in known_nights():
        diary.add_json(night, today=END)
