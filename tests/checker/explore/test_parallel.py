"""The worker processes (checker/explore/parallel.py): the same records, hence the same counts,
verdicts and traces as one process, for every shipped protocol and the README's example; and
no worker left behind by an interrupt, a worker's error or a worker's death."""

import os
import pathlib
import signal
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dnsrace.checker import Options
from dnsrace.checker.explore import engines, parallel, vector
from dnsrace.checker.explore.engines import EngineOptions, run
from dnsrace.checker.explore.limits import Deferral
from dnsrace.checker.explore.parallel import ProcessExpander, WorkerFailed
from dnsrace.checker.explore.vector import ChunkChecks, LocalExpander
from dnsrace.checker.explore.visited import _ExactVisited
from dnsrace.invariants import resolve_properties
from dnsrace.model import Config, DnsSystem, load_protocol
from dnsrace.model.derived import vector_model
from dnsrace.model.loader import PROTOCOLS

EXAMPLE = pathlib.Path(__file__).resolve().parents[3] / "examples" / "verify_then_cleanup.py"
SPECS = list(PROTOCOLS) + [f"{EXAMPLE}:VerifyThenCleanup"]
PROPERTY_SETS = [(), ("no-dangling",), ("monotonic",), ("recoverable",),
                 ("no-dangling", "monotonic", "recoverable")]


@pytest.fixture
def fork_every_level(monkeypatch):
    """Tiny levels are forked too, in chunks of a few states: many records per level (and
    three workers allowed on a machine of two cores)."""
    monkeypatch.setattr(parallel, "SERIAL_BELOW", 0)
    monkeypatch.setattr(engines, "max_workers", lambda: 3)
    monkeypatch.setattr(parallel, "CHUNK", 8)
    monkeypatch.setattr(vector, "CHUNK", 8)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) counts as gone only once reaped
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


def _all_children() -> set:
    out = set()
    for tid in os.listdir(f"/proc/{os.getpid()}/task"):
        try:
            with open(f"/proc/{os.getpid()}/task/{tid}/children", encoding="ascii") as f:
                out |= {int(p) for p in f.read().split()}
        except FileNotFoundError:  # a thread (a finished pool's) ended since the listing
            pass
    return out


_OTHERS: set = set()


@pytest.fixture(autouse=True)
def _others_children():
    """Children this test did not make (a service an earlier test in the same run started,
    or its not yet reaped zombie) are not the workers' leftovers."""
    _OTHERS.clear()
    _OTHERS.update(_all_children())
    yield


def _children() -> set:
    """This process's children made during the test, zombies included (a worker must be
    reaped)."""
    return _all_children() - _OTHERS


def summary(r):
    """Counts, verdicts and traces (by repr: two loads of a user's protocol file make two
    classes of its own actions, which compare unequal)."""
    return (r.verdict, r.stats.states, r.stats.transitions, r.stats.depth, r.stats.exhausted,
            r.stats.explored_states, r.stats.explored_transitions, r.stats.coverage,
            r.stats.violations,
            {k: (v.status, repr(v.trace.actions) if v.trace else None,
                 repr(v.trace.states) if v.trace else None) for k, v in r.properties.items()})


small_configs = st.builds(lambda n, p, e, k: Config(n, p, e, k), st.integers(1, 3),
                          st.integers(1, 3), st.integers(1, 2), st.integers(0, 2))


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(small_configs, st.sampled_from(SPECS), st.booleans(), st.booleans(),
       st.sampled_from(PROPERTY_SETS), st.sampled_from([2, 3]))
def test_workers_give_what_one_process_gives(fork_every_level, config, spec, symmetry, por,
                                              names, workers):
    """Fresh models each run (the derived model interns lazily: the workers' run first, so
    its copies meet every id through ``prepare``)."""
    props = resolve_properties(names)
    options = Options(symmetry=symmetry, stop_early=False)
    many, info = run(DnsSystem(config, load_protocol(spec)), props, options,
                     engine=EngineOptions(por=por, workers=workers), vectorize=vector_model)
    one, _ = run(DnsSystem(config, load_protocol(spec)), props, options,
                 engine=EngineOptions(por=por), vectorize=vector_model)
    assert info.workers == workers
    assert summary(many) == summary(one)
    assert not _children()


