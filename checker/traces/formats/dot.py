"""``dot``: the explored state graph for Graphviz, the counterexample path highlighted.

The graph is built with networkx over symmetry representatives (one node per class of
states equal up to renaming enactors, as the engine explores them). For small
configurations (at most ``FULL_GRAPH_LIMIT`` reachable classes) it is the whole reachable
graph; beyond that a full graph is unreadable, and the file holds the counterexample path
with every one-step alternative branching off it (the graph's label says which).
Nodes are numbered in breadth-first order, so the text is deterministic. Render with
``dot -Tsvg FILE -o graph.svg``.
"""

from __future__ import annotations

from collections import deque


__all__ = ["NAME", "SUFFIX", "FULL_GRAPH_LIMIT", "state_graph", "write"]

NAME = "dot"
SUFFIX = ".dot"
FULL_GRAPH_LIMIT = 400


def _rep(model):
    return model.representative if getattr(model, "symmetric", False) else (lambda s: s)


def state_graph(model, limit: int = FULL_GRAPH_LIMIT):
    """The reachable graph (nx.MultiDiGraph over representatives, edges keyed by action
    kind), or None when it has more than ``limit`` nodes."""
    import networkx as nx  # here, not at import: start-up of every command pays for it

    rep = _rep(model)
    g = nx.MultiDiGraph()
    queue = deque()
    for s in model.init_states():
        r = rep(s)
        if r not in g:
            g.add_node(r)
            queue.append(r)
    while queue:
        s = queue.popleft()
        for action, nxt in model.successors(s):
            r = rep(nxt)
            if r not in g:
                if g.number_of_nodes() >= limit:
                    return None
                g.add_node(r)
                queue.append(r)
            g.add_edge(s, r, label=action.kind)
    return g


def neighbourhood_graph(model, path_reps):
    """The path and every one-step alternative from each of its states."""
    import networkx as nx

    rep = _rep(model)
    g = nx.MultiDiGraph()
    for r in path_reps:
        g.add_node(r)
    for s in path_reps[:-1]:
        for action, nxt in model.successors(s):
            r = rep(nxt)
            if r not in g:
                g.add_node(r)
            g.add_edge(s, r, label=action.kind)
    return g


def _label(model, s) -> str:
    store = ",".join(map(str, sorted(s.store)))
    dns = " ".join("-" if p == 0 else str(p) for p in s.dns)
    phases = " ".join(f"{model.protocol.phase_name(e.pc, model.config)}:{e.held}"
                      if e.held else model.protocol.phase_name(e.pc, model.config)
                      for e in s.enactors)
    return f"gen {s.gen} store {{{store}}}\\ndns {dns}\\n{phases}"


def write(trace, model=None) -> str:
    if model is None:
        raise ValueError("the dot format explores the model: pass the model")
    rep = _rep(model)
    path = [rep(s.state) for s in trace.steps]
    g = state_graph(model)
    full = g is not None
    if not full:
        g = neighbourhood_graph(model, path)
    ids = {s: f"s{j}" for j, s in enumerate(g.nodes)}
    on_path = set(path)
    path_edges = {(path[j], path[j + 1], trace.steps[j + 1].action.kind)
                  for j in range(len(path) - 1)}
    c = trace.config
    scope = ("the whole reachable graph" if full else
             "the counterexample path and every one-step alternative (the full graph has "
             f"more than {FULL_GRAPH_LIMIT} states)")
    title = (f"{trace.property} counterexample, protocol {trace.protocol}, "
             f"n{c['enactors']} p{c['plans']} e{c['endpoints']} k{c['keep']}: {scope}; "
             f"{g.number_of_nodes()} states up to renaming enactors")
    lines = ["digraph dnsrace {",
             f'  label="{title}";',
             '  labelloc=t; rankdir=TB; fontname="Helvetica";',
             '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica",'
             ' fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9, color=gray50];']
    first, last = path[0], path[-1]
    for s in g.nodes:
        attrs = [f'label="{_label(model, s)}"']
        if s == last:
            attrs += ['fillcolor="#ffc9c9"', 'color="#c92a2a"', "penwidth=3"]
        elif s == first:
            attrs += ['fillcolor="#d3f9d8"', 'color="#2b8a3e"', "penwidth=2"]
        elif s in on_path:
            attrs += ['fillcolor="#ffe8cc"', 'color="#e8590c"', "penwidth=2"]
        lines.append(f"  {ids[s]} [{', '.join(attrs)}];")
    seen = set()
    for u, v, data in g.edges(data=True):
        key = (u, v, data["label"])
        if key in seen:  # the same kind of step to the same class: draw it once
            continue
        seen.add(key)
        attrs = [f'label="{data["label"]}"']
        if key in path_edges:
            attrs += ['color="#c92a2a"', "penwidth=3", 'fontcolor="#c92a2a"']
        lines.append(f"  {ids[u]} -> {ids[v]} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
