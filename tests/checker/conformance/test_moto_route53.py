"""Route 53's change-batch rules on dnsrace's moto server: a batch is checked as a whole
against the records as they are, and applied all-or-nothing."""

from __future__ import annotations

import pytest

from dnsrace.checker.conformance.adapters import plan_of_value, record_set


@pytest.fixture(scope="module")
def zone(moto_url):
    import boto3
    r53 = boto3.client("route53", endpoint_url=moto_url, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    zone_id = r53.create_hosted_zone(Name="batch.example.com.",
                                     CallerReference="batch")["HostedZone"]["Id"]
    return r53, zone_id


NAME = "regional.batch.example.com."


def batch(zone, *changes):
    r53, zone_id = zone
    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
        {"Action": action, "ResourceRecordSet": record_set(NAME, plan)}
        for action, plan in changes]})


def served(zone):
    r53, zone_id = zone
    sets = r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return [plan_of_value(v["Value"]) for r in sets if r["Name"] == NAME
            for v in r["ResourceRecords"]]


def rejected(zone, *changes) -> str:
    from botocore.exceptions import ClientError
    with pytest.raises(ClientError) as info:
        batch(zone, *changes)
    return info.value.response["Error"]["Code"] + ": " + info.value.response["Error"]["Message"]


def test_a_delete_must_name_the_current_value_not_an_earlier_one(zone):
    batch(zone, ("UPSERT", 0))
    batch(zone, ("UPSERT", 3))
    why = rejected(zone, ("DELETE", 0), ("CREATE", 1))  # moto 5.2 alone accepts this
    assert why.startswith("InvalidChangeBatch: Tried to delete resource record set")
    assert "do not match the current values" in why
    assert served(zone) == [3]


def test_a_matching_delete_then_create_replaces_the_value(zone):
    batch(zone, ("UPSERT", 3))
    batch(zone, ("DELETE", 3), ("CREATE", 4))
    assert served(zone) == [4]
    batch(zone, ("DELETE", 4), ("CREATE", 4))  # rewriting the same plan is a valid batch
    assert served(zone) == [4]


def test_a_rejected_batch_changes_nothing(zone):
    batch(zone, ("UPSERT", 2))
    rejected(zone, ("UPSERT", 7), ("DELETE", 9))
    assert served(zone) == [2]


def test_create_over_an_existing_record_is_rejected(zone):
    batch(zone, ("UPSERT", 2))
    assert "already exists" in rejected(zone, ("CREATE", 5))
    assert served(zone) == [2]
