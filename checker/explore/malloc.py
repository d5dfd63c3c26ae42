"""How the vector engine asks glibc's allocator to keep its threads on one heap (Linux only).

The search allocates and frees arrays of a few MB many times a level (each chunk's
successors, its lookups), from the engine thread and the lookup thread. With glibc's
default of one heap (arena) per thread, blocks freed by one thread are not reused by the
other and the two heaps fragment: ``cas --enactors 6 --plans 8 --keep 2`` peaked at 995 MB
for 730 MB of live arrays. One arena for the process brings it to 958 to 972 MB. A fixed mmap
threshold of 4 MB (every block that large its own mapping, unmapped when freed) saved another
30 MB but cost 1.2 M page faults against 0.2 M, about 2.5 s of system time and 2 s of wall
time of 27 s there; glibc's adaptive threshold (blocks up to 32 MB reused from the heap) is
kept for that reason.

numpy also asks the kernel for transparent huge pages (``madvise``) for every array of
4 MB or more. Where the kernel grants them (``transparent_hugepage`` set to ``madvise``), a
partly used 2 MB page counts whole in the resident set: cas N6 P8 K2 peaked at 971 to
1,072 MB with them and at 949 to 977 MB without, and was no faster with them (two
interleaved pairs: 55.5 and 49.3 s with, 47.9 and 43.8 s without). In a run that stores
gigabytes, though, each level's large arrays are fresh mappings whose 4 KB pages fault one
by one: ``original`` N5 P8 K2 took 50.9 M page faults and 166 s of system time without
them, 3.1 M and 81 s with them (6 min 57 s against 6 min 16 s; peak 9,829 against
9,955 MB). So each run starts with them off (``huge_pages(False)``) and turns them on once
it stores ``HUGE_PAGES_FROM`` bytes (``vector.py``, at each level's start).
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["tune_allocator", "huge_pages", "HUGE_PAGES_FROM"]

HUGE_PAGES_FROM = 2 << 30  # bytes a run stores from which its new arrays get huge pages

_M_ARENA_MAX = -8  # mallopt parameter (malloc.h)
_done = False


def tune_allocator() -> bool:
    """Sets glibc's arenas to one, once per process, before the engine starts its threads;
    returns whether it could (False on a system without glibc's ``mallopt``: nothing changes
    there)."""
    global _done
    if _done:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _done = bool(mallopt(_M_ARENA_MAX, 1))
    return _done


def huge_pages(on: bool) -> bool:
    """Whether numpy asks for transparent huge pages for the arrays allocated from now on
    (by default it does); returns the setting it had (False where numpy cannot say)."""
    for name in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            module = __import__(name, fromlist=["_set_madvise_hugepage"])
            return bool(module._set_madvise_hugepage(bool(on)))
        except (ImportError, AttributeError):
            continue
    return False
