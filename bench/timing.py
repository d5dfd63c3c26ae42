"""Benchmark of the timed engines: timed check and synthesis, seconds and peak memory.

    python bench/timing.py              # every case, each in a fresh process
    python bench/timing.py --case synth-original
    python bench/timing.py --reference  # the same on the engine before issue 15
                                        # (tests/checker/timing/timed_reference.py)

Each case runs in its own interpreter so its peak resident memory (ru_maxrss) is its own.
``seconds`` is wall time, ``cpu s`` the process's CPU time: on a shared machine the second
moves much less with the load, so compare runs by it (the load average is printed too).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

CASES = {
    # the default configuration (N=3 P=4 E=3 K=1) under the default bounds
    "check-original": ("check", "original", {}),
    "check-recheck": ("check", "recheck", {}),
    "check-cas": ("check", "cas", {}),
    "check-guarded": ("check", "guarded", {}),
    # the same, every bound [0, 0]: the untimed behaviours (stops at the first violation)
    "check-original-zero": ("check", "original", {"plan": "0", "write": "0", "cleanup": "0"}),
    # synthesis of the smallest write stall, default configuration
    "synth-original": ("synth", "original", {}),
    "synth-guarded": ("synth", "guarded", {}),
    "synth-recheck": ("synth", "recheck", {}),
    "synth-cas": ("synth", "cas", {}),
}


def use_reference_engine() -> None:
    """Points the timed check and synthesis at the pre-issue-15 engine kept by the tests."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.checker.timing.timed_reference import explore_timed_reference

    import dnsrace.checker.cli.timing as cli_timing
    import dnsrace.checker.timing.synthesis as synthesis

    def reference(view, properties, options, scale=None, keep_reached=False, graph=None):
        return explore_timed_reference(view, properties, options, scale=scale,
                                       keep_reached=keep_reached)
    cli_timing.explore_timed = synthesis.explore_timed = reference


def run_case(name: str) -> dict:
    from dnsrace.checker.cli.delays import run_delays
    from dnsrace.checker.cli.timing import run_timed_check
    from dnsrace.invariants import resolve_properties
    from dnsrace.model import Config, DnsSystem
    from dnsrace.model.timing import Timing, rational_text

    kind, protocol, bounds = CASES[name]
    model = DnsSystem(Config(), protocol)
    timing = Timing(**bounds)
    props = resolve_properties(["no-dangling", "monotonic"])
    start, cpu = time.perf_counter(), time.process_time()
    if kind == "check":
        result, _traces, _ = run_timed_check(model, props, timing)
        detail = {k: v.status for k, v in result.properties.items()}
        detail["zones"] = result.stats.zones
    else:
        out = run_delays(model, props, timing, [("write", "hi")])
        detail = {}
        for pname, (k, per) in out.items():
            if k != "synthesis":
                detail[pname] = k
                continue
            r = per[("write", "hi")]
            detail[pname] = r.status + (f" write-time hi >= {rational_text(r.threshold)}"
                                        if r.threshold is not None else "")
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"case": name, "seconds": round(seconds, 2), "cpu": round(cpu, 2),
            "peak_mb": round(peak_mb, 1),
            "result": detail}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=sorted(CASES))
    ap.add_argument("--reference", action="store_true",
                    help="run on the engine before issue 15 (to compare at the same load)")
    args = ap.parse_args()
    if args.case:
        if args.reference:
            use_reference_engine()
        print(json.dumps(run_case(args.case)))
        return
    print(f"load average {os.getloadavg()[0]:.2f} at the start")
    print(f"{'case':<22} {'seconds':>8} {'cpu s':>6} {'peak MB':>8}  result")
    for name in CASES:
        out = subprocess.run([sys.executable, __file__, "--case", name]
                             + (["--reference"] if args.reference else []),
                             capture_output=True, text=True, check=True)
        row = json.loads(out.stdout)
        print(f"{name:<22} {row['seconds']:>8.2f} {row['cpu']:>6.2f} {row['peak_mb']:>8.1f}  "
              f"{row['result']}", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
