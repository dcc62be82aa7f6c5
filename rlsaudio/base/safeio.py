"""Reading and writing files safely: bounded reads of regular files, atomic writes, staging.

Every input file (routine, playlist, voice profile, points file, cover, soundscape, track to
inspect) is opened without blocking and refused unless it is a regular file, then read with a
size bound: a FIFO, /dev/zero or a socket is a clear error, never a hang or a memory blow-up.

Every output is written under a random name in a private staging folder inside the destination
and renamed into place, so a symlink planted at a predictable name is never written through, a
symlink at a final name is replaced (never followed), and a failed build changes nothing. A
staging folder holds a lock while its process lives; the next build in that folder removes
the folders of processes that died (SIGKILL, power loss).
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import signal
import stat
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from .errors import InputError, OutputError, Problem

STAGING_PREFIX = ".rlsaudio-tmp-"
_LEGACY_PREFIX = ".rlsaudio-part-"  # temporary files of rlsaudio 0.1
_LOCK = ".lock"
# write_atomic's temporary files: ".feed.xml.<pid>-<random>.tmp" (and, before the pid was in the
# name, ".feed.xml.<random>.tmp"). One left by a process that died (kill -9, power loss) is
# removed by the next use of its folder (clean_stale, the speech cache's tidy).
_TEMP = re.compile(r"\A\..*?\.(?:(\d+)-)?[a-z0-9_]{8}\.tmp\Z", re.DOTALL)  # mkstemp: 8 random characters
TEMP_SAFE_AGE_S = 24 * 3600  # a temporary file this old is abandoned, whoever wrote it
# The one-step commit of a track and its sidecars holds an exclusive flock on this hidden file
# in the output folder, so two processes committing the same names never mix their files. The
# file is removed when the commit ends; waiters check they locked the file that is there.
COMMIT_LOCK = ".rlsaudio.lock"
LOCK_WAIT_S = 60.0  # a commit takes milliseconds; waiting longer means a stopped process holds it


def _kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


@dataclass(frozen=True)
class FileKind:
    """How messages name a kind of input file and what to give instead."""

    name: str  # "routine", "cover", ...
    give: str  # "give the path of a .toml file"
    too_big: str = ""  # the reason after "larger than N"; default says the limit


def _size(limit: int) -> str:
    return f"{limit // 1_048_576} MB" if limit % 1_048_576 == 0 else f"{limit // 1024} kB"


def open_problem(path: Path, shown: str, kind: FileKind, exc: OSError) -> Problem:
    """The one-line problem for an input file that cannot be opened."""
    if exc.errno == errno.ENOENT:
        if os.path.islink(path):
            return Problem(shown, f"is a symbolic link to a {kind.name} file that does not exist; fix the link")
        return Problem(shown, f"no such {kind.name} file; check the path")
    if exc.errno == errno.ELOOP:
        return Problem(shown, "is a symbolic link that loops back on itself; fix or remove the link")
    if exc.errno == errno.EISDIR:
        return Problem(shown, f"is a folder, not a {kind.name} file; {kind.give}")
    if exc.errno == errno.ENOTDIR:
        return Problem(shown, f"no such {kind.name} file (a part of the path is not a folder); check the path")
    if exc.errno == errno.ENAMETOOLONG:
        return Problem(shown, f"the path is too long for this system; {kind.give}")
    return Problem(shown, f"cannot read the {kind.name} file: {exc.strerror or exc}; check its permissions")


def check_regular(path: Path, shown: str, kind: FileKind, error: type[InputError]) -> os.stat_result:
    """stat() an input file that another program (ffmpeg) will read: it must be a regular file."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise error(open_problem(path, shown, kind, exc)) from None
    if stat.S_ISDIR(info.st_mode):
        raise error(Problem(shown, f"is a folder, not a {kind.name} file; {kind.give}"))
    if not stat.S_ISREG(info.st_mode):
        raise error(Problem(shown, f"is {_kind_of(info.st_mode)}, not a {kind.name} file; {kind.give}"))
    return info


def read_regular(path: Path | str, limit: int, shown: str, kind: FileKind, error: type[InputError]) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, or one clear error."""
    path = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise error(open_problem(path, shown, kind, exc)) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise error(Problem(shown, f"is a folder, not a {kind.name} file; {kind.give}"))
        if not stat.S_ISREG(info.st_mode):
            raise error(Problem(shown, f"is {_kind_of(info.st_mode)}, not a {kind.name} file; {kind.give}"))
        too_big = kind.too_big or f"the limit is {_size(limit)}"
        if info.st_size > limit:
            raise error(Problem(shown, f"{kind.name} file is larger than {_size(limit)}; {too_big}"))
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # it grew while we read it
            raise error(Problem(shown, f"{kind.name} file is larger than {_size(limit)}; {too_big}"))
        return b"".join(chunks)
    except OSError as exc:
        raise error(Problem(shown, f"cannot read the {kind.name} file: {exc.strerror or exc}; "
                                   "check the disk and the file")) from None
    finally:
        os.close(fd)


def current_umask() -> int:
    """The process's umask, read without changing it where the system can tell (Linux's
    /proc/self/status); elsewhere set and restored at once under a lock (os.umask is the only
    way to read it there, and another thread must not create a file in between)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8) & 0o777
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


