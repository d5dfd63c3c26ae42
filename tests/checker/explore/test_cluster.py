"""The Ray cluster engine against the single-process vector engine: same counts, verdicts,
shortest counterexamples and traces; limits and a dead actor end the run as incomplete.

Ray runs on loopback only: a local runtime with 2 CPUs for the module, and one two-node
cluster (head and worker node on 127.0.0.1) joined by ``dnsrace check --cluster ray=...``."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np

import pytest

os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # 127.0.0.1 stays 127.0.0.1
ray = pytest.importorskip("ray")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from dnsrace.checker import INCOMPLETE, VIOLATED, Options, replay  # noqa: E402
from dnsrace.checker.cli import main  # noqa: E402
from dnsrace.checker.explore import cluster  # noqa: E402
from dnsrace.checker.explore.vector import explore as vexplore  # noqa: E402
from dnsrace.invariants import resolve_properties  # noqa: E402
from dnsrace.model import Config, DnsSystem, Original, load_protocol  # noqa: E402
from dnsrace.model.derived import DerivedModel, vector_model  # noqa: E402
from dnsrace.model.loader import PROTOCOLS as SHIPPED  # noqa: E402

EXAMPLE = pathlib.Path(__file__).resolve().parents[3] / "examples" / "verify_then_cleanup.py"
SPECS = list(SHIPPED) + [f"{EXAMPLE}:VerifyThenCleanup"]  # every protocol, and a user's own
PROTOCOLS = ["original", "recheck", "cas", "guarded"]
PROPERTY_SETS = [("no-dangling", "monotonic"), ("recoverable",), ()]


def system(spec, config):
    return DnsSystem(config, load_protocol(spec))


class TrustingModel(DerivedModel):
    """A derived model whose copies claim they can expand anything: every miss then
    surfaces inside an expansion, which the cluster engine must retry on a fresh copy."""

    def unprepared(self, keys, symmetry=False, por=False):
        return np.zeros(len(keys), dtype=bool)


class Sorted(Original):
    """Overrides canonical: symmetry runs it on decoded states (misses on the successors)."""

    name = "sorted"

    def canonical(self, s):
        return s._replace(enactors=tuple(sorted(s.enactors, key=lambda e: (e.pc, e.held))))


class Whole(Original):
    """Overrides steps: each state is evaluated whole, in the model's owner (the driver)."""

    name = "whole"

    def steps(self, c, s):
        return super().steps(c, s)


ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the classes above, on actors


@pytest.fixture(scope="module")
def session(request):
    """A local Ray runtime with 2 CPUs, on loopback, stopped even when a test fails."""
    request.addfinalizer(ray.shutdown)
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
             log_to_driver=False)
    s = cluster.Session()  # uses the runtime above and leaves it running
    request.addfinalizer(s.close)
    return s


def summary(r):
    return (r.verdict, r.stats.states, r.stats.transitions, r.stats.depth, r.stats.exhausted,
            r.stats.explored_states, r.stats.explored_transitions, r.stats.coverage,
            r.stats.violations, r.stats.stop_reason,
            {k: (v.status, v.trace.actions if v.trace else None, v.explanation)
             for k, v in r.properties.items()})


def both(model, props, options, session, actors=2, vectorize=DerivedModel, **kw):
    """The vector engine, and the cluster engine on a fresh derived model (so that its
    actors' copies miss ids and the driver prepares and broadcasts them)."""
    single = vexplore(model, props, options, vectorize=vector_model, **kw)
    spread = cluster.explore(model, props, options, vectorize=vectorize, session=session,
                             actors=actors, **kw)
    return single, spread


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(n=st.integers(1, 2), p=st.integers(1, 3), e=st.integers(1, 2), k=st.integers(0, 2),
       protocol=st.sampled_from(SPECS), symmetry=st.booleans(),
       names=st.sampled_from(PROPERTY_SETS), por=st.booleans(),
       max_states=st.sampled_from([None, None, 60]), max_depth=st.sampled_from([None, None, 4]))
def test_same_answer_as_the_vector_engine(session, n, p, e, k, protocol, symmetry, names,
                                          por, max_states, max_depth):
    model = system(protocol, Config(n, p, e, k))
    props = resolve_properties(list(names))
    options = Options(symmetry=symmetry, max_states=max_states, max_depth=max_depth)
    single, spread = both(model, props, options, session, por=por)
    assert summary(spread) == summary(single)
    for pr in spread.properties.values():
        if pr.status == VIOLATED:
            assert replay(model, pr.trace.actions)[1] is None


