"""The diary's SQLite file: where it lives, opening it without harm, and every read and write.

The file is the user's. Before SQLite writes anything, the file is checked: its first bytes
must be a SQLite header carrying our application id (a foreign file is never even opened by
SQLite), then a read-only connection checks its schema version and its pages (quick_check). A
corrupt, foreign or newer file is a DiaryFileError and stays byte for byte as it was. A new
diary is made under a temporary name in the same folder and linked into place whole.

Every write is one transaction begun with BEGIN IMMEDIATE (it takes the write lock before it
reads, so two writers never lose each other's fields), in WAL mode with synchronous=FULL and a
busy timeout: the CLI and the app can write at the same moment, and a crash or a kill -9 loses
nothing that was committed. One Diary may be shared by the app's threads.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import stat
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..base.errors import Problem
from ..base.safeio import FileKind, open_problem, read_regular
from . import schema
from .entry import FIELDS, Changes, Entry, validate_fields
from .errors import DiaryError, DiaryFileError, DiaryStorageError
from .exchange import dump, format_of, load, save

FILENAME = "diary.sqlite3"
BUSY_SECONDS = 10.0
MAX_IMPORT_BYTES = 16 * 1_048_576
MAX_PROBLEMS = 20
SQLITE_HEADER = b"SQLite format 3\x00"
LEFT = "it was left as it is"
ELSEWHERE = "move it away, or set RLSAUDIO_HOME to another folder"
DIARY_KIND = FileKind("diary", "give the path of a diary file, or set RLSAUDIO_HOME to another folder")
IMPORT_KIND = FileKind("import", "give the path of a .csv or .json file")
_COLUMNS = ", ".join(FIELDS)


def data_folder() -> Path:
    """Where the diary lives: $RLSAUDIO_HOME, else the user's data folder for rlsaudio
    (~/.local/share/rlsaudio on Linux, ~/Library/Application Support/rlsaudio on macOS,
    %LOCALAPPDATA%\\rlsaudio on Windows)."""
    home = os.environ.get("RLSAUDIO_HOME")
    if home:
        return Path(home).expanduser().absolute()
    from platformdirs import user_data_dir

    return Path(user_data_dir("rlsaudio", appauthor=False))


def default_path() -> Path:
    return data_folder() / FILENAME


@dataclass(frozen=True)
class ImportResult:
    """What an import found: nights added, nights already there, nights that differ."""

    nights: int
    added: tuple[str, ...]
    duplicates: tuple[str, ...]
    conflicts: tuple[Changes, ...]  # the file's values against the diary's (old: the diary's)
    replaced: bool  # True: the conflicts took the file's values; False: the diary's were kept


@dataclass(frozen=True)
class HistoryItem:
    """One change to one field of one night, as the `changes` table keeps it."""

    date: str
    field: str
    old: object
    new: object
    at: str
    source: str


class Diary:
    """An open diary. `Diary.open()` the default one, use it, `close()` it (or use `with`)."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.path = path
        self._conn = conn
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, path: Path | str | None = None) -> "Diary":
        """Open the diary at `path` (default: `default_path()`), making a new one if there is none."""
        path = Path(path).expanduser().absolute() if path is not None else default_path()
        if not os.path.lexists(path):
            _create(path)
        version = _check(path)
        conn = _connect(path)
        try:
            if version < schema.CURRENT:
                schema.migrate(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise _storage_error(path, exc) from None
        return cls(conn, path)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "Diary":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ------------------------------------------------------------------ reading

    def entry(self, date) -> Entry | None:
        """The night of `date` (YYYY-MM-DD or a date), or None."""
        day = validate_fields({"date": date}, today=dt.date.max)["date"]
        with self._reading() as conn:
            return _get(conn, day)

    def entries(self, since=None, until=None) -> list[Entry]:
        """Every night from `since` to `until` (both included, both optional), oldest first."""
        low = validate_fields({"date": since}, today=dt.date.max)["date"] if since is not None else "0000"
        high = validate_fields({"date": until}, today=dt.date.max)["date"] if until is not None else "9999"
        with self._reading() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM nights WHERE date >= ? AND date <= ? ORDER BY date",
                                (low, high)).fetchall()
        return [_entry(row) for row in rows]

    def history(self, date=None) -> list[HistoryItem]:
        """Every change ever made (to one night, or to all), oldest first."""
        query, args = "SELECT date, field, old, new, at, source FROM changes", ()
        if date is not None:
            query, args = query + " WHERE date = ?", (validate_fields({"date": date}, today=dt.date.max)["date"],)
        with self._reading() as conn:
            rows = conn.execute(query + " ORDER BY id", args).fetchall()
        return [HistoryItem(d, f, _loads(o), _loads(n), at, src) for d, f, o, n, at, src in rows]

    # ------------------------------------------------------------------ writing

    def add(self, date, /, *, source: str = "app", today: dt.date | None = None, **fields) -> Changes:
        """Add the night of `date`, or update the fields given; the others are kept.

        Values are checked by `validate_fields` (JSON values or text); None or [] empties a
        field. Returns what changed, each field's old and new value."""
        values = validate_fields({"date": date, **fields}, today=today)
        with self._transaction() as conn:
            return _apply(conn, values, source)

    def add_json(self, data: dict, *, source: str = "app", today: dt.date | None = None) -> Changes:
        """`add` for the JSON object the app receives: {"date": ..., "restless": ..., ...}."""
        values = validate_fields(data, today=today)
        with self._transaction() as conn:
            return _apply(conn, values, source)

    def add_track(self, date, title: str, *, source: str = "app", today: dt.date | None = None) -> Changes:
        """Add one session title to a night's tracks, keeping the ones already there (one
        transaction: two sessions ending at once both stay)."""
        day = validate_fields({"date": date, "tracks": [title]}, today=today)
        with self._transaction() as conn:
            old = _get(conn, day["date"])
            tracks = (old.tracks if old else ()) + tuple(t for t in day["tracks"] if not old or t not in old.tracks)
            return _apply(conn, {"date": day["date"], "tracks": tracks}, source)

    # ------------------------------------------------------------------ files

    def export(self, path: Path | str, *, force: bool = False) -> int:
        """Write every night to `path`, CSV or JSON by its suffix; returns how many nights.
        An existing file is replaced only with `force`."""
        path = Path(path)
        suffix = format_of(path)
        entries = self.entries()
        save(path, dump(entries, suffix), force)
        return len(entries)

    def import_(self, path: Path | str, *, replace: bool = False, source: str = "import",
                today: dt.date | None = None) -> ImportResult:
        """Read nights from a CSV or JSON file written by `export` (or by hand), in one transaction.

        A night already in the diary with the same values is a duplicate and is skipped; one
        that differs keeps the diary's values unless `replace`. An empty cell never empties a
        field. A bad value anywhere imports nothing (a DiaryError names each line)."""
        path = Path(path)
        shown = str(path)
        nights = _read_import(path, shown, today)
        added, duplicates, conflicts = [], [], []
        with self._transaction() as conn:
            for values in nights:
                old = _get(conn, values["date"])
                if old is None:
                    _apply(conn, values, source)
                    added.append(values["date"])
                    continue
                differ = old.changes_to(old.updated(values))
                if not differ:
                    duplicates.append(values["date"])
                    continue
                conflicts.append(Changes(values["date"], False, differ))
                if replace:
                    _apply(conn, values, source)
        return ImportResult(len(nights), tuple(added), tuple(duplicates), tuple(conflicts), replace)

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def _transaction(self):
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _storage_error(self.path, exc) from None
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                try:
                    self._conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                if isinstance(exc, sqlite3.Error):
                    raise _storage_error(self.path, exc) from None
                raise

    @contextmanager
    def _reading(self):
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise _storage_error(self.path, exc) from None