def _level(model):
    """A model's vector form, a frontier of a multiple of 16 states (chunks of 8 cut it the
    same way for one worker or two) and a visited set holding part of what it reaches."""
    vm = vector_model(model)
    keys = vm.init_keys()
    visited = _ExactVisited(ids=True)
    seen = 0
    while len(keys) < 64:
        visited.add(keys, np.arange(seen, seen + len(keys), dtype=np.int64))
        seen += len(keys)
        _, _, nxt = vm.expand(keys)
        keys = np.unique(nxt[visited.lookup(nxt) < 0])
    return vm, keys[:len(keys) // 16 * 16], visited


@pytest.mark.parametrize("keep_edges", [False, True])
def test_the_records_are_those_of_the_local_expander(fork_every_level, keep_edges):
    model = DnsSystem(Config(3, 3, 2, 1), "cas")
    props = resolve_properties()
    vm, frontier, visited = _level(model)
    expander = ProcessExpander(vm, 2, False, False, model, props)
    local = LocalExpander(vm, False, False, ChunkChecks(vm, model, props))
    try:
        got = list(expander.map(frontier, 100, visited, keep_edges))
        want = list(local.map(frontier, 100, visited, keep_edges))
    finally:
        expander.close()
        local.close()
    assert len(got) == len(want) >= 8
    for a, b in zip(got, want):
        assert a.size == b.size and a.transitions == b.transitions
        for name in ("fresh", "src", "aid", "degree", "codes"):
            x, y = getattr(a, name), getattr(b, name)
            assert (x is None) == (y is None)
            if x is not None:
                assert x.dtype == y.dtype and np.array_equal(x, y), name
        assert a.checked[0] == b.checked[0] and np.array_equal(a.checked[1], b.checked[1])
        assert a.checked[2] == b.checked[2]


def test_an_interrupt_while_the_workers_start_leaves_no_worker_behind(fork_every_level):
    model = DnsSystem(Config(3, 3, 2, 1), "cas")
    vm, frontier, visited = _level(model)
    expander = ProcessExpander(vm, 2, False, False, model, [])
    Deferral.pending = KeyboardInterrupt()  # as a Ctrl-C arriving while forking
    try:
        with pytest.raises(KeyboardInterrupt):
            list(expander.map(frontier, 1, visited, False))
    finally:
        Deferral.pending = None
        expander.close()
    assert not _children()


def test_an_interrupt_between_records_kills_and_reaps_the_workers(fork_every_level):
    model = DnsSystem(Config(3, 3, 2, 1), "cas")
    vm, frontier, visited = _level(model)
    expander = ProcessExpander(vm, 3, False, False, model, [])
    records = expander.map(frontier, 1, visited, False)
    next(records)
    pids = [p for p in expander._level.pids if p is not None]
    assert len(pids) == 2 and _children() >= set(pids)
    with pytest.raises(KeyboardInterrupt):
        records.throw(KeyboardInterrupt())  # as the signal handler raising inside a wait
    expander.close()
    assert not _children() and not any(_alive(p) for p in pids)


def test_close_ends_a_level_cut_short(fork_every_level):
    model = DnsSystem(Config(3, 3, 2, 1), "cas")
    vm, frontier, visited = _level(model)
    expander = ProcessExpander(vm, 2, False, False, model, [])
    records = expander.map(frontier, 1, visited, False)
    next(records)
    expander.close()  # the engine's finally, the generator still suspended
    assert not _children()
    records.close()


class _FailingChecks:
    """Checks that raise in a worker process only."""

    def __init__(self, checks, owner):
        self.checks, self.owner = checks, owner

    def __call__(self, *args):
        if os.getpid() != self.owner:
            raise ValueError("a step failed in the worker")
        return self.checks(*args)


class _DyingChecks(_FailingChecks):
    def __call__(self, *args):
        if os.getpid() != self.owner:
            os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer would
        return self.checks(*args)


@pytest.mark.parametrize("failing, error, match", [
    (_FailingChecks, ValueError, "a step failed in the worker"),  # raised here
    (_DyingChecks, WorkerFailed, "killed by SIGKILL"),  # an error, not a verdict
])
def test_a_worker_that_fails_or_dies_is_an_error_here(fork_every_level, failing, error, match):
    model = DnsSystem(Config(3, 3, 2, 1), "cas")
    vm, frontier, visited = _level(model)
    expander = ProcessExpander(vm, 2, False, False, model, [])
    expander.checks = failing(expander.checks, os.getpid())
    try:
        with pytest.raises(error, match=match):
            list(expander.map(frontier, 1, visited, False))
    finally:
        expander.close()
    assert not _children()


def test_a_worker_dies_with_its_parent(tmp_path):
    """PR_SET_PDEATHSIG: a parent killed by SIGKILL leaves no worker behind."""
    script = tmp_path / "parent.py"
    script.write_text(
        "import os, sys, time\n"
        "from dnsrace.checker.explore import parallel\n"
        "parent = os.getpid()\n"
        "r, w = os.pipe()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    parallel._become_worker(parent, -1, [])\n"
        "    os.write(w, b'x')\n"
        "    time.sleep(60)\n"
        "    os._exit(0)\n"
        "os.read(r, 1)\n"  # the worker is set up: only PR_SET_PDEATHSIG can end it now
        "print(pid, flush=True)\n"
        "time.sleep(60)\n")
    import subprocess
    import sys
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())
        parent.kill()
        parent.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(worker)
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()


