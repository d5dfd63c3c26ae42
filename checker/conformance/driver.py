"""Driving adapters through the model's schedules and comparing, after every step, what the
real services hold with what the model says.

A schedule is a sequence of model steps: the actions of a trace file, or a seeded random run.
Each step is ONE adapter call (the planner's ``publish``, or the enactor method of the phase
the enactor is in: ``pick``, ``write(k)``, ``check(k)``, ``cleanup``, ...). After it the driver
reads Route 53 and the bucket back and compares three things with the model:

- the outcome: the plan ``pick`` took (the model's ``held``), or the kind of step the method
  reports (``write`` vs ``abort``: the model's action at that phase);
- every record: the plan its value names vs the model's ``dns[e]``;
- the plan store: the plans whose objects are in the bucket vs the model's ``store``.

The first step where any of them differs is the divergence; driving stops there.
"""

from __future__ import annotations

import inspect
import random
import re
from dataclasses import dataclass, field

from dnsrace.model import ACTION_KINDS, Pick, Plan, enactor_name, endpoint_name
from dnsrace.model.loader import _failure

from ..traces.replay_file import action_label
from .adapters import ABORT, StorePlanner, instantiate

__all__ = ["Driver", "DriveStep", "RunReport", "StepError", "file_schedule", "random_run",
           "adapter_method"]


class StepError(RuntimeError):
    """An adapter that cannot take a step (no such method, or it raised), or services that
    stop answering; the message is one line naming the step."""


@dataclass(frozen=True)
class DriveStep:
    """One driven step: the model's action and the states around it, what the adapter
    reported (``outcome``, in words, and its optional ``note``), what the services hold
    afterwards, and every difference from the model as ``(what, the model's, the real)``
    (none: this step conforms)."""

    index: int
    action: object
    before: object
    after: object
    outcome: str
    note: str
    real: object
    differences: tuple
    schedule_note: str = ""

    @property
    def conforms(self) -> bool:
        return not self.differences


@dataclass
class RunReport:
    """One driven run. ``steps[0]`` is the initial state (no action). ``divergence`` is the
    first step that differs, or None. ``stopped``: why a file's schedule could not go on under
    the driven protocol (then the run is incomplete)."""

    run: int | None
    steps: list = field(default_factory=list)
    divergence: DriveStep | None = None
    stopped: str = ""

    @property
    def states(self) -> tuple:
        return (self.steps[0].after,) + tuple(s.after for s in self.steps[1:])

    @property
    def actions(self) -> tuple:
        return tuple(s.action for s in self.steps[1:])


_ALIASES = {"aborted": "abort", "written": "write", "checked": "check"}
_PHASE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\((\d+)\))?$")


def adapter_method(model, state, action) -> tuple:
    """(method name, arguments) of the enactor adapter call that performs ``action``."""
    c, proto, i = model.config, model.protocol, action.actor
    if action in [a for a, _ in proto.extra_steps(c, state, i)]:
        k = getattr(action, "endpoint", None)
        return action.kind, (() if k is None else (k,))
    m = _PHASE.match(proto.phase_name(state.enactors[i].pc, c))
    name, k = (m.group(1), m.group(2)) if m else (action.kind, None)
    name = {"idle": "pick", "apply": "write"}.get(name, name)
    return name, (() if k is None else (int(k),))


def _plans(plans) -> str:
    return "{" + ", ".join(map(str, sorted(plans))) + "}"


def _served(plan) -> str:
    return "no plan" if plan is None else ("plan 0 (bootstrap)" if plan == 0 else f"plan {plan}")


