"""``itf``: Apalache's Informal Trace Format (ADR-015), read by Quint and Apalache tooling.

Spec: https://apalache-mc.org/docs/adr/015adr-trace.html. A trace is an object with
``#meta``, ``vars`` and ``states``; each state is an object with its own ``#meta``
(``{"index": j}``) and one entry per variable. Values use ITF's encodings: integers as
``{"#bigint": "3"}``, sets as ``{"#set": [...]}``, maps as ``{"#map": [[key, value], ...]}``,
records as plain objects, and Quint-style variants ``{"tag": ..., "value": ...}``.

dnsrace's variables, one ITF state per trace step:

- ``gen``: plans generated so far (int);
- ``store``: plans not yet deleted (set of ints);
- ``dns``: endpoint index -> the plan Route 53 serves for it, 0 for never written (map);
- ``enactors``: enactor index -> ``{"pc": "apply(1)", "held": 3}`` (map of records);
- ``action``: the step that led here, a variant: ``{"tag": "Init", "value": "U_OF_UNIT"}``
  (a step without arguments: Apalache's unit value; Quint's ``{"#tup": []}`` is read too),
  ``{"tag": "Write", "value": {"enactor": 0, "endpoint": 2}}`` (ints as ``#bigint``);
- ``time`` (timed traces only): the moment of the step, an exact rational as a string.

``#meta`` also records ``config``, ``protocol``, ``property`` and ``explanation``, so
``dnsrace replay`` can check an ITF file on its own. Reading accepts files without the
``action`` variable (e.g. written by another tool): replay then infers each step from the
state change. Enactor and endpoint indices are 0-based, as in ``dnsrace-trace/1``.
"""

from __future__ import annotations

import json

from .common import (MAX_INT_DIGITS, FileStep, TraceFile, TraceFormatError, config_from,
                     counted, require)

__all__ = ["NAME", "SUFFIX", "SPEC", "write", "decode", "encode_value", "decode_value"]

NAME = "itf"
SUFFIX = ".itf.json"
SPEC = "https://apalache-mc.org/docs/adr/015adr-trace.html"


def encode_value(v):
    """Plain data -> ITF: ints as #bigint, lists as arrays, dicts as records."""
    if isinstance(v, bool) or isinstance(v, str) or v is None:
        return v
    if isinstance(v, int):
        return {"#bigint": str(v)}
    if isinstance(v, (list, tuple)):
        return [encode_value(x) for x in v]
    if isinstance(v, dict):
        return {k: encode_value(x) for k, x in v.items()}
    raise TypeError(f"no ITF encoding for {v!r}")


def decode_value(v, where: str):
    """ITF -> plain data: #bigint to int, #set to a sorted list, #tup and arrays to lists,
    #map to a list of [key, value] pairs, records to dicts."""
    if isinstance(v, (bool, str)) or v is None:
        return v
    if isinstance(v, int):  # ADR-015 allows small integers as plain JSON numbers
        return v
    if isinstance(v, list):
        return [decode_value(x, where) for x in v]
    if isinstance(v, dict):
        if "#bigint" in v:
            text = v["#bigint"]
            if isinstance(text, str) and len(text.lstrip("-")) > MAX_INT_DIGITS:
                raise TraceFormatError(f"{where}: a #bigint of {len(text):,} digits; at most "
                                       f"{MAX_INT_DIGITS}")
            try:
                return int(text)
            except (TypeError, ValueError):
                raise TraceFormatError(f"{where}: bad #bigint {text!r}") from None
        if "#set" in v:
            items = [decode_value(x, where) for x in _array(v["#set"], where)]
            try:
                return sorted(items)
            except TypeError:
                return items
        if "#tup" in v:
            return [decode_value(x, where) for x in _array(v["#tup"], where)]
        if "#map" in v:
            pairs = []
            for pair in _array(v["#map"], where):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise TraceFormatError(f"{where}: a #map entry must be a [key, value] pair")
                pairs.append([decode_value(pair[0], where), decode_value(pair[1], where)])
            return pairs
        if "#unserializable" in v:
            raise TraceFormatError(f"{where}: unserializable value {v['#unserializable']!r}")
        return {k: decode_value(x, f"{where}.{k}") for k, x in v.items()}
    raise TraceFormatError(f"{where}: unexpected value {v!r}")


def _array(v, where):
    if not isinstance(v, list):
        raise TraceFormatError(f"{where}: expected an array")
    return v


def _indexed_map(values) -> dict:
    return {"#map": [[encode_value(i), encode_value(x)] for i, x in enumerate(values)]}


# The payload of a variant without arguments. ADR-015 has no unit value; Apalache writes it
# as the uninterpreted value "U_OF_UNIT" (ADR-015's "<name>_OF_<type>" strings), which
# itf-py and other readers take as a plain string. Quint writes {"#tup": []}, which itf-py
# rejects as a variant payload (it reads the object as a record with a field "#tup").
# Reading accepts both, and null.
UNIT = "U_OF_UNIT"


def _action_variant(action: dict | None) -> dict:
    if action is None:
        return {"tag": "Init", "value": UNIT}
    args = {k: v for k, v in action.items() if k != "kind"}
    return {"tag": action["kind"].capitalize(),
            "value": encode_value(args) if args else UNIT}


