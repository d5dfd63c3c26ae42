"""A fix someone might propose: "before cleaning up, make sure nobody overwrote my plan".

After its last write, the enactor re-reads every record (a new VERIFY phase): it cleans up
only if all of them still serve its plan, else it goes idle. Check it with:

    dnsrace check --protocol examples/verify_then_cleanup.py:VerifyThenCleanup
"""

from dataclasses import dataclass

from dnsrace.model import CLEANUP, Action, Original


@dataclass(frozen=True, slots=True)
class Verify(Action):
    """The enactor re-reads every record after its last write."""

    enactor: int

    def describe(self, model, before, after):  # one line in counterexample tables
        ok = after.enactors[self.enactor].pc == CLEANUP
        return "re-reads every record: " + ("all still serve its plan" if ok else "skips cleanup")


class VerifyThenCleanup(Original):
    name = "verify-then-cleanup"
    summary = "re-read every record after the last write; clean up only if none was overwritten"
    action_classes = Original.action_classes + (Verify,)
    phases = ("verify",)  # a new phase, stepped by the method verify() below
    phase_timing = {"verify": "check"}  # under --timing, a re-read takes --check-time

    def next_phase(self, c, k):  # after the last write, go to VERIFY instead of CLEANUP
        pc = super().next_phase(c, k)
        return self.pc(c, "verify") if pc == CLEANUP else pc

    def verify(self, c, s, i):
        held = s.enactors[i].held
        if all(plan == held for plan in s.dns):
            return ((Verify(i), self.move(s, i, pc=CLEANUP)),)
        return ((Verify(i), self.idle(s, i)),)