class Driver:
    """Drives one adapter class (one instance per enactor) and a planner over ``services``."""

    def __init__(self, model, services, enactor_cls, planner_cls=StorePlanner,
                 adapter_name="adapter", planner_name="planner"):
        self.model, self.services = model, services
        self.enactor_cls, self.planner_cls = enactor_cls, planner_cls
        self.adapter_name, self.planner_name = adapter_name, planner_name
        self.enactors, self.planner = [], None

    # -- runs -----------------------------------------------------------------------------
    def start(self, run=None) -> RunReport:
        """Fresh services (records at plan 0, empty bucket) and fresh adapter instances."""
        svc, target = self.services, self.services.target
        self._guard("set-up", svc.reset)
        self.planner = instantiate(self.planner_cls, (svc.route53, svc.s3, target),
                                   f"planner {self.planner_name}")
        self.enactors = [instantiate(self.enactor_cls, (svc.route53, svc.s3, i, target),
                                     f"adapter {self.adapter_name} (enactor {i})")
                         for i in range(self.model.config.enactors)]
        s0 = self.model.init_states()[0]
        real = self._observe(0)
        report = RunReport(run)
        first = DriveStep(0, None, None, s0, "", "", real, self._state_differences(s0, real))
        report.steps.append(first)
        if not first.conforms:
            report.divergence = first
        return report

    def step(self, report: RunReport, action, after, schedule_note: str = "") -> DriveStep:
        """Performs ``action`` for real, reads back, compares; appends to ``report``."""
        j = len(report.steps)
        before = report.steps[-1].after
        label = f"step {j} ({action_label(action)})"
        if isinstance(action, Plan):
            self._call(label, self.planner, "publish", (after.gen,), f"planner {self.planner_name}")
            outcome, note, diffs = f"published plan {after.gen}", "", []
        else:
            name, args = adapter_method(self.model, before, action)
            where = f"adapter {self.adapter_name}"
            result = self._call(label, self.enactors[action.actor], name, args, where)
            outcome, note, diffs = self._outcome(label, action, after, name, result)
        real = self._observe(j)
        diffs += self._state_differences(after, real)
        done = DriveStep(j, action, before, after, outcome, note, real, tuple(diffs),
                         schedule_note)
        report.steps.append(done)
        if not done.conforms and report.divergence is None:
            report.divergence = done
        return done

    # -- pieces ---------------------------------------------------------------------------
    def _call(self, label, adapter, name, args, where):
        method = getattr(adapter, name, None)
        if not callable(method):
            sig = f"{name}({', '.join('k' for _ in args) if name != 'publish' else 'plan'})"
            raise StepError(f"{label}: {where} has no method {sig}")
        try:
            return method(*args)
        except Exception as exc:  # noqa: BLE001 - the user's code failing is bad input, named
            try:  # name the line in the adapter's file, not deep inside botocore
                source = inspect.getsourcefile(type(adapter))
            except TypeError:
                source = None
            text = _failure(exc, source).replace("\n", " ")
            raise StepError(f"{label}: {where} raised {text} in {name}()") from None

    def _guard(self, label, fn):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001
            text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
            raise StepError(f"{label}: the services at {self.services.endpoint_url} failed: "
                            f"{text}") from None

    def _observe(self, j):
        return self._guard(f"step {j}: reading the services back", self.services.observe)

    def _outcome(self, label, action, after, method: str, result):
        """(outcome in words, the adapter's note, differences) for an enactor's result.
        A result the API does not allow is bad input (StepError), never a verdict."""
        note = ""
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], str):
            result, note = result
        if isinstance(action, Pick):
            if result is not None and (isinstance(result, bool) or not isinstance(result, int)):
                raise StepError(f"{label}: the adapter's pick() returned {result!r:.60}; it "
                                "returns the plan it took (an int) or None")
            who, held = enactor_name(action.actor), after.enactors[action.actor].held
            took = "took nothing" if result is None else f"took plan {result}"
            diff = [] if result == held else [
                ("outcome", f"{who} to pick plan {held}", f"the adapter's pick() {took}")]
            return took, note, diff
        kind = method if result is None else _ALIASES.get(result, result)
        known = set(ACTION_KINDS) | set(self.model.action_kinds) | {method}
        if not isinstance(kind, str) or kind not in known:
            raise StepError(f"{label}: the adapter's {method}() returned {result!r:.60}; it "
                            f"returns None (it did {method}) or the kind of step it took: "
                            f"{', '.join(sorted(known))}")
        words = "aborted" if kind == ABORT else ("ok" if kind == method else f"did {kind}")
        if kind == action.kind:
            return words, note, []
        return words, note, [("outcome", f"step {action_label(action)!r}",
                             f"the adapter's {method}() reported {kind!r}"
                             + (f" ({note})" if note else ""))]

    def _state_differences(self, state, real) -> list:
        out = []
        for e, (want, got, raw) in enumerate(zip(state.dns, real.dns, real.values)):
            if want != got:
                out.append((f"record {endpoint_name(e)}", _served(want), f"Route 53 holds {raw}"))
        if set(state.store) != set(real.store):
            out.append(("plan store", _plans(state.store),
                        f"the bucket holds {_plans(real.store)}"))
        return out


def file_schedule(driver: Driver, actions) -> RunReport:
    """Drives the actions of a trace file. Where the driven protocol disables a file's action
    but lets the same actor take exactly one other step (``cas`` aborting where ``original``
    wrote), that step is taken: the file gives the interleaving (who moves when)."""
    model = driver.model
    report = driver.start()
    for fa in actions:
        if report.divergence is not None:
            break
        state = report.steps[-1].after
        nxt, note, action = model.next_state(state, fa), "", fa
        if nxt is None:
            mine = [(a, n) for a, n in model.successors(state) if a.actor == fa.actor]
            who = "the planner" if fa.actor is None else enactor_name(fa.actor)
            if len(mine) != 1:
                j = len(report.steps)
                report.stopped = (f"step {j}: the file's {action_label(fa)} is not enabled under "
                                  f"{model.protocol.name}, and {who} has "
                                  f"{'no' if not mine else len(mine)} enabled steps there")
                break
            action, nxt = mine[0]
            note = f"the file's {action_label(fa)}; {model.protocol.name} takes {action_label(action)}"
        driver.step(report, action, nxt, note)
    return report


def random_run(driver: Driver, rng: random.Random, depth: int, run: int) -> RunReport:
    """One random run of the model (uniform among enabled steps, at most ``depth`` steps),
    driven step by step. The choices depend only on ``rng`` and the model."""
    model = driver.model
    report = driver.start(run)
    for _ in range(depth):
        if report.divergence is not None:
            break
        options = model.successors(report.steps[-1].after)
        if not options:
            break
        action, nxt = options[rng.randrange(len(options))]
        driver.step(report, action, nxt)
    return report

