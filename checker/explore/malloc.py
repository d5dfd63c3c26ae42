"""How the vector engine asks glibc's allocator to hand freed memory back (Linux only).

The search allocates and frees arrays of a few MB many times a level (each chunk's
successors, its lookups). glibc serves those from its heaps once its adaptive mmap
threshold has risen past them (it follows the largest block freed, up to 32 MB), and a
freed block inside a heap stays part of the process; with the lookup thread on a second
heap, the two fragment. So ``cas --enactors 6 --plans 8 --keep 2`` peaked at 995 MB for
730 MB of live arrays. With a fixed threshold of 4 MB (a block that large gets its own
mapping, unmapped when freed) and one heap for both threads it peaks at 909 to 949 MB in
the same time, set here at run time (836 MB when set for the whole process through
glibc's environment variables); below 1 MB the page faults of the fresh mappings cost a
third more time.
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["tune_allocator", "MMAP_THRESHOLD"]

MMAP_THRESHOLD = 4 << 20
_M_MMAP_THRESHOLD = -3  # mallopt parameters (malloc.h)
_M_ARENA_MAX = -8
_done = False


def tune_allocator() -> bool:
    """Sets glibc's mmap threshold to ``MMAP_THRESHOLD`` and its arenas to one, once per
    process, before the engine starts its threads; returns whether it could (False on a
    system without glibc's ``mallopt``: nothing changes there)."""
    global _done
    if _done:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(_M_ARENA_MAX, 1))
    return _done
