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
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["tune_allocator"]

_M_ARENA_MAX = -8  # mallopt parameter (malloc.h)
_done = False


def tune_allocator() -> bool:
    """Sets glibc's arenas to one, once per process, before the engine starts its threads;
    returns whether it could (False on a system without glibc's ``mallopt``: nothing changes
    there)."""
    global _done
    if _done:
        return True
    _no_huge_pages()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _done = bool(mallopt(_M_ARENA_MAX, 1))
    return _done


def _no_huge_pages() -> None:
    """Stops numpy asking for transparent huge pages for the arrays allocated from now on."""
    for name in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            module = __import__(name, fromlist=["_set_madvise_hugepage"])
            module._set_madvise_hugepage(False)
            return
        except (ImportError, AttributeError):
            continue
