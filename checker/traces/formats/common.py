"""What every readable format decodes to, and the one error type for malformed files."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["TraceFile", "FileStep", "TraceFormatError", "parse_trace_text", "load_trace_file",
           "generator_line", "counted", "sizes_text"]


class TraceFormatError(ValueError):
    """A trace file that cannot be read: the message is one line naming the field or step."""


@dataclass(frozen=True)
class FileStep:
    """One step as a file states it: ``action`` as a dict (None for the initial state, or
    when the format leaves it to be inferred), ``state`` as plain data, optional ``time``."""

    index: int
    action: dict | None
    state: dict | None
    time: object = None


@dataclass(frozen=True)
class TraceFile:
    """A decoded trace file, before replay: what it claims, not yet checked."""

    format: str
    config: dict
    protocol: str
    property: str
    steps: tuple = field(default_factory=tuple)
    timing: dict | None = None


def counted(n: int, noun: str) -> str:
    """``3 enactors``, ``1 enactor``, ``1 step``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def sizes_text(config: dict) -> str:
    """``3 enactors, 4 plans, 3 endpoints, keep 1``."""
    return (f"{counted(config['enactors'], 'enactor')}, {counted(config['plans'], 'plan')}, "
            f"{counted(config['endpoints'], 'endpoint')}, keep {config['keep']}")


def generator_line(trace) -> str:
    """``dnsrace 0.1.0: dnsrace check --plans 6``, for the comment text formats carry."""
    from ...reports.provenance import command_line  # noqa: PLC0415

    prov = trace.provenance
    if not prov:
        return ""
    cmd = command_line(prov)
    return f"dnsrace {prov.get('version', 'unknown')}" + (f": {cmd}" if cmd else "")


def parse_trace_text(text: str) -> TraceFile:
    """Decodes a ``json`` or ``itf`` trace (detected from its content)."""
    from . import itf, native  # noqa: PLC0415 - the format modules import this one

    text = text.strip()
    if not text:
        raise TraceFormatError("the file is empty")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TraceFormatError(f"not valid JSON (truncated?): {exc.msg} at line {exc.lineno} "
                               f"column {exc.colno}") from None
    if not isinstance(doc, dict):
        raise TraceFormatError("expected a JSON object at the top level")
    if "format" in doc:
        return native.decode(doc)
    if "#meta" in doc or "states" in doc:
        return itf.decode(doc)
    raise TraceFormatError("not a trace: no 'format' field (dnsrace-trace/1) and no ITF "
                           "'states'")


def load_trace_file(path) -> TraceFile:
    """Reads and decodes ``path``; OSError for unreadable files, TraceFormatError otherwise."""
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise TraceFormatError("not a text file (invalid UTF-8)") from None
    return parse_trace_text(text)


def require(doc: dict, key: str, kind, where: str = ""):
    """``doc[key]``, checked to be of ``kind``; TraceFormatError naming the field otherwise."""
    name = f"{where}{key}"
    if key not in doc:
        raise TraceFormatError(f"missing field '{name}'")
    value = doc[key]
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        want = {int: "an integer", str: "a string", list: "a list", dict: "an object"}.get(
            kind, str(kind))
        raise TraceFormatError(f"field '{name}' must be {want}, got {json.dumps(value)[:40]}")
    return value


def config_from(doc, where: str) -> dict:
    """The four sizes, checked to be integers (their ranges are checked by the model)."""
    if not isinstance(doc, dict):
        raise TraceFormatError(f"field '{where}' must be an object")
    out = {}
    for key in ("enactors", "plans", "endpoints", "keep"):
        out[key] = require(doc, key, int, f"{where}.")
    extra = sorted(set(doc) - set(out))
    if extra:
        raise TraceFormatError(f"field '{where}' has unknown key(s) {', '.join(extra)}")
    return out


