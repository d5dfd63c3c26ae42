"""Breadth-first exploration on a Ray cluster (``dnsrace check --cluster ray[=ADDRESS]``).

The visited set is partitioned by state hash across Ray actors (``checker.explore.shard``);
each level's successors travel through Ray's object store to the actor owning them. This
process (the *driver*) holds only per-level counts, the initial states, the model (the owner
of every id) with the keys it prepared this level, and the few states a trace needs; it
orders the phases of each level (see ``shard``), which makes state ids, counts, verdicts,
shortest counterexamples and traces those of ``checker.explore.vector``.

- Without ADDRESS a local Ray runtime is started with this machine's cores (loopback only,
  no dashboard, no usage statistics) and shut down at the end, also on a limit, Ctrl-C or
  SIGTERM. With one, the driver joins that cluster; its actors are killed at the end.
- The derived model interns ids in its owner, this process (``vm.process_local``). Each
  actor holds a copy; per level it names the frontier keys its copy cannot expand
  (``vm.unprepared``), this process prepares just those (``vm.prepare``) and puts one fresh
  pickled copy in Ray's object store for every actor (``Shard.rebind``). After the first
  levels almost nothing misses; a miss the mask did not announce is retried on a fresh copy.
- ``recoverable`` (a graph property): each actor keeps the reverse edges into its states;
  backward reachability runs in rounds, each actor settling what it can locally and
  sending the predecessors other actors own (docs/PERFORMANCE.md, "Ray cluster").
- An actor that dies ends the run as incomplete, with the reason; never "holds".

Ray is the optional extra ``dnsrace[ray]``. Nothing here knows about DNS.
"""

from __future__ import annotations

import logging
import os
import resource
import signal
import threading
import time

import numpy as np

from .limits import depth_reason, interrupt_reason
from .paths import one_trace_search, property_result
from .result import HOLDS, INCOMPLETE, VIOLATED, Options, PropertyResult, Result, Stats
from .shard import POS_SHIFT, Shard, owner_of
from .vector import Unsupported, vector_kernels

__all__ = ["ClusterUnavailable", "Session", "explore", "parse_spec", "require", "EXTRA"]

EXTRA = "pip install 'dnsrace[ray]'"
_LOOPBACK = ("127.0.0.1", "localhost")


class ClusterUnavailable(ValueError):
    """Ray is missing, or the cluster cannot be started, joined or used as asked."""


def parse_spec(spec: str) -> str | None:
    """``"ray"`` -> None (a local runtime), ``"ray=HOST:PORT"`` -> that address."""
    name, _, address = spec.partition("=")
    if name != "ray" or (_ and not address):
        raise ValueError(f"--cluster {spec!r}: expected ray or ray=HOST:PORT "
                         "(for example ray=127.0.0.1:6379)")
    return address or None


def require(spec: str) -> None:
    """ValueError or ClusterUnavailable (one line) when ``--cluster spec`` cannot run here:
    a malformed spec, or Ray not installed. Cheap enough to check before any output."""
    parse_spec(spec)
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ClusterUnavailable(f"--cluster ray needs Ray, the optional extra: {EXTRA}") \
            from None