@pytest.mark.parametrize("spec", SPECS)
def test_every_protocol_with_every_property_symmetry_on_and_off(session, spec):
    """The actors' copies of the model miss ids in the first levels; the driver prepares
    exactly those keys (the copies' ``unprepared`` announces every miss: no retry)."""
    for symmetry in (True, False):
        model = system(spec, Config(2, 3, 2, 1))
        options = Options(symmetry=symmetry, stop_early=False)
        single, spread = both(model, resolve_properties(), options, session)
        assert summary(spread) == summary(single), (spec, symmetry)
        info = spread.cluster
        assert info["model_broadcasts"] > 0 and 0 < info["keys_prepared"] < \
            spread.stats.explored_states
        assert info["retried_chunks"] == 0


@pytest.mark.parametrize("spec", ["cas", f"{EXAMPLE}:VerifyThenCleanup"])  # (not widened)
def test_a_miss_the_model_did_not_announce_is_retried_on_a_fresh_copy(session, spec):
    model = system(spec, Config(2, 3, 2, 1))
    single, spread = both(model, resolve_properties(), Options(), session,
                          vectorize=TrustingModel)
    assert summary(spread) == summary(single)
    assert spread.cluster["retried_chunks"] > 0


@pytest.mark.parametrize("protocol, vectorize", [
    (Sorted(), DerivedModel), (Whole(), DerivedModel),
    ("lease+fencing", lambda m: DerivedModel(m, record_bits=2))],  # widened mid-run
    ids=["own-canonical", "own-steps", "widened"])
def test_the_derived_models_slower_paths(session, protocol, vectorize):
    model = DnsSystem(Config(2, 3, 2, 1), protocol)
    single, spread = both(model, resolve_properties(), Options(stop_early=False), session,
                          vectorize=vectorize)
    assert summary(spread) == summary(single)


def test_one_actor(session):
    model = DnsSystem(Config(2, 3, 2, 1), "original")
    single, spread = both(model, resolve_properties(), Options(), session, actors=1)
    assert summary(spread) == summary(single)
    assert spread.cluster["actors"] == 1 and spread.cluster["actor_peak_mb"]


def test_no_reduction_reproduces_model_md(session):
    """MODEL.md, plain BFS at N=3 P=4 E=3 K=1: guarded has 129,907 states, 373,668
    transitions, no-dangling violated in 17,627 states, shortest counterexample 10 steps."""
    model = DnsSystem(Config(), "guarded")
    props = resolve_properties(["no-dangling", "monotonic"])
    single, spread = both(model, props, Options(symmetry=False, stop_early=False), session)
    assert (spread.stats.states, spread.stats.transitions) == (129_907, 373_668)
    assert spread.stats.violations["no-dangling"] == 17_627
    assert len(spread.properties["no-dangling"].trace) == 10
    assert summary(spread) == summary(single)


def test_the_cli_runs_on_the_cluster_and_prints_what_the_vector_engine_does(session, capsys):
    docs = {}
    for extra in ([], ["--cluster", "ray", "--actors", "2"]):
        code = main(["check", "--enactors", "2", "--plans", "3", "--json", *extra])
        assert code == 1
        docs[bool(extra)] = json.loads(capsys.readouterr().out)
    assert docs[True]["engine"]["cluster"]["actors"] == 2
    for doc in docs.values():
        doc.pop("engine")
        doc.pop("dnsrace", None)  # the options given, which differ by --cluster
        doc["stats"].pop("seconds")
        doc["stats"].pop("states_per_second")
    assert docs[True] == docs[False]


def test_a_state_limit_ends_the_run_incomplete_with_partial_stats(session):
    model = DnsSystem(Config(3, 4, 3, 1), "cas")
    single, spread = both(model, resolve_properties(), Options(max_states=2_000), session)
    assert spread.verdict == INCOMPLETE and not spread.stats.exhausted
    assert spread.stats.explored_states == 2_000
    assert spread.stats.stop_reason == "state limit 2000 reached"
    assert summary(spread) == summary(single)


def test_a_time_limit_ends_the_run_incomplete(session):
    model = DnsSystem(Config(3, 4, 3, 1), "cas")
    r = cluster.explore(model, resolve_properties(), Options(max_seconds=0.01),
                        vectorize=DerivedModel, session=session, actors=2)
    assert r.verdict == INCOMPLETE and r.stats.stop_reason == "time limit 0.01 s reached"
    assert all(p.status == INCOMPLETE for p in r.properties.values())


