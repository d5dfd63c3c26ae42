"""Your own properties: ``--property file.py:Name`` or ``--property package.module:Name``.

``Name`` is a subclass (or an instance) of ``StateInvariant`` or ``TransitionInvariant``
(``dnsrace.invariants``), written exactly like the shipped ``no_dangling.py`` and
``monotonic.py``: a ``name``, a ``summary``, ``holds(...)`` and optionally ``explain(...)``.
Files are imported the way ``model/loader.py`` imports protocol files, and every failure is
one ``PropertyLoadError`` line naming the file and the problem. While a check runs, an
exception inside the property's ``holds`` or ``explain`` becomes ``PropertyCodeError``
(naming the property, its method and line): the user's bug, exit 2, never a verdict.
"""

from __future__ import annotations

import os
import traceback

from dnsrace.model import ProtocolLoadError, ProtocolStepError
from dnsrace.model.loader import load_user_file, load_user_module, named_or_only, user_failure

from .base import GraphProperty, Property, StateInvariant, TransitionInvariant

__all__ = ["PropertyLoadError", "PropertyCodeError", "is_property_spec", "load_property"]

_HERE = os.path.dirname(os.path.abspath(__file__)) + os.sep


class PropertyLoadError(ValueError):
    """A property that cannot be loaded; the message is one line naming file and problem."""


class PropertyCodeError(ProtocolStepError):
    """A user property raised while being checked; the message is one line."""


def is_property_spec(text: str) -> bool:
    """True when ``text`` names user code (``file.py[:Name]`` or ``module:Name``)."""
    return ":" in text or text.endswith(".py")


def load_property(spec: str, shipped: dict) -> Property:
    """A checked, guarded property instance for ``spec``; ``shipped`` maps the shipped
    names (a user property may not take one)."""
    target, _, attr = spec.rpartition(":") if ":" in spec else (spec, "", "")
    is_file = target.endswith(".py") or os.sep in target or "/" in target
    try:
        if is_file:
            module, where = load_user_file(target, "property file"), f"property file {target}"
        else:
            module, where = load_user_module(target), f"module {target}"
    except ProtocolLoadError as exc:
        raise PropertyLoadError(str(exc)) from None
    prop = _instantiate(_pick(module, attr, where), where)
    if not isinstance(prop.name, str) or not prop.name.strip():
        raise PropertyLoadError(f"{where}: {attr or type(prop).__name__} needs a non-empty "
                                "string 'name' (shown in verdicts, traces and file names)")
    if prop.name in shipped:
        raise PropertyLoadError(f"{where}: the name {prop.name!r} is a shipped property's; "
                                "choose another")
    if any(ch in prop.name for ch in "/\\:") or prop.name != prop.name.strip():
        raise PropertyLoadError(f"{where}: name {prop.name!r} must not contain '/', '\\' or "
                                "':' (it becomes part of file names)")
    prop.origin = spec
    _guard(prop)
    return prop


def _pick(module, attr: str, where: str):
    attr, value = named_or_only(module, attr, where, (StateInvariant, TransitionInvariant),
                                "property", PropertyLoadError)
    cls = value if isinstance(value, type) else type(value)
    if issubclass(cls, GraphProperty):
        raise PropertyLoadError(f"{where}: {attr} is a graph property; only state and "
                                "transition invariants can be loaded")
    if not issubclass(cls, (StateInvariant, TransitionInvariant)):
        what = "another class" if isinstance(value, type) else \
            f"an object of type {type(value).__name__}"
        raise PropertyLoadError(
            f"{where}: {attr} is not a property but {what} (subclass "
            "dnsrace.invariants.StateInvariant or TransitionInvariant and define holds)")
    if cls.holds in (StateInvariant.holds, TransitionInvariant.holds):
        raise PropertyLoadError(f"{where}: {attr} does not define holds()")
    return value


def _instantiate(value, where: str) -> Property:
    if not isinstance(value, type):
        return value
    try:
        return value()
    except Exception as exc:  # noqa: BLE001 - any failure of user code is a load error
        raise PropertyLoadError(f"{where}: {value.__name__}() failed: {user_failure(exc)}") \
            from None


def _guard(prop: Property) -> None:
    """Wraps ``holds`` and ``explain`` so that their exceptions name the property."""
    for method in ("holds", "explain"):
        inner = getattr(prop, method)

        def guarded(*args, _inner=inner, _method=method):
            try:
                return _inner(*args)
            except Exception as exc:  # noqa: BLE001
                raise PropertyCodeError(_code_failure(prop, _method, exc)) from exc

        setattr(prop, method, guarded)


def _code_failure(prop, method, exc) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    user = [f for f in frames if not os.path.abspath(f.filename).startswith(_HERE)]
    f = (user or frames)[-1] if frames else None
    where = f"{f.name}() at {os.path.basename(f.filename)} line {f.lineno}" if f else \
        f"{method}()"
    return (f"property {prop.name!r} ({prop.origin}) raised "
            f"{type(exc).__name__}: {exc}".rstrip(": ") + f" in {where}")
