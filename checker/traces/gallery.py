"""The ``traces/`` gallery: for every shipped protocol and every property it violates at the
default configuration, the shortest counterexample in every format.

Regenerate with ``dnsrace gallery traces`` (see traces/README.md); a test regenerates it into
a temporary folder and compares byte for byte.
"""

from __future__ import annotations

from dnsrace.invariants import resolve_properties
from dnsrace.model import SHIPPED, Config, DnsSystem

from ..explore.bfs import explore
from .export import export_traces
from .formats import DEFAULT_FORMATS
from ..explore.result import VIOLATED, Options
from .trace import build_trace

__all__ = ["GALLERY_CONFIG", "gallery_traces", "write_gallery"]

GALLERY_CONFIG = Config()  # the defaults of MODEL.md: N=3 P=4 E=3 K=1


def gallery_traces(protocols=None, config: Config = GALLERY_CONFIG):
    """(model, [traces]) for each protocol, in the order of ``SHIPPED``."""
    out = []
    for name in protocols or SHIPPED:
        model = DnsSystem(config, name)
        result = explore(model, resolve_properties(), Options())
        traces = [build_trace(model, n, pr.trace, pr.explanation)
                  for n, pr in result.properties.items() if pr.status == VIOLATED]
        out.append((model, traces))
    return out


def write_gallery(directory, protocols=None, formats=DEFAULT_FORMATS) -> list:
    """Writes the gallery into ``directory`` (overwriting); returns the paths written."""
    written = []
    for model, traces in gallery_traces(protocols):
        written += export_traces(model, traces, directory, formats, force=True)
    return written
