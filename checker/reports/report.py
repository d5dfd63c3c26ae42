"""The ``--json`` document of a check (schema ``dnsrace-check/1``, see README)."""

from __future__ import annotations

__all__ = ["FORMAT", "check_document", "result_to_json", "reductions_list"]

FORMAT = "dnsrace-check/1"


def check_document(model, result, traces: dict, stats: dict, options: dict | None = None,
                   per_property: dict | None = None) -> dict:
    """The document every check prints, untimed or timed: ``stats`` is engine-specific;
    ``per_property`` adds fields to a property's entry (e.g. ``ruled_out_by``)."""
    per_property = per_property or {}
    return {
        "format": FORMAT,
        "config": {**model.config.as_dict(), "protocol": model.protocol.name},
        "options": {"symmetry": result.symmetry, **(options or {})},
        "verdict": result.verdict,
        "properties": {
            name: {
                "kind": pr.kind,
                "status": pr.status,
                "trace": traces[name].as_dict(model) if name in traces else None,
                **per_property.get(name, {}),
            }
            for name, pr in result.properties.items()
        },
        "stats": stats,
    }


def reductions_list(symmetry: bool, por: bool = False) -> list:
    """``["symmetry", "partial-order"]``: the reductions behind a document's counts."""
    return (["symmetry"] if symmetry else []) + (["partial-order"] if por else [])


def result_to_json(model, result, traces: dict, por: bool = False) -> dict:
    """The document of an untimed check."""
    s = result.stats
    return check_document(model, result, traces, {
            "states": s.states,
            "transitions": s.transitions,
            "reductions": reductions_list(result.symmetry, por),
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
        })