def _itf_state(step) -> dict:
    from ..trace import time_to_text  # noqa: PLC0415

    data = step.state_data
    out = {"#meta": {"index": step.index},
           "gen": encode_value(data["gen"]),
           "store": {"#set": [encode_value(p) for p in data["store"]]},
           "dns": _indexed_map(data["dns"]),
           "enactors": _indexed_map(data["enactors"])}
    if "ext" in data:
        out["ext"] = encode_value(data["ext"])
    out["action"] = _action_variant(step.action_data)
    if step.time is not None:
        out["time"] = time_to_text(step.time)
    return out


def write(trace, model=None) -> str:
    if any(s.state_data is None for s in trace.steps):
        raise ValueError("ITF needs the plain state of every step (build traces with "
                         "build_trace)")
    states = [_itf_state(s) for s in trace.steps]
    variables = [k for k in states[0] if k != "#meta"]
    doc = {
        "#meta": {
            "format": "ITF",
            "format-description": SPEC,
            "source": "dnsrace",
            **({"dnsrace": trace.provenance} if trace.provenance is not None else {}),
            "description": (f"dnsrace counterexample to {trace.property} under protocol "
                            f"{trace.protocol}, {counted(trace.length, 'step')}"),
            "config": dict(trace.config),
            "protocol": trace.protocol,
            "property": trace.property,
            "explanation": trace.explanation,
            **({"timing": trace.timing} if trace.timing is not None else {}),
        },
        "vars": variables,
        "states": states,
    }
    return _layout(doc)


def _layout(doc: dict) -> str:
    """Readable and diffable: ``#meta`` and ``vars`` indented, one line per state."""
    one = lambda v: json.dumps(v, ensure_ascii=False, separators=(", ", ": "))  # noqa: E731
    meta = json.dumps(doc["#meta"], indent=2, ensure_ascii=False).replace("\n", "\n  ")
    states = ",\n".join("    " + one(s) for s in doc["states"])
    return (f'{{\n  "#meta": {meta},\n  "vars": {one(doc["vars"])},\n'
            f'  "states": [\n{states}\n  ]\n}}\n')


def _map_to_list(pairs, where: str) -> list:
    if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2
                                              for p in pairs):
        raise TraceFormatError(f"{where}: expected a #map")
    keys = [k for k, _ in pairs]
    if keys != list(range(len(keys))):
        raise TraceFormatError(f"{where}: keys must be the indices 0..{len(keys) - 1}, got "
                               f"{keys}")
    return [v for _, v in pairs]


def _decode_action(v, where: str) -> dict | None:
    if not isinstance(v, dict) or "tag" not in v:
        raise TraceFormatError(f"{where}: expected a variant {{\"tag\": ..., \"value\": ...}}")
    tag = v["tag"]
    if not isinstance(tag, str):
        raise TraceFormatError(f"{where}.tag: expected a string")
    if tag == "Init":
        return None
    value = v.get("value", UNIT)
    value = [] if value is None or value == UNIT else decode_value(value, where)
    args = value if isinstance(value, dict) else {}
    if not isinstance(value, (dict, list)) or (isinstance(value, list) and value):
        raise TraceFormatError(f"{where}.value: expected a record of the action's fields")
    return {"kind": tag.lower(), **args}


def decode(doc: dict) -> TraceFile:
    from ..trace import time_from_text  # noqa: PLC0415

    meta = require(doc, "#meta", dict)
    config = config_from(meta.get("config"), "#meta.config")
    protocol = require(meta, "protocol", str, "#meta.")
    prop = require(meta, "property", str, "#meta.")
    raw = require(doc, "states", list)
    if not raw:
        raise TraceFormatError("field 'states' is empty (state 0 is the initial state)")
    steps = []
    for j, s in enumerate(raw):
        where = f"states[{j}]"
        if not isinstance(s, dict):
            raise TraceFormatError(f"step {j}: {where} must be an object")
        index = s.get("#meta", {}).get("index", j) if isinstance(s.get("#meta"), dict) else j
        if index != j:
            raise TraceFormatError(f"step {j}: field '{where}.#meta.index' is {index!r}, "
                                   f"expected {j}")
        for key in ("gen", "store", "dns", "enactors"):
            if key not in s:
                raise TraceFormatError(f"step {j}: missing variable '{where}.{key}'")
        state = {"gen": decode_value(s["gen"], f"{where}.gen"),
                 "store": decode_value(s["store"], f"{where}.store"),
                 "dns": _map_to_list(decode_value(s["dns"], f"{where}.dns"), f"{where}.dns"),
                 "enactors": _map_to_list(decode_value(s["enactors"], f"{where}.enactors"),
                                          f"{where}.enactors")}
        if "ext" in s:
            state["ext"] = decode_value(s["ext"], f"{where}.ext")
        action = _decode_action(s["action"], f"{where}.action") if "action" in s else None
        if j == 0 and action is not None:
            raise TraceFormatError(f"step 0: '{where}.action' must be Init")
        if j > 0 and "action" in s and action is None:
            raise TraceFormatError(f"step {j}: '{where}.action' is Init after the first state")
        time = None
        if "time" in s:
            try:
                time = time_from_text(s["time"])
            except ValueError as exc:
                raise TraceFormatError(f"step {j}: field '{where}.time': {exc}") from None
        steps.append(FileStep(j, action, state, time))
    timing = meta.get("timing")
    if timing is not None and not isinstance(timing, dict):
        raise TraceFormatError("field '#meta.timing' must be an object")
    return TraceFile(NAME, config, protocol, prop, tuple(steps), timing)
