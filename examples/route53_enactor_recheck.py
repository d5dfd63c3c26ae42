"""The `recheck` enactor: the incident's enactor, plus a re-read of each record before writing
it, in a separate step (a `dnsrace drive` adapter for `--protocol recheck`).

Check-then-act: between the check and the blind UPSERT another enactor can write the record,
so the race is still there, in real calls:

    dnsrace drive traces/n3-p4-e3-k1-recheck-no-dangling.json \
        --adapter examples/route53_enactor_recheck.py:RecheckEnactor
"""

import os

from dnsrace.checker.conformance.adapters import ABORT, load_adapter

HERE = os.path.dirname(os.path.abspath(__file__))
IncidentEnactor = load_adapter(os.path.join(HERE, "route53_enactor.py") + ":IncidentEnactor")


class RecheckEnactor(IncidentEnactor):
    def check(self, k):
        """Re-read record k: give up (no cleanup) if it already serves a newer plan."""
        served = self.served_plans()[k]
        if served > self.held:
            held, self.held = self.held, None
            return ABORT, f"record serves plan {served}, newer than {held}"
        return None
