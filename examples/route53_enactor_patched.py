"""The patched DNS Enactor: every write is a compare-and-set (a `dnsrace drive` adapter).

A write is one Route 53 change batch: DELETE the record with the exact value the enactor last
saw + CREATE it with the new plan. Route 53 applies a batch all-or-nothing and rejects a
DELETE whose value does not match the record, so the write happens only if nobody wrote the
record since. When Route 53 rejects it, the enactor re-reads the record: a newer plan there
means its own is stale, and it aborts (no cleanup); an older one means it may still write, so
it retries the batch against the value it just read. This is the model's `cas`:

    dnsrace drive traces/n3-p4-e3-k1-original-no-dangling.json --protocol cas \
        --adapter examples/route53_enactor_patched.py:PatchedEnactor
"""

from botocore.exceptions import ClientError

from dnsrace.checker.conformance.adapters import (ABORT, plan_key, plan_of_key, plan_of_value,
                                                  record_set)

REJECTED = "InvalidChangeBatch"  # the batch does not match the records as they are


class PatchedEnactor:
    def __init__(self, route53, s3, enactor_id, target):
        self.route53, self.s3, self.id, self.target = route53, s3, enactor_id, target
        self.held, self.seen = None, None

    def stored_plans(self):
        listing = self.s3.list_objects_v2(Bucket=self.target.bucket, Prefix="plans/")
        return sorted(plan_of_key(o["Key"]) for o in listing.get("Contents", []))

    def served_plans(self):
        sets = self.route53.list_resource_record_sets(
            HostedZoneId=self.target.zone_id)["ResourceRecordSets"]
        values = {r["Name"]: r["ResourceRecords"][0]["Value"] for r in sets if r["Type"] == "TXT"}
        return [plan_of_value(values[name]) for name in self.target.records]

    def pick(self):
        """As before: take the newest plan if it is newer than every record, and remember
        the values the writes expect to replace."""
        plans, self.seen = self.stored_plans(), self.served_plans()
        if not plans or plans[-1] <= max(self.seen):
            return None
        self.held = plans[-1]
        return self.held

    def write(self, k):
        name = self.target.records[k]
        for _ in range(10):  # a real CAS loop; each retry follows a write by someone else
            expected = self.seen[k]
            try:
                self.route53.change_resource_record_sets(
                    HostedZoneId=self.target.zone_id,
                    ChangeBatch={"Changes": [
                        {"Action": "DELETE", "ResourceRecordSet": record_set(name, expected)},
                        {"Action": "CREATE", "ResourceRecordSet": record_set(name, self.held)}]})
                self.seen[k] = self.held
                return None
            except ClientError as exc:
                if exc.response["Error"]["Code"] != REJECTED:
                    raise
            self.seen[k] = self.served_plans()[k]
            if self.seen[k] > self.held:
                held, self.held = self.held, None
                return ABORT, (f"Route 53 rejected DELETE plan-{expected} + CREATE plan-{held}: "
                               f"{name.split('.')[0]} serves plan {self.seen[k]}")
        raise RuntimeError(f"{name}: gave up after 10 conflicting writes")

    def cleanup(self):
        """Unchanged: delete every plan object older than held - K."""
        floor = self.held - self.target.keep
        old = [p for p in self.stored_plans() if p < floor]
        if old:
            self.s3.delete_objects(Bucket=self.target.bucket,
                                   Delete={"Objects": [{"Key": plan_key(p)} for p in old]})
        self.held = None
