"""Shared, cached counterexamples for the trace tests (small configurations: fast)."""

from __future__ import annotations

import functools

from dnsrace.checker.cli.check import run_check
from dnsrace.checker.explore.result import Options
from dnsrace.invariants import resolve_properties
from dnsrace.model import Config, DnsSystem

SMALL = Config(enactors=2, plans=3, endpoints=2, keep=1)  # 289 classes: dot draws it all


@functools.lru_cache(maxsize=None)
def small_traces(protocol: str = "original", config: Config = SMALL):
    """(model, {property: Trace}) for every violated property."""
    model = DnsSystem(config, protocol)
    _, traces = run_check(model, resolve_properties(), Options())
    return model, traces