# --------------------------------------------------------------------------- rows


def _entry(row) -> Entry:
    date, restless, sleep, minutes, woke, onset, tracks, factors, note = row
    return Entry(date, restless, sleep, minutes, woke, onset, tuple(json.loads(tracks or "[]")),
                 tuple(json.loads(factors or "[]")), note)


def _get(conn: sqlite3.Connection, day: str) -> Entry | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM nights WHERE date = ?", (day,)).fetchone()
    return _entry(row) if row else None


def _dumps(value) -> str:
    return json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False)


def _loads(text):
    return None if text is None else json.loads(text)


def _apply(conn: sqlite3.Connection, values: dict, source: str) -> Changes:
    """Inside a write transaction: the night updated with `values`, and its changes recorded."""
    day = values["date"]
    old = _get(conn, day)
    new = (old or Entry(day)).updated(values)
    changes = (old or Entry(day)).changes_to(new)
    if old is not None and not changes:
        return Changes(day, False, ())
    at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    row = [_dumps(v) if isinstance(v, tuple) else v for v in (getattr(new, f) for f in FIELDS)]
    conn.execute(f"INSERT INTO nights ({_COLUMNS}, updated) VALUES ({', '.join('?' * (len(FIELDS) + 1))}) "
                 "ON CONFLICT (date) DO UPDATE SET "
                 + ", ".join(f"{f} = excluded.{f}" for f in (*FIELDS[1:], "updated")), (*row, at))
    conn.executemany("INSERT INTO changes (date, field, old, new, at, source) VALUES (?, ?, ?, ?, ?, ?)",
                     [(day, c.field, None if old is None else _dumps(c.old), _dumps(c.new), at, source)
                      for c in changes])
    return Changes(day, old is None, changes)


def _read_import(path: Path, shown: str, today: dt.date | None) -> list[dict]:
    suffix = format_of(path)
    raws = load(read_regular(path, MAX_IMPORT_BYTES, shown, IMPORT_KIND, DiaryError), suffix, shown)
    nights, problems, seen = [], [], {}
    for raw in raws:
        try:
            values = validate_fields(raw.values, today=today)
        except DiaryError as exc:
            for p in exc.problems:
                place = raw.place if raw.line is None and not p.place else \
                    f"{raw.place}.{p.place}" if raw.line is None else p.place
                problems.append(Problem(shown, p.message, place, raw.line))
            continue
        day = values["date"]
        if day in seen:
            problems.append(Problem(shown, f"the night {day} is also at {seen[day]}; keep one of them",
                                    "" if raw.line else raw.place, raw.line))
            continue
        seen[day] = raw.place
        nights.append({k: v for k, v in values.items() if v not in (None, ())})
    if problems:
        more = len(problems) - MAX_PROBLEMS
        raise DiaryError(problems[:MAX_PROBLEMS] + ([Problem(shown, f"and {more} more problems; nothing was "
                                                                    "imported")] if more > 0 else []))
    return nights


