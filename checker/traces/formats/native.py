"""``json``: dnsrace's own trace format, ``dnsrace-trace/1``.

A JSON object::

    {
      "format": "dnsrace-trace/1",
      "config": {"enactors": 3, "plans": 4, "endpoints": 3, "keep": 1},
      "protocol": "original",
      "property": "no-dangling",
      "length": 10,
      "steps": [
        {"index": 0, "actor": null, "action": null, "description": "initial state",
         "state": {"gen": 0, "store": [], "dns": [0, 0, 0],
                   "enactors": [{"pc": "idle", "held": 0}, ...]}},
        {"index": 1, "actor": "planner", "action": {"kind": "plan"}, ...},
        {"index": 2, "actor": "enactor-1", "action": {"kind": "pick", "enactor": 0}, ...},
        ...
      ],
      "explanation": "endpoint regional serves plan 1, which cleanup deleted: ..."
    }

``replay`` needs only ``format``, ``config``, ``protocol``, ``property`` and each step's
``action`` (enactors and endpoints are 0-based indices); when a step also carries ``state``
replay checks that the model reaches exactly that state. A timed trace adds ``"time"`` to every
step, an exact rational as a string (``"0"``, ``"3/2"``), and may give the timing bounds it
respects in a top-level ``"timing"`` object (kept as written). ``actor``, ``description``,
``length`` and ``explanation`` are for readers and are not checked.
"""

from __future__ import annotations

import json

from .common import FileStep, TraceFile, TraceFormatError, config_from, require

__all__ = ["NAME", "SUFFIX", "FORMAT", "write", "decode"]

NAME = "json"
SUFFIX = ".json"
FORMAT = "dnsrace-trace/1"


def write(trace, model=None) -> str:
    """Indented JSON with one line per field of a step, so diffs show which step changed."""
    doc = {"format": FORMAT, **trace.as_dict(model)}
    steps = doc.pop("steps")
    explanation = doc.pop("explanation")
    timing = doc.pop("timing", None)
    one = lambda v: json.dumps(v, ensure_ascii=False, separators=(", ", ": "))  # noqa: E731
    head = ",\n".join(f"  {one(k)}: {one(v)}" for k, v in doc.items())
    body = ",\n".join("    {\n" + ",\n".join(f"      {one(k)}: {one(v)}" for k, v in st.items())
                      + "\n    }" for st in steps)
    tail = f",\n  \"timing\": {one(timing)}" if timing is not None else ""
    return (f"{{\n{head},\n  \"steps\": [\n{body}\n  ],\n"
            f"  \"explanation\": {one(explanation)}{tail}\n}}\n")


def decode(doc: dict) -> TraceFile:
    from ..trace import time_from_text  # noqa: PLC0415

    fmt = doc.get("format")
    if fmt == "dnsrace-check/1":
        raise TraceFormatError("this is a 'dnsrace check --json' report, not a trace; write "
                               "traces with 'dnsrace check --export DIR'")
    if fmt != FORMAT:
        raise TraceFormatError(f"unsupported format {fmt!r} in field 'format' (this dnsrace "
                               f"reads {FORMAT!r})")
    config = config_from(doc.get("config"), "config")
    protocol = require(doc, "protocol", str)
    prop = require(doc, "property", str)
    raw = require(doc, "steps", list)
    if not raw:
        raise TraceFormatError("field 'steps' is empty (step 0 is the initial state)")
    steps = []
    for j, s in enumerate(raw):
        where = f"steps[{j}]."
        if not isinstance(s, dict):
            raise TraceFormatError(f"step {j}: expected an object")
        index = s.get("index", j)
        if index != j:
            raise TraceFormatError(f"step {j}: field '{where}index' is {index!r}, expected {j}")
        action = s.get("action")
        if j == 0 and action is not None:
            raise TraceFormatError("step 0: the initial state has no action ('action' must be "
                                   "null)")
        if j > 0 and not isinstance(action, dict):
            raise TraceFormatError(f"step {j}: field '{where}action' must be an object such "
                                   "as {\"kind\": \"pick\", \"enactor\": 0}")
        state = s.get("state")
        if state is not None and not isinstance(state, dict):
            raise TraceFormatError(f"step {j}: field '{where}state' must be an object")
        time = None
        if "time" in s:
            try:
                time = time_from_text(s["time"])
            except ValueError as exc:
                raise TraceFormatError(f"step {j}: field '{where}time': {exc}") from None
        steps.append(FileStep(j, action, state, time))
    timing = doc.get("timing")
    if timing is not None and not isinstance(timing, dict):
        raise TraceFormatError("field 'timing' must be an object")
    timed = [s.time is not None for s in steps]
    if any(timed) and not all(timed):
        missing = timed.index(False)
        raise TraceFormatError(f"step {missing}: field 'steps[{missing}].time' is missing "
                               "(a timed trace gives every step a time)")
    return TraceFile(NAME, config, protocol, prop, tuple(steps), timing)
