"""Trace file formats: one module per format, each a pure function ``write(trace, model)
-> str`` (same trace, same bytes), and ``read(text) -> TraceFile`` where the format can be
read back (``json``, ``itf``).

========  ==================  =================================================================
format    file name suffix    what it is
========  ==================  =================================================================
json      ``.json``           dnsrace's own versioned format (``dnsrace-trace/1``): what replay needs
itf       ``.itf.json``       Apalache's Informal Trace Format (ADR-015), for Quint/Apalache tools
mermaid   ``.md``             a Mermaid sequence diagram in a Markdown file
html      ``.html``           one self-contained page: SVG sequence diagram, step slider, records
dot       ``.dot``            the explored state graph (Graphviz), counterexample highlighted
========  ==================  =================================================================

Adding a format means adding a module here and a line to ``FORMATS``; engines never change.
"""

from __future__ import annotations

from . import dot, html_page, itf, mermaid, native
from .common import TraceFile, TraceFormatError, load_trace_file, parse_trace_text

__all__ = ["FORMATS", "DEFAULT_FORMATS", "TraceFile", "TraceFormatError", "file_name",
           "load_trace_file", "parse_trace_text", "resolve_formats", "render_format"]

FORMATS = {m.NAME: m for m in (native, itf, mermaid, html_page, dot)}
DEFAULT_FORMATS = tuple(FORMATS)


def resolve_formats(text: str | None) -> tuple:
    """``"json,itf"`` -> ("json", "itf"); every format when empty. ValueError names the
    unknown ones and lists the valid ones."""
    if not text:
        return DEFAULT_FORMATS
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise ValueError(f"unknown format {', '.join(map(repr, unknown)) or repr(text)} "
                         f"(valid: {', '.join(FORMATS)})")
    return tuple(dict.fromkeys(names))


def file_name(trace, fmt: str) -> str:
    """``n3-p4-e3-k1-original-no-dangling.json``: configuration, protocol, property, format."""
    c = trace.config
    slug = f"n{c['enactors']}-p{c['plans']}-e{c['endpoints']}-k{c['keep']}"
    name = f"{slug}-{trace.protocol}-{trace.property}{FORMATS[fmt].SUFFIX}"
    if "/" in name or "\\" in name or "\0" in name or ".." in name:  # never outside the folder
        raise ValueError(f"trace file name {name!r:.80} would leave the export folder: "
                         "protocol and property names may not contain '/', '\\' or '..'")
    return name


def render_format(fmt: str, trace, model) -> str:
    return FORMATS[fmt].write(trace, model)
