"""Timing bounds as model data, and which bound times which step (MODEL.md, "Timed semantics").

The timed system is a network of closed timed automata over the untimed one: the Planner has
a clock ``y``, each enactor a clock ``x``. This module says, for a state and one of its enabled
actions, which clock interval guards the action and which clocks it resets, and for a state
which deadlines hold. Engines (``dnsrace.checker.timing.timed``, ``dnsrace.checker.timing.simulate``) read
only that; they know nothing of DNS.

A protocol can time steps of its own: give it a ``timing_rules`` attribute (a
``TimingRules`` subclass instance) and, if it needs new intervals, pass them as
``Timing(extra={"lease": Interval(5, 5)})``. See docs/TIMING.md, "Protocol hook".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import NamedTuple

from .config import enactor_name

__all__ = ["Interval", "Timing", "TimingError", "TimingRules", "ActionTiming", "TimedView",
           "parse_bound", "parse_interval", "parse_rational", "DEFAULT_TIMING", "BASE_INTERVALS",
           "rules_for", "MAX_NUMBER_CHARS", "MAX_EXPONENT", "MAX_DIGITS",
           "rational_text", "rational_human", "interval_name", "bound_name", "bound_key"]


class TimingError(ValueError):
    """Timing bounds that cannot be used; the message is one line for the user."""


# What a time bound or a timestamp may look like. Fraction("1e1000000000") would compute a
# billion-digit integer (minutes, gigabytes): refuse such text before any arithmetic. Within
# these limits every value is kept exactly (engines use Python's unbounded integers).
MAX_NUMBER_CHARS = 100   # characters of text
MAX_EXPONENT = 100       # |e| in 1e-5, 2.5E+3
MAX_DIGITS = 200         # decimal digits of the numerator and of the denominator

_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+))?"
                     r"(?:\s*/\s*[+-]?\d+)?\s*")


def parse_rational(text, what: str = "number") -> Fraction:
    """An exact rational from ``"0.1"``, ``"1/3"``, ``"2e-3"``, ``2`` ... or TimingError:
    refused at once when too long, with a huge exponent or too many digits (never a hang),
    or when not a finite number (``nan``, ``inf``)."""
    if isinstance(text, bool):
        raise TimingError(f"{what}: {text!r} is not a number")
    if isinstance(text, Fraction):
        value = text
    elif isinstance(text, int):
        value = Fraction(text)
    else:
        if isinstance(text, float):
            text = repr(text)
        s = str(text)
        if len(s) > MAX_NUMBER_CHARS:
            raise TimingError(f"{what}: {s[:20]!r}... has {len(s)} characters; at most "
                              f"{MAX_NUMBER_CHARS} (use e.g. 0.1, 1/3 or 2)")
        m = _NUMBER.fullmatch(s)
        if m is None:
            raise TimingError(f"{what}: {text!r} is not a number (use e.g. 0.1, 1/3 or 2)")
        if m.group(1) is not None and abs(int(m.group(1))) > MAX_EXPONENT:
            raise TimingError(f"{what}: {s.strip()!r} has exponent {int(m.group(1))}; at most "
                              f"{MAX_EXPONENT} in absolute value")
        try:
            value = Fraction(s.strip().replace(" ", ""))
        except (ValueError, ZeroDivisionError):
            raise TimingError(f"{what}: {text!r} is not a number (use e.g. 0.1, 1/3 or 2)") \
                from None
    for part in (value.numerator, value.denominator):
        if abs(part).bit_length() > MAX_DIGITS * 3.33:
            raise TimingError(f"{what}: {text!r:.30} needs more than {MAX_DIGITS} digits; "
                              "dnsrace keeps time exactly, so use a shorter number")
    return value


def parse_bound(text, what: str = "bound") -> Fraction:
    """A non-negative rational from ``"0.1"``, ``"1/3"``, ``2`` ... or TimingError."""
    value = parse_rational(text, what)
    if value < 0:
        raise TimingError(f"{what}: {text} is negative; time bounds are >= 0")
    return value


@dataclass(frozen=True)
class Interval:
    """A closed interval [lo, hi] of non-negative rationals.

    ``hi=None`` means no upper end (no deadline). ``lo_open``/``hi_open`` make an end strict;
    only synthesis uses them, to ask whether a bound just beyond a candidate threshold still
    allows a violation. Users always give closed intervals.

    >>> Interval.parse("0:0.1")
    Interval(lo=Fraction(0, 1), hi=Fraction(1, 10), lo_open=False, hi_open=False)
    """

    lo: Fraction
    hi: Fraction | None
    lo_open: bool = False
    hi_open: bool = False

    def __post_init__(self):
        object.__setattr__(self, "lo", parse_bound(self.lo, "lower bound"))
        if self.hi is not None:
            object.__setattr__(self, "hi", parse_bound(self.hi, "upper bound"))
            if self.lo > self.hi or ((self.hi_open or self.lo_open) and self.lo >= self.hi):
                raise TimingError(
                    f"interval {self} is empty: lower bound above upper bound, so the step "
                    "could never meet its deadline")

    @classmethod
    def parse(cls, text, what: str = "interval") -> "Interval":
        """``"LO:HI"`` or ``"V"`` (the point interval [V, V])."""
        if isinstance(text, Interval):
            return text
        if isinstance(text, (tuple, list)):
            lo, hi = text
        else:
            s = str(text).strip()
            if s.count(":") > 1:
                raise TimingError(f"{what}: {text!r} is not LO:HI or a single number")
            lo, _, hi = s.partition(":") if ":" in s else (s, "", s)
        try:
            return cls(parse_bound(lo, what), parse_bound(hi, what))
        except TimingError as exc:
            msg = str(exc)
            raise TimingError(msg if msg.startswith(what) else f"{what}: {msg}") from None

    def contains(self, v) -> bool:
        above = v > self.lo if self.lo_open else v >= self.lo
        if self.hi is None:
            return above
        return above and (v < self.hi if self.hi_open else v <= self.hi)

    def __str__(self) -> str:
        hi = "inf)" if self.hi is None else rational_text(self.hi) + (")" if self.hi_open else "]")
        return f"{'(' if self.lo_open else '['}{rational_text(self.lo)}, {hi}"


def rational_text(v: Fraction) -> str:
    """A rational as exact text, the one format of human output and JSON: ``3``, ``1/10``
    (never a float: ``0.1`` typed on the command line prints as ``1/10``)."""
    v = Fraction(v)
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def rational_human(v: Fraction) -> str:
    """``rational_text`` with a decimal in parentheses when it is not whole, for results a
    reader compares with other numbers: ``1/3 (0.333)``, ``1/10 (0.1)``, ``2``."""
    v = Fraction(v)
    if v.denominator == 1:
        return str(v.numerator)
    return f"{rational_text(v)} ({float(v):.3g})"


parse_interval = Interval.parse

# The four intervals of MODEL.md, with the names the CLI uses for them.
BASE_INTERVALS = {
    "plan": "--plan-interval",
    "write": "--write-time",
    "check": "--check-time",
    "cleanup": "--cleanup-time",
}


def interval_name(name: str) -> str:
    """The one name of an interval, as its option spells it: ``write-time``,
    ``plan-interval``; a protocol's own interval keeps its name (``lease``)."""
    return BASE_INTERVALS[name][2:] if name in BASE_INTERVALS else name


