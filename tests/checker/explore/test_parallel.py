"""The worker pool: an interrupt deferred while a pool starts must not lose the pool."""

import os
import time

import pytest

from dnsrace.checker.explore.limits import Deferral
from dnsrace.checker.explore.parallel import ProcessExpander
from dnsrace.model import Config, DnsSystem
from dnsrace.model.derived import vector_model


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) counts as gone
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


def test_an_interrupt_while_the_pool_starts_leaves_no_worker_behind():
    model = DnsSystem(Config(enactors=2, plans=2, endpoints=1, keep=0))
    vm = vector_model(model)
    expander = ProcessExpander(vm, 2, True, False, model, [])
    Deferral.pending = KeyboardInterrupt()  # as a Ctrl-C arriving inside Pool()
    try:
        with pytest.raises(KeyboardInterrupt):
            list(expander.map([vm.init_keys()]))
        pids = [p.pid for p in expander._pool._pool]
        assert pids
    finally:
        Deferral.pending = None
        expander.close()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids)
