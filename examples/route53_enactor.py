"""The incident's DNS Enactor, in real boto3 calls (a `dnsrace drive` adapter).

One version check when it picks a plan, then a blind UPSERT per endpoint, then a cleanup that
deletes every plan object older than its own plan minus K. Driving the shortest `original`
no-dangling counterexample against it ends with the regional record naming a plan object that
no longer exists: the October 2025 outage, in real API calls.

    dnsrace drive traces/n3-p4-e3-k1-original-no-dangling.json \
        --adapter examples/route53_enactor.py:IncidentEnactor
"""

from dnsrace.checker.conformance.adapters import plan_key, plan_of_key, plan_of_value, record_set


class IncidentEnactor:
    def __init__(self, route53, s3, enactor_id, target):
        self.route53, self.s3, self.id, self.target = route53, s3, enactor_id, target
        self.held = None

    # -- reads ----------------------------------------------------------------------------
    def stored_plans(self):
        listing = self.s3.list_objects_v2(Bucket=self.target.bucket, Prefix="plans/")
        return sorted(plan_of_key(o["Key"]) for o in listing.get("Contents", []))

    def served_plans(self):
        """The plan each endpoint's record names, in endpoint order."""
        sets = self.route53.list_resource_record_sets(
            HostedZoneId=self.target.zone_id)["ResourceRecordSets"]
        values = {r["Name"]: r["ResourceRecords"][0]["Value"] for r in sets if r["Type"] == "TXT"}
        return [plan_of_value(values[name]) for name in self.target.records]

    # -- one model step each ----------------------------------------------------------------
    def pick(self):
        """The one-time check: take the newest plan if it is newer than every record."""
        plans = self.stored_plans()
        if not plans or plans[-1] <= max(self.served_plans()):
            return None
        self.held = plans[-1]
        return self.held

    def write(self, k):
        """Blind write: whatever the record serves now is replaced."""
        self.route53.change_resource_record_sets(
            HostedZoneId=self.target.zone_id,
            ChangeBatch={"Changes": [{"Action": "UPSERT",
                                      "ResourceRecordSet": record_set(self.target.records[k],
                                                                      self.held)}]})

    def cleanup(self):
        """Delete every plan object older than held - K (it never asks what records serve)."""
        floor = self.held - self.target.keep
        old = [p for p in self.stored_plans() if p < floor]
        if old:
            self.s3.delete_objects(Bucket=self.target.bucket,
                                   Delete={"Objects": [{"Key": plan_key(p)} for p in old]})
        self.held = None