class Session:
    """A connection to Ray for one check: starts a local runtime (``address`` None) or joins
    a cluster, unless this process is already connected (then it is used and left as is).
    ``close()`` shuts down what this session started; SIGTERM meanwhile raises
    KeyboardInterrupt so that the run ends as interrupted and cleans up."""

    def __init__(self, address: str | None = None):
        os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # Ray otherwise reports usage online
        if address is None or address.rsplit(":", 1)[0] in _LOOPBACK:
            # keeps Ray from replacing 127.0.0.1 by this machine's outward address
            os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
        try:
            import ray
        except ImportError:
            raise ClusterUnavailable(f"--cluster ray needs Ray, the optional extra: {EXTRA}") \
                from None
        if address is None or address.rsplit(":", 1)[0] in _LOOPBACK:
            try:  # the same, when Ray was imported before the variable was set
                ray._private.ray_constants.ENABLE_RAY_CLUSTER = False
            except AttributeError:
                pass
        self.ray = ray
        self.started = False
        self._old_sigterm = None
        main = threading.current_thread() is threading.main_thread()
        before = signal.getsignal(signal.SIGTERM) if main else None
        if not ray.is_initialized():
            quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
            try:
                if address is None:
                    ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False,
                             _node_ip_address="127.0.0.1", **quiet)
                else:
                    host = address.rsplit(":", 1)[0]
                    extra = {"_node_ip_address": "127.0.0.1"} if host in _LOOPBACK else {}
                    ray.init(address=address, **extra, **quiet)
            except SystemExit as exc:  # Ray's own SIGTERM handler, during start-up
                ray.shutdown()
                if exc.code == signal.SIGTERM:
                    raise KeyboardInterrupt from None
                raise
            except Exception as exc:  # noqa: BLE001 - any failure to connect is the user's
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                where = f"ray={address}" if address else "ray (local runtime)"
                raise ClusterUnavailable(f"--cluster {where}: {type(exc).__name__}: "
                                         f"{first[:200]}") from None
            self.started = True
        if main:
            # Ray's start-up installs its own handler (it exits): the CLI's (an interrupt,
            # checker/cli/signals.py) comes back, or without one SIGTERM interrupts the run
            signal.signal(signal.SIGTERM, before if callable(before) else _interrupt)
            self._old_sigterm = before  # restored by close()
        self.cpus = int(ray.cluster_resources().get("CPU", 0))
        self.nodes = sum(1 for n in ray.nodes() if n.get("Alive"))

    def close(self) -> None:
        if self._old_sigterm is not None:
            signal.signal(signal.SIGTERM, self._old_sigterm)
            self._old_sigterm = None
        if self.started:
            self.ray.shutdown()
            self.started = False


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class _TimeUp(Exception):
    pass


def explore(model, properties, options: Options = Options(), reporter=None, *, vectorize,
            session: Session, actors: int | None = None, por: bool = False,
            traces: bool = True, stop_at_violation: bool = False, on_level=None) -> Result:
    """Explores ``vectorize(graph model)`` with ``actors`` Ray actors (default: one per CPU
    of the cluster) and decides every property, as ``vector.explore`` does (same arguments,
    same ``Result``, plus ``result.cluster``: actors, nodes, peak memory per actor and in
    this process). ``on_level(depth, actor handles)`` is called after each level (for
    monitoring, and for fault-injection tests)."""
    graph_props = [p for p in properties if p.kind == "graph property"]
    vm = vectorize(graph_props[0].graph_model(model) if graph_props else model)
    if vm is None:
        raise Unsupported(f"{model!r} has no vector form")
    count = actors or max(session.cpus, 1)
    if count < 1:
        raise ClusterUnavailable("--actors must be at least 1")
    if count > max(session.cpus, 1):
        raise ClusterUnavailable(f"--actors {count}: the cluster has {session.cpus} CPUs "
                                 "(one actor per CPU)")
    _ship_by_value(session.ray, vm, model, properties)
    while True:
        try:
            return _explore(vm, model, properties, options, reporter, session, count, por,
                            traces, stop_at_violation, on_level)
        except Exception as exc:  # noqa: BLE001 - a key field outgrew its bits: restart wider
            if getattr(exc, "unsupported", False):
                raise Unsupported(str(exc)) from None
            if not getattr(exc, "widen", False):
                raise
            vm = vm.widened()
            if vm is None:
                raise Unsupported("the states do not fit 63-bit keys") from None


