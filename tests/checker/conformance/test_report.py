"""The drive's step table keeps render.py's columns and adds what the services held."""

from __future__ import annotations

from dnsrace.checker.conformance.driver import DriveStep, RunReport
from dnsrace.checker.conformance.report import render_divergence, render_run
from dnsrace.checker.conformance.services import Observed
from dnsrace.model import Config, DnsSystem


def two_steps(real_dns_after):
    model = DnsSystem(Config(enactors=1, plans=1, endpoints=1), "original")
    s0 = model.init_states()[0]
    (plan, s1), = model.successors(s0)
    report = RunReport(None)
    report.steps.append(DriveStep(0, None, None, s0, "", "", Observed((0,), ('"plan-0"',),
                                                                       frozenset()), ()))
    diffs = () if real_dns_after == (0,) else (("record regional", "plan 0 (bootstrap)",
                                                'Route 53 holds "plan-7"'),)
    report.steps.append(DriveStep(1, plan, s0, s1, "published plan 1", "",
                                  Observed(real_dns_after, ('"plan-7"',), frozenset({1})),
                                  diffs))
    return model, report


def test_the_real_column_follows_the_model_columns():
    model, report = two_steps((0,))
    lines = render_run(model, report).splitlines()
    assert lines[0].split()[-5:] == ["plan", "store", "real", "what", "happened"]
    col = lines[0].index("real")
    assert lines[1][col:].startswith("- {}   ") and lines[2][col:].startswith("- {1}  ")  # aligned
    assert lines[1].endswith("initial state") and lines[2].endswith("generates plan 1")


def test_a_diverging_step_is_marked_and_explained():
    model, report = two_steps((7,))
    row = render_run(model, report).splitlines()[2]
    assert "  7 {1}  generates plan 1" in row and row.endswith("generates plan 1  << DIVERGES")
    assert render_divergence(report.steps[1]) == (
        "DIVERGES at step 1 (plan):\n"
        "  record regional: the model expects plan 0 (bootstrap); Route 53 holds \"plan-7\"")
