"""Benchmarks for `dnsrace check --cluster ray`: the same check on the single-process vector
engine, the `--workers` pool and Ray with 1 and 2 actors (a local runtime started by the
check itself), one fresh process per row.

    python bench/cluster.py                       # the default configuration below
    python bench/cluster.py -- --enactors 4 --plans 6 --keep 2 --protocol cas

Prints a Markdown table: states explored, engine seconds (the search, without starting Ray),
wall seconds (with it), states/s (explored states per engine second), CPU seconds (user +
system) of the check's process with the children it reaped (``wait4``: the ``--workers``
pool, Ray's own daemons) and, for Ray, of each actor (reported by the actor), peak MB of
the check's own process (for Ray the driver) and of each actor, and for Ray the levels, the
model copies broadcast to the actors (keys prepared by the driver), the seconds the driver
waited on each phase of the levels and the bytes sent between actors (from the run's JSON).
Note the machine's load (`uptime`) with any figure: the machine is shared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from bench import dnsrace_command

DEFAULT = "--enactors 5 --plans 8 --endpoints 3 --keep 2 --protocol cas".split()
VARIANTS = [("vector, 1 process", []), ("vector, --workers 2", ["--workers", "2"]),
            ("Ray, 1 actor", ["--cluster", "ray", "--actors", "1"]),
            ("Ray, 2 actors", ["--cluster", "ray", "--actors", "2"])]


def measure(args):
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    start = time.perf_counter()
    with tempfile.TemporaryFile() as errf:
        proc = subprocess.Popen(dnsrace_command() + ["check", *args, "--json"], env=env,
                                stdout=subprocess.PIPE, stderr=errf)
        out = proc.stdout.read()
        _, _, usage = os.wait4(proc.pid, 0)  # the check process's own peak memory
        wall = time.perf_counter() - start
        errf.seek(0)
        err = errf.read().decode()
    try:
        doc = json.loads(out)
    except ValueError:
        return {"error": err.strip()[-200:], "wall": wall}
    s, eng = doc["stats"], doc.get("engine") or {}
    c = eng.get("cluster") or {}
    return {"verdict": doc["verdict"], "explored": s.get("explored_states", s["states"]),
            "states": s["states"], "engine_s": s["seconds"], "wall": wall,
            "rate": s.get("states_per_second", 0), "peak_mb": usage.ru_maxrss / 1024,
            "cpu": usage.ru_utime + usage.ru_stime, "actor_cpu": c.get("actor_cpu_seconds"),
            "actor_mb": c.get("actor_peak_mb"), "phases": c.get("phase_seconds"),
            "levels": c.get("levels"), "shuffled": c.get("shuffled_bytes"),
            "broadcasts": c.get("model_broadcasts"), "prepared": c.get("keys_prepared")}


def main(argv):
    args = argv[1:] if argv[:1] == ["--"] else (argv or DEFAULT)
    print(f"`dnsrace check {' '.join(args)}`, load {os.getloadavg()[0]:.1f}\n")
    print("| engine | verdict | states explored | engine s | wall s | states/s | "
          "CPU s, check process | CPU s per actor | peak MB, check process | "
          "peak MB per actor | levels | model copies sent (keys prepared) | "
          "prepare+broadcast / expand / route+rank / commit / graph+traces s "
          "| MB between actors |")
    print("|---|---|---:|---:|---:|---:|---:|---|---:|---|---:|---|---|---:|")
    for label, extra in VARIANTS:
        r = measure(args + extra)
        if "error" in r:
            print(f"| {label} | error: {r['error']} | | | {r['wall']:.1f} |" + " |" * 9)
            continue
        per = lambda xs, f: ", ".join(f.format(x) for x in xs) if xs else "-"  # noqa: E731
        ph = " / ".join(f"{v:.2f}" for v in r["phases"].values()) if r["phases"] else "-"
        mb = f"{r['shuffled'] / 2**20:.0f}" if r["shuffled"] is not None else "-"
        sent = f"{r['broadcasts']} ({r['prepared']:,})" if r["broadcasts"] is not None else "-"
        print(f"| {label} | {r['verdict']} | {r['explored']:,} | {r['engine_s']:.2f} | "
              f"{r['wall']:.1f} | {r['rate']:,} | {r['cpu']:.1f} | "
              f"{per(r['actor_cpu'], '{:.1f}')} | {r['peak_mb']:.0f} | "
              f"{per(r['actor_mb'], '{:.0f}')} | {r['levels'] or '-'} | {sent} | {ph} | {mb} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
