"""Driving the two reference enactors: the incident reproduced in real calls, the patch
rejected by Route 53 exactly where the model's cas aborts, and random runs per seed."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import INCIDENT, ORIGINAL_TRACE, PATCHED

pytest.importorskip("moto.server")

from dnsrace.checker.conformance.adapters import load_adapter  # noqa: E402
from dnsrace.checker.conformance.driver import (Driver, StepError, adapter_method,  # noqa: E402
                                                file_schedule, random_run)
from dnsrace.checker.conformance.report import dangling_records  # noqa: E402
from dnsrace.checker.conformance.services import Services  # noqa: E402
from dnsrace.checker.traces.formats import load_trace_file  # noqa: E402
from dnsrace.checker.traces.replay_file import replay_trace_file  # noqa: E402
from dnsrace.model import Config, DnsSystem  # noqa: E402


@pytest.fixture(scope="module")
def services(moto_url):
    made = {}

    def get(config):
        key = (config.endpoints, config.keep)
        if key not in made:
            made[key] = Services(moto_url, config.endpoints, config.keep, user_endpoint=False)
            made[key].create()
        return made[key]

    yield get
    for svc in made.values():
        svc.destroy()


def driver(services, model, adapter):
    return Driver(model, services(model.config), load_adapter(adapter), adapter_name="a")


def incident_actions():
    return [s.action for s in replay_trace_file(load_trace_file(ORIGINAL_TRACE)).trace.steps[1:]]


def test_the_incident_enactor_conforms_and_ends_in_the_outage(services):
    model = DnsSystem(Config(), "original")
    report = file_schedule(driver(services, model, INCIDENT), incident_actions())
    assert report.divergence is None and not report.stopped and len(report.steps) == 11
    end = report.steps[-1].real
    assert end.dns == (1, 3, 3) and end.store == {2, 3}
    assert dangling_records(report.steps[-1]) == [("regional", 1)]


def test_the_patched_enactor_diverges_from_original_at_the_stale_write(services):
    model = DnsSystem(Config(), "original")
    report = file_schedule(driver(services, model, PATCHED), incident_actions())
    div = report.divergence
    assert div.index == 7 and div.action.kind == "write"
    assert [d[0] for d in div.differences] == ["outcome", "record regional"]
    assert "reported 'abort'" in div.differences[0][2]
    assert div.real.dns == (3, 0, 0)


def test_the_patched_enactor_conforms_to_cas_and_route53_rejects_the_stale_write(services):
    model = DnsSystem(Config(), "cas")
    report = file_schedule(driver(services, model, PATCHED), incident_actions())
    assert report.divergence is None and not report.stopped
    step = report.steps[7]
    assert step.action.kind == "abort" and step.outcome == "aborted"
    assert step.note.startswith("Route 53 rejected DELETE plan-0 + CREATE plan-1")
    assert "cas takes abort enactor-1 regional" in step.schedule_note
    assert report.steps[-1].real.dns == (3, 3, 3) and dangling_records(report.steps[-1]) == []


def test_the_incident_enactor_diverges_from_cas(services):
    model = DnsSystem(Config(), "cas")
    report = file_schedule(driver(services, model, INCIDENT), incident_actions())
    assert report.divergence.index == 7 and report.divergence.real.dns == (1, 0, 0)


def runs(services, model, adapter, seed, count, depth=20):
    d, rng = driver(services, model, adapter), random.Random(seed)
    out = []
    for r in range(count):
        out.append(random_run(d, rng, depth, r))
        if out[-1].divergence is not None:
            break
    return out


SMALL = Config(enactors=2, plans=3, endpoints=2, keep=1)


def test_random_runs_are_the_same_for_the_same_seed(services):
    model = DnsSystem(SMALL, "cas")
    a = [r.actions for r in runs(services, model, PATCHED, seed=7, count=2, depth=8)]
    b = [r.actions for r in runs(services, model, PATCHED, seed=7, count=2, depth=8)]
    c = [r.actions for r in runs(services, model, PATCHED, seed=8, count=2, depth=8)]
    assert a == b and a != c


def test_random_runs_find_the_incident_enactors_divergence_from_cas(services):
    model = DnsSystem(SMALL, "cas")
    found = runs(services, model, INCIDENT, seed=0, count=30)[-1].divergence
    assert found is not None and found.action.kind == "abort"


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 3), p=st.integers(1, 3), e=st.integers(1, 3), k=st.integers(0, 2),
       seed=st.integers(0, 2**16))
def test_each_reference_enactor_conforms_to_its_protocol(services, n, p, e, k, seed):
    config = Config(n, p, e, k)
    for protocol, adapter in (("original", INCIDENT), ("cas", PATCHED)):
        (report,) = runs(services, DnsSystem(config, protocol), adapter, seed, 1, depth=10)
        assert report.divergence is None, (protocol, report.divergence)


def test_each_phase_maps_to_one_adapter_method():
    model = DnsSystem(Config(), "recheck")
    s = model.init_states()[0]
    for action in [a for a, _ in model.successors(s)]:
        s = model.next_state(s, action)
    seen = []
    while len(seen) < 4:
        action, nxt = next((a, n) for a, n in model.successors(s) if a.actor == 0)
        seen.append(adapter_method(model, s, action))
        s = nxt
    assert seen == [("pick", ()), ("check", (0,)), ("write", (0,)), ("check", (1,))]


def test_an_adapter_without_the_method_names_the_step(services, tmp_path):
    f = tmp_path / "nocleanup.py"
    f.write_text("class NoCleanup:\n    def __init__(self, *a): pass\n")
    model = DnsSystem(SMALL, "original")
    d = Driver(model, services(SMALL), load_adapter(f"{f}:NoCleanup"), adapter_name="x")
    report = d.start()
    s0 = report.steps[0].after
    (plan, s1), = [(a, n) for a, n in model.successors(s0)]
    d.step(report, plan, s1)
    pick, s2 = [(a, n) for a, n in model.successors(s1) if a.actor == 0][0]
    with pytest.raises(StepError, match=r"^step 2 \(pick enactor-1\): adapter x has no "
                                        r"method pick\(\)$"):
        d.step(report, pick, s2)


def test_a_protocols_extra_step_maps_to_the_method_of_its_kind():
    model = DnsSystem(Config(), "lease")
    s = model.init_states()[0]
    for kind in ("plan", "pick"):
        s = next(n for a, n in model.successors(s) if a.kind == kind)
    expire = next(a for a, _ in model.successors(s) if a.kind == "expire")
    assert adapter_method(model, s, expire) == ("expire", ())


def test_the_recheck_enactor_conforms_to_recheck_and_still_races(services):
    from .conftest import REPO
    trace = REPO / "traces" / "n3-p4-e3-k1-recheck-no-dangling.json"
    actions = [s.action for s in replay_trace_file(load_trace_file(trace)).trace.steps[1:]]
    adapter = f"{REPO / 'examples' / 'route53_enactor_recheck.py'}:RecheckEnactor"
    report = file_schedule(driver(services, DnsSystem(Config(), "recheck"), adapter), actions)
    assert report.divergence is None and len(report.steps) == 15
    assert dangling_records(report.steps[-1]) == [("regional", 1)]
