"""Binding a symbolic form to its protocol: at a finite size, for every reachable state, the
successors z3 computes from the form must equal the explicit model's successors exactly.

This is what keeps ``model/symbolic.py`` from drifting away from ``model/protocols.py`` and
``model/variants.py`` (docs/PROVE.md, "One source of truth"). ``compare_at`` asks z3 state by
state: ``prove`` runs it at small sizes on a form a user protocol declares itself before
trusting it, and ``tests/model/test_symbolic.py`` at many sizes. ``bind`` computes the same
comparison with one z3 evaluation per distinct context of each part of each step (a guard
conjunct, a written cell) instead of per state, so that the tests cover every reachable state
at MODEL.md's size (``tests/checker/proof/test_binding.py``).
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from dnsrace.model import Config, DnsSystem
from dnsrace.model.symbolic import ENACTOR, decode_state, encode_state

from . import solver

__all__ = ["Mismatch", "symbolic_successors", "compare_at", "reachable", "Graph", "explore",
           "Binding", "StepContexts", "bind"]


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
    return explore(model).states


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


# -- every reachable state at once: one z3 evaluation per distinct context ------------------
@dataclass(frozen=True)
class Graph:
    """The explicit model's reachable graph (plain BFS, no symmetry): ``states`` in BFS order,
    and one edge ``(src, action, dst)`` per (state, enabled action) pair, as indices into
    ``states`` and ``actions``."""

    states: list
    actions: list
    src: np.ndarray
    act: np.ndarray
    dst: np.ndarray
    duplicates: tuple  # states whose successor list repeats an (action, state) pair
    cache: dict = field(default_factory=dict, compare=False, repr=False)  # rows, by form layout


@contextmanager
def _no_gc():
    """The cyclic garbage collector paused: building hundreds of thousands of states (none
    in a cycle) otherwise spends a fifth of its time in collections that free nothing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def explore(model: DnsSystem) -> Graph:
    """Every reachable state of ``model`` and every transition (plain BFS, no symmetry)."""
    with _no_gc():
        return _explore(model)


def _explore(model: DnsSystem) -> Graph:
    index = {s: j for j, s in enumerate(dict.fromkeys(model.init_states()))}
    states = list(index)
    action_ids: dict = {}
    src, act, dst = [], [], []
    successors, j = model.successors, 0
    while j < len(states):
        for a, t in successors(states[j]):
            d = index.get(t)
            if d is None:
                d = index[t] = len(states)
                states.append(t)
            src.append(j)
            aid = action_ids.get(a)
            act.append(action_ids.setdefault(a, len(action_ids)) if aid is None else aid)
            dst.append(d)
        j += 1
    src, act, dst = (np.array(x, dtype=np.int64) for x in (src, act, dst))
    key = np.sort((src * max(len(action_ids), 1) + act) * len(states) + dst)
    twice = key[1:][np.diff(key) == 0] // (max(len(action_ids), 1) * len(states))
    return Graph(states, list(action_ids), src, act, dst, tuple(np.unique(twice).tolist()))


@dataclass(frozen=True)
class StepContexts:
    """One step kind with its enactor/endpoint fixed (``LocalStep``): the cells it reads and
    writes, how many z3 evaluations its parts took (one per distinct context: the values of
    the cells a part reads, among the states where the guard's earlier conjuncts hold), and
    in how many reachable states it is enabled."""

    kind: str
    params: dict
    reads: tuple
    writes: tuple
    contexts: int
    enabled: int
    others: tuple = ()  # cells of enactors other than the step's own that it reads


@dataclass(frozen=True)
class Binding:
    """The outcome of :func:`bind`: ``mismatches`` (empty when the form and the model agree on
    every reachable state; worked out on the first ``limit`` of ``differing``), the states
    and transitions covered, and the contexts z3 evaluated per step."""

    config: Config
    states: int
    transitions: int
    steps: tuple
    mismatches: tuple
    differing: tuple = ()  # every state whose successors differ (BFS order)

    @property
    def contexts(self) -> int:
        return sum(s.contexts for s in self.steps)

    def reading_others(self) -> list:
        """The steps that read another enactor's cells: ``(kind, params, cells)``."""
        return [(s.kind, s.params, s.others) for s in self.steps if s.others]


def _enactor_of(form, cell):
    """The enactor a cell belongs to (None for a shared cell)."""
    if not form.field(cell.field).kind.startswith(ENACTOR):
        return None
    return cell.index[0] if isinstance(cell.index, tuple) else cell.index


