"""Sentinels for the derived model (model/derived/): stand-ins for the enactors a memoised
step was not given.

A ``Sentinel`` refuses every use (attribute, comparison, hashing, iteration, truth value,
arithmetic): each use sets its probe's flag and raises ``Touched``. Tuple slicing and
concatenation only copy it, so ``with_enactor`` and ``move`` work on a state holding some.
A ``LocalView`` shows only an enactor's ``local`` data (and ``_replace(local=...)``).
"""

from __future__ import annotations

__all__ = ["Touched", "Probe", "Sentinel", "LocalView", "view"]


class Touched(BaseException):
    """A sentinel was used. BaseException, so that a protocol's ``except Exception`` does not
    hide it (the probe's flag is checked as well)."""


class Probe:
    """The flag the sentinels of one model set when used."""

    __slots__ = ("touched",)

    def __init__(self):
        self.touched = False


def touch(self, *args, **kwargs):
    object.__getattribute__(self, "_probe").touched = True
    raise Touched


class Sentinel:
    """Stands for an enactor a step was not given; any use of it sets the probe's flag."""

    __slots__ = ("_probe",)

    def __init__(self, probe):
        object.__setattr__(self, "_probe", probe)

    def __reduce__(self):  # never pickled with a model (the copy makes its own)
        return (Sentinel, (Probe(),))


for _name in ("__getattribute__", "__setattr__", "__delattr__", "__eq__", "__ne__", "__lt__",
              "__le__", "__gt__", "__ge__", "__hash__", "__iter__", "__len__", "__bool__",
              "__getitem__", "__contains__", "__repr__", "__str__", "__format__", "__int__",
              "__index__", "__float__", "__add__", "__radd__", "__sub__", "__rsub__", "__mul__",
              "__rmul__", "__and__", "__rand__", "__or__", "__ror__", "__call__", "__lshift__",
              "__rshift__", "__neg__", "__abs__", "__reversed__", "__dir__"):
    setattr(Sentinel, _name, touch)
del _name


class LocalView:
    """Stands for another enactor that a step may see only through its ``local`` data: reading
    ``.local`` and ``_replace(local=...)`` work, any other use sets the probe's flag."""

    __slots__ = ("_probe", "_local", "_slot")

    def __init__(self, probe, local, slot):
        object.__setattr__(self, "_probe", probe)
        object.__setattr__(self, "_local", local)
        object.__setattr__(self, "_slot", slot)

    def __getattribute__(self, name):
        if name == "local":
            return object.__getattribute__(self, "_local")
        if name == "_replace":
            return object.__getattribute__(self, "_replace_local")
        touch(self)

    def _replace_local(self, **changes):
        if set(changes) != {"local"}:
            touch(self)
        get = object.__getattribute__
        return LocalView(get(self, "_probe"), changes["local"], get(self, "_slot"))

    def __reduce__(self):
        return (Sentinel, (Probe(),))


for _name in ("__setattr__", "__delattr__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__",
              "__ge__", "__hash__", "__iter__", "__len__", "__bool__", "__getitem__",
              "__contains__", "__repr__", "__str__", "__format__", "__int__", "__index__",
              "__float__", "__add__", "__radd__", "__call__", "__reversed__", "__dir__"):
    setattr(LocalView, _name, touch)
del _name


def view(x, attr):
    return object.__getattribute__(x, attr)