def bound_name(name: str, side: str) -> str:
    """The one name of a bound in human output: ``write-time hi`` (``--write-time LO:HI``)."""
    return f"{interval_name(name)} {side}"


def bound_key(name: str, side: str) -> str:
    """The same bound in option values and JSON keys: ``write-time-hi``."""
    return f"{interval_name(name)}-{side}"


_BY_OPTION = {interval_name(n): n for n in BASE_INTERVALS}


@dataclass(frozen=True)
class Timing:
    """Timing bounds: every interval a timed step can be guarded by, by name.

    Defaults (docs/TIMING.md): a plan every 1 time unit exactly; a write, a recheck and a
    cleanup each take between 0 and 0.1 after the enactor's previous step.
    ``extra`` holds intervals a protocol declares for its own steps (e.g. a lease).
    """

    plan: Interval = Interval(1, 1)
    write: Interval = Interval(0, Fraction(1, 10))
    check: Interval = Interval(0, Fraction(1, 10))
    cleanup: Interval = Interval(0, Fraction(1, 10))
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in BASE_INTERVALS:
            object.__setattr__(self, name, Interval.parse(getattr(self, name), BASE_INTERVALS[name]))
        extra = {}
        for name, iv in dict(self.extra).items():
            if name in BASE_INTERVALS:
                raise TimingError(f"extra interval {name!r} shadows a base interval")
            extra[name] = Interval.parse(iv, name)
        object.__setattr__(self, "extra", extra)

    def names(self) -> tuple:
        return tuple(BASE_INTERVALS) + tuple(sorted(self.extra))

    def interval(self, name: str) -> Interval:
        if name in BASE_INTERVALS:
            return getattr(self, name)
        try:
            return self.extra[name]
        except KeyError:
            known = ", ".join(interval_name(n) for n in self.names())
            raise TimingError(f"no timing interval {name!r} (known: {known}; a protocol's own "
                              f"is given with --interval {name}=LO:HI)") from None

    def with_interval(self, name: str, iv: Interval) -> "Timing":
        if name in BASE_INTERVALS:
            return replace(self, **{name: iv})
        return replace(self, extra={**self.extra, name: iv})

    def scale(self) -> int:
        """The least common denominator of every bound: times this, bounds are integers."""
        den = 1
        for name in self.names():
            iv = self.interval(name)
            for v in (iv.lo, iv.hi if iv.hi is not None else 0):
                den = den * v.denominator // _gcd(den, v.denominator)
        return den

    def as_dict(self) -> dict:
        """``{"plan-interval": ["1", "1"], "write-time": ["0", "1/10"], ...}``: intervals by
        their option names, bounds as exact rationals."""
        out = {}
        for name in self.names():
            iv = self.interval(name)
            out[interval_name(name)] = [rational_text(iv.lo),
                                        None if iv.hi is None else rational_text(iv.hi)]
        return out

    @classmethod
    def from_dict(cls, data) -> "Timing":
        """Inverse of ``as_dict``: ``{"plan-interval": ["1", "1"], "write-time": ["0", "1/10"]}``
        (missing base intervals take their defaults). TimingError names what is wrong."""
        if not isinstance(data, dict):
            raise TimingError("timing must be an object of NAME: [LO, HI]")
        base, extra = {}, {}
        for name, pair in data.items():
            name = _BY_OPTION.get(name, name)  # older files say "write" for "write-time"
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise TimingError(f"timing {name!r} must be [LO, HI], got {pair!r}")
            lo, hi = pair
            if not isinstance(name, str) or not name:
                raise TimingError(f"timing interval names must be non-empty strings, got {name!r}")
            iv = Interval(parse_bound(lo, f"{name} lower bound"),
                          None if hi is None else parse_bound(hi, f"{name} upper bound"))
            (base if name in BASE_INTERVALS else extra)[name] = iv
        return cls(**base, extra=extra)

    def __str__(self) -> str:
        return ", ".join(f"{interval_name(n)} {self.interval(n)}" for n in self.names())

    def __hash__(self):
        return hash(tuple((n, self.interval(n)) for n in self.names()))


