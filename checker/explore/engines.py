"""Choosing and running an exploration engine. Nothing here knows about DNS.

Engines (``--engine``):

- ``object``: ``checker.bfs``, breadth-first over the model's own state objects. Works for
  every model (user protocols included); the reference.
- ``vector``: ``checker.vector``, breadth-first over integer state keys with numpy, for models
  that have a vector form (``vectorize(model)`` returns one: for the DNS model, every
  protocol, derived by ``model/derived/``). Same visiting order, counts, verdicts and
  counterexamples as ``object``, many times faster. Optional: partial-order reduction
  (``por``, where the vector model has it: ``por_off_reason()`` says why not), worker
  processes (``workers``), lossy state storage (``lossy``).
- ``auto`` (default): the fastest exact engine available: ``vector`` when the model and
  every property have a vector form, else ``object`` (also when the vector engine gives up
  mid-run, e.g. states wider than 63 bits: the output notes why).

With partial-order reduction the verdicts are exact but the counts are those of the reduced
graph, and a reduced graph's breadth-first depths are not the plain ones: when the reduced
run finds a violation, the engine reruns without the reduction to report shortest
counterexamples (docs/PERFORMANCE.md).

With ``cluster`` (``--cluster ray[=ADDRESS]``) the vector engine's search runs on Ray actors
(``checker.explore.cluster``): same results, the visited set spread over a cluster.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from . import bfs, vector
from .result import HOLDS, INCOMPLETE, VIOLATED, Options
from .visited import kernels_in_use

__all__ = ["ENGINES", "EngineOptions", "EngineInfo", "EngineError", "run", "max_workers",
           "LOSSY_MAX_OMISSION"]

# A lossy "holds" is only reported when the estimated chance that a state was missed is at most
# this; above it the verdict is incomplete (docs/RELIABILITY.md).
LOSSY_MAX_OMISSION = 0.01


def max_workers() -> int:
    """The most worker processes a run may start: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux MemAvailable), None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _check_lossy_memory(engine) -> None:
    if engine.lossy != "bitstate":
        return  # hash compaction grows with the states stored, like the exact table
    bits = engine.lossy_bits or 28
    table = 1 << max(bits - 3, 0)
    free = _available_memory()
    if free is not None and table > free // 2:
        fits = max(b for b in range(8, 41) if (1 << max(b - 3, 0)) <= free // 2) \
            if free // 2 >= 32 else 8
        raise EngineError(f"--lossy-bits {bits}: a bitstate table of 2^{bits} bits needs "
                          f"{table / 2**30:.1f} GiB, more than half the {free / 2**30:.1f} GiB "
                          f"available; use --lossy-bits {fits} or less")

ENGINES = ("auto", "object", "vector")


class EngineError(ValueError):
    """An engine option that cannot apply to this run; the message says why."""


@dataclass(frozen=True)
class EngineOptions:
    """Which engine, and its options. ``por=None`` means: on when ``Options.symmetry`` is
    (``--no-reduction`` turns every reduction off)."""

    engine: str = "auto"
    por: bool | None = None
    workers: int = 1
    lossy: str | None = None
    lossy_bits: int | None = None
    cluster: str | None = None  # "ray" or "ray=ADDRESS": run on Ray actors
    actors: int | None = None  # with cluster: how many (default: one per CPU)
    spill: str | None = None  # a folder: the graph properties' edges go to disk (edges.py)
    memory: object = None  # an edges.MemoryBudget: spill beyond it, stop beyond it


@dataclass
class EngineInfo:
    """What actually ran, for the output."""

    engine: str = "object"
    por: bool = False
    workers: int = 1
    lossy: object = None  # vector.LossyInfo
    bytes_per_state: float | None = None
    notes: list = field(default_factory=list)
    cluster: dict | None = None  # actors, nodes, peak memory (checker.explore.cluster)
    spill: dict | None = None  # where the edges spilled, and their peak size on disk
    kernels: str | None = None  # vector engine: "compiled" or "numpy" (visited.kernels_in_use)

    def as_dict(self) -> dict:
        return {"engine": self.engine, "partial_order_reduction": self.por,
                "workers": self.workers,
                "lossy": self.lossy.as_dict() if self.lossy is not None else None,
                "bytes_per_state": None if self.bytes_per_state is None
                else round(self.bytes_per_state, 1),
                "notes": list(self.notes), "cluster": self.cluster, "spill": self.spill,
                "kernels": self.kernels}

    def describe(self) -> str:
        text = f"Engine: {self.engine}"
        if self.engine == "vector":
            # the vector model's states are integer keys into tables it derives from the
            # model's own steps (for the DNS model: model/derived/)
            text += (f" (derived model, integer keys, {self.bytes_per_state:.1f} bytes/state"
                     if self.bytes_per_state else " (derived model, integer keys")
            if self.cluster is not None:
                c = self.cluster
                text += (f", {c['actors']} Ray actor{'s' if c['actors'] > 1 else ''} on "
                         f"{c['nodes']} node{'s' if c['nodes'] > 1 else ''}")
            else:
                text += f", {self.workers} worker{'s' if self.workers > 1 else ''}"
            text += f", partial-order reduction {'on' if self.por else 'off'}"
            # (said only when it is not the usual: no compiler at install, or DNSRACE_KERNELS)
            text += ", numpy loops)" if self.kernels == "numpy" else ")"
        for note in self.notes:
            text += f"\n  {note}"
        if self.lossy is not None:
            lz = self.lossy
            text += (f"\n  Lossy mode {lz.mode} ({lz.bits} bits): a verdict 'holds' is "
                     f"probabilistic; estimated probability that a reachable state was "
                     f"never explored: {lz.omission_probability:.2g} "
                     f"(expected omissions {lz.expected_omissions:.2g}).")
        return text


def _vector_ready(model, properties, vectorize) -> str | None:
    """None when the vector engine can run; else the reason it cannot."""
    if vectorize is None:
        return "no vector form was offered for this model"
    graph = [p for p in properties if p.kind == "graph property"]
    target = graph[0].graph_model(model) if graph else model
    vm = vectorize(target)
    if vm is None:
        return f"protocol {getattr(getattr(model, 'protocol', None), 'name', model)!r} " \
               "has no vector form"
    try:
        vector.vector_kernels(vm, model, properties)
    except vector.Unsupported as exc:
        return str(exc)
    return None


def run(model, properties, options: Options = Options(), reporter=None, *,
        engine: EngineOptions = EngineOptions(), vectorize=None, checkpoint=None):
    """Runs the chosen engine. Returns ``(result, info)``; raises EngineError when an
    option cannot apply (for example ``--workers`` with the object engine). ``checkpoint``
    (a ``checker.explore.checkpoint.Checkpointer``) saves the vector engine's search and resumes
    it; it needs the vector engine."""
    if engine.engine not in ENGINES:
        raise EngineError(f"unknown engine {engine.engine!r} (valid: {', '.join(ENGINES)})")
    spilling = engine.spill is not None or engine.memory is not None
    if spilling and checkpoint is not None:
        raise EngineError("--spill and --memory cannot be combined with --checkpoint or "
                          "--resume (a checkpoint does not carry what is spilled to disk: edges, "
                          "visited states)")
    if spilling and engine.cluster is not None:
        raise EngineError("--spill and --memory apply to the vector engine in this process; "
                          "--cluster keeps the search on its Ray actors")
    if spilling and engine.engine == "object":
        raise EngineError("--spill and --memory need the vector engine (--engine vector or "
                          "auto)")
    if checkpoint is not None:
        if engine.cluster is not None:
            raise EngineError("--checkpoint and --resume need the vector engine in this "
                              "process; --cluster cannot save its search")
        if engine.engine == "object":
            raise EngineError("--checkpoint and --resume need the vector engine (--engine "
                              "vector or auto); the object engine cannot save its search")
        vectorize = checkpoint.vectorizer(vectorize, model)
    why_not = _vector_ready(model, properties, vectorize)
    if checkpoint is not None and why_not is not None:
        raise EngineError(f"--checkpoint and --resume need the vector engine: {why_not}")
    name = engine.engine
    wants_vector = engine.workers > 1 or engine.lossy is not None or bool(engine.por)
    if name == "auto":
        name = "vector" if why_not is None else "object"
        if name == "object" and wants_vector:
            raise EngineError(f"--workers, --lossy and --por need the vector engine: {why_not}")
        if name == "object" and spilling:
            raise EngineError(f"--spill and --memory need the vector engine: {why_not}")
    elif name == "vector" and why_not is not None:
        raise EngineError(f"the vector engine cannot run this check: {why_not}")
    elif name == "object" and wants_vector:
        raise EngineError("--workers, --lossy and --por need the vector engine")
    if engine.workers < 1:
        raise EngineError("--workers must be at least 1")
    if engine.workers > max_workers():
        raise EngineError(f"--workers {engine.workers}: at most {max_workers()} (the cores this "
                          "machine gives the process; more would only compete for them)")
    _check_lossy_memory(engine)
    if engine.cluster is not None:
        if name != "vector":
            raise EngineError("--cluster runs the vector engine, not the object one"
                              + (f": {why_not}" if why_not else ""))
        if engine.workers > 1 or engine.lossy is not None:
            raise EngineError("--cluster runs on Ray actors: drop --workers and --lossy")
    elif engine.actors is not None:
        raise EngineError("--actors needs --cluster")

    if name == "object":
        info = EngineInfo("object")
        if why_not is not None and engine.engine == "auto" and vectorize is not None:
            info.notes.append(f"(object engine: {why_not})")
        return bfs.explore(model, properties, options, reporter), info

    por = options.symmetry if engine.por is None else engine.por
    if options.max_depth is not None:  # reduced depths are not the plain ones (see above)
        por = False
    if engine.lossy is not None and any(p.kind == "graph property" for p in properties):
        names = ", ".join(p.name for p in properties if p.kind == "graph property")
        raise EngineError(f"a lossy search cannot decide {names}: choose other properties "
                          "with --property")
    info = EngineInfo("vector", workers=engine.workers)
    vm = _vector_of(model, properties, vectorize)
    off = getattr(vm, "por_off_reason", lambda: None)()
    if por and off:
        info.notes.append(off[0].upper() + off[1:] + ".")
        por = False
    unproven = [p.name for p in properties if not vm.por_sound_for(p)]
    if por and unproven:  # the reduction is proven for some properties only
        info.notes.append("Partial-order reduction is off: it is not proven for "
                          f"{', '.join(unproven)} (docs/PERFORMANCE.md).")
        por = False
    session = _cluster_session(engine)
    rerun_only = checkpoint is not None and checkpoint.resumes("rerun")  # resumed there
    try:
        # a reduced run that finds a violation is rerun plain: it stops at once, no traces
        try:
            result = None if rerun_only else _run_vector(
                model, properties, options, reporter, engine, vectorize, por, traces=not por,
                stop_at_violation=por, session=session,
                checkpoint=checkpoint and checkpoint.phase("first"))
        except vector.Unsupported as exc:
            if engine.engine == "vector" or wants_vector or session is not None \
                    or checkpoint is not None or spilling:
                raise EngineError(f"the vector engine cannot run this check: {exc}") from None
            info = EngineInfo("object", notes=[f"(object engine: {exc})"])
            return bfs.explore(model, properties, options, reporter), info
        info.notes.extend(getattr(_vector_of(model, properties, vectorize), "notes", list)())
        info.por = rerun_only or bool(getattr(result, "por", False))
        if info.por and (rerun_only or result.verdict == VIOLATED):
            info.notes.append("Partial-order reduction found a violation; the search was "
                              "rerun without it, so counterexamples are shortest and the "
                              "counts are those of the unreduced search.")
            result = _run_vector(model, properties, options, reporter, engine, vectorize,
                                 False, session=session,
                                 checkpoint=checkpoint and checkpoint.phase("rerun"))
            info.por = False
    finally:
        if session is not None:
            session.close()
    info.cluster = getattr(result, "cluster", None)
    info.spill = getattr(result, "spilled", None)
    if info.spill is not None:
        what = "The graph properties' edges were" if not info.spill.get("visited_on_disk") \
            else "The visited set was" if not info.spill.get("edges") \
            else "The visited set and the graph properties' edges were"
        info.notes.append(f"{what} spilled to a private folder in {info.spill['folder']} "
                          f"(at most {info.spill['peak_bytes'] / 2**20:,.1f} MB on disk; "
                          f"removed).")
    info.lossy = getattr(result, "lossy", None)
    _lossy_verdict(result, info.lossy)
    info.kernels = kernels_in_use()
    stored = getattr(result, "stored_bytes", None)
    if stored and result.stats.explored_states:
        info.bytes_per_state = stored / result.stats.explored_states
    if not result.stats.exhausted:
        info.notes.append(f"Every state up to depth {result.stats.depth} was explored.")
    return result, info


def _vector_of(model, properties, vectorize):
    """The vector model the engine explores (of the graph model when a graph property is
    checked)."""
    graph = [p for p in properties if p.kind == "graph property"]
    return vectorize(graph[0].graph_model(model) if graph else model)


def _cluster_session(engine):
    """A Ray session for ``--cluster`` (None without it); EngineError when Ray is missing or
    the cluster cannot be reached."""
    if engine.cluster is None:
        return None
    from . import cluster
    try:
        return cluster.Session(cluster.parse_spec(engine.cluster))
    except (cluster.ClusterUnavailable, ValueError) as exc:
        raise EngineError(str(exc)) from None


def _run_vector(model, properties, options, reporter, engine, vectorize, por, traces=True,
                stop_at_violation=False, session=None, checkpoint=None):
    if session is not None:
        from . import cluster
        try:
            return cluster.explore(model, properties, options, reporter, vectorize=vectorize,
                                   session=session, actors=engine.actors, por=por,
                                   traces=traces, stop_at_violation=stop_at_violation)
        except cluster.ClusterUnavailable as exc:
            raise EngineError(str(exc)) from None
    expander = None
    if engine.workers > 1:
        from .parallel import ProcessExpander
        vm = _vector_of(model, properties, vectorize)
        expander = ProcessExpander(vm, engine.workers, options.symmetry and vm.symmetric,
                                   por and all(vm.por_sound_for(p) for p in properties),
                                   model, properties)
    try:
        return vector.explore(model, properties, options, reporter, vectorize=vectorize,
                              por=por, expander=expander, lossy=engine.lossy,
                              lossy_bits=engine.lossy_bits, traces=traces,
                              stop_at_violation=stop_at_violation, checkpoint=checkpoint,
                              spill=engine.spill if engine.memory is None else None,
                              memory=engine.memory)
    finally:
        if expander is not None:
            expander.close()


def _lossy_verdict(result, lossy) -> None:
    """A lossy 'holds' whose estimated omission probability is not small is no verdict:
    the properties that 'hold' become incomplete, with the reason. Violations stay (each
    counterexample is a real run)."""
    if lossy is None or lossy.omission_probability <= LOSSY_MAX_OMISSION:
        return
    weakened = [pr for pr in result.properties.values() if pr.status == HOLDS]
    if not weakened:
        return
    for pr in weakened:
        pr.status = INCOMPLETE
    why = (f"lossy {lossy.mode} with {lossy.bits} bits may have missed states (estimated "
           f"omission probability {lossy.omission_probability:.2g} > {LOSSY_MAX_OMISSION:g}); "
           "raise --lossy-bits or drop --lossy")
    result.stats.exhausted = False
    result.stats.stop_reason = why
    statuses = [r.status for r in result.properties.values()]
    result.verdict = VIOLATED if VIOLATED in statuses else INCOMPLETE
