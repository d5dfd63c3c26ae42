"""Difference-bound matrices (DBMs): the zones of timed-automata model checking.

A zone over clocks x_1..x_n is stored as a flat tuple ``D`` of ``d * d`` encoded bounds
(``d = n + 1``; index 0 is the constant 0), ``D[i * d + j]`` bounding ``x_i - x_j``. A bound
``(c, <=)`` is encoded as ``2c + 1`` and ``(c, <)`` as ``2c``, so smaller codes are tighter and
``min`` is a tightening; ``INF`` means no bound. Constants are integers: callers scale rational
bounds by their common denominator. They may be of any size (Python ints, so arithmetic stays
exact however large the denominator, e.g. ``1/3`` next to ``0.3333333333333333333``); ``INF``
is therefore not a large int but float infinity, above every int, and only ever compared,
never added (``bound_add`` and the closures test for it first).

Operations follow Bengtsson & Yi, "Timed Automata: Semantics, Algorithms and Tools" (2004):
canonical form by Floyd-Warshall, incremental closure after one constraint, delay (``up``),
reset, freeing a clock, and the classic maximal-constant extrapolation ``Extra_M`` (exact for
location reachability of diagonal-free automata, which closed interval guards are).
"""

from __future__ import annotations

__all__ = ["INF", "LE0", "le", "lt", "bound_add", "zero", "up", "constrain", "reset", "free",
           "close", "extrapolate", "extrapolate_lu", "includes", "permute", "is_empty", "upper", "lower"]

INF = float("inf")  # an unattainable sentinel (see above), never a bound
LE0 = 1  # (0, <=)


def le(c: int) -> int:
    """The encoded bound ``<= c``."""
    return 2 * c + 1


def lt(c: int) -> int:
    """The encoded bound ``< c``."""
    return 2 * c


def bound_add(a: int, b: int) -> int:
    if a >= INF or b >= INF:
        return INF
    return a + b - ((a | b) & 1)


def zero(d: int) -> list:
    """Every clock equal to 0."""
    return [LE0] * (d * d)


def close(D: list, d: int) -> bool:
    """Floyd-Warshall to canonical form in place; False when the zone is empty."""
    for k in range(d):
        rk = k * d
        for i in range(d):
            ri = i * d
            dik = D[ri + k]
            if dik >= INF:
                continue
            for j in range(d):
                dkj = D[rk + j]
                if dkj >= INF:
                    continue
                s = dik + dkj - ((dik | dkj) & 1)
                if s < D[ri + j]:
                    D[ri + j] = s
        if D[k * d + k] < LE0:
            return False
    return all(D[i * d + i] >= LE0 for i in range(d))


def constrain(D: list, d: int, i: int, j: int, b: int) -> bool:
    """Adds ``x_i - x_j (bound b)`` to canonical ``D`` in place, keeping it canonical.
    Returns False (``D`` then garbage) when the zone becomes empty."""
    if b >= D[i * d + j]:
        return True
    if bound_add(D[j * d + i], b) < LE0:
        return False
    D[i * d + j] = b
    # Every shortest path that improves goes through the new edge i -> j.
    col_i = [D[p * d + i] for p in range(d)]
    row_j = D[j * d: j * d + d]
    for p in range(d):
        dpi = col_i[p]
        if dpi >= INF:
            continue
        s1 = dpi + b - ((dpi | b) & 1)
        rp = p * d
        for q in range(d):
            djq = row_j[q]
            if djq >= INF:
                continue
            s = s1 + djq - ((s1 | djq) & 1)
            if s < D[rp + q]:
                D[rp + q] = s
    return True


def up(D: list, d: int) -> None:
    """Lets time pass: removes every clock's upper bound (stays canonical)."""
    for i in range(1, d):
        D[i * d] = INF


