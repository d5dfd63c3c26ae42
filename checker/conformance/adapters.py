"""The adapter API: what a user's enactor class implements, and how plans appear in AWS.

An enactor adapter is a class ``Enactor(route53, s3, enactor_id, target)``: ``route53`` and
``s3`` are boto3 clients, ``enactor_id`` its 0-based index, ``target`` a :class:`Target`
(hosted zone, record names, bucket, keep). Each method performs ONE model step against the real
services and says what it did:

- ``pick()``: take the newest plan if it is newer than what Route 53 serves; return the plan
  number taken (an int), or ``None`` when it takes nothing.
- ``write(k)``: write the held plan to endpoint ``k``; return ``None`` (or ``"write"``) when
  written, ``"abort"`` when it gave up (e.g. Route 53 rejected the change batch).
- ``check(k)`` (``recheck``): ``None``/``"check"`` to go on, ``"abort"`` to give up.
- ``cleanup()``: delete old plan objects; return ``None``.
- a protocol's own phase ``name`` (or extra step of kind ``name``): method ``name()`` or
  ``name(k)`` for per-endpoint phases.

A method may return ``(result, note)``; the note is shown in the driver's "real" column.

A planner adapter is a class ``Planner(route53, s3, target)`` with ``publish(plan)``;
:class:`StorePlanner` is the default (one S3 object per plan).

Encoding (docs/DRIVE.md): plan ``p`` is the S3 object ``plans/000p`` and, in Route 53, the TXT
value ``"plan-p"`` of the endpoint's record; ``"plan-0"`` is the bootstrap value (never written).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dnsrace.model.loader import ProtocolLoadError, _failure, _load_file, _load_module

__all__ = ["Target", "StorePlanner", "AdapterLoadError", "load_adapter", "plan_value",
           "plan_of_value", "plan_key", "plan_of_key", "record_set", "PLAN_PREFIX", "WRITE",
           "ABORT"]

WRITE, ABORT = "write", "abort"
PLAN_PREFIX = "plans/"
_VALUE = re.compile(r'^"plan-(\d+)"$')
_KEY = re.compile(r"^plans/(\d+)$")


@dataclass(frozen=True)
class Target:
    """Where a run happens: the hosted zone, one record name per endpoint, the plan bucket,
    and the model's ``keep`` (cleanup after plan p deletes plans below p - keep)."""

    zone_id: str
    records: tuple
    bucket: str
    keep: int


def plan_value(plan: int) -> str:
    """The TXT value naming ``plan`` in a record: ``"plan-3"`` (quotes included, as Route 53
    stores TXT values)."""
    return f'"plan-{plan}"'


def plan_of_value(value: str):
    """The plan a record value names, or None when it names none."""
    m = _VALUE.match(value)
    return int(m.group(1)) if m else None


def plan_key(plan: int) -> str:
    """The S3 key of ``plan``'s object: ``plans/0003``."""
    return f"{PLAN_PREFIX}{plan:04d}"


def plan_of_key(key: str):
    m = _KEY.match(key)
    return int(m.group(1)) if m else None


def record_set(name: str, plan: int) -> dict:
    """The Route 53 resource record set of record ``name`` serving ``plan``."""
    return {"Name": name, "Type": "TXT", "TTL": 60,
            "ResourceRecords": [{"Value": plan_value(plan)}]}


class StorePlanner:
    """The default planner: publishing plan p puts the object ``plans/000p`` in the bucket."""

    def __init__(self, route53, s3, target: Target):
        self.s3, self.target = s3, target

    def publish(self, plan: int) -> None:
        self.s3.put_object(Bucket=self.target.bucket, Key=plan_key(plan),
                           Body=f"plan {plan}\n".encode())


class AdapterLoadError(ValueError):
    """An adapter that cannot be loaded; one line naming the file and the problem."""


def load_adapter(spec: str, what: str = "adapter"):
    """The class ``spec`` names: ``path/to/file.py:Class`` or ``package.module:Class``
    (``file.py`` alone when it defines exactly one class)."""
    target, _, attr = spec.rpartition(":") if ":" in spec else (spec, "", "")
    is_file = target.endswith(".py") or "/" in target
    if not target or (not is_file and not attr):
        raise AdapterLoadError(f"--{what} {spec!r}: expected path/to/file.py:ClassName or "
                               "package.module:ClassName")
    try:
        module = _load_file(target, f"{what} file") if is_file else _load_module(target)
    except ProtocolLoadError as exc:
        raise AdapterLoadError(str(exc)) from None
    where = f"{what} file {target}" if is_file else f"module {target}"
    classes = [n for n, v in vars(module).items()
               if isinstance(v, type) and v.__module__ == module.__name__]
    if not attr:
        if len(classes) != 1:
            raise AdapterLoadError(f"{where}: defines {len(classes)} classes "
                                   f"({', '.join(classes) or 'none'}); name one, as in "
                                   f"{target}:ClassName")
        attr = classes[0]
    value = getattr(module, attr, None)
    if not isinstance(value, type):
        raise AdapterLoadError(f"{where}: defines no class {attr!r} (classes there: "
                               f"{', '.join(classes) or 'none'})")
    return value


def instantiate(cls, args: tuple, where: str):
    """``cls(*args)``; AdapterLoadError (one line, the user's line) when it raises."""
    try:
        return cls(*args)
    except Exception as exc:  # noqa: BLE001 - the user's constructor failing is bad input
        raise AdapterLoadError(f"{where}: {cls.__name__}() failed: {_failure(exc, None)}") \
            from None