def bind(form, model: DnsSystem, graph: Graph | None = None, limit: int | None = 3,
         kinds=None) -> Binding:
    """Compares z3's successors from ``form`` with ``model``'s on EVERY reachable state, with
    one z3 evaluation per distinct context of each step instead of one per state.

    For each step kind with its enactor/endpoint fixed, ``solver.local_steps`` gives the cells
    its simplified guard and post cells read, and which post cells it writes (every other
    post cell is, by z3's simplification, the pre-state's own). The reachable states are
    grouped by their values on those cells; z3 evaluates the step once per group, with only
    those cells given, and must reach literals. So z3's successor of every state is its own
    framed cells plus its group's written values: exactly the successors per-state
    evaluation (``compare_at``) would find (docs/PROVE.md, "One source of truth"). The sets
    of (state, action, next state) triples must then be equal. ``mismatches`` are worked out
    per state, by ``compare_at``, on at most ``limit`` states that differ (None: all).
    ``kinds``: compare only the steps of these kinds with the model's actions of the same
    kinds (the relation is their union; tests of a mutated step use it to go faster)."""
    c = model.config
    graph = graph or explore(model)
    local = solver.local_steps(form, c.enactors, c.plans, c.endpoints, c.keep)
    cells = local.all_cells()
    column = {cell: j for j, cell in enumerate(cells)}
    layout = _Layout(form, cells)
    key = (tuple(cells), tuple(form.fields))
    if key not in graph.cache:
        graph.cache[key] = layout.rows(model, graph.states)
    rows = graph.cache[key]
    action_ids = {a: j for j, a in enumerate(graph.actions)}
    posts, sources, acts, bad, summary = [], [], [], set(), []
    table = _Table(rows)
    if len(table.keys) > 1 and not np.diff(table.sorted).all():
        raise RuntimeError(f"at {c.slug()}: two reachable states have the same field values")
    steps = [ls for ls in local.steps if kinds is None or ls.kind in kinds]
    for ls in steps:
        at, evaluated = None, 0  # None: every reachable state
        for part in ls.conjuncts:  # the guard, conjunct by conjunct, where it still holds
            values, k = _evaluate(part, table, at, column)
            at = np.nonzero(values)[0] if at is None else at[values.astype(bool)]
            evaluated += k
        at = np.arange(len(rows)) if at is None else at
        if ls.joint is not None:
            results, k = _evaluate(ls.joint, table, at, column, dtype=object)
            evaluated += k
            at = at[np.array([len(x) > 0 for x in results], dtype=bool)]
            results = [x for x in results if x]
            outcomes = [(at[[len(x) > r for x in results]],
                         [x[r][1] for x in results if len(x) > r])
                        for r in range(max((len(x) for x in results), default=0))]
        else:
            written = []
            for part in ls.writes.values():
                values, k = _evaluate(part, table, at, column)
                written.append(values)
                evaluated += k
            outcomes = [(at, np.stack(written, axis=1) if written else None)]
        own = ls.params.get("i")
        summary.append(StepContexts(
            ls.kind, ls.params, ls.reads, ls.written, evaluated, len(at),
            tuple(x for x in ls.reads if _enactor_of(form, x) not in (None, own))))
        cls = model.action_kinds.get(ls.kind)
        args = {{"i": "enactor", "k": "endpoint"}[n]: v for n, v in ls.params.items()}
        aid = action_ids.setdefault(cls(**args), len(action_ids)) if cls else -1
        wcols = [column[x] for x in ls.written]
        for where, values in outcomes:
            if not len(where):
                continue
            post = rows[where].copy()
            if wcols:
                post[:, wcols] = np.array(values, dtype=np.int64).reshape(len(where), len(wcols))
            if aid < 0:
                bad.update(where.tolist())
            posts.append(post)
            sources.append(where)
            acts.append(np.full(len(where), aid, dtype=np.int64))
    post = np.concatenate(posts) if posts else np.zeros((0, len(cells)), dtype=np.int64)
    src = np.concatenate(sources) if sources else np.zeros(0, dtype=np.int64)
    act = np.concatenate(acts) if acts else np.zeros(0, dtype=np.int64)
    dst = table.match(post)
    if form.normalize is not None:
        # A raw z3 successor equal to a reachable state that decodes back to itself and that
        # the renumbering leaves alone needs nothing more; the others go through both.
        key = ("fixed", form.normalize, tuple(form.fields))
        if key not in graph.cache:
            graph.cache[key] = np.array([_fixed(form, model, s) for s in graph.states], bool)
        fixed = graph.cache[key]
        redo = (dst < 0) | ~fixed[np.maximum(dst, 0)]
        again, unrepresentable = _normalized(form, model, layout, post[redo])
        dst[redo] = np.where(unrepresentable, -1, table.match(again))
    bad.update(src[dst < 0].tolist())
    bad.update(graph.duplicates)
    n, a = len(graph.states), max(len(action_ids), 1)
    edges = np.ones(len(graph.src), dtype=bool) if kinds is None else \
        np.array([x.kind in kinds for x in graph.actions], dtype=bool)[graph.act]
    mine = np.sort(((graph.src * a + graph.act) * n + graph.dst)[edges])
    ok = (dst >= 0) & (act >= 0)
    theirs = np.sort((src[ok] * a + act[ok]) * n + dst[ok])
    if len(mine) != len(theirs) or not np.array_equal(mine, theirs):
        bad.update((_one_side(mine, theirs) // (a * n)).tolist())
        bad.update((_one_side(theirs, mine) // (a * n)).tolist())
    bad.update((theirs[1:][np.diff(theirs) == 0] // (a * n)).tolist())  # found twice by z3
    found = compare_at(form, model, [graph.states[j] for j in sorted(bad)], limit=limit) \
        if bad else []
    if bad and not found:
        raise RuntimeError(f"at {c.slug()}: the context binding finds differing states "
                           f"(first {graph.states[min(bad)]}) that the per-state one does not")
    return Binding(c, len(graph.states), len(graph.src), tuple(summary), tuple(found),
                   tuple(graph.states[j] for j in sorted(bad)))


def _evaluate(part, table, at, column, dtype=np.int64):
    """``part``'s value in each row of ``table`` (only rows ``at``, unless None), evaluated by
    z3 once per distinct context (the row's values on the cells the part reads); and how
    many contexts."""
    if at is not None and not len(at):
        return np.zeros(0, dtype=dtype), 0
    cols = tuple(column[x] for x in part.reads)
    first, inverse = table.groups(cols, at)
    values = np.empty(len(first), dtype=dtype)
    for j, f in enumerate(first):
        values[j] = part.evaluate(tuple(int(x) for x in table.rows[f, list(cols)]))
    return values[inverse], len(first)


class _Table:
    """The reachable states as rows, grouped fast: a row's cells packed into one integer
    (mixed radix over each column's range) when they fit in 62 bits."""

    def __init__(self, rows):
        self.rows = rows
        self.columns = np.ascontiguousarray(rows.T)
        self.lo = rows.min(axis=0) if len(rows) else np.zeros(rows.shape[1], dtype=np.int64)
        self.span = (rows.max(axis=0) - self.lo + 1) if len(rows) else self.lo + 1
        self.keys = self.ids(tuple(range(rows.shape[1])))
        self.order = np.argsort(self.keys, kind="stable")
        self.sorted = self.keys[self.order]
        self._groups: dict = {}

    def _fits(self, cols) -> bool:
        room = 1
        for c in cols:
            room *= int(self.span[c])
        return room < 1 << 62

    def ids(self, cols, at=None) -> np.ndarray:
        """Per row (of ``at``), an integer equal exactly when the rows agree on ``cols``."""
        n = len(self.rows) if at is None else len(at)
        if not self._fits(cols):
            sub = self.rows[:, list(cols)] if at is None else self.rows[np.ix_(at, list(cols))]
            return _row_ids(sub)
        out = np.zeros(n, dtype=np.int64)
        for c in cols:
            col = self.columns[c] if at is None else self.columns[c][at]
            out *= int(self.span[c])
            out += col - self.lo[c]
        return out

    def groups(self, cols, at):
        """(first row of each distinct context, the context of each row): over every row
        (cached) or only rows ``at``. ``first`` indexes ``rows``."""
        if at is None and cols in self._groups:
            return self._groups[cols]
        _, first, inverse = np.unique(self.ids(cols, at), return_index=True,
                                      return_inverse=True)
        out = (first if at is None else at[first], inverse.reshape(-1))
        if at is None:
            self._groups[cols] = out
        return out

    def match(self, post) -> np.ndarray:
        """For each row of ``post``, the index of the equal reachable row, else -1."""
        cols = tuple(range(self.rows.shape[1]))
        if not len(post):
            return np.zeros(0, dtype=np.int64)
        if not self._fits(cols):
            return _match(self.rows, post)
        inside = ((post >= self.lo) & (post < self.lo + self.span)).all(axis=1)
        keys = np.zeros(len(post), dtype=np.int64)
        for c in cols:
            keys *= int(self.span[c])
            keys += np.where(inside, post[:, c] - self.lo[c], 0)
        at = np.minimum(np.searchsorted(self.sorted, keys), len(self.keys) - 1)
        return np.where(inside & (self.sorted[at] == keys), self.order[at], -1)


def _one_side(xs, ys) -> np.ndarray:
    """The elements of sorted ``xs`` missing from sorted ``ys``."""
    if not len(ys):
        return xs
    at = np.minimum(np.searchsorted(ys, xs), len(ys) - 1)
    return xs[ys[at] != xs]


class _Layout:
    """Where each field's cells sit in a row, and the map between rows and ``encode_state``'s
    field values."""

    def __init__(self, form, cells):
        self.form, self.width = form, len(cells)
        self.fields = []  # (name, kind, first column, indices)
        for j, cell in enumerate(cells):
            if not self.fields or self.fields[-1][0] != cell.field:
                self.fields.append((cell.field, form.field(cell.field).kind, j, []))
            self.fields[-1][3].append(cell.index)
        self._memo: dict = {name: {} for name, *_ in self.fields}  # field value -> cells

    def row(self, values: dict) -> list:
        out = []
        for name, kind, _, indices in self.fields:
            v = values[name]
            memo = self._memo[name]
            got = memo.get(v)
            if got is None:
                got = memo[v] = _cells_of(kind, indices, v)
            out.extend(got)
        return out

    def rows(self, model, states) -> np.ndarray:
        """One row per state: its value in every cell."""
        c, protocol, form = model.config, model.protocol, self.form
        with _no_gc():
            out = [self.row(encode_state(form, protocol, c, s)) for s in states]
        return np.array(out, dtype=np.int64).reshape(len(states), self.width)

    def values(self, row) -> dict:
        """The field values of one row (the inverse of ``row``)."""
        out = {}
        for name, kind, first, indices in self.fields:
            xs = [int(x) for x in row[first:first + len(indices)]]
            if kind == "int":
                out[name] = xs[0]
            elif kind == "plan->bool":
                out[name] = frozenset(v for v, b in zip(indices, xs) if b)
            elif kind == "enactor->plan->bool":
                n = indices[-1][0] + 1
                out[name] = tuple(frozenset(v for (j2, v), b in zip(indices, xs) if b and j2 == j)
                                  for j in range(n))
            elif kind.endswith("bool"):
                out[name] = tuple(bool(b) for b in xs)
            else:
                out[name] = tuple(xs)
        return out


def _cells_of(kind, indices, v) -> tuple:
    if kind == "int":
        return (int(v),)
    if kind == "plan->bool":
        return tuple(int(p in v) for p in indices)
    if kind == "enactor->plan->bool":
        return tuple(int(p in v[j]) for j, p in indices)
    return tuple(int(v[x]) for x in indices)


def _fixed(form, model, s) -> bool:
    """``s`` decodes from its own encoding and the form's renumbering leaves it as it is."""
    c, protocol = model.config, model.protocol
    return decode_state(form, protocol, c, encode_state(form, protocol, c, s)) == s \
        and form.normalize(s) == s


def _normalized(form, model, layout, post):
    """The z3 successors after the explicit model's own renumbering (``form.normalize``), and
    which of them are no state of the protocol (they do not survive decode/encode). Each
    distinct row is decoded once."""
    c, protocol = model.config, model.protocol
    _, first, inverse = np.unique(_row_ids(post), return_index=True, return_inverse=True)
    out = np.empty((len(first), post.shape[1]), dtype=np.int64)
    bad = np.zeros(len(first), dtype=bool)
    for j, f in enumerate(first):
        values = layout.values(post[f])
        s = decode_state(form, protocol, c, values)
        if encode_state(form, protocol, c, s) != values:
            bad[j], out[j] = True, post[f]
            continue
        out[j] = layout.row(encode_state(form, protocol, c, form.normalize(s)))
    inverse = inverse.reshape(-1)
    return out[inverse], bad[inverse]


def _match(rows, post) -> np.ndarray:
    """For each post row, the index of the equal row of ``rows`` (all distinct), else -1."""
    ids = _row_ids(np.concatenate([rows, post]))
    known, new = ids[:len(rows)], ids[len(rows):]
    order = np.argsort(known)
    at = np.searchsorted(known, new, sorter=order)
    at = np.minimum(at, len(known) - 1)
    hit = order[at]
    return np.where(known[hit] == new, hit, -1)


def _row_ids(m: np.ndarray) -> np.ndarray:
    """An int64 per row, equal exactly when the rows are equal."""
    if m.shape[1] == 0:
        return np.zeros(len(m), dtype=np.int64)
    lo = m.min(axis=0)
    span = m.max(axis=0) - lo + 1
    ids = np.zeros(len(m), dtype=np.int64)
    room = 1
    for j in range(m.shape[1]):
        if room * int(span[j]) >= 1 << 62:  # re-number densely before it overflows
            _, ids = np.unique(ids, return_inverse=True)
            ids = ids.reshape(-1).astype(np.int64)
            room = int(ids.max()) + 1
        ids = ids * int(span[j]) + (m[:, j] - lo[j])
        room *= int(span[j])
    return ids
