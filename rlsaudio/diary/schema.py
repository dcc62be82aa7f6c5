"""The diary file's schema, as its history: version 1, and each migration to the next version.

A new diary is created at version 1 and migrated like an old one, so every migration runs on
every new diary and cannot rot. The file is marked as ours by the SQLite header's application
id; its schema version is the header's user_version. Each migration runs inside the caller's
write transaction together with the version bump: a diary is at one version or the next, never
between (a kill during a migration leaves the old version, which is migrated again next time).

The SQL of a released version is history: never edit it, add a migration.
"""

from __future__ import annotations

import json
import sqlite3

APPLICATION_ID = 0x524C5344  # "RLSD" in the file's header: an rlsaudio diary
CURRENT = 2

# Version 1: one row per night; tracks one title per line, factors comma-separated.
V1 = (
    """CREATE TABLE nights (
        date TEXT PRIMARY KEY NOT NULL,             -- YYYY-MM-DD, the date of the evening
        onset TEXT,                                 -- HH:MM, when the symptoms began
        restless INTEGER CHECK (restless BETWEEN 0 AND 10),
        sleep INTEGER CHECK (sleep BETWEEN 0 AND 10),
        minutes_to_sleep INTEGER CHECK (minutes_to_sleep >= 0),
        woke INTEGER CHECK (woke >= 0),
        tracks TEXT NOT NULL DEFAULT '',            -- session titles, one per line
        factors TEXT NOT NULL DEFAULT '',           -- factor names, comma-separated
        note TEXT
    ) WITHOUT ROWID""",
)


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    """Version 2: tracks and factors as JSON arrays (a title may hold any character but a line
    break, and lists read back as lists); when each night last changed; and a `changes` table
    with every value a night ever had, so that no edit loses anything silently."""
    conn.execute("""CREATE TABLE nights_v2 (
        date TEXT PRIMARY KEY NOT NULL,             -- YYYY-MM-DD, the date of the evening
        onset TEXT,                                 -- HH:MM, when the symptoms began
        restless INTEGER CHECK (restless BETWEEN 0 AND 10),
        sleep INTEGER CHECK (sleep BETWEEN 0 AND 10),
        minutes_to_sleep INTEGER CHECK (minutes_to_sleep >= 0),
        woke INTEGER CHECK (woke >= 0),
        tracks TEXT NOT NULL DEFAULT '[]',          -- JSON array of session titles
        factors TEXT NOT NULL DEFAULT '[]',         -- JSON array of factor names
        note TEXT,
        updated TEXT NOT NULL DEFAULT ''            -- when the night last changed (UTC, ISO 8601)
    ) WITHOUT ROWID""")
    rows = conn.execute("SELECT date, onset, restless, sleep, minutes_to_sleep, woke, tracks, factors, note "
                        "FROM nights").fetchall()
    for *head, tracks, factors, note in rows:
        titles = [t.strip() for t in (tracks or "").split("\n") if t.strip()]
        names = [f.strip() for f in (factors or "").split(",") if f.strip()]
        conn.execute("INSERT INTO nights_v2 (date, onset, restless, sleep, minutes_to_sleep, woke, tracks, "
                     "factors, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (*head, json.dumps(titles, ensure_ascii=False), json.dumps(names), note))
    conn.execute("DROP TABLE nights")
    conn.execute("ALTER TABLE nights_v2 RENAME TO nights")
    conn.execute("""CREATE TABLE changes (
        id INTEGER PRIMARY KEY,
        date TEXT NOT NULL,                         -- the night
        field TEXT NOT NULL,                        -- a JSON field name: restless, note, ...
        old TEXT,                                   -- JSON value before (NULL: the night was new)
        new TEXT,                                   -- JSON value after
        at TEXT NOT NULL,                           -- when (UTC, ISO 8601)
        source TEXT NOT NULL                        -- cli, app, import
    )""")
    conn.execute("CREATE INDEX changes_by_night ON changes (date)")


# The version each migration reaches -> the migration.
MIGRATIONS = {2: _v1_to_v2}
assert sorted(MIGRATIONS) == list(range(2, CURRENT + 1))


def create_v1(conn: sqlite3.Connection) -> None:
    """Make an empty version-1 diary in a new, empty file (autocommit connection)."""
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA journal_mode = WAL")  # persistent: every later connection uses it
    conn.execute("BEGIN IMMEDIATE")
    for statement in V1:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the diary to CURRENT inside one write transaction; returns the version it had.

    The version is read again once the write lock is held: another process may have migrated
    the file since it was checked."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for target in range(version + 1, CURRENT + 1):
            MIGRATIONS[target](conn)
        if version < CURRENT:
            conn.execute(f"PRAGMA user_version = {CURRENT}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return version
