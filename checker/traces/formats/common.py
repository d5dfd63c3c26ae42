"""What every readable format decodes to, and the one error type for malformed files."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field

__all__ = ["TraceFile", "FileStep", "TraceFormatError", "parse_trace_text", "load_trace_file",
           "generator_line", "counted", "sizes_text",
           "MAX_TRACE_BYTES", "MAX_TRACE_STEPS", "MAX_NESTING", "MAX_INT_DIGITS"]

# Caps on what a trace file may hold (docs/TRACES.md, "Limits"): real counterexamples are a
# few kilobytes; these keep a hostile file from taking the machine's memory or time.
MAX_TRACE_BYTES = 16 * 1024 * 1024   # a file is refused above 16 MiB
MAX_TRACE_STEPS = 100_000            # steps in one trace
MAX_NESTING = 64                     # levels of JSON arrays/objects
MAX_INT_DIGITS = 30                  # digits of one JSON integer


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
    if len(text) > MAX_TRACE_BYTES:
        raise TraceFormatError(f"the trace is {len(text):,} characters; at most "
                               f"{MAX_TRACE_BYTES:,} are read")
    _check_nesting(text)
    try:
        doc = json.loads(text, parse_int=_small_int, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise TraceFormatError(f"not valid JSON (truncated?): {exc.msg} at line {exc.lineno} "
                               f"column {exc.colno}") from None
    except RecursionError:
        raise TraceFormatError(f"JSON nested too deeply (at most {MAX_NESTING} levels)") \
            from None
    if not isinstance(doc, dict):
        raise TraceFormatError("expected a JSON object at the top level")
    steps = doc.get("steps", doc.get("states"))
    if isinstance(steps, list) and len(steps) > MAX_TRACE_STEPS:
        raise TraceFormatError(f"the trace has {len(steps):,} steps; at most "
                               f"{MAX_TRACE_STEPS:,} are accepted")
    try:
        if "format" in doc:
            return native.decode(doc)
        if "#meta" in doc or "states" in doc:
            return itf.decode(doc)
    except RecursionError:
        raise TraceFormatError(f"values nested too deeply (at most {MAX_NESTING} levels)") \
            from None
    raise TraceFormatError("not a trace: no 'format' field (dnsrace-trace/1) and no ITF "
                           "'states'")


def _small_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise TraceFormatError(f"a JSON integer has {digits:,} digits; at most "
                               f"{MAX_INT_DIGITS}")
    return int(text)


def _no_constant(name: str):
    raise TraceFormatError(f"{name} is not valid JSON (no NaN or Infinity in a trace)")


def _check_nesting(text: str) -> None:
    """Refuses JSON nested deeper than MAX_NESTING, before the parser recurses into it.
    Brackets inside strings are skipped."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_NESTING:
                raise TraceFormatError(f"JSON nested more than {MAX_NESTING} levels deep")
        elif ch in "]}":
            depth -= 1


def read_capped(path, cap: int = MAX_TRACE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``cap`` bytes. Refuses, without blocking,
    devices, FIFOs, sockets and folders (OSError with a one-line strerror otherwise)."""
    if str(path) == "":
        raise TraceFormatError("the file name is empty")
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        raise TraceFormatError("is a folder, not a trace file")
    if not stat.S_ISREG(st.st_mode):
        raise TraceFormatError("is not a regular file (a device, FIFO or socket); "
                               "save the trace to a file first")
    if st.st_size > cap:
        raise TraceFormatError(f"the file is {st.st_size:,} bytes; at most {cap:,} are read")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # swapped since the stat
            raise TraceFormatError("is not a regular file")
        data = f.read(cap + 1)
    if len(data) > cap:
        raise TraceFormatError(f"the file is over {cap:,} bytes; at most {cap:,} are read")
    return data


def load_trace_file(path) -> TraceFile:
    """Reads and decodes ``path``; OSError for unreadable files, TraceFormatError otherwise."""
    data = read_capped(path)
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


