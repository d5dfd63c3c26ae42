"""What `check --checkpoint` costs: checkpoint size and write time per level, and the run's
wall time with and without checkpoints (fresh processes, interleaved).

    python bench/checkpoint.py                       # the issue's row (cas, 5 x 8 x 3, K=2)
    python bench/checkpoint.py -- --enactors 4 --plans 6 --protocol cas

Per level it records (in a process of its own) the states saved, the file size and the
seconds one save took (pickling, fsync, rename). Then it times `dnsrace check` without
checkpoints, with the default policy, and with a checkpoint at every level, in fresh
processes, ``--repeat`` times each, interleaved. Timings depend on the machine's load: the
output starts with `uptime`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

ROW = "--enactors 5 --plans 8 --endpoints 3 --keep 2 --protocol cas"


def per_level(args: list) -> list:
    """(depth, states, bytes, seconds) of every save of a run checkpointing each level."""
    from dnsrace.checker.cli.checkpoint import run_identity
    from dnsrace.checker.explore import checkpoint as ckpt
    from dnsrace.checker.explore.engines import EngineOptions, run
    from dnsrace.checker.explore.result import Options
    from dnsrace.invariants import resolve_properties
    from dnsrace.model import Config, DnsSystem, resolve_protocol
    from dnsrace.model.derived import vector_model

    opts = dict(zip(args[::2], args[1::2]))
    model = DnsSystem(Config(int(opts.get("--enactors", 3)), int(opts.get("--plans", 4)),
                             int(opts.get("--endpoints", 3)), int(opts.get("--keep", 1))),
                      resolve_protocol(opts.get("--protocol", "original")))
    props = resolve_properties(())
    rows = []

    class Timed(ckpt.Checkpointer):
        def save(self, s):
            t = time.perf_counter()
            super().save(s)
            rows.append((s["depth"], s["n_states"], os.path.getsize(self.path),
                         time.perf_counter() - t))

    with tempfile.TemporaryDirectory() as tmp:
        engine = EngineOptions()
        cp = Timed(os.path.join(tmp, "c"), run_identity(model, props, Options(), engine),
                   "bench", every=0.0)
        t = time.perf_counter()
        run(model, props, Options(), engine=engine, vectorize=vector_model, checkpoint=cp)
        rows.append(("total", None, None, time.perf_counter() - t))
    return rows


def wall(cmd: list) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--levels-only", action="store_true")
    parser.add_argument("rest", nargs="*")
    ns = parser.parse_args()
    args = ns.rest or ROW.split()
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    print(f"dnsrace check {' '.join(args)}\n")
    if os.environ.get("_CKPT_LEVELS"):
        for row in per_level(args):
            print("\t".join(map(str, row)))
        return
    out = subprocess.run([sys.executable, __file__] + ["--"] + args, capture_output=True,
                         text=True, env={**os.environ, "_CKPT_LEVELS": "1"}).stdout
    rows = [line.split("\t") for line in out.splitlines() if "\t" in line]
    print("| depth | states saved | file MB | save s |\n|---|---|---|---|")
    saves = 0.0
    for depth, states, size, secs in rows:
        if depth == "total":
            total = float(secs)
            continue
        saves += float(secs)
        print(f"| {depth} | {int(states):,} | {int(size) / 2**20:.1f} | {float(secs):.3f} |")
    print(f"\nengine run with a save at every level: {total:.1f} s, of which saves "
          f"{saves:.1f} s ({100 * saves / total:.0f}%)\n")
    if ns.levels_only:
        return
    base = [sys.executable, "-m", "dnsrace.checker.cli", "check", "-q"] + args
    times = {"none": [], "default (60 s)": [], "every level": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(ns.repeat):
            for label in times:
                extra = [] if label == "none" else [
                    "--checkpoint", os.path.join(tmp, f"c{i}{len(label)}"), "--force"] + (
                    ["--checkpoint-every", "0"] if label == "every level" else [])
                times[label].append(wall(base + extra))
    print("| checkpoints | wall s (each run) |\n|---|---|")
    for label, ts in times.items():
        print(f"| {label} | {', '.join(f'{t:.1f}' for t in ts)} |")


if __name__ == "__main__":
    main()
