"""Symbolic forms of the shipped protocols: their step relations as plain data, for ``prove``.

Each shipped protocol class has, beside it here, a :class:`SymbolicProtocol`: its state as a
few first-order fields, its initial state, and one :class:`Step` per kind of action (a guard
and the fields it changes), written over *symbolic* sizes ``E`` (endpoints), ``K`` (keep) and
``P`` (plans) and an arbitrary set of enactors. Terms are tiny trees (:class:`T`) that the
solver module ``checker/proof/solver.py`` translates to z3; nothing here imports z3.

These forms are a second statement of the semantics of ``protocols.py``/``variants.py``, so
they are bound to them by ``tests/model/test_symbolic.py``: for every state reachable at many
small sizes, the successors z3 computes from the form equal the explicit successors exactly
(``checker/proof/solver.py:successors``). A protocol without a form (a user's) cannot be
proved; ``symbolic_form`` says so in one line.

Vocabulary (fields), with the explicit state they mean:

- ``gen`` (int): plans generated; ``store`` (plan -> bool): plans stored;
  ``dns`` (endpoint -> plan): the plan each record serves, 0 = never written;
- ``pc``, ``held`` (enactor -> int): program counter (``state.IDLE``, ``CLEANUP``,
  ``APPLY0 + k``, then the protocol's own phases, as in ``Protocol.pc``) and plan held;
- ``valid`` (enactor -> bool, lease): the enactor's lease has not expired;
- ``token`` (enactor -> int), ``rtok`` (endpoint -> int) (lease+fencing): lease tokens;
- ``doomed`` (enactor -> plan -> bool, safe-delete-2step): plans the scan found unreferenced.

An enactor that is idle has ``held = 0`` and its other fields at their defaults (``False``,
``0``, empty), exactly as ``Protocol.idle`` resets ``Enactor.local``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count

from .state import APPLY0, CLEANUP, IDLE, Enactor, State

__all__ = ["T", "F", "Post", "Step", "Field", "Conjunct", "SymbolicProtocol", "SYMBOLIC",
           "NoSymbolicForm", "symbolic_form", "declares_form", "forall", "exists", "lam", "implies", "ite",
           "E", "K", "P", "ENACTOR", "ENDPOINT", "PLAN", "TRUE", "FALSE", "PROPERTIES",
           "encode_state", "decode_state"]

ENACTOR, ENDPOINT, PLAN = "enactor", "endpoint", "plan"  # sorts of bound variables


class T:
    """A term: an operator and its arguments (terms, ints, bools or strings). Python operators
    build terms, as in z3: ``F.dns[k] < F.held[i]``. Equality is ``.eq``/``.ne``, so terms stay
    ordinary values."""

    __slots__ = ("op", "args")

    def __init__(self, op: str, *args):
        self.op, self.args = op, args

    def __repr__(self):
        return f"{self.op}({', '.join(map(repr, self.args))})"

    # arithmetic and comparison
    def __add__(self, o): return T("+", self, lit(o))
    def __radd__(self, o): return T("+", lit(o), self)
    def __sub__(self, o): return T("-", self, lit(o))
    def __rsub__(self, o): return T("-", lit(o), self)
    def __lt__(self, o): return T("<", self, lit(o))
    def __le__(self, o): return T("<=", self, lit(o))
    def __gt__(self, o): return T("<", lit(o), self)
    def __ge__(self, o): return T("<=", lit(o), self)
    def eq(self, o): return T("==", self, lit(o))
    def ne(self, o): return T("not", T("==", self, lit(o)))

    # booleans
    def __and__(self, o): return T("and", self, lit(o))
    def __or__(self, o): return T("or", self, lit(o))
    def __invert__(self): return T("not", self)

    # functions (fields indexed by enactor, endpoint or plan)
    def __getitem__(self, x): return T("select", self, lit(x))

    def set(self, x, value) -> "T":
        """This function with ``x`` mapped to ``value`` (z3's ``Store``)."""
        return T("store", self, lit(x), lit(value))


def lit(x) -> T:
    if isinstance(x, T):
        return x
    if isinstance(x, bool):
        return T("bool", x)
    if isinstance(x, int):
        return T("int", x)
    raise TypeError(f"not a term: {x!r}")


TRUE, FALSE = T("bool", True), T("bool", False)
E, K, P = T("size", "E"), T("size", "K"), T("size", "P")


class _Fields:
    """``F.dns`` is the pre-state field ``dns``."""

    def __getattr__(self, name):
        return T("field", name)


F = _Fields()


class _PostFields:
    """``Post.dns``: the field after the step (in transition properties only)."""

    def __getattr__(self, name):
        return T("post", name)


Post = _PostFields()
_fresh = count()


def _bind(quant: str, sort: str, body):
    v = T("var", f"{sort[:2]}{next(_fresh)}", sort)
    return T(quant, v, body(v))


def forall(sort: str, body) -> T:
    """For every enactor / endpoint ``0 <= e < E`` / plan number (any integer)."""
    return _bind("forall", sort, body)


def exists(sort: str, body) -> T:
    return _bind("exists", sort, body)


def lam(sort: str, body) -> T:
    """A whole function (z3's ``Lambda``), e.g. the store after a cleanup."""
    return _bind("lambda", sort, body)


def implies(a, b) -> T:
    return T("implies", lit(a), lit(b))


def ite(c, a, b) -> T:
    return T("ite", lit(c), lit(a), lit(b))


# -- what a protocol's form is made of -------------------------------------------------------
@dataclass(frozen=True)
class Field:
    """A state field: ``kind`` is ``int``, or ``SORT->int``/``SORT->bool``/``enactor->plan->bool``."""

    name: str
    kind: str
    initial: object  # the value in the initial state: an int/bool, the same for every index


@dataclass(frozen=True)
class Step:
    """One kind of action: enabled when ``guard`` holds for some enactor ``i`` (and endpoint
    ``k``, when ``endpoint``), and then the fields in ``updates`` take their new values (terms
    over the pre-state); every other field keeps its value. ``kind`` names the explicit action
    class (``write``, ``abort``, ...), built with ``enactor=i, endpoint=k``."""

    kind: str
    guard: T
    updates: dict
    enactor: bool = True
    endpoint: bool = False


@dataclass(frozen=True)
class Conjunct:
    """A named candidate conjunct of an invariant: ``text`` says it in the model's terms.
    ``term`` is a state predicate, or (``transition=True``) one over the pre- and
    post-state (``F`` and ``Post``)."""

    name: str
    text: str
    term: T
    transition: bool = False


@dataclass(frozen=True)
class SymbolicProtocol:
    """A protocol's symbolic form. ``phases``: extra program counters as ``name -> offset``
    (``pc = APPLY0 + offset*E + k`` for endpoint phases, ``APPLY0 + offset*E`` for single
    ones), as ``Protocol.pc`` numbers them. ``invariant``: the shipped invariant (names of
    conjuncts of ``candidates``), or ``()`` when none is claimed."""

    name: str
    fields: tuple
    steps: tuple
    candidates: tuple = ()
    invariant: tuple = ()
    normalize: object = None  # the explicit model's own renumbering of a next state, if any

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


# -- helpers in the model's terms ------------------------------------------------------------
def applying(i) -> T:
    """Enactor ``i`` is at APPLY(k) for some endpoint k."""
    return (F.pc[i] >= APPLY0) & (F.pc[i] < APPLY0 + E)


def active(i) -> T:
    return F.pc[i].ne(IDLE)


def writable(k) -> T:
    """Route 53 accepts a transaction on record k (MODEL.md: it serves 0 or a stored plan)."""
    return F.dns[k].eq(0) | F.store[F.dns[k]]


def next_pc(k) -> T:
    return ite(k + 1 < E, APPLY0 + k + 1, CLEANUP)


def go_idle(i, fields) -> dict:
    """Updates that send enactor ``i`` back to idle, resetting its own fields."""
    out = {"pc": F.pc.set(i, IDLE), "held": F.held.set(i, 0)}
    for f in fields:
        if f.kind.startswith(ENACTOR) and f.name not in out:
            out[f.name] = T("field", f.name).set(i, _default(f))
    return out


def _default(f: Field):
    if f.kind == "enactor->plan->bool":
        return lam(PLAN, lambda v: FALSE)
    return lit(f.initial)


def kept_floor(i) -> T:
    return F.held[i] - K


def referenced(v) -> T:
    return exists(ENDPOINT, lambda e: F.dns[e].eq(v))


BASE_FIELDS = (Field("gen", "int", 0), Field("store", "plan->bool", False),
               Field("dns", "endpoint->int", 0), Field("pc", "enactor->int", IDLE),
               Field("held", "enactor->int", 0))


def planner() -> Step:
    return Step("plan", F.gen < P, {"gen": F.gen + 1, "store": F.store.set(F.gen + 1, True)},
                enactor=False)


def pick(i, extra=TRUE, also=None) -> Step:
    guard = F.pc[i].eq(IDLE) & (F.gen > 0) & forall(ENDPOINT, lambda e: F.gen > F.dns[e]) & extra
    return Step("pick", guard, {"pc": F.pc.set(i, APPLY0), "held": F.held.set(i, F.gen),
                                **(also or {})})


def write(i, k, at=None, extra=TRUE, also=None) -> Step:
    at = APPLY0 + k if at is None else at
    return Step("write", F.pc[i].eq(at) & writable(k) & extra,
                {"dns": F.dns.set(k, F.held[i]), "pc": F.pc.set(i, next_pc(k)), **(also or {})},
                endpoint=True)


def cleanup(i, fields, keep_referenced=False) -> Step:
    def kept(v):
        keep = F.store[v] & (v >= kept_floor(i))
        return keep | (F.store[v] & referenced(v)) if keep_referenced else keep
    return Step("cleanup", F.pc[i].eq(CLEANUP),
                {"store": lam(PLAN, kept), **go_idle(i, fields)})


def _i():
    return T("param", "i", ENACTOR)


def _k():
    return T("param", "k", ENDPOINT)


# -- the candidate conjuncts (shared; each protocol lists the ones it uses) -------------------
def base_candidates(extra_phases: int = 0) -> tuple:
    """Candidates over the base vocabulary. ``extra_phases``: how many E-blocks of endpoint
    phases and single phases follow APPLY (the range of ``pc``)."""
    def pc_ok(i):
        return (F.pc[i].eq(IDLE) | F.pc[i].eq(CLEANUP)
                | ((F.pc[i] >= APPLY0) & (F.pc[i] < APPLY0 + E + extra_phases)))

    def cleaning(i):
        return F.pc[i].eq(CLEANUP)

    return (
        Conjunct("gen-range", "0 <= gen <= P: the Planner has generated gen of its P plans",
                 (F.gen >= 0) & (F.gen <= P)),
        Conjunct("store-generated", "every stored plan v has 1 <= v <= gen",
                 forall(PLAN, lambda v: implies(F.store[v], (v >= 1) & (v <= F.gen)))),
        Conjunct("newest-stored", "the newest plan is stored: gen > 0 implies gen is in store",
                 implies(F.gen > 0, F.store[F.gen])),
        Conjunct("dns-range", "every endpoint serves 0 or a generated plan: 0 <= dns[e] <= gen",
                 forall(ENDPOINT, lambda e: (F.dns[e] >= 0) & (F.dns[e] <= F.gen))),
        Conjunct("pc-range", "every enactor is idle, in cleanup or in one of its phases",
                 forall(ENACTOR, pc_ok)),
        Conjunct("held-range", "an idle enactor holds 0; a busy one holds a plan 1 <= h <= gen",
                 forall(ENACTOR, lambda i: ite(F.pc[i].eq(IDLE), F.held[i].eq(0),
                                               (F.held[i] >= 1) & (F.held[i] <= F.gen)))),
        Conjunct("no-dangling", "every endpoint serves a plan that is stored, or 0 (never written)",
                 PROPERTIES["no-dangling"]),
        Conjunct("cleanup-sees-newer",
                 "an enactor in cleanup holding h sees every record at h or newer",
                 forall(ENACTOR, lambda i: implies(cleaning(i), forall(
                     ENDPOINT, lambda e: F.dns[e] >= F.held[i])))),
        Conjunct("written-stay-newer",
                 "an enactor at APPLY(k) holding h sees every endpoint before k at h or newer",
                 forall(ENACTOR, lambda i: forall(ENDPOINT, lambda e: implies(
                     applying(i) & (e < F.pc[i] - APPLY0), F.dns[e] >= F.held[i])))),
        Conjunct("deleted-held-is-stale",
                 "an enactor applying a deleted plan h sees every record newer than h",
                 forall(ENACTOR, lambda i: implies(applying(i) & ~F.store[F.held[i]], forall(
                     ENDPOINT, lambda e: F.dns[e] > F.held[i])))),
        Conjunct("records-not-ahead",
                 "no record serves a plan newer than one an applying enactor holds "
                 "(false: kept as a candidate Houdini must drop)",
                 forall(ENACTOR, lambda i: implies(applying(i), forall(
                     ENDPOINT, lambda e: F.dns[e] <= F.held[i])))),
        Conjunct("busy-hold-same", "all busy enactors hold the same plan (false: a candidate "
                 "Houdini must drop)",
                 forall(ENACTOR, lambda i: forall(ENACTOR, lambda j: implies(
                     active(i) & active(j), F.held[i].eq(F.held[j]))))),
    )


def lease_candidates() -> tuple:
    return (
        Conjunct("valid-only-busy", "only a busy enactor holds a valid lease",
                 forall(ENACTOR, lambda i: implies(F.valid[i], active(i)))),
    )


def fencing_candidates() -> tuple:
    return (
        Conjunct("token-range", "a busy enactor has a token >= 1, an idle one 0; record tokens >= 0",
                 forall(ENACTOR, lambda i: ite(active(i), F.token[i] >= 1, F.token[i].eq(0)))
                 & forall(ENDPOINT, lambda e: F.rtok[e] >= 0)),
        Conjunct("token-order-is-pick-order",
                 "of two busy enactors, the one holding the older plan has the smaller token",
                 forall(ENACTOR, lambda i: forall(ENACTOR, lambda j: implies(
                     active(i) & active(j) & (F.held[i] < F.held[j]),
                     F.token[i] < F.token[j])))),
        Conjunct("newer-record-has-newer-token",
                 "a record serving a plan newer than a busy enactor's has a larger token than it",
                 forall(ENACTOR, lambda i: forall(ENDPOINT, lambda e: implies(
                     active(i) & (F.dns[e] > F.held[i]), F.rtok[e] > F.token[i])))),
    )


PROPERTIES = {
    "no-dangling": forall(ENDPOINT, lambda e: implies(F.dns[e].ne(0), F.store[F.dns[e]])),
    "monotonic": forall(ENDPOINT, lambda e: Post.dns[e] >= F.dns[e]),
}
"""The properties of ``invariants/``, as terms: a state invariant and a transition invariant
(tests/model/test_symbolic.py checks z3's value of each agrees with ``invariants/`` on
reachable states, and that the shipped invariants hold there)."""

PROPERTY_KINDS = {"no-dangling": "state invariant", "monotonic": "transition invariant"}

CAS_INVARIANT = ("gen-range", "store-generated", "newest-stored", "dns-range", "pc-range",
                 "held-range", "no-dangling", "cleanup-sees-newer", "written-stay-newer",
                 "deleted-held-is-stale")


# -- the protocols --------------------------------------------------------------------------
def _original(name="original", keep_referenced=False) -> SymbolicProtocol:
    i, k = _i(), _k()
    return SymbolicProtocol(name, BASE_FIELDS, (
        planner(), pick(i), write(i, k), cleanup(i, BASE_FIELDS, keep_referenced)),
        base_candidates())


def _recheck() -> SymbolicProtocol:
    i, k = _i(), _k()
    write_at = APPLY0 + E + k  # WRITE(k), recheck's endpoint phase "write"
    check = Step("check", F.pc[i].eq(APPLY0 + k) & (F.held[i] >= F.dns[k]),
                 {"pc": F.pc.set(i, write_at)}, endpoint=True)
    abort = Step("abort", F.pc[i].eq(APPLY0 + k) & (F.held[i] < F.dns[k]),
                 go_idle(i, BASE_FIELDS), endpoint=True)
    return SymbolicProtocol("recheck", BASE_FIELDS, (
        planner(), pick(i), check, abort, write(i, k, at=write_at),
        cleanup(i, BASE_FIELDS)), base_candidates(extra_phases=E))


def _cas(name="cas", keep_referenced=False) -> SymbolicProtocol:
    i, k = _i(), _k()
    abort = Step("abort", F.pc[i].eq(APPLY0 + k) & writable(k) & (F.held[i] < F.dns[k]),
                 go_idle(i, BASE_FIELDS), endpoint=True)
    return SymbolicProtocol(name, BASE_FIELDS, (
        planner(), pick(i), write(i, k, extra=F.held[i] >= F.dns[k]), abort,
        cleanup(i, BASE_FIELDS, keep_referenced)), base_candidates(), CAS_INVARIANT)


LEASE_FIELDS = BASE_FIELDS + (Field("valid", "enactor->bool", False),)
FENCING_FIELDS = LEASE_FIELDS + (Field("token", "enactor->int", 0),
                                 Field("rtok", "endpoint->int", 0))


def _no_valid_lease():
    return forall(ENACTOR, lambda j: ~(active(j) & F.valid[j]))


def _expire(i) -> Step:
    return Step("expire", active(i) & F.valid[i], {"valid": F.valid.set(i, False)})


def _lease() -> SymbolicProtocol:
    i, k = _i(), _k()
    return SymbolicProtocol("lease", LEASE_FIELDS, (
        planner(), pick(i, _no_valid_lease(), {"valid": F.valid.set(i, True)}), write(i, k),
        cleanup(i, LEASE_FIELDS), _expire(i)), base_candidates() + lease_candidates())


def _new_token():
    """1 + the largest token in use (enactors' and records'), as ``LeaseFencing.grant``."""
    t = T("param", "t", "int")
    above = (forall(ENACTOR, lambda j: implies(active(j), F.token[j] < t))
             & forall(ENDPOINT, lambda e: F.rtok[e] < t))
    tight = (t.eq(1) | exists(ENACTOR, lambda j: active(j) & F.token[j].eq(t - 1))
             | exists(ENDPOINT, lambda e: F.rtok[e].eq(t - 1)))
    return t, above & tight


def _lease_fencing() -> SymbolicProtocol:
    from .variants import _dense_tokens  # the explicit model's renumbering, reused as is

    i, k = _i(), _k()
    t, fresh = _new_token()
    fenced = Step("fenced", F.pc[i].eq(APPLY0 + k) & writable(k) & (F.token[i] < F.rtok[k]),
                  go_idle(i, FENCING_FIELDS), endpoint=True)
    steps = (planner(),
             pick(i, _no_valid_lease() & fresh,
                  {"valid": F.valid.set(i, True), "token": F.token.set(i, t)}),
             write(i, k, extra=F.token[i] >= F.rtok[k], also={"rtok": F.rtok.set(k, F.token[i])}),
             fenced, cleanup(i, FENCING_FIELDS), _expire(i))
    return SymbolicProtocol("lease+fencing", FENCING_FIELDS, steps,
                            base_candidates() + lease_candidates() + fencing_candidates(),
                            CAS_INVARIANT + ("token-range", "token-order-is-pick-order",
                                             "newer-record-has-newer-token"),
                            normalize=_dense_tokens)


def _safe_delete() -> SymbolicProtocol:
    i, k = _i(), _k()
    refuse = Step("refuse", F.pc[i].eq(APPLY0 + k) & writable(k) & ~F.store[F.held[i]],
                  go_idle(i, BASE_FIELDS), endpoint=True)
    return SymbolicProtocol("safe-delete", BASE_FIELDS, (
        planner(), pick(i), write(i, k, extra=F.store[F.held[i]]), refuse,
        cleanup(i, BASE_FIELDS, keep_referenced=True)), base_candidates())


TWO_STEP_FIELDS = BASE_FIELDS + (Field("doomed", "enactor->plan->bool", False),)


def _safe_delete_2step() -> SymbolicProtocol:
    i, k = _i(), _k()
    delete_at = APPLY0 + E  # the single phase "delete"
    refuse = Step("refuse", F.pc[i].eq(APPLY0 + k) & writable(k) & ~F.store[F.held[i]],
                  go_idle(i, TWO_STEP_FIELDS), endpoint=True)
    scan = Step("scan", F.pc[i].eq(CLEANUP), {
        "pc": F.pc.set(i, delete_at),
        "doomed": F.doomed.set(i, lam(PLAN, lambda v: F.store[v] & (v < kept_floor(i))
                                      & ~referenced(v)))})
    delete = Step("delete", F.pc[i].eq(delete_at), {
        "store": lam(PLAN, lambda v: F.store[v] & ~F.doomed[i][v]), **go_idle(i, TWO_STEP_FIELDS)})
    only_deleting = Conjunct(
        "doomed-only-deleting", "only an enactor between scan and delete has plans to delete",
        forall(ENACTOR, lambda j: implies(F.pc[j].ne(delete_at),
                                          forall(PLAN, lambda v: ~F.doomed[j][v]))))
    return SymbolicProtocol("safe-delete-2step", TWO_STEP_FIELDS, (
        planner(), pick(i), write(i, k, extra=F.store[F.held[i]]), refuse, scan, delete),
        base_candidates(extra_phases=1) + (only_deleting,))


def _build() -> dict:
    forms = (_original(), _recheck(), _cas(), _original("guarded", keep_referenced=True),
             _cas("cas+guarded", keep_referenced=True), _lease(), _lease_fencing(),
             _safe_delete(), _safe_delete_2step())
    return {f.name: f for f in forms}


SYMBOLIC = _build()
"""Symbolic forms by protocol name: every shipped protocol has one."""


def declares_form(protocol) -> bool:
    """True when the protocol supplies its own form (``symbolic_form()``): ``prove`` then binds
    it to the protocol's steps at small sizes before using it."""
    return callable(getattr(protocol, "symbolic_form", None))


class NoSymbolicForm(ValueError):
    """A protocol without a symbolic form; the message is one line for the user."""


def symbolic_form(protocol) -> SymbolicProtocol:
    """The form of a shipped protocol (the exact class: a subclass may change any step), or
    the one a protocol declares itself (``symbolic_form()`` method); else NoSymbolicForm."""
    from .loader import PROTOCOLS  # noqa: PLC0415

    own = getattr(protocol, "symbolic_form", None)
    if callable(own):
        return own()
    cls = PROTOCOLS.get(protocol.name)
    if cls is not None and type(protocol) is cls:
        return SYMBOLIC[protocol.name]
    raise NoSymbolicForm(
        f"protocol {protocol.name!r} has no symbolic form, so it cannot be proved for every size "
        f"(shipped protocols have one: {', '.join(SYMBOLIC)}); check it at fixed sizes with "
        "`dnsrace check`, or see docs/PROVE.md")


# -- explicit states <-> field values (for the binding test and counterexamples) -------------
def encode_state(form: SymbolicProtocol, protocol, config, s: State) -> dict:
    """The field values of explicit state ``s``: ints, tuples per enactor/endpoint, frozensets
    for plan -> bool."""
    es = s.enactors
    out = {"gen": s.gen, "store": frozenset(s.store), "dns": tuple(s.dns),
           "pc": tuple(e.pc for e in es), "held": tuple(e.held for e in es)}
    names = {f.name for f in form.fields}
    if "valid" in names:
        out["valid"] = tuple(bool(e.local) and bool(e.local[0]) for e in es)
    if "token" in names:
        out["token"] = tuple(e.local[1] if e.local else 0 for e in es)
        out["rtok"] = tuple(s.ext)
    if "doomed" in names:
        out["doomed"] = tuple(frozenset(e.local[0]) if e.local else frozenset() for e in es)
    return out


def decode_state(form: SymbolicProtocol, protocol, config, values: dict) -> State:
    """The explicit state with these field values (inverse of ``encode_state`` on the states a
    protocol can reach; ``encode_state(decode_state(x)) != x`` means x is not one of them)."""
    n = len(values["pc"])
    names = {f.name for f in form.fields}
    enactors = []
    for j in range(n):
        pc, local = values["pc"][j], ()
        if "token" in names and pc != IDLE:
            local = (values["valid"][j], values["token"][j])
        elif "valid" in names and pc != IDLE:
            local = (values["valid"][j],)
        elif "doomed" in names and pc == protocol.pc(config, "delete"):
            local = (tuple(sorted(values["doomed"][j])),)
        enactors.append(Enactor(pc, values["held"][j], local))
    ext = tuple(values["rtok"]) if "rtok" in names else protocol.initial_ext(config)
    return State(values["gen"], frozenset(values["store"]), tuple(values["dns"]),
                 tuple(enactors), ext)
