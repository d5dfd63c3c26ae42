"""The ``traces/`` gallery: for every shipped protocol (MODEL.md's four and the five
variants) and every property it violates at the default configuration, the shortest
counterexample in every format.

Regenerate with ``dnsrace gallery traces`` (see traces/README.md); a test regenerates it into
a temporary folder and compares byte for byte. Files record the dnsrace version that wrote
them (``"dnsrace": {"version": ...}``); the test compares them with that version string
masked, so a release does not churn the gallery, while any change of content still fails.
"""

from __future__ import annotations

from dataclasses import replace

from dnsrace.invariants import resolve_properties
from dnsrace.model import PROTOCOLS, Config, DnsSystem

from ..explore.engines import EngineOptions, run
from ..explore.result import VIOLATED, Options
from ..reports.provenance import provenance
from .export import check_writable, write_files
from .formats import DEFAULT_FORMATS, FORMATS, file_name
from .trace import build_trace

__all__ = ["GALLERY_CONFIG", "gallery_traces", "gallery_files", "write_gallery"]

GALLERY_CONFIG = Config()  # the defaults of MODEL.md: N=3 P=4 E=3 K=1


def gallery_traces(protocols=None, config: Config = GALLERY_CONFIG):
    """(model, [traces]) for each protocol, in the order of ``PROTOCOLS``. Each runs on the
    fastest exact engine (the vector engine, derived from every protocol: the same
    shortest counterexamples as the object BFS, tested in tests/checker/explore)."""
    from dnsrace.model.derived import vector_model  # noqa: PLC0415

    out = []
    prov = provenance("gallery")
    for name in protocols or PROTOCOLS:
        model = DnsSystem(config, name)
        result, _ = run(model, resolve_properties(), Options(), engine=EngineOptions(),
                        vectorize=vector_model)
        if result.stats.stop_reason == "interrupted":  # the engine caught Ctrl-C/SIGTERM
            raise KeyboardInterrupt(f"interrupted while checking {name}")
        traces = [replace(build_trace(model, n, pr.trace, pr.explanation), provenance=prov)
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
