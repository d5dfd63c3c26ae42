"""Re-executing a trace file against the model: is it a counterexample, and if not, why?

``replay_trace_file`` takes a decoded file (``formats.TraceFile``) and checks, step by step,
that each action is enabled in the state reached so far and leads to the state the file
records (when it records one), then that the final state (or, for a transition invariant,
the final step) violates the property the file names. Malformed input raises
``TraceFormatError`` naming the field or step; a well-formed file that is not a
counterexample gives a report with ``valid`` false, the failing step and the reason.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from dnsrace.invariants import PropertyLoadError, UnknownProperty, resolve_properties
from dnsrace.model import (ACTION_KINDS, Config, ConfigError, DnsSystem, UnknownProtocol,
                           action_from_dict, enactor_name, endpoint_name, endpoint_ref, resolve_protocol,
                           state_to_dict)

from dnsrace.model.describe import phase_text
from dnsrace.model.loader import ProtocolLoadError, is_protocol_spec

from .formats.common import TraceFormatError
from ..explore.result import Path
from .trace import build_trace

__all__ = ["InputError", "ReplayReport", "StepReport", "replay_trace_file", "action_label", "violates"]


class InputError(ValueError):
    """A bad option (not a bad file), e.g. an unknown ``--protocol``."""


@dataclass(frozen=True)
class StepReport:
    index: int
    label: str
    enabled: bool
    time: object = None


@dataclass
class ReplayReport:
    """What replay found. ``valid``: a counterexample to ``property``. Otherwise
    ``failed_step`` (None when every step replays but the property is not violated) and
    ``reason`` say why not. ``trace`` is the replayed trace when every step replays."""

    model: object
    property: str
    steps: list = field(default_factory=list)
    valid: bool = False
    failed_step: int | None = None
    reason: str = ""
    trace: object = None


def action_label(action) -> str:
    """``write enactor-1 regional``: an action in words, for step-by-step reports."""
    parts = [action.kind]
    for name in action.__slots__:
        value = getattr(action, name)
        parts.append(enactor_name(value) if name == "enactor" else
                     endpoint_name(value) if name == "endpoint" else f"{name}={value}")
    return " ".join(parts)


def _model_for(tf, protocol_override, property_override=None):
    try:
        config = Config(**tf.config)
    except ConfigError as exc:
        where = "config" if tf.format == "json" else "#meta.config"
        raise TraceFormatError(f"field '{where}': {exc}") from None
    name = protocol_override or tf.protocol
    if protocol_override is None and is_protocol_spec(name):
        raise TraceFormatError(f"field 'protocol' names user code {name!r}; replay never runs "
                               "code a trace file names: pass --protocol to trust it")
    try:
        protocol = resolve_protocol(name)
    except (UnknownProtocol, ProtocolLoadError) as exc:
        if protocol_override is not None:
            raise InputError(str(exc)) from None
        raise TraceFormatError(
            f"field 'protocol': {exc}; for a trace of your own protocol, pass --protocol "
            "path/to/file.py:ClassName (replay never runs code a trace file names)") from None
    if property_override is not None:  # the user's own property: trusted on the command line
        try:
            prop = resolve_properties([property_override])[0]
        except (UnknownProperty, PropertyLoadError) as exc:
            raise InputError(str(exc)) from None
        if prop.name != tf.property:
            raise InputError(f"the file's property is {tf.property!r}, but "
                             f"{property_override} is {prop.name!r}")
        return DnsSystem(config, protocol), prop
    try:
        prop = resolve_properties([tf.property])[0]
    except UnknownProperty as exc:
        raise TraceFormatError(f"field 'property': {exc}; a property of your own needs "
                               "--property file.py:Name") from None
    return DnsSystem(config, protocol), prop


def _check_shape(model, j: int, data: dict) -> None:
    """A recorded state must fit the configuration (else the file is for another one)."""
    c = model.config
    dns, enactors = data.get("dns"), data.get("enactors")
    if not isinstance(dns, list) or not isinstance(enactors, list):
        raise TraceFormatError(f"step {j}: the state needs lists 'dns' and 'enactors'")
    def whole(v):
        return isinstance(v, int) and not isinstance(v, bool)
    if not whole(data.get("gen")) or not isinstance(data.get("store"), list) or \
            not all(map(whole, dns + data["store"])) or \
            not all(isinstance(e, dict) for e in enactors):
        raise TraceFormatError(f"step {j}: the state needs an integer 'gen', lists of integers "
                               "'store' and 'dns', and a list of objects 'enactors'")
    if len(dns) != c.endpoints or len(enactors) != c.enactors:
        raise TraceFormatError(
            f"step {j}: the state has {len(dns)} endpoints and {len(enactors)} enactors, but "
            f"the configuration {c.slug()} has {c.endpoints} and {c.enactors}: a trace for "
            "another configuration")


def _diff(recorded: dict, reached: dict) -> str:
    keys = [k for k in dict.fromkeys([*reached, *recorded]) if recorded.get(k) != reached.get(k)]
    return "; ".join(f"{k} is {reached.get(k)} in the model, {recorded.get(k)} in the file"
                     for k in keys)


def _parse_action(model, j: int, data: dict):
    if not isinstance(data.get("kind"), str):
        raise TraceFormatError(f"step {j}: the action needs a string 'kind' such as \"pick\"")
    try:
        action = action_from_dict(data, {**ACTION_KINDS, **model.action_kinds})
    except ValueError as exc:
        raise TraceFormatError(f"step {j}: {exc}") from None
    c = model.config
    i = getattr(action, "enactor", None)
    if i is not None and not 0 <= i < c.enactors:
        raise TraceFormatError(f"step {j}: action {action.kind!r} names enactor index {i}, but "
                               f"the configuration has enactors 0..{c.enactors - 1}")
    k = getattr(action, "endpoint", None)
    if k is not None and not 0 <= k < c.endpoints:
        raise TraceFormatError(f"step {j}: action {action.kind!r} names endpoint index {k}, "
                               f"but the configuration has endpoints 0..{c.endpoints - 1}")
    return action


def _why_disabled(model, state, action) -> str:
    if action.kind not in model.action_kinds:
        return f"protocol {model.protocol.name} has no {action.kind!r} steps"
    data = state_to_dict(model, state)
    bits = []
    i = getattr(action, "enactor", None)
    if i is not None:
        e = data["enactors"][i]
        bits.append(f"{enactor_name(i)} is at {phase_text(e['pc'])}" + (f" holding plan {e['held']}"
                                                         if e["held"] else ""))
    k = getattr(action, "endpoint", None)
    if k is not None:
        served = data["dns"][k]
        bits.append(f"{endpoint_ref(k)} serves "
                    + ("nothing yet" if served == 0 else f"plan {served}"
                       + ("" if served in data["store"] else " (deleted)")))
    enabled = ", ".join(action_label(a) for a, _ in model.successors(state)) or "nothing"
    bits.append(f"enabled there: {enabled}")
    return "; ".join(bits)


def violates(prop, model, states: list, actions: list) -> bool:
    """Whether the run ``states``/``actions`` ends in a violation of ``prop``."""
    last = states[-1]
    if prop.kind == "state invariant":
        return not prop.holds(model, last)
    if prop.kind == "transition invariant":
        return bool(actions) and not prop.holds(model, states[-2], actions[-1], last)
    if prop.kind == "graph property":
        if not prop.in_scope(model, last):
            return False
        g = prop.graph_model(model)
        rep = g.representative if getattr(g, "symmetric", False) else (lambda s: s)
        start = rep(last)
        seen, queue = {start}, deque([start])
        while queue:  # a violation: no path from the last state to a goal
            s = queue.popleft()
            if prop.is_goal(model, s):
                return False
            for _, nxt in g.successors(s):
                r = rep(nxt)
                if r not in seen:
                    seen.add(r)
                    queue.append(r)
        return True
    raise ValueError(f"unknown property kind {prop.kind!r}")


def replay_trace_file(tf, protocol: str | None = None,
                      prop: str | None = None) -> ReplayReport:
    """Replays ``tf`` (against ``protocol`` instead of the file's, if given)."""
    model, prop = _model_for(tf, protocol, prop)
    report = ReplayReport(model, prop.name)
    state = model.init_states()[0]
    first = tf.steps[0]
    if first.state is not None:
        _check_shape(model, 0, first.state)
        reached = state_to_dict(model, state)
        if first.state != reached:
            report.failed_step, report.reason = 0, (
                f"step 0 is not the initial state: {_diff(first.state, reached)}")
            return report
    states, actions = [state], []
    for fs in tf.steps[1:]:
        j = fs.index
        if fs.state is not None:
            _check_shape(model, j, fs.state)
        if fs.action is None:  # ITF without actions: the step that leads to the recorded state
            options = [(a, n) for a, n in model.successors(state)
                       if state_to_dict(model, n) == fs.state]
            if not options:
                report.steps.append(StepReport(j, "(unnamed step)", False, fs.time))
                report.failed_step, report.reason = j, (
                    f"step {j}: no enabled step leads to the recorded state; "
                    + _why_disabled_generic(model, state))
                return report
            action, nxt = options[0]
        else:
            action = _parse_action(model, j, fs.action)
            nxt = model.next_state(state, action) if action.kind in model.action_kinds else None
            if nxt is None:
                report.steps.append(StepReport(j, action_label(action), False, fs.time))
                report.failed_step, report.reason = j, (
                    f"step {j} ({action_label(action)}) is not enabled: "
                    + _why_disabled(model, state, action))
                return report
        report.steps.append(StepReport(j, action_label(action), True, fs.time))
        if fs.state is not None:
            reached = state_to_dict(model, nxt)
            if fs.state != reached:
                report.failed_step, report.reason = j, (
                    f"step {j} ({action_label(action)}) does not lead to the recorded state: "
                    + _diff(fs.state, reached))
                return report
        states.append(nxt)
        actions.append(action)
        state = nxt
    times = [fs.time for fs in tf.steps] if any(fs.time is not None for fs in tf.steps) \
        else None
    path = Path(tuple(states), tuple(actions))
    if violates(prop, model, states, actions):
        report.valid = True
        report.reason = prop.explain(model, states)
    else:
        report.reason = ("every step replays, but the final "
                         + ("step" if prop.kind == "transition invariant" else "state")
                         + f" does not violate {prop.name}")
    report.trace = build_trace(model, prop.name, path,
                               report.reason if not report.valid else prop.explain(model, states),
                               times, tf.timing)
    return report


def _why_disabled_generic(model, state) -> str:
    enabled = ", ".join(action_label(a) for a, _ in model.successors(state)) or "nothing"
    return f"enabled there: {enabled}"
