"""The ``traces/`` gallery: for every shipped protocol and every property it violates at the
default configuration, the shortest counterexample in every format.

Regenerate with ``dnsrace gallery traces`` (see traces/README.md); a test regenerates it into
a temporary folder and compares byte for byte.
"""

from __future__ import annotations

from dnsrace.invariants import resolve_properties
from dnsrace.model import SHIPPED, Config, DnsSystem

from ..explore.bfs import explore
from .export import check_writable, write_files
from .formats import DEFAULT_FORMATS, FORMATS, file_name
from ..explore.result import VIOLATED, Options
from .trace import build_trace

__all__ = ["GALLERY_CONFIG", "gallery_traces", "gallery_files", "write_gallery"]

GALLERY_CONFIG = Config()  # the defaults of MODEL.md: N=3 P=4 E=3 K=1


def gallery_traces(protocols=None, config: Config = GALLERY_CONFIG):
    """(model, [traces]) for each protocol, in the order of ``SHIPPED``."""
    out = []
    for name in protocols or SHIPPED:
        model = DnsSystem(config, name)
        result = explore(model, resolve_properties(), Options())
        if result.stats.stop_reason == "interrupted":  # the engine caught Ctrl-C/SIGTERM
            raise KeyboardInterrupt(f"interrupted while checking {name}")
        traces = [build_trace(model, n, pr.trace, pr.explanation)
                  for n, pr in result.properties.items() if pr.status == VIOLATED]
        out.append((model, traces))
    return out


def gallery_files(protocols=None, formats=DEFAULT_FORMATS) -> list:
    """``[(file name, text)]`` of the whole gallery, rendered in memory."""
    return [(file_name(t, f), FORMATS[f].write(t, model))
            for model, traces in gallery_traces(protocols) for t in traces for f in formats]


def write_gallery(directory, protocols=None, formats=DEFAULT_FORMATS) -> list:
    """Writes the gallery into ``directory`` (overwriting): every file or, if anything fails
    or the run is interrupted, none. Refuses an unwritable folder before any work (an
    ``ExportError``). Returns the paths written."""
    check_writable(directory)
    return write_files(directory, gallery_files(protocols, formats), force=True)