def _gcd(a, b):
    while b:
        a, b = b, a % b
    return a


DEFAULT_TIMING = Timing()


class ActionTiming(NamedTuple):
    """How one enabled action is timed: ``guards`` are ``(clock, interval name)`` pairs (the
    clock's value must lie in that interval when the action happens); ``resets`` are the clocks
    it sets to 0; ``urgent`` actions impose their interval's upper end as a deadline on the
    guarded clock while they are enabled."""

    guards: tuple = ()
    resets: tuple = ()
    urgent: bool = True


# Which interval times an enactor's step, by the protocol's phase name (before the "(").
PHASE_INTERVAL = {"apply": "write", "write": "write", "check": "check", "cleanup": "cleanup",
                  "idle": None}


class TimingRules:
    """The timing of MODEL.md: clock 0 is the Planner's ``y``, clock ``1 + i`` enactor i's ``x``.

    Override in a protocol (``protocol.timing_rules = MyRules()``) to add clocks or time new
    kinds of step. The engines call only ``clock_names``, ``action_timing``, ``deadlines``
    (derived from the others by default), ``inactive_clocks`` and ``clock_permutation``.
    """

    # Step kinds these rules know how to time (by the acting enactor's phase).
    timed_kinds = frozenset({"plan", "pick", "write", "check", "abort", "cleanup"})

    def clock_names(self, config) -> tuple:
        return ("planner",) + tuple(enactor_name(i) for i in range(config.enactors))

    def enactor_clock(self, i: int) -> int:
        return 1 + i

    def clock_intervals(self, config, timing) -> tuple:
        """Per clock, the names of the intervals that may guard it (or bound it by a
        deadline); ``None`` for "any". Only used to choose extrapolation constants, so a
        superset is always safe."""
        enactor = ("write", "check", "cleanup") + tuple(sorted(timing.extra))
        n = len(self.clock_names(config))
        return (("plan",),) + (enactor,) * config.enactors + (None,) * (n - 1 - config.enactors)

    def action_timing(self, model, state, action) -> ActionTiming:
        if action.actor is None:  # the Planner
            return ActionTiming(((0, "plan"),), (0,))
        if action.kind not in self.timed_kinds:
            raise TimingError(
                f"protocol {model.protocol.name!r} takes {action.kind!r} steps, which have no "
                "timing: give it a timing_rules attribute (see docs/TIMING.md, 'Protocol hook')")
        i = action.actor
        clock = self.enactor_clock(i)
        phase = model.protocol.phase_name(state.enactors[i].pc, model.config)
        prefix = phase.split("(")[0]
        if prefix not in PHASE_INTERVAL:
            raise TimingError(
                f"protocol {model.protocol.name!r} has phase {phase!r} with no timing: give it "
                "a timing_rules attribute (see docs/TIMING.md, 'Protocol hook')")
        name = PHASE_INTERVAL[prefix]
        if name is None:  # idle: Pick happens whenever its untimed guard holds
            return ActionTiming((), (clock,), False)
        return ActionTiming(((clock, name),), (clock,))

    def deadlines(self, model, state, timed_successors) -> tuple:
        """``(clock, interval name)`` pairs: the clock may not pass that interval's upper end.
        By default, the latest upper end among the enabled urgent actions guarded by it."""
        best: dict = {}
        for _action, _nxt, t in timed_successors:
            if not t.urgent:
                continue
            for clock, name in t.guards:
                best.setdefault(clock, set()).add(name)
        return tuple((clock, names) for clock, names in sorted(best.items()))

    def inactive_clocks(self, model, state) -> tuple:
        """Clocks whose value no future guard reads before a reset: idle enactors' clocks
        (Pick resets without reading it) and the Planner's once every plan is out."""
        out = [self.enactor_clock(i) for i, e in enumerate(state.enactors)
               if model.protocol.phase_name(e.pc, model.config) == "idle"]
        if state.gen >= model.config.plans:
            out.append(0)
        return tuple(sorted(out))

    def clock_permutation(self, config, order) -> tuple | None:
        """Clock indices after enactors are reordered by ``order`` (new position j holds old
        enactor order[j]); None when permuting enactors does not simply permute clocks."""
        return (0,) + tuple(self.enactor_clock(i) for i in order)