def reset(D: list, d: int, x: int) -> None:
    """Sets clock ``x`` to 0 (stays canonical)."""
    rx = x * d
    for j in range(d):
        D[rx + j] = D[j]          # x - x_j  = 0 - x_j
        D[j * d + x] = D[j * d]   # x_j - x  = x_j - 0
    D[rx + x] = LE0


def free(D: list, d: int, x: int) -> None:
    """Forgets clock ``x`` (any value >= 0), e.g. when no guard reads it before a reset."""
    rx = x * d
    for j in range(d):
        D[rx + j] = INF
        D[j * d + x] = D[j * d]   # x_j - x <= x_j - 0
    D[rx + x] = LE0
    D[x] = LE0                    # 0 - x <= 0


def extrapolate(D: list, d: int, M: list) -> bool:
    """``Extra_M``: bounds above a clock's maximal constant ``M[x]`` are dropped, lower bounds
    beyond it weakened to ``> M[x]``; then re-canonicalised. ``M[0]`` must be 0.

    In a canonical zone where clock x is bounded above by ``M[x]``, no entry of x's row
    exceeds ``M[x]`` and no entry of its column is below ``-M[x]``, so only the rows and
    columns of clocks that may exceed their constant are visited."""
    big = [i for i in range(1, d) if D[i * d] > 2 * M[i] + 1]
    if not big:
        return False
    changed = False
    for i in big:
        ri = i * d
        top = 2 * M[i] + 1
        for j in range(d):
            if j != i and top < D[ri + j] < INF:
                D[ri + j] = INF
                changed = True
        low = 2 * -M[i]
        for j in range(d):
            if j != i and D[j * d + i] < low:
                D[j * d + i] = low
                changed = True
    if changed:
        close(D, d)
    return changed


def extrapolate_lu(D: list, d: int, L: list, U: list) -> bool:
    """``Extra_LU^+`` (Behrmann, Bouyer, Larsen, Pelanek, "Lower and upper bounds in
    zone-based abstractions of timed automata", STTT 2006): coarser than ``Extra_M`` and still
    exact for location reachability of diagonal-free automata. ``L[x]``/``U[x]``: the largest
    constant in a lower-/upper-bound constraint on x (invariants count as upper bounds);
    ``L[0] = U[0] = 0``. Then re-canonicalised."""
    low = [D[j] for j in range(d)]  # D[0][j]: encoded bound on -x_j
    changed = False
    for i in range(1, d):
        ri = i * d
        li = 2 * L[i] + 1
        drop_row = low[i] < 2 * -L[i] + 1  # x_i's lower bound exceeds L_i
        for j in range(d):
            if j == i:
                continue
            v = D[ri + j]
            if v >= INF:
                continue
            if drop_row or v > li or (j and low[j] < 2 * -U[j] + 1):
                D[ri + j] = INF
                changed = True
    for j in range(1, d):
        if low[j] < 2 * -U[j] + 1:
            D[j] = 2 * -U[j]  # x_j > U_j
            changed = True
    if changed:
        close(D, d)
    return changed


def includes(big, small) -> bool:
    """True when zone ``small`` is a subset of zone ``big`` (both canonical, non-empty)."""
    for a, b in zip(big, small):
        if a < b:
            return False
    return True


def permute(D, d: int, perm) -> list:
    """The zone with clock ``perm[j]`` renamed to ``j`` (``perm[0]`` must be 0)."""
    out = [0] * (d * d)
    for i in range(d):
        pi = perm[i] * d
        for j in range(d):
            out[i * d + j] = D[pi + perm[j]]
    return out


def is_empty(D, d: int) -> bool:
    return any(D[i * d + i] < LE0 for i in range(d))


def upper(D, d: int, x: int) -> int:
    """Encoded upper bound of clock ``x``."""
    return D[x * d]


def lower(D, d: int, x: int) -> int:
    """Encoded bound on ``-x`` (so ``x >= -c`` for ``le(c)``)."""
    return D[x]