# --------------------------------------------------------------------------- the file


def _create(path: Path) -> None:
    """A new, empty diary at `path`, made whole under a temporary name and linked into place."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".diary-new-", suffix=".sqlite3")  # mode 0600
        os.close(fd)
    except OSError as exc:
        raise DiaryStorageError(f"{path.parent}: cannot make the diary's folder: {exc.strerror or exc}; "
                                "check its permissions, or set RLSAUDIO_HOME to another folder") from None
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous = FULL")
            schema.create_v1(conn)
            schema.migrate(conn)
        finally:
            conn.close()  # checkpoints the WAL into the file and removes it
        try:
            os.link(tmp, path)  # never replaces: if another process made one first, that one is used
        except FileExistsError:
            pass
        _sync_folder(path.parent)
    except (OSError, sqlite3.Error) as exc:
        raise DiaryStorageError(f"{path}: cannot make a new diary: {getattr(exc, 'strerror', None) or exc}; "
                                "check the disk and the folder") from None
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(tmp + suffix)
            except OSError:
                pass


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _check(path: Path) -> int:
    """The diary's schema version, after checks that write nothing: a DiaryFileError for a file
    that is not a diary of ours, is damaged, or is newer than this rlsaudio."""
    shown = str(path)
    head = _header(path, shown)
    if not head:
        raise DiaryFileError(Problem(shown, f"is empty, not a diary; {LEFT}: remove it, or set RLSAUDIO_HOME "
                                            "to another folder"))
    if not head.startswith(SQLITE_HEADER):
        raise DiaryFileError(Problem(shown, f"is not an rlsaudio diary (not a SQLite database); {LEFT}: {ELSEWHERE}"))
    if len(head) < 100:
        raise _damaged(shown, "its header is cut short")
    if int.from_bytes(head[68:72], "big") != schema.APPLICATION_ID:
        raise DiaryFileError(Problem(shown, f"is the SQLite database of another program, not an rlsaudio diary; "
                                            f"{LEFT}: {ELSEWHERE}"))
    try:
        conn = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True, timeout=BUSY_SECONDS)
    except sqlite3.Error as exc:
        raise _storage_error(path, exc) from None
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        pages = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise _storage_error(path, exc) from None
    finally:
        conn.close()
    if pages != ["ok"]:
        raise _damaged(shown, pages[0])
    if version > schema.CURRENT:
        raise DiaryFileError(Problem(shown, f"was written by a newer rlsaudio (diary version {version}; this one "
                                            f"reads up to {schema.CURRENT}); {LEFT}: update rlsaudio"))
    if version < 1 or "nights" not in tables:
        raise _damaged(shown, "it has no table of nights")
    return version


def _header(path: Path, shown: str) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise DiaryFileError(open_problem(path, shown, DIARY_KIND, exc)) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise DiaryFileError(Problem(shown, f"is a folder, not a diary file; {ELSEWHERE}"))
        if not stat.S_ISREG(mode):
            raise DiaryFileError(Problem(shown, f"is not a regular file; {LEFT}: {ELSEWHERE}"))
        return os.read(fd, 100)
    except OSError as exc:
        raise DiaryStorageError(f"{shown}: cannot read the diary: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _connect(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA synchronous = FULL")  # a commit is on the disk before it returns
        conn.execute("PRAGMA journal_mode = WAL")  # already set in the file; readers never wait for a writer
        return conn
    except sqlite3.Error as exc:
        raise _storage_error(path, exc) from None


def _damaged(shown: str, why: str) -> DiaryFileError:
    return DiaryFileError(Problem(shown, f"the diary is damaged ({why}); {LEFT}: restore it from a copy, or move "
                                         "it away to start a new diary (rlsaudio diary import can read an export "
                                         "back)"))


def _storage_error(path: Path, exc: sqlite3.Error) -> Exception:
    name = getattr(exc, "sqlite_errorname", "")
    shown = str(path)
    if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or name.startswith("SQLITE_CORRUPT"):
        return _damaged(shown, f"SQLite: {exc}")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return DiaryStorageError(f"{shown}: the diary is busy: another program kept it locked for "
                                 f"{BUSY_SECONDS:g} s; try again")
    if name == "SQLITE_FULL":
        return DiaryStorageError(f"{shown}: the disk is full; free some space and try again")
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
        return DiaryStorageError(f"{shown}: the diary cannot be written ({exc}); check the permissions of the "
                                 "file and its folder")
    return DiaryStorageError(f"{shown}: the diary could not be read or written: SQLite: {exc}")
