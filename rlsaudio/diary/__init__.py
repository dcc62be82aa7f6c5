"""The sleep and symptom diary: one entry per night, kept in a SQLite file on this computer.

The API the CLI and the app share:

    from rlsaudio.diary import Diary, validate_fields
    with Diary.open() as diary:                       # default_path(), or Diary.open(path)
        changes = diary.add("2025-03-01", restless=6, tracks=["Acupressure for restless legs"])
        diary.add_json({"date": "2025-03-01", "sleep": 7})   # the app's POST body
        diary.entries(since="2025-02-01")            # [Entry, ...]; entry.as_json() for the API

Errors: DiaryError (a bad value or file, exit 2 / HTTP 400), DiaryFileError (the diary file is
damaged, foreign or newer; left as it is), DiaryStorageError (disk, permissions, busy).
"""

from .entry import (
                    EVENING_HOUR,
                    FACTOR_LABELS,
                    FACTORS,
                    FIELDS,
                    LABELS,
                    Change,
                    Changes,
                    Entry,
                    Factor,
                    last_night,
                    validate_fields,
)
from .errors import DiaryError, DiaryFileError, DiaryStorageError
from .store import Diary, HistoryItem, ImportResult, data_folder, default_path

__all__ = ["Change", "Changes", "Diary", "DiaryError", "DiaryFileError", "DiaryStorageError", "EVENING_HOUR",
           "Entry", "FACTORS", "FACTOR_LABELS", "FIELDS", "Factor", "HistoryItem", "ImportResult", "LABELS",
           "data_folder", "default_path", "last_night", "validate_fields"]