def _ship_by_value(ray, vm, model, properties):
    """Classes from a user's own file (``--protocol fix.py:Name``, ``--property``) cannot be
    imported on the actors' side: pickle their modules by value."""
    import sys

    classes = list(type(model.protocol).__mro__) + list(type(vm.model.protocol).__mro__)
    classes += [c for p in properties for c in type(p).__mro__]
    for cls in classes:
        name = getattr(cls, "__module__", "") or ""
        module = sys.modules.get(name)
        if module is not None and name != "builtins" and name.split(".")[0] != "dnsrace" \
                and getattr(module, "__file__", None) and \
                "site-packages" not in module.__file__ and "/lib/python" not in module.__file__:
            ray.cloudpickle.register_pickle_by_value(module)


def _explore(vm, model, properties, options, reporter, session, count, por, traces,
             stop_at_violation, on_level) -> Result:
    ray = session.ray
    vector_kernels(vm, model, properties)  # Unsupported here, not in the actors
    symmetry = bool(options.symmetry and vm.symmetric)
    if por and not all(vm.por_sound_for(p) for p in properties):
        por = False
    init = vm.init_keys()  # interned before the actors get their copy of the model
    if symmetry:
        init = vm.canonical(init)
    _, first = np.unique(init, return_index=True)
    init = init[np.sort(first)]
    remote = ray.remote(Shard).options(num_cpus=1, max_concurrency=2,
                                       scheduling_strategy="SPREAD")
    args = [ray.put(ray.cloudpickle.dumps(x)) for x in (vm, model, properties)]
    shards = [remote.remote(i, count, *args, symmetry, por) for i in range(count)]
    try:
        run = _Run(ray, shards, vm, model, properties, options, reporter, symmetry, por,
                   stop_at_violation, on_level)
        run.explore(init)
        result = run.result(traces)
        result.por = por
        result.lossy = None
        result.stored_bytes, result.cluster = run.usage(session)
        return result
    finally:
        for s in shards:
            try:
                ray.kill(s)
            except Exception:  # noqa: BLE001 - already dead
                pass


