"""The four sizes of the system, validated in one place."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Config", "ConfigError", "ENDPOINT_NAMES", "endpoint_name", "enactor_name"]

ENDPOINT_NAMES = ("regional", "ipv6", "fips")

# Hard ceilings: beyond these the state encoding and the run itself are hopeless.
MAX_ENACTORS = 12
MAX_PLANS = 30
MAX_ENDPOINTS = 12
MAX_KEEP = 1000  # K >= P keeps every plan; larger K changes nothing but overflows encodings


class ConfigError(ValueError):
    """A configuration that cannot be checked; the message is one line for the user."""


@dataclass(frozen=True)
class Config:
    """Sizes of the checked system (see MODEL.md, "Parameters").

    >>> Config(enactors=3, plans=4).endpoints
    3
    """

    enactors: int = 3
    plans: int = 4
    endpoints: int = 3
    keep: int = 1

    def __post_init__(self) -> None:
        for name, low, high in (
            ("enactors", 1, MAX_ENACTORS),
            ("plans", 1, MAX_PLANS),
            ("endpoints", 1, MAX_ENDPOINTS),
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ConfigError(f"--{name} must be a whole number, got {value!r}")
            if value < low:
                raise ConfigError(f"--{name} must be at least {low}, got {value}")
            if value > high:
                raise ConfigError(
                    f"--{name} {value} is too large: at most {high} (a hard ceiling of the "
                    "state encoding, which --max-states or --max-seconds do not lift)"
                )
        if not isinstance(self.keep, int) or isinstance(self.keep, bool) or self.keep < 0:
            raise ConfigError(f"--keep must be a whole number >= 0, got {self.keep!r}")
        if self.keep > MAX_KEEP:
            raise ConfigError(
                f"--keep {self.keep} is too large: at most {MAX_KEEP} (any K >= --plans "
                "already keeps every plan)")

    @classmethod
    def unbounded(cls, enactors: int, plans: int, endpoints: int, keep: int) -> "Config":
        """Like ``Config(...)`` without the upper limits of exhaustive search, for
        ``dnsrace simulate``, which holds one run in memory at a time."""
        sizes = {"enactors": enactors, "plans": plans, "endpoints": endpoints}
        caps = {"enactors": MAX_ENACTORS, "plans": MAX_PLANS, "endpoints": MAX_ENDPOINTS}
        cls(**{k: min(v, caps[k]) if type(v) is int else v for k, v in sizes.items()},
            keep=keep)  # every other rule: whole numbers, lower bounds, keep
        self = object.__new__(cls)
        for name, value in {**sizes, "keep": keep}.items():
            object.__setattr__(self, name, value)
        return self

    def with_plans(self, plans: int) -> "Config":
        """The same configuration with another number of plans."""
        return Config(self.enactors, plans, self.endpoints, self.keep)

    def slug(self) -> str:
        """Short stable name, used in file names: ``n3-p4-e3-k1``."""
        return f"n{self.enactors}-p{self.plans}-e{self.endpoints}-k{self.keep}"

    def as_dict(self) -> dict:
        return {"enactors": self.enactors, "plans": self.plans,
                "endpoints": self.endpoints, "keep": self.keep}


def endpoint_name(e: int) -> str:
    """Human name of endpoint ``e`` (0-based index): regional, ipv6, fips, then endpoint-4,
    endpoint-5, ... (numbered from 1, like enactor-1: the fourth endpoint is endpoint-4)."""
    return ENDPOINT_NAMES[e] if e < len(ENDPOINT_NAMES) else f"endpoint-{e + 1}"


def endpoint_ref(e: int) -> str:
    """Endpoint ``e`` in a sentence: "endpoint regional", but "endpoint-4" (not "endpoint
    endpoint-4")."""
    name = endpoint_name(e)
    return name if name.startswith("endpoint-") else f"endpoint {name}"


def enactor_name(i: int) -> str:
    """Human name of enactor ``i`` (0-based index): enactor-1, enactor-2, ..."""
    return f"enactor-{i + 1}"