def rules_for(protocol) -> TimingRules:
    """The protocol's own timing rules, else MODEL.md's."""
    return getattr(protocol, "timing_rules", None) or TimingRules()


class TimedView:
    """A model with timing bounds, as the timed engines see it: discrete successors annotated
    with clock guards and resets, deadlines per state. Bounds stay exact rationals."""

    def __init__(self, model, timing: Timing = DEFAULT_TIMING):
        self.model = model
        self.timing = timing
        self.rules = rules_for(model.protocol)
        self.clocks = self.rules.clock_names(model.config)
        self.symmetric = bool(getattr(model, "symmetric", False))

    def init_states(self):
        return self.model.init_states()

    def timed_successors(self, state):
        """``[(action, next_state, ActionTiming)]`` in the model's order."""
        at = self.rules.action_timing
        return [(a, n, at(self.model, state, a)) for a, n in self.model.successors(state)]

    def deadlines(self, state, timed_successors=None):
        """``[(clock, hi, open)]``: the upper end each clock may not pass in ``state``."""
        ts = self.timed_successors(state) if timed_successors is None else timed_successors
        out = []
        for clock, names in self.rules.deadlines(self.model, state, ts):
            names = [names] if isinstance(names, str) else list(names)
            ivs = [self.timing.interval(n) for n in names]
            if any(iv.hi is None for iv in ivs):
                continue  # no upper end: no deadline
            top = max(ivs, key=lambda iv: (iv.hi, not iv.hi_open))
            out.append((clock, top.hi, top.hi_open))
        return out

    def deadline_names(self, state, timed_successors=None):
        """``[(clock, interval name)]`` deadlines by name, for symbolic (z3) constraints."""
        ts = self.timed_successors(state) if timed_successors is None else timed_successors
        out = []
        for clock, names in self.rules.deadlines(self.model, state, ts):
            names = [names] if isinstance(names, str) else sorted(names)
            ivs = {n: self.timing.interval(n) for n in names}
            if any(iv.hi is None for iv in ivs.values()):
                continue
            top = max(names, key=lambda n: (ivs[n].hi, not ivs[n].hi_open))
            out.append((clock, top))
        return out

    def inactive_clocks(self, state):
        return self.rules.inactive_clocks(self.model, state)

    def clock_permutation(self, order):
        return self.rules.clock_permutation(self.model.config, order)

    def lu_constants(self):
        """``(L, U)`` per clock: the largest constant in a lower-bound guard (``x >= lo``) and
        in an upper-bound guard or deadline (``x <= hi``) on it."""
        names = self.rules.clock_intervals(self.model.config, self.timing)
        L, U = [], []
        for per in names:
            per = self.timing.names() if per is None else per
            ivs = [self.timing.interval(n) for n in per]
            L.append(max([iv.lo for iv in ivs], default=Fraction(0)))
            U.append(max([iv.hi for iv in ivs if iv.hi is not None] + [iv.lo for iv in ivs],
                         default=Fraction(0)))
        return L, U

    def max_constants(self):
        """Per clock, the largest constant any guard or deadline compares it with."""
        top = 0
        for n in self.timing.names():
            iv = self.timing.interval(n)
            top = max(top, iv.lo, iv.hi if iv.hi is not None else 0)
        return [top] * len(self.clocks)

    # -- symmetry: permuting enactors permutes their clocks ------------------------------
    def symmetry_keys(self, state):
        """Per enactor, the discrete data a permutation moves with it."""
        return state.enactors

    def permute_state(self, state, order):
        """``state`` with enactor ``order[j]`` moved to position ``j``."""
        es = state.enactors
        return state._replace(enactors=tuple(es[i] for i in order))

    def relabel(self, action, actor):
        """``action`` taken by enactor ``actor`` instead."""
        return replace(action, enactor=actor)
