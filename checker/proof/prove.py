"""A protocol's properties proved for every size, as one plain result (no printing).

``prove`` takes a protocol with a symbolic form, a list of candidate conjuncts and the
properties, and returns a :class:`Proof`: the invariant (checked as given, or inferred with
Houdini), a verdict per property (``proved``, ``not proved`` with a counterexample to
induction, or ``unknown``), and solver time. See docs/PROVE.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from dnsrace.model.symbolic import PROPERTIES, PROPERTY_KINDS, Conjunct

from . import solver
from .houdini import Inference, check_fixed, houdini
from .solver import FAILED, PROVED, UNKNOWN, Encoding

__all__ = ["PropertyProof", "Proof", "prove", "property_conjunct", "NOT_PROVED"]

NOT_PROVED = "not proved"


def property_conjunct(name: str) -> Conjunct:
    texts = {"no-dangling": "every endpoint serves a plan that is stored, or 0 (never written)",
             "monotonic": "no step lowers any endpoint's plan"}
    return Conjunct(name, texts[name], PROPERTIES[name],
                    transition=PROPERTY_KINDS[name] == "transition invariant")


@dataclass
class PropertyProof:
    """``status``: proved, not proved, or unknown. ``check``: the failed (or unknown) check
    with its counterexample to induction; ``step``: the step it breaks; ``reason``: why, in
    words."""

    name: str
    kind: str
    status: str
    reason: str = ""
    step: str | None = None
    check: object = None


@dataclass
class Proof:
    """Everything ``prove`` found. ``mode`` is ``checked`` (the invariant as given) or
    ``inferred`` (Houdini over the candidates). ``inductive``: the invariant kept is
    inductive (always true when inferred)."""

    protocol: str
    mode: str
    candidates: list
    inference: Inference
    properties: dict = field(default_factory=dict)
    seconds: float = 0.0
    calls: int = 0
    never_enabled: list = field(default_factory=list)  # steps no invariant state enables

    @property
    def invariant(self) -> list:
        return self.inference.kept

    @property
    def inductive(self) -> bool:
        return self.mode == "inferred" or not self.inference.dropped

    @property
    def verdict(self) -> str:
        statuses = [p.status for p in self.properties.values()]
        if all(s == PROVED for s in statuses):
            return PROVED
        if any(s == NOT_PROVED for s in statuses):
            return NOT_PROVED
        return UNKNOWN


def prove(form, candidates, property_names, infer: bool,
          timeout_ms: int = solver.DEFAULT_TIMEOUT_MS) -> Proof:
    """Checks (``infer=False``) or infers (Houdini) an invariant from ``candidates`` and
    decides each property against it."""
    t0 = time.perf_counter()
    enc = Encoding(form)
    state_props = [property_conjunct(n) for n in property_names
                   if PROPERTY_KINDS[n] == "state invariant"]
    pool = list(candidates)
    if infer:  # a state property is always a candidate: Houdini keeps it when it is inductive
        names = {c.name for c in pool}
        pool += [p for p in state_props if p.name not in names]
    inference = (houdini if infer else check_fixed)(enc, pool, timeout_ms)
    proof = Proof(form.name, "inferred" if infer else "checked", pool, inference)
    # Only an inductive invariant may be used to prove anything.
    usable = inference.kept if proof.inductive else []
    for name in property_names:
        proof.properties[name] = _decide_property(enc, usable, property_conjunct(name),
                                                  proof, timeout_ms)
    # Non-vacuity: a step that no state satisfying the invariant enables proves nothing about
    # it (like check's "never fired" warning).
    for j, (st, *_rest) in enumerate(enc.steps):
        check = _count(proof, solver.check_enabled(enc, usable, j, timeout_ms))
        if check.status != FAILED:
            proof.never_enabled.append(st.kind)
    proof.seconds = time.perf_counter() - t0
    proof.calls = inference.calls
    return proof


def _decide_property(enc, invariant, p, proof, timeout_ms) -> PropertyProof:
    kind = PROPERTY_KINDS[p.name]
    steps = [st.kind for st, *_ in enc.steps]
    if p.transition:
        for j, kind_name in enumerate(steps):
            check = _count(proof, solver.check_preservation(enc, invariant, j, p, timeout_ms))
            if check.status != PROVED:
                return _failed(p, kind, check, kind_name, proof.inductive)
        return PropertyProof(p.name, kind, PROVED, "every step satisfies it, from any state "
                             "satisfying the invariant")
    if any(c.name == p.name for c in invariant):
        return PropertyProof(p.name, kind, PROVED, "it is a conjunct of the inductive invariant")
    check = _count(proof, solver.check_implication(enc, invariant, p, timeout_ms))
    if check.status == PROVED:
        return PropertyProof(p.name, kind, PROVED, "the inductive invariant implies it")
    # Not implied: is it at least preserved with the invariant's help? Find the step.
    for j, kind_name in enumerate(steps):
        check = _count(proof, solver.check_preservation(enc, list(invariant) + [p], j, p,
                                                        timeout_ms))
        if check.status != PROVED:
            return _failed(p, kind, check, kind_name, proof.inductive)
    init = _count(proof, solver.check_initiation(enc, p, timeout_ms))
    if init.status == PROVED:  # invariant + p is inductive: p holds (a checked invariant
        return PropertyProof(p.name, kind, PROVED,  # that lacked p as a conjunct)
                             "added to the invariant, it is inductive")
    return _failed(p, kind, init, None, proof.inductive)


def _failed(p, kind, check, step, inductive) -> PropertyProof:
    if check.status == UNKNOWN:
        return PropertyProof(p.name, kind, UNKNOWN, f"z3 gave up ({check.reason})", step, check)
    where = "the initial state" if step is None else f"step {step}"
    basis = "the inductive invariant" if inductive else "nothing (the invariant is not inductive)"
    return PropertyProof(p.name, kind, NOT_PROVED,
                         f"{where} breaks it from a state satisfying {basis}", step, check)


def _count(proof, check):
    proof.inference.seconds += check.seconds
    proof.inference.calls += 1
    return check

