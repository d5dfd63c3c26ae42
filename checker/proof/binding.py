"""Binding a symbolic form to its protocol: at a finite size, for every reachable state, the
successors z3 computes from the form must equal the explicit model's successors exactly.

This is what keeps ``model/symbolic.py`` from drifting away from ``model/protocols.py`` and
``model/variants.py`` (docs/PROVE.md, "One source of truth"): the test suite runs it at many
sizes (``tests/model/test_symbolic.py``), and ``prove`` runs it at small sizes on a form a user
protocol declares itself before trusting it.
"""

from __future__ import annotations

from dataclasses import dataclass

from dnsrace.model import Config, DnsSystem
from dnsrace.model.symbolic import decode_state, encode_state

from . import solver

__all__ = ["Mismatch", "symbolic_successors", "compare_at", "reachable"]


@dataclass(frozen=True)
class Mismatch:
    """A state whose successors differ: ``only_z3`` / ``only_model`` are (action, state)
    pairs found by one side only; ``unrepresentable`` are z3 successors that are no state of
    the protocol (a field off its domain)."""

    config: Config
    state: object
    only_z3: tuple
    only_model: tuple
    unrepresentable: tuple = ()

    def __str__(self):
        parts = [f"at {self.config.slug()}, from {self.state}:"]
        parts += [f"  only in the symbolic form: {a} -> {s}" for a, s in self.only_z3]
        parts += [f"  only in the protocol: {a} -> {s}" for a, s in self.only_model]
        parts += [f"  not a state of the protocol: {x}" for x in self.unrepresentable]
        return "\n".join(parts)


def reachable(model: DnsSystem) -> list:
    """Every reachable state (plain breadth-first search, no symmetry), in BFS order."""
    seen = dict.fromkeys(model.init_states())
    frontier = list(seen)
    while frontier:
        nxt = []
        for s in frontier:
            for _, t in model.successors(s):
                if t not in seen:
                    seen[t] = None
                    nxt.append(t)
        frontier = nxt
    return list(seen)


def symbolic_successors(form, model: DnsSystem, enumerate_at=None):
    """A function from an explicit state to ``(pairs, unrepresentable)``: the (action, state)
    successors z3 finds from ``form`` at ``model``'s size."""
    c, protocol = model.config, model.protocol
    z3_successors = enumerate_at or solver.successors(form, c.enactors, c.plans, c.endpoints,
                                                      c.keep)
    kinds = model.action_kinds

    def at(s):
        pairs, bad = set(), []
        for kind, params, post in z3_successors(encode_state(form, protocol, c, s)):
            nxt = decode_state(form, protocol, c, post)
            if encode_state(form, protocol, c, nxt) != post:
                bad.append((kind, params, post))
                continue
            if form.normalize is not None:
                nxt = form.normalize(nxt)
            args = {}
            if "i" in params:
                args["enactor"] = params["i"]
            if "k" in params:
                args["endpoint"] = params["k"]
            cls = kinds.get(kind)
            if cls is None:
                bad.append((kind, params, post))
                continue
            pairs.add((cls(**args), nxt))
        return pairs, bad

    return at


def compare_at(form, model: DnsSystem, states=None, limit: int | None = None):
    """Mismatches (at most ``limit``) between ``form`` and ``model`` over ``states`` (default:
    every reachable state)."""
    at = symbolic_successors(form, model)
    out = []
    for s in (reachable(model) if states is None else states):
        pairs, bad = at(s)
        explicit = model.successors(s)
        mine = set(explicit)
        if pairs != mine or bad or len(mine) != len(explicit):
            out.append(Mismatch(model.config, s, tuple(sorted(pairs - mine, key=repr)),
                                tuple(sorted(mine - pairs, key=repr)), tuple(bad)))
            if limit is not None and len(out) >= limit:
                break
    return out