_umask_lock = threading.Lock()


def write_atomic(path: Path, data: bytes, replace: bool = True, mode: int | None = None) -> None:
    """Write `data` to `path` through a random temporary name beside it (O_EXCL) and one rename.

    Readers see the whole old file or the whole new one; a symlink at `path` is replaced, never
    written through. With `replace=False` an existing file is kept (the new data is dropped):
    the first writer wins. The file gets `mode`, by default what any new file gets (0o666
    without the umask's bits: 0644 under umask 022), never the temporary file's 0600, so a
    published feed or cover can be read by a web server after `rsync -a`; a private file (the
    diary's exports) passes mode=0o600. Raises OSError; callers decide what a failure means.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:40]}.{os.getpid()}-", suffix=".tmp")
    try:
        os.fchmod(fd, (0o666 & ~current_umask()) if mode is None else mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if the name exists: never replaces, never follows
            except FileExistsError:
                pass
            os.unlink(tmp)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def disk_message(exc: OSError) -> str:
    """Why a write failed, in words that say what to do."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return "the disk is full; free some space and build again"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "the folder cannot be written; choose another with -o"
    return f"{exc.strerror or exc}; check the disk and the folder"


class Staging:
    """A private folder inside `folder` for one build's outputs, committed as a unit.

    Create with `with Staging(folder) as stage:`; write each output to `stage.path(name)` (or a text with
    `stage.text(final, text)`), then
    `stage.commit([(staged, final), ...])` moves them all into place. If anything fails, or the
    block is left by an exception or Ctrl-C, nothing at the destination has changed and the
    staging folder is removed.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.dir: Path | None = None
        self._lock_fd: int | None = None
        self._count = 0

    def __enter__(self) -> "Staging":
        try:
            self.dir = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=self.folder))
            self._lock_fd = os.open(self.dir / _LOCK, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._remove()
            raise OutputError(f"{self.folder}: cannot write in the output folder: {disk_message(exc)}") from None
        return self

    def __exit__(self, *exc_info) -> None:
        self._remove()

    def path(self, name: str) -> Path:
        """A fresh path inside the staging folder (created empty with O_EXCL, never a symlink)."""
        assert self.dir is not None
        self._count += 1
        path = self.dir / f"{self._count:03d}-{name[-60:]}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)  # less the umask, as any file
        os.close(fd)
        return path

    def text(self, final: Path, text: str) -> tuple[Path, Path]:
        """Stage `text` (UTF-8, "\\n" line ends) for `final`: the (staged, final) pair for `commit`."""
        path = self.path(final.name)
        try:
            with open(path, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
        except OSError as exc:
            raise OutputError(f"{final}: could not write: {disk_message(exc)}") from None
        return path, final

    def commit(self, files: list[tuple[Path, Path]], check: Callable[[], None] | None = None) -> None:
        """Move staged files to their final paths, all or nothing, holding the folder's commit lock.
        `check()`, called under the lock before anything moves, may refuse the commit (raise)."""
        assert self.dir is not None
        with commit_lock(self.folder):
            if check is not None:
                check()
            with signals_deferred():
                self._commit(files)

    def _commit(self, files: list[tuple[Path, Path]]) -> None:
        assert self.dir is not None
        placed: list[tuple[Path, Path | None]] = []  # (final, backup of what was there)
        try:
            for i, (staged, final) in enumerate(files):
                if final.is_dir() and not final.is_symlink():
                    raise OutputError(f"{final}: is a folder; remove it or choose another -o")
                backup = None
                if os.path.lexists(final):
                    backup = self.dir / f"old-{i}"
                    try:  # a hard link keeps the old file (or symlink) while the new one replaces it
                        os.link(final, backup, follow_symlinks=False)
                    except OSError:
                        os.replace(final, backup)
                os.replace(staged, final)
                placed.append((final, backup))
        except BaseException as exc:
            for final, backup in reversed(placed):
                try:
                    if backup is not None:
                        os.replace(backup, final)
                    else:
                        os.unlink(final)
                except OSError:
                    pass
            if isinstance(exc, OSError):
                shown = files[len(placed)][1] if len(placed) < len(files) else self.folder
                raise OutputError(f"{shown}: could not move the finished file into place: {disk_message(exc)}") \
                    from None
            raise

    def _remove(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP wait for the block to end (a commit: a few renames), then act
    as they would have. A playlist stopped while a worker moved a finished track and its
    sidecars into place kept none of them: the stop unwound the commit halfway and undid it.
    Only the main thread can set handlers, and only it is ever interrupted: elsewhere, nothing
    to do."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    old: dict[int, object] = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) is not None:  # None: set outside Python, which could not be put back
                old[sig] = signal.signal(sig, lambda signum, frame: caught.append(signum))
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        for sig in dict.fromkeys(caught):
            handler = old[sig]
            if callable(handler):
                handler(sig, None)  # raises, as it would have inside the block
            elif handler == signal.SIG_DFL:
                signal.raise_signal(sig)


@contextmanager
def commit_lock(folder: Path, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold `folder`'s commit lock (an exclusive flock on COMMIT_LOCK) for the block."""
    path = folder / COMMIT_LOCK
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as exc:
            raise OutputError(f"{folder}: cannot lock the output folder to write in it: {disk_message(exc)}") \
                from None
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise OutputError(f"{folder}: another rlsaudio has been writing in this folder for over "
                                          f"{wait_s:g} s; wait for it to finish, or stop it, and try again") from None
                    time.sleep(0.01)
            try:  # the holder before us removes the file when it is done: lock the one there now
                same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
        os.close(fd)


