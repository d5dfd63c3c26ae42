"""Benchmark of ``dnsrace prove``: each proof in a fresh process, wall and solver seconds.

    python bench/prove.py                 # every row, as a Markdown table
    python bench/prove.py cas --infer     # one row: the arguments after --protocol
    python bench/prove.py --binding       # the binding at MODEL.md's size, per protocol

Wall time includes interpreter start-up; solver seconds are the command's own (z3 calls,
Houdini included). The machine is shared: note ``uptime`` with any figure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

ROWS = [
    ["cas"], ["cas+guarded"], ["lease+fencing"],  # the shipped invariants, checked
    ["cas", "--infer"], ["cas+guarded", "--infer"], ["lease+fencing", "--infer"],  # Houdini
    ["original"], ["recheck"], ["guarded"], ["lease"], ["safe-delete"], ["safe-delete-2step"],
]


def run(args) -> dict:
    cmd = [sys.executable, "-m", "dnsrace.checker.cli", "prove", "--protocol", *args, "--json",
           "--no-bounded"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}: {proc.stderr.strip()}")
    doc = json.loads(proc.stdout)
    return {"args": " ".join(args), "verdict": doc["verdict"], "mode": doc["mode"],
            "conjuncts": len(doc["invariant"]), "checks": doc["solver"]["checks"],
            "solver_s": doc["solver"]["seconds"], "wall_s": wall,
            "properties": {n: p["status"] for n, p in doc["properties"].items()}}


def binding(size=(3, 4, 3, 1)) -> None:
    """The binding of every symbolic form on every reachable state at ``size`` (docs/PROVE.md,
    "One source of truth"): counts and CPU seconds of the explicit BFS and of ``bind``."""
    from dnsrace.checker.proof.binding import bind, explore
    from dnsrace.model import PROTOCOLS, Config, DnsSystem
    from dnsrace.model.symbolic import SYMBOLIC

    print("| protocol | states | transitions | step instances | z3 evaluations | "
          "steps reading another enactor | explore s | bind s |")
    print("|---|---:|---:|---:|---:|---|---:|---:|")
    for name in PROTOCOLS:
        model = DnsSystem(Config(*size), name)
        t0 = time.process_time()
        graph = explore(model)
        t1 = time.process_time()
        b = bind(SYMBOLIC[name], model, graph)
        t2 = time.process_time()
        if b.mismatches:
            raise SystemExit(f"{name}: the form differs from the protocol:\n{b.mismatches[0]}")
        others = ", ".join(sorted({k for k, _, _ in b.reading_others()})) or "-"
        print(f"| `{name}` | {b.states:,} | {b.transitions:,} | {len(b.steps)} | "
              f"{b.contexts:,} | {others} | {t1 - t0:.1f} | {t2 - t1:.1f} |", flush=True)


def main(argv) -> None:
    if argv == ["--binding"]:
        print(f"load average: {os.getloadavg()[0]:.1f} (1 min)", file=sys.stderr)
        binding()
        return
    rows = [argv] if argv else ROWS
    print(f"load average: {os.getloadavg()[0]:.1f} (1 min)", file=sys.stderr)
    print("| `dnsrace prove --protocol ...` | verdict | no-dangling | monotonic | invariant | "
          "conjuncts | z3 checks | solver s | wall s |")
    print("|---|---|---|---|---|---:|---:|---:|---:|")
    for args in rows:
        r = run(args)
        p = r["properties"]
        print(f"| `{r['args']}` | {r['verdict']} | {p.get('no-dangling', '-')} | "
              f"{p.get('monotonic', '-')} | {r['mode']} | {r['conjuncts']} | {r['checks']} | "
              f"{r['solver_s']:.2f} | {r['wall_s']:.2f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
