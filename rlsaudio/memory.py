"""Hand freed memory back to the operating system (glibc's malloc_trim; elsewhere nothing).

glibc keeps freed blocks in its heaps for reuse, and large buffers of ever-changing sizes leave
them fragmented: the process's resident memory then grows with the work done, not with what
it holds. Two places free large buffers over and over: Piper, whose every utterance allocates
activations of a different size (a cold build of a bundled routine grew to 590 MB; trimmed
after each clause it stays near one utterance's need), and the MP3 writer, whose encoder
threads and mixing chunks come and go for hours (a warm 8-hour build: 135 MB, trimmed after
each spliced segment 109 MB, at no measurable cost in time).
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any


def _load_libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018 - musl has no malloc_trim
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _load_libc()


def release() -> None:
    """Return the free memory of every heap to the system, where the C library can."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
