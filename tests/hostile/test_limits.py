"""Rows 12-14, 16, 19, 20, 29-31: sizes, ranges, workers and lossy tables are checked before
anything is built; a lossy 'holds' that may have missed states is incomplete; engines agree
under --max-states; every error's advice works."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dnsrace.checker.explore.bfs import explore
from dnsrace.checker.explore.engines import EngineOptions, max_workers, run as run_engine
from dnsrace.checker.explore.result import Options
from dnsrace.invariants import resolve_properties
from dnsrace.model import Config, DnsSystem
from dnsrace.model.derived import vector_model

from .helpers import SMALL, no_verdict as _no_verdict, one_line_error, run


@pytest.mark.parametrize("args, words", [
    (["compare", "--sweep", "plans=1..100000000000000"], "narrow the range"),
    (["compare", "--sweep", "plans=1..10,enactors=1..100"], "at most 400"),
    (["check", "--workers", "1000"], "--workers 1000: at most"),
    (["check", "--lossy", "bitstate", "--lossy-bits", "40", "--property", "no-dangling"],
     "--lossy-bits 40"),
    (["check", "--keep", "10000000000000000000000000000"], "--keep"),
    (["compare", "--keep", "9223372036854775808"], "--keep"),
    (["check", "--plans", "30", "--max-states", "100"], "--plans 29"),
    (["compare", "--plans", "30", "--max-states", "100"], "--plans 29"),
    (["check", "--enactors", "12", "--plans", "30", "--endpoints", "12", "--max-states",
      "1000"], "--plans 29"),
    (["delays", "--plans", "30"], "too large"),
])
def test_sizes_are_refused_before_anything_is_built(capsys, args, words):
    code, out, err = run(capsys, *args)
    assert code == 2 and _no_verdict(out) and one_line_error(err, words)


def test_the_worker_cap_is_the_usable_cores(capsys):
    assert max_workers() >= 1
    code, _, _ = run(capsys, "check", *SMALL, "--workers", str(max_workers()), "-q")
    assert code == 1


def test_a_hard_ceiling_does_not_advise_max_states(capsys):
    code, _, err = run(capsys, "check", "--enactors", "13", "--max-states", "1000")
    assert code == 2 and one_line_error(err, "--enactors 13 is too large: at most 12")
    assert "or --max-states to bound" not in err


def test_delays_honours_max_seconds(capsys):
    code, out, _ = run(capsys, "delays", "-n", "4", "-p", "6", "--max-seconds", "0.5",
                       "--no-witness", "--property", "no-dangling")
    assert code == 3 and "incomplete" in out


@pytest.mark.parametrize("mode, bits", [("bitstate", "10"), ("hashcompact", "8")])
def test_a_lossy_run_that_may_have_missed_states_is_incomplete(capsys, mode, bits):
    code, out, _ = run(capsys, "check", "--protocol", "cas", "--property", "no-dangling",
                       "--lossy", mode, "--lossy-bits", bits)
    assert code == 3
    assert "no-dangling  incomplete" in out and "may have missed states" in out


PROTOCOLS = ["original", "recheck", "cas", "guarded"]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.sampled_from(PROTOCOLS), st.integers(1, 4000), st.booleans(),
       st.sampled_from([["monotonic"], ["no-dangling"], ["no-dangling", "monotonic"]]),
       st.sampled_from([None, False]))
@example("cas", 3336, False, ["monotonic"], None)  # the reduced graph (3,335) fits, the plain does not
def test_engines_agree_under_a_state_limit(protocol, limit, stop_early, props, por):
    model = DnsSystem(Config(3, 4, 3, 1), protocol)
    properties = resolve_properties(props)
    options = Options(max_states=limit, stop_early=stop_early)
    obj = explore(model, properties, options)
    vec, _ = run_engine(model, properties, options, engine=EngineOptions("vector", por=por),
                        vectorize=vector_model)
    statuses = {n: (p.status, obj.properties[n].status) for n, p in vec.properties.items()}
    if por is False or not vec.stats.exhausted:
        assert vec.verdict == obj.verdict
        assert all(a == b for a, b in statuses.values()), statuses
    else:  # the reduced graph fit the limit: a proof where the plain search is cut short
        assert all(a == b or (a == "holds" and b == "incomplete")
                   for a, b in statuses.values()), statuses
    if not stop_early and por is False:  # early stops and POR change counts, not verdicts
        assert vec.stats.states == obj.stats.states


def test_the_issue_case_monotonic_at_50_states(capsys):
    verdicts = set()
    for engine in ("vector", "object"):
        code, out, _ = run(capsys, "check", "--max-states", "50", "--engine", engine,
                           "--property", "monotonic")
        verdicts.add((code, out.splitlines()[2].split()[1]))
    assert len(verdicts) == 1
