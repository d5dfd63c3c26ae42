"""A cheap upper bound on the reachable states, to refuse hopeless runs up front."""

from __future__ import annotations

from math import comb, log10

from .config import Config

__all__ = ["state_bound", "too_large", "FEASIBLE_BOUND"]

# The bound is loose: 2 * 10^3 above the true count at the defaults, 2 * 10^6 above it at
# 5 enactors, 8 plans (about 4 * 10^6 states, verified). Past this bound a run is hopeless.
FEASIBLE_BOUND = 10 ** 15


def state_bound(config: Config, phases_per_endpoint: int = 2) -> int:
    """Upper bound on symmetry-reduced states: enactor multisets x records x (gen, store).

    An enactor is idle or at one of ``phases_per_endpoint * E + 1`` phases holding one of P
    plans; each record serves one of P+1 values; gen and the store are bounded by 2^P * (P+1).
    """
    n, p, e = config.enactors, config.plans, config.endpoints
    local = 1 + (phases_per_endpoint * e + 1) * p
    return comb(local + n - 1, n) * (p + 1) ** e * (p + 1) * 2 ** p


def magnitude(bound: int) -> str:
    return f"10^{int(log10(max(bound, 1)))}"


def too_large(config: Config) -> str:
    """Why exploring ``config`` exhaustively is hopeless (one line), or "" when it is not."""
    bound = state_bound(config)
    if bound <= FEASIBLE_BOUND:
        return ""
    return (f"{config.slug()} may have up to {magnitude(bound)} states: too large to explore "
            "exhaustively")
