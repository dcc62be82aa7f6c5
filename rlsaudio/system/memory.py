"""Hand freed memory back to the operating system (glibc's malloc_trim; elsewhere nothing).

glibc keeps freed blocks in its heaps for reuse, and large buffers of ever-changing sizes leave
them fragmented: the process's resident memory then grows with the work done, not with what
it holds. Two places free large buffers over and over: Piper, whose every utterance allocates
activations of a different size (a cold build of a bundled routine grew to 590 MB; trimmed
after each clause it stays near one utterance's need), and the MP3 writer, whose encoder
threads and mixing chunks come and go for hours (a warm 8-hour build: 135 MB, trimmed after
each spliced segment 109 MB, at no measurable cost in time).

Trimming returns only what lies free at the top of a heap. Piper's activations of several
megabytes each still land between live blocks, because glibc raises its mmap threshold to the
largest block freed so far (up to 32 MB): a speech worker with the voice loaded (143 MB) peaked
at 407-419 MB over five long sentences. Fixing the threshold at 8 MB once the voice is loaded
sends those activations to their own mappings, returned whole when freed: 315 MB, the audio
byte-identical, no measured cost in time (a 256 kB threshold gave 285 MB but cost ~15%).
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


_M_MMAP_THRESHOLD = -3  # mallopt's parameter number in glibc's malloc.h


def map_blocks_above(nbytes: int) -> None:
    """Serve every allocation of nbytes or more from its own mapping (glibc's mallopt), for
    the life of the process; fixing it also stops glibc from raising it on its own."""
    if _LIBC is not None and hasattr(_LIBC, "mallopt"):
        _LIBC.mallopt(_M_MMAP_THRESHOLD, int(nbytes))


def release() -> None:
    """Return the free memory of every heap to the system, where the C library can."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
