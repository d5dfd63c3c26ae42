"""The allocator tuning is applied once and is harmless to call again."""

import ctypes

from dnsrace.checker.explore import malloc


def test_tuning_applies_once_on_glibc_and_again_is_a_no_op():
    try:
        ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        assert malloc.tune_allocator() is False
        return
    assert malloc.tune_allocator() is True
    assert malloc.tune_allocator() is True
    assert malloc._done


def test_numpy_stops_asking_for_huge_pages():
    import numpy._core.multiarray as multiarray

    malloc.tune_allocator()
    assert multiarray._set_madvise_hugepage(False) is False  # (returns the setting it had)
