"""The properties dnsrace checks, by name."""

from __future__ import annotations

from .base import GraphProperty, Property, StateInvariant, TransitionInvariant
from .loader import PropertyCodeError, PropertyLoadError, is_property_spec, load_property
from .monotonic import Monotonic
from .no_dangling import NoDangling, dangling_endpoints
from .recoverable import Recoverable

__all__ = ["PROPERTIES", "GraphProperty", "Monotonic", "NoDangling", "Property", "Recoverable",
           "PropertyCodeError", "PropertyLoadError", "is_property_spec", "load_property",
           "StateInvariant", "TransitionInvariant", "UnknownProperty", "dangling_endpoints",
           "resolve_properties"]

PROPERTIES = {p.name: p for p in (NoDangling, Monotonic, Recoverable)}


class UnknownProperty(ValueError):
    """A property name that names nothing; the message lists the valid ones."""


def resolve_properties(names=()) -> list[Property]:
    """Property instances for ``names`` (all, in the canonical order, when empty): shipped
    names, or your own ``file.py:Name`` / ``package.module:Name`` (``loader.py``; raises
    PropertyLoadError)."""
    names = list(dict.fromkeys(names)) or list(PROPERTIES)
    out = []
    for name in names:
        cls = PROPERTIES.get(name)
        if cls is not None:
            out.append(cls())
        elif is_property_spec(name):
            out.append(load_property(name, PROPERTIES))
        else:
            raise UnknownProperty(f"unknown property {name!r} (valid: {', '.join(PROPERTIES)}, "
                                  "or your own: file.py:Name or package.module:Name)")
    taken = [p.name for p in out]
    twice = next((n for n in taken if taken.count(n) > 1), None)
    if twice is not None:
        raise UnknownProperty(f"two properties are named {twice!r}")
    return out