class _Run:
    """The driver's side of one exploration: per-level counts and the phase order."""

    def __init__(self, ray, shards, vm, model, properties, options, reporter, symmetry, por,
                 stop_at_violation, on_level):
        self.ray, self.shards, self.k = ray, shards, len(shards)
        self.vm, self.model, self.properties = vm, model, properties
        self.options, self.reporter, self.symmetry, self.por = options, reporter, symmetry, por
        self.stop_at_violation, self.on_level = stop_at_violation, on_level
        state_k, trans_k, graph_k = vector_kernels(vm, model, properties)
        self.state_names = [p.name for p, _ in state_k]
        self.graph_names = [p.name for p, _ in graph_k]
        self.pending = len(state_k) + len(trans_k)
        self.stats = Stats()
        self.coverage = np.zeros(len(vm.kind_names), dtype=np.int64)
        self.violations = {p.name: 0 for p in properties}
        self.found: dict = {}
        self.level_sizes: list = []
        self.n_states = 0
        self.failure = None
        self.shuffled = 0  # bytes of successors sent from one actor to another
        self.broadcasts = 0  # fresh copies of the model sent to the actors
        self.prepared = 0  # keys the actors' copies could not expand (as they named them)
        self.model_bytes = 0  # size of the last copy sent
        self.phases = {"prepare and broadcast": 0.0, "expand": 0.0, "route and rank": 0.0,
                       "commit": 0.0}  # seconds
        self.start = time.perf_counter()
        deadline = options.max_seconds
        self.deadline = None if deadline is None else self.start + deadline

    def _get(self, refs, bounded=True):
        if bounded and self.deadline is not None:
            left = max(self.deadline - time.perf_counter(), 0.0)
            _, waiting = self.ray.wait(list(refs), num_returns=len(refs), timeout=left)
            if waiting:
                raise _TimeUp
        return self.ray.get(list(refs))

    def _expand_level(self):
        """Every shard expands its frontier; what their copies of the model cannot expand
        yet is prepared here (the owner of every id) and a fresh copy is sent to all of
        them, until every shard is done. Returns the shards' summaries."""
        sums = [None] * self.k
        todo = list(range(self.k))
        need = []  # every key of this level prepared so far: prepare() forgets the others'
        while todo:
            outs = self._get([self.shards[i].expand_level.remote() for i in todo])
            missed = [keys for tag, keys in outs if tag == "miss"]
            need += missed
            self.prepared += sum(len(keys) for keys in missed)
            for i, (tag, summary) in zip(todo, outs):
                if tag == "done":
                    sums[i] = summary
            todo = [i for i, (tag, _) in zip(todo, outs) if tag == "miss"]
            if todo:
                self._broadcast(np.concatenate(need))
        return sums

    def _broadcast(self, keys):
        """``vm.prepare(keys)`` here, then every shard gets the fresh copy (one object in
        Ray's store, fetched once per node)."""
        t = time.perf_counter()
        if len(keys):
            self.vm.prepare(keys, self.symmetry, self.por)
        blob = self.ray.cloudpickle.dumps(self.vm)
        self.model_bytes = len(blob)  # the last copy's size
        ref = self.ray.put(blob)
        self._get([s.rebind.remote(ref) for s in self.shards])
        self.broadcasts += 1
        self.phases["prepare and broadcast"] += time.perf_counter() - t

    def _absorb(self, summaries, level):
        """A committed level's summaries (one per shard) into the counts."""
        stored = sum(s[0] for s in summaries)
        scoped = sum(s[1] for s in summaries)
        if stored:
            self.level_sizes.append(stored)
        if scoped:
            self.stats.states += scoped
            self.stats.depth = level
        for name in self.state_names:
            hits = [(s[2][name][1], i, s[2][name][2]) for i, s in enumerate(summaries)
                    if name in s[2]]
            self.violations[name] += sum(s[2][name][0] for s in summaries if name in s[2])
            if hits and name not in self.found:
                _, shard, local = min(hits)
                self.found[name] = ("state", (shard, local))
        self.n_states += stored
        return stored

    def explore(self, init):
        ray, k, opts, stats = self.ray, self.k, self.options, self.stats
        self.init = init
        owner = owner_of(init, k)
        depth = 0
        stop_reason = ""
        prepared_s = 0.0
        try:
            level_size = self._absorb(self._get(
                [s.seed.remote(init[owner == i], np.flatnonzero(owner == i))
                 for i, s in enumerate(self.shards)], bounded=False), 0)
            while level_size:
                if self.stop_at_violation and self.found:
                    stop_reason = "a violation was found"
                    break
                if opts.stop_early and not self.graph_names and self.pending and \
                        len(self.found) == self.pending:
                    stop_reason = "every property violated"
                    break
                if opts.max_states is not None and self.n_states >= opts.max_states:
                    stop_reason = f"state limit {opts.max_states} reached"
                    break
                stop_reason = depth_reason(getattr(opts, "max_depth", None), depth)
                if stop_reason:
                    break
                t0 = time.perf_counter()
                sums = self._expand_level()
                t1 = time.perf_counter()
                t0 += self.phases["prepare and broadcast"] - prepared_s  # (counted there)
                prepared_s = self.phases["prepare and broadcast"]
                outs = [s.route.options(num_returns=k + 1).remote() for s in self.shards]
                recv = [b.receive.options(num_returns=k + 1).remote(
                    level_size, *[outs[a][j] for a in range(k)])
                    for j, b in enumerate(self.shards)]
                ranked = [r.rank.options(num_returns=k + 1).remote(
                    *[recv[b][j] for b in range(k)]) for j, r in enumerate(self.shards)]
                del recv
                sizes = self._get([x[k] for x in ranked])
                self.shuffled += sum(self._get([o[k] for o in outs]))
                del outs
                t2 = time.perf_counter()
                # the level is fully expanded: its transitions count
                lvl_found = {}
                for i, (n_in, cov, viol, n_trans) in enumerate(sums):
                    stats.transitions += n_in
                    self.coverage += cov
                    stats.explored_transitions += n_trans
                    for name, (nbad, src, dst) in viol.items():
                        self.violations[name] += nbad
                        old = lvl_found.get(name)
                        if name not in self.found and (old is None or src[0] < old[1][0]):
                            lvl_found[name] = ("transition", src, dst, i)
                offsets = np.concatenate(([0], np.cumsum(sizes)[:-1])).tolist()
                cut, truncated = None, False
                if opts.max_states is not None and \
                        self.n_states + sum(sizes) > opts.max_states:
                    # stop where the object BFS stops (see vector.py): keep every new state
                    # discovered by the sources up to the one that reaches the limit
                    last = opts.max_states - self.n_states - 1
                    r = int(np.searchsorted(np.cumsum(sizes), last, side="right"))
                    disc = self._get([self.shards[r].discovery_at.remote(
                        last - offsets[r])])[0]
                    last_src = disc >> POS_SHIFT
                    cut, truncated = (last_src + 1) << POS_SHIFT, True
                    lvl_found = {n: h for n, h in lvl_found.items() if h[1][0] <= last_src}
                    if not self.graph_names:
                        stats.transitions -= sum(self._get(
                            [s.transitions_after.remote(last_src) for s in self.shards]))
                self.found.update({n: (h[0], (h[3], h[1][1]), h[2])
                                   for n, h in lvl_found.items()})
                level_size = self._absorb(self._get(
                    [s.commit.remote(offsets, cut, *[ranked[r][j] for r in range(k)])
                     for j, s in enumerate(self.shards)], bounded=False), depth + 1)
                del ranked
                t3 = time.perf_counter()
                for phase, dt in zip(("expand", "route and rank", "commit"),
                                     (t1 - t0, t2 - t1, t3 - t2)):
                    self.phases[phase] += dt
                depth += 1
                if self.on_level is not None:
                    self.on_level(depth, self.shards)
                if self.reporter is not None:
                    stats.explored_states = self.n_states
                    stats.seconds = time.perf_counter() - self.start
                    self.reporter(stats, level_size)
                if truncated:
                    stop_reason = f"state limit {opts.max_states} reached"
                    break
            else:
                stats.exhausted = True
        except _TimeUp:
            stop_reason = f"time limit {opts.max_seconds:g} s reached"
        except KeyboardInterrupt as exc:
            stop_reason = interrupt_reason(exc)
        except ray.exceptions.RayError as exc:
            _raise_user_error(ray, exc)
            self.failure = _one_line(exc)
            stop_reason = f"a Ray actor failed, the run is incomplete: {self.failure}"
        stats.seconds = time.perf_counter() - self.start
        stats.explored_states = self.n_states
        if not stats.exhausted:
            stats.depth = min(stats.depth, depth)
        names = list(self.vm.coverage_kinds)
        index = {n: j for j, n in enumerate(self.vm.kind_names)}
        stats.coverage = {n: int(self.coverage[index[n]]) if n in index else 0 for n in names}
        stats.never_fired = [n for n, v in stats.coverage.items() if v == 0] \
            if stats.exhausted else []
        stats.stop_reason = stop_reason
        stats.violations = self.violations

    def _unrecovered(self, name):
        """Backward reachability from ``name``'s goals in rounds across the actors; returns
        ``(count, (shard, local) of the first in-scope state reaching no goal or None)``."""
        ray, k = self.ray, self.k
        parts = [s.reach_start.options(num_returns=k + 1).remote(name) for s in self.shards]
        while sum(ray.get([p[k] for p in parts])):
            parts = [s.reach_step.options(num_returns=k + 1).remote(
                *[parts[a][j] for a in range(k)]) for j, s in enumerate(self.shards)]
        outs = ray.get([s.unrecovered.remote() for s in self.shards])
        firsts = [(f, i) for i, (_, f) in enumerate(outs) if f is not None]
        if not firsts:
            return 0, None
        (_, _, local), shard = min(firsts)
        return sum(n for n, _ in outs), (shard, local)

    def _chain(self, shard, local):
        """The decoded states from an initial state to ``(shard, local)``."""
        aids = []
        while True:
            ps, pl, aid = self.ray.get(self.shards[shard].parent_of.remote(local))
            if ps < 0:
                break
            aids.append(aid)
            shard, local = ps, pl
        keys = [int(self.init[pl])]
        for aid in reversed(aids):
            keys.append(self.vm.step(keys[-1], aid, self.symmetry))
        return [self.vm.decode(x) for x in keys]

    def result(self, traces):
        stats = self.stats
        started = time.perf_counter()
        results = {}
        with one_trace_search():
            for p in self.properties:
                try:
                    results[p.name] = self._property(p, traces)
                except self.ray.exceptions.RayError as exc:
                    if self.failure is None:
                        self.failure = _one_line(exc)
                        stats.stop_reason = ("a Ray actor failed, the run is incomplete: "
                                             f"{self.failure}")
                    results[p.name] = PropertyResult(p.name, p.kind, INCOMPLETE)
        self.phases["graph and traces"] = time.perf_counter() - started
        statuses = [r.status for r in results.values()]
        verdict = VIOLATED if VIOLATED in statuses else \
            INCOMPLETE if INCOMPLETE in statuses or self.failure else HOLDS
        return Result(verdict, results, stats, self.symmetry)

    def _property(self, p, traces):
        hit = self.found.get(p.name)
        if p.kind == "graph property":
            hit = None
            if self.stats.exhausted:
                n, first = self._unrecovered(p.name)
                self.violations[p.name] = n
                hit = ("state", first) if first is not None else None
            else:
                self.violations[p.name] = 0
        if hit is not None and not traces:
            return PropertyResult(p.name, p.kind, VIOLATED)
        if hit is None:
            reps = None
        elif hit[0] == "state":
            reps = self._chain(*hit[1])
        else:
            reps = self._chain(*hit[1]) + [self.vm.decode(hit[2])]
        if reps is not None and self.symmetry:
            reps = [self.model.representative(s) for s in reps]
        return property_result(p, self.model, reps, self.symmetry, self.stats.exhausted,
                               on_transition=hit is not None and hit[0] != "state")

    def usage(self, session):
        """``(stored bytes, the ``cluster`` summary)``; peak memory in MB."""
        try:
            per = self.ray.get([s.usage.remote() for s in self.shards])
        except self.ray.exceptions.RayError:
            per = None
        parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        info = {"actors": self.k, "nodes": session.nodes,
                "actor_peak_mb": None if per is None else [round(u[1], 1) for u in per],
                "actor_cpu_seconds": None if per is None else [round(u[3], 2) for u in per],
                "model_broadcasts": self.broadcasts, "keys_prepared": self.prepared,
                "model_bytes": self.model_bytes,
                "retried_chunks": None if per is None else sum(u[2] for u in per),
                "parent_peak_mb": round(parent, 1), "failure": self.failure,
                "levels": len(self.level_sizes), "shuffled_bytes": self.shuffled,
                "phase_seconds": {p: round(t, 3) for p, t in self.phases.items()}}
        return (None if per is None else sum(u[0] for u in per)), info


def _raise_user_error(ray, exc):
    """An error of the user's code on an actor (a property that raises) is raised here, as
    the single-process engine would raise it; Ray's own failures are not."""
    cause = getattr(exc, "cause", None) if isinstance(exc, ray.exceptions.RayTaskError) \
        else None
    if isinstance(cause, Exception) and not isinstance(cause, ray.exceptions.RayError):
        raise cause from None


def _one_line(exc) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}"