def test_a_dead_actor_makes_the_run_incomplete_never_holds(session):
    def kill_one(depth, shards):
        if depth == 3:
            ray.kill(shards[1])

    model = DnsSystem(Config(2, 3, 2, 1), "cas")  # holds when complete
    r = cluster.explore(model, resolve_properties(), Options(), vectorize=DerivedModel,
                        session=session, actors=2, on_level=kill_one)
    assert r.verdict == INCOMPLETE and not r.stats.exhausted
    assert r.stats.stop_reason.startswith("a Ray actor failed, the run is incomplete: ")
    assert r.cluster["failure"]
    assert all(p.status == INCOMPLETE for p in r.properties.values())


def test_more_actors_than_cpus_is_refused(session):
    with pytest.raises(cluster.ClusterUnavailable, match="--actors 3: the cluster has 2 CPUs"):
        cluster.explore(DnsSystem(Config(1, 1, 1, 0), "cas"), resolve_properties(),
                        vectorize=vector_model, session=session, actors=3)


def test_a_two_node_cluster_on_this_machine_gives_the_same_answer(tmp_path, capsys):
    """Head and worker node on 127.0.0.1 (ray.cluster_utils), one actor on each; the check
    runs in its own process and joins with --cluster ray=ADDRESS, on a user's own protocol
    file (its classes travel to the actors by value)."""
    from ray.cluster_utils import Cluster

    two = Cluster(initialize_head=True, connect=False, head_node_args={
        "num_cpus": 1, "node_ip_address": "127.0.0.1", "include_dashboard": False})
    try:
        two.add_node(num_cpus=1, node_ip_address="127.0.0.1")
        two.wait_for_nodes()
        args = ["check", "--enactors", "2", "--plans", "3", "--json",
                "--protocol", f"{EXAMPLE}:VerifyThenCleanup"]
        cmd = [sys.executable, "-c", "from dnsrace.checker.cli import run; run()"]
        joined = subprocess.run(cmd + args + ["--cluster", f"ray={two.address}",
                                              "--actors", "2"],
                                capture_output=True, text=True, timeout=240, cwd=tmp_path)
    finally:
        two.shutdown()
    assert joined.returncode == 1, joined.stderr[-2000:]
    spread = json.loads(joined.stdout)
    assert spread["engine"]["cluster"]["nodes"] == 2
    assert spread["engine"]["cluster"]["actors"] == 2
    assert main(args) == 1  # the vector engine, in this process
    single = json.loads(capsys.readouterr().out)
    for doc in (spread, single):
        doc.pop("engine")
        doc.pop("dnsrace", None)  # the options given, which differ by --cluster
        doc["stats"].pop("seconds")
        doc["stats"].pop("states_per_second")
    assert spread == single


def _descendants(pid):
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True)
    children = {}
    for line in out.stdout.split("\n"):
        if line.strip():
            c, p = map(int, line.split())
            children.setdefault(p, []).append(c)
    found, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            found.append(c)
            todo.append(c)
    return found


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def test_an_interrupt_between_levels_ends_the_run_incomplete(session):
    def interrupt(depth, shards):
        if depth == 4:
            raise KeyboardInterrupt

    model = DnsSystem(Config(2, 3, 2, 1), "cas")  # holds when complete
    r = cluster.explore(model, resolve_properties(), Options(), vectorize=DerivedModel,
                        session=session, actors=2, on_level=interrupt)
    assert r.verdict == INCOMPLETE and r.stats.stop_reason == "interrupted"
    assert r.stats.depth == 4 and not r.stats.exhausted


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])
def test_a_signal_ends_the_run_incomplete_and_stops_the_local_runtime(tmp_path, signum):
    """A check that would run for minutes gets SIGTERM (or Ctrl-C's SIGINT) once its actor
    runs: exit 3, the partial counts, and every process Ray started is gone."""
    import signal
    import time

    cmd = [sys.executable, "-c", "from dnsrace.checker.cli import run; run()", "check",
           "--enactors", "6", "--plans", "8", "--keep", "2", "--protocol", "cas",
           "--cluster", "ray", "--actors", "1", "--max-seconds", "600"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path)
    try:
        ray_procs = []
        for _ in range(1200):  # until the actor runs: the search has started (at most 2 min)
            ray_procs = _descendants(proc.pid)
            if any("Shard" in _cmdline(p) for p in ray_procs) or proc.poll() is not None:
                break
            time.sleep(0.1)
        time.sleep(1)
        ray_procs = _descendants(proc.pid)
        proc.send_signal(getattr(signal, signum))
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, err[-2000:]
    assert "Stopped early: interrupted" in out
    for _ in range(300):
        alive = [p for p in ray_procs if os.path.exists(f"/proc/{p}")]
        if not alive:
            break
        time.sleep(0.1)
    assert not alive
