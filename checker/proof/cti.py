"""A counterexample to induction (CTI) as a two-step ``Trace``: the state before (any state
satisfying the invariant, not necessarily reachable) and the step that breaks a conjunct.

The sizes, pre-state, step and post-state z3 chose become the model's own ``Config``,
``State`` and ``Action``, so the CTI prints as the step table ``check`` prints
(``reports/render.py``) and is replayed on the explicit model (``replays``): the post-state
must be one of the explicit successors of the pre-state.
"""

from __future__ import annotations

from dataclasses import dataclass

from dnsrace.model import Config, ConfigError, DnsSystem, describe_step, state_to_dict
from dnsrace.model.describe import actor_name
from dnsrace.model.symbolic import decode_state, encode_state

from ..traces.trace import Step, Trace

__all__ = ["Cti", "build_cti"]


@dataclass(frozen=True)
class Cti:
    """``trace`` (None when z3's sizes do not fit a ``Config``), ``model`` (the explicit
    system at the CTI's sizes), whether the step replays on it, and the raw values."""

    trace: Trace | None
    model: DnsSystem | None
    replays: bool | None
    values: dict
    conjunct: str
    well_formed: bool = True  # the state before is a state of the model at these sizes

    def enactor_lines(self) -> list:
        """The enactors before and after the step (the table shows records and store only)."""
        if self.trace is None:
            return []
        out = []
        for label, step in (("before", self.trace.steps[0]), ("after", self.trace.steps[-1])):
            parts = []
            for j, e in enumerate(step.state.enactors):
                text = f"enactor-{j + 1} {self.model.protocol.phase_name(e.pc, self.model.config)}"
                if e.held:
                    text += f" holding {e.held}"
                if e.local:
                    text += f" {e.local}"
                parts.append(text)
            ext = f"; record tokens {list(step.state.ext)}" if step.state.ext else ""
            out.append(f"  enactors {label}: " + ", ".join(parts) + ext)
        return out


def build_cti(protocol, form, values: dict, conjunct: str, explanation: str) -> Cti:
    """The CTI of z3's ``values`` (see ``solver._values``) for ``protocol``."""
    sizes = values["sizes"]
    try:
        config = Config(values["enactors"], sizes["P"], sizes["E"], sizes["K"])
    except ConfigError:
        return Cti(None, None, None, values, conjunct)
    model = DnsSystem(config, protocol)
    pre = decode_state(form, protocol, config, values["pre"])
    steps = [Step(0, None, None, "a state satisfying the invariant (not necessarily reachable)",
                  pre, _state_data(model, pre))]
    replays = None
    well_formed = _in_state_space(model, form, values["pre"], pre)
    if values.get("step") is not None:
        post = decode_state(form, protocol, config, values["post"])
        if form.normalize is not None:
            post = form.normalize(post)
        cls = model.action_kinds[values["step"]]
        args = {}
        if "i" in values["params"]:
            args["enactor"] = values["params"]["i"]
        if "k" in values["params"]:
            args["endpoint"] = values["params"]["k"]
        action = cls(**args)
        try:
            replays = (action, post) in set(model.successors(pre)) if well_formed else None
            text = describe_step(model, pre, action, post)
        except Exception:  # noqa: BLE001 - a pre-state outside the model's reach may not step
            replays, text = (False if well_formed else None), action.kind
        steps.append(Step(1, actor_name(action), action, text, post, _state_data(model, post)))
        explanation = _explain(model, conjunct, pre, post) or explanation
    trace = Trace(config.as_dict(), protocol.name, f"induction of {conjunct}", tuple(steps),
                  explanation)
    return Cti(trace, model, replays, values, conjunct, well_formed)


def _in_state_space(model, form, raw, s) -> bool:
    """Is ``s`` (decoded from z3's ``raw`` values) a state of the model at its sizes? A weak
    invariant allows pre-states that are not (a phase that does not exist, a plan above P)."""
    c = model.config
    plans = range(0, c.plans + 1)
    if encode_state(form, model.protocol, c, s) != raw:
        return False
    if s.gen not in plans or not all(v in plans and v > 0 for v in s.store):
        return False
    if not all(v in plans for v in s.dns) or not all(e.held in plans for e in s.enactors):
        return False
    return all(e.pc >= 0 and not model.protocol.phase_name(e.pc, c).startswith("phase-")
               for e in s.enactors)


def _explain(model, conjunct, pre, post):
    """The property's own words for why the post-state (or step) breaks it, if a property."""
    from dnsrace.invariants import PROPERTIES  # noqa: PLC0415

    prop = PROPERTIES.get(conjunct)
    if prop is None:
        return None
    try:
        return f"{conjunct} breaks: {prop().explain(model, [pre, post])}"
    except Exception:  # noqa: BLE001 - words are a convenience; the table is the evidence
        return None


def _state_data(model, s):
    try:
        return state_to_dict(model, s)
    except Exception:  # noqa: BLE001 - plain data is a convenience for --json only
        return None
