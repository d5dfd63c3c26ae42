"""The ``--json`` document of a check (schema ``dnsrace-check/1``, see README)."""

from __future__ import annotations

__all__ = ["FORMAT", "result_to_json"]

FORMAT = "dnsrace-check/1"


def result_to_json(model, result, traces: dict) -> dict:
    s = result.stats
    return {
        "format": FORMAT,
        "config": {**model.config.as_dict(), "protocol": model.protocol.name},
        "options": {"symmetry": result.symmetry},
        "verdict": result.verdict,
        "properties": {
            name: {
                "kind": pr.kind,
                "status": pr.status,
                "trace": traces[name].as_dict(model) if name in traces else None,
            }
            for name, pr in result.properties.items()
        },
        "stats": {
            "states": s.states,
            "transitions": s.transitions,
            "depth": s.depth,
            "seconds": round(s.seconds, 3),
            "states_per_second": round(s.rate),
            "exhausted": s.exhausted,
            "stop_reason": s.stop_reason or None,
            "explored_states": s.explored_states,
            "explored_transitions": s.explored_transitions,
            "coverage": s.coverage,
            "never_fired": s.never_fired,
            "violations": s.violations,
        },
    }