def remove_lock_file(folder: Path) -> bool:
    """Remove a commit lock file no process holds (one left by a process killed while committing)."""
    path = folder / COMMIT_LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def clean_stale(folder: Path) -> int:
    """Remove staging folders (and 0.1's temporary files) left by processes that died. Returns how many."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if stale_temp_file(entry):
            removed += _unlink(entry.path)
        elif entry.name.startswith(STAGING_PREFIX) and entry.is_dir(follow_symlinks=False):
            if _abandoned(Path(entry.path)):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed += 1
        elif entry.name.startswith(_LEGACY_PREFIX) and entry.is_file(follow_symlinks=False):
            pid = entry.name[len(_LEGACY_PREFIX):].split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                try:
                    os.unlink(entry.path)
                    removed += 1
                except OSError:
                    pass
    return removed


def stale_temp_file(entry: os.DirEntry) -> bool:
    """True for a temporary file of write_atomic whose writer is gone (its pid is in the name and
    no such process lives) or that is older than TEMP_SAFE_AGE_S: never one being written now."""
    match = _TEMP.match(entry.name)
    if match is None:
        return False
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return False
    if not stat.S_ISREG(info.st_mode):
        return False
    if match.group(1) and not _alive(int(match.group(1))):
        return True
    return time.time() - info.st_mtime > TEMP_SAFE_AGE_S


def _unlink(path: str) -> int:
    try:
        os.unlink(path)
        return 1
    except OSError:
        return 0


def _abandoned(path: Path) -> bool:
    """True when no live process holds the staging folder's lock."""
    try:
        fd = os.open(path / _LOCK, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        # A folder without a lock file is being created right now, or its creator died at once.
        pid = path.name[len(STAGING_PREFIX):].split("-", 1)[0]
        return pid.isdigit() and not _alive(int(pid))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------- files a person edits

# A file rlsaudio writes for a person to edit (a composed routine) starts with this line, which
# records a checksum of the rest as written. rlsaudio replaces such a file only while the rest
# is unchanged; once edited (or without the line: a file of the person's own), it is theirs:
# replacing it needs --force.
_STAMP = "# Written by rlsaudio (sha256 {digest}); once you edit this file, rlsaudio never replaces it " \
         "without --force\n"
_STAMP_RE = re.compile(r"\A# Written by rlsaudio \(sha256 ([0-9a-f]{64})\)[^\n]*\n")


def stamped(text: str) -> str:
    """`text` with the first line that lets rlsaudio tell later whether a person changed it."""
    import hashlib

    return _STAMP.format(digest=hashlib.sha256(text.encode("utf-8")).hexdigest()) + text


def without_stamp(text: str) -> str:
    """`text` without the checksum line `stamped` put first (unchanged when it has none)."""
    match = _STAMP_RE.match(text)
    return text[match.end():] if match else text


def changed_since_written(path: Path) -> bool:
    """True when `path` exists and is not exactly what rlsaudio wrote (edited, or not rlsaudio's)."""
    import hashlib

    try:
        data = read_regular(path, 16 * 1_048_576, str(path), FileKind("file", "give a file"), InputError)
    except InputError:
        return os.path.lexists(path)  # a folder, a FIFO, a link to nowhere: not ours to replace
    text = data.decode("utf-8", errors="replace")
    match = _STAMP_RE.match(text)
    if match is None:
        return True
    return hashlib.sha256(text[match.end():].encode("utf-8")).hexdigest() != match.group(1)


def check_replaceable(path: Path, force: bool, how: str = "give --force to replace it") -> None:
    """Refuse (InputError, exit 2) to replace a file a person may have changed, unless `force`."""
    if not force and changed_since_written(path):
        raise InputError(Problem(str(path), f"has been changed since rlsaudio wrote it (or is not rlsaudio's), "
                                            f"so it is kept; {how}"))