def test_a_search_widened_mid_run_takes_its_workers_along(fork_every_level):
    """Fields too narrow for the tables: the engine restarts on a wider model and rebinds
    the expander, whose workers then expand with it (same answer as the object BFS)."""
    from dnsrace.checker import explore
    from dnsrace.model.derived import DerivedModel

    made = {}

    def narrow(m):  # one narrow model per model (the engine and the expander share it)
        key = (m.config, id(m.protocol))
        if key not in made:
            made[key] = DerivedModel(m, record_bits=2)
        return made[key]

    model = DnsSystem(Config(3, 3, 2, 1), "lease+fencing")
    props = resolve_properties()
    options = Options(stop_early=False)
    got, info = run(model, props, options, engine=EngineOptions(workers=2, por=False),
                    vectorize=narrow)
    assert info.workers == 2 and info.engine == "vector"
    assert summary(got) == summary(explore(model, props, options))
    assert not _children()


def test_a_worker_whose_parent_died_before_its_setup_ends_there(tmp_path):
    """The parent gone before PR_SET_PDEATHSIG was set: the worker sees it and exits."""
    import subprocess
    import sys
    script = tmp_path / "parent.py"
    out = tmp_path / "worker.txt"
    script.write_text(
        "import os, time\n"
        "from dnsrace.checker.explore import parallel\n"
        "parent = os.getpid()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    while os.getppid() == parent:\n"  # wait until the parent has gone
        "        time.sleep(0.01)\n"
        f"    open({str(out)!r}, 'w').write(str(os.getpid()))\n"
        "    parallel._become_worker(parent, -1, [])\n"
        f"    open({str(out)!r}, 'w').write('survived')\n"
        "    os._exit(0)\n"
        "os._exit(0)\n")
    subprocess.run([sys.executable, str(script)], timeout=60, check=True)
    deadline = time.monotonic() + 30
    while not (out.exists() and out.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    worker = int(out.read_text())
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker) and out.read_text() == str(worker)
