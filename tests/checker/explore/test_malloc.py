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


def test_huge_pages_are_off_for_small_runs_and_on_past_the_threshold(monkeypatch):
    from dnsrace.checker import Options
    from dnsrace.checker.explore import vector
    from dnsrace.invariants import resolve_properties
    from dnsrace.model import Config, DnsSystem
    from dnsrace.model.derived import vector_model

    calls = []
    monkeypatch.setattr(vector, "huge_pages", calls.append)
    model, props = DnsSystem(Config(2, 3, 2, 1), "cas"), resolve_properties()
    vector.explore(model, props, Options(), vectorize=vector_model)
    assert len(calls) > 2 and not any(calls)
    calls.clear()
    monkeypatch.setattr(vector, "HUGE_PAGES_FROM", 1)  # every run stores more than a byte
    vector.explore(model, props, Options(), vectorize=vector_model)
    assert calls[0] is False and len(calls) > 2 and all(calls[1:])


def test_the_huge_pages_setting_is_numpys():
    malloc.huge_pages(True)
    assert malloc.huge_pages(False) is True  # (returns the setting it had)
    assert malloc.huge_pages(False) is False
