"""Route 53's change-batch rules for the moto server dnsrace starts.

Route 53 validates a change batch as a whole against the records as they are, and applies
it all-or-nothing: a ``CREATE`` of a record that exists, or a ``DELETE`` whose TTL and values
are not exactly the record's current ones, rejects the whole batch with
``InvalidChangeBatch`` (the API reference of ChangeResourceRecordSets). That is what makes a
``DELETE`` old + ``CREATE`` new batch a compare-and-set.

moto 5.2.1 checks something else: a ``DELETE`` passes if its values match ANY value the record
ever had (its change journal), so ``DELETE "plan-0"`` is accepted while the record serves
``"plan-3"``; and a ``CREATE`` is refused when the same change was ever made before, even
right after a ``DELETE`` in the same batch. For records without alias targets or set
identifiers (all a drive uses) :func:`install` replaces that check with Route 53's rule; every
other batch goes to moto unchanged. It patches moto in this process only, once.
"""

from __future__ import annotations

import copy

__all__ = ["install"]

_INSTALLED = []


def _key(rrset: dict) -> tuple:
    return rrset["Name"].rstrip(".") + ".", rrset["Type"]


def _value(rrset: dict) -> tuple:
    return str(rrset.get("TTL")), sorted(r["Value"] for r in rrset.get("ResourceRecords", []))


def _plain(change: dict) -> bool:
    rrset = change.get("ResourceRecordSet", {})
    return (change.get("Action") in ("CREATE", "DELETE", "UPSERT") and "Name" in rrset
            and "Type" in rrset and "SetIdentifier" not in rrset and "AliasTarget" not in rrset)


def _validate(zone, changes) -> None:
    """Raises InvalidChangeBatch when Route 53 would reject ``changes`` as a whole."""
    from moto.route53.exceptions import (DnsNameInvalidForZone,  # noqa: PLC0415
                                         ResourceRecordAlreadyExists, Route53ClientError)

    current = {(r.name.rstrip(".") + ".", r.type): (str(r.ttl), sorted(r.records))
               for r in zone.rrsets if r.set_identifier is None}
    zone_name = zone.name.strip(".")
    for change in changes:
        rrset = change["ResourceRecordSet"]
        key, value = _key(rrset), _value(rrset)
        name, kind = key
        if not name.rstrip(".").endswith(zone_name):
            raise DnsNameInvalidForZone(name=rrset["Name"], zone_name=zone.name)
        if change["Action"] == "CREATE":
            if key in current:
                raise ResourceRecordAlreadyExists(name=name, _type=kind)
            current[key] = value
        elif change["Action"] == "DELETE":
            if key not in current:
                raise Route53ClientError(
                    "InvalidChangeBatch", f"Tried to delete resource record set [name='{name}', "
                    f"type='{kind}'] but it was not found")
            if current[key] != value:
                raise Route53ClientError(
                    "InvalidChangeBatch", f"Tried to delete resource record set [name='{name}', "
                    f"type='{kind}'] but the values provided do not match the current values")
            del current[key]
        else:
            current[key] = value


def _apply(zone, changes) -> None:
    for change in changes:
        journal = copy.deepcopy(change)
        rrset = copy.deepcopy(change["ResourceRecordSet"])
        rrset["Name"] = _key(rrset)[0]
        if change["Action"] == "DELETE":
            zone.delete_rrset(rrset)
        else:
            if "ResourceRecords" in rrset:
                rrset["ResourceRecords"] = [r["Value"] for r in rrset["ResourceRecords"]]
            (zone.add_rrset if change["Action"] == "CREATE" else zone.upsert_rrset)(rrset)
        zone.rr_changes.append(journal)


def install() -> None:
    """Makes moto's Route 53 apply Route 53's batch rules to plain records (idempotent)."""
    if _INSTALLED:
        return
    from moto.route53.models import Route53Backend  # noqa: PLC0415

    original = Route53Backend.change_resource_record_sets

    def change_resource_record_sets(self, zoneid, change_list):
        if not change_list or not all(_plain(c) for c in change_list):
            return original(self, zoneid, change_list)
        zone = self.get_hosted_zone(zoneid)
        _validate(zone, change_list)
        _apply(zone, change_list)
        return None

    Route53Backend.change_resource_record_sets = change_resource_record_sets
    _INSTALLED.append(original)
