"""The diary's error types: a bad value or file the user can fix (exit 2), a disk that failed (exit 1).

All are RlsaudioErrors, so the CLI prints them as one line each; the app can tell them apart:
`DiaryError` is the user's input (answer 400), `DiaryFileError` a diary file that cannot be
used as it is (corrupt, foreign, newer), `DiaryStorageError` the disk or a lock (answer 503).
"""

from __future__ import annotations

from ..base.errors import InputError, RlsaudioError


class DiaryError(InputError):
    """A value, an import file or an export path the user can fix (exit status 2)."""


class DiaryFileError(DiaryError):
    """The diary file is damaged, not a diary, or from a newer rlsaudio; it was left as it is."""


class DiaryStorageError(RlsaudioError):
    """The diary could not be read or written: disk full, no permission, busy too long (exit 1)."""
