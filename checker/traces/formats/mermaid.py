"""``mermaid``: the counterexample as a Mermaid sequence diagram in a Markdown file.

GitHub, GitLab and most Markdown viewers render the fenced ``mermaid`` block. Lifelines:
the Planner, each enactor that acts, Route 53 and the plan store; one numbered message per
step (``autonumber``, so message n is step n), stale overwrites noted on Route 53, and the
violating step boxed in red with the reason under it.
"""

from __future__ import annotations

from .lanes import ROUTE53, STORE, is_stale, lifelines, short_label, target_of

__all__ = ["NAME", "SUFFIX", "write", "diagram"]

NAME = "mermaid"
SUFFIX = ".md"


def _ident(key: str) -> str:
    return key.replace("-", "")


def _text(s: str) -> str:
    """Message text Mermaid accepts verbatim (';' and '#' are syntax there)."""
    return s.replace(";", ",").replace("#", "no. ")


def diagram(trace) -> str:
    """The bare ``sequenceDiagram`` source."""
    lines = ["sequenceDiagram", "    autonumber"]
    for key, title in lifelines(trace):
        lines.append(f"    participant {_ident(key)} as {title}")
    last = trace.steps[-1].index
    for s in trace.steps[1:]:
        src, dst = _ident(s.actor or "planner"), _ident(target_of(s))
        when = f"at {s.time}: " if s.time is not None else ""
        message = f"    {src}->>{dst}: {when}{_text(short_label(s))}"
        if s.index == last:
            lines.append("    rect rgb(255, 214, 214)")
            lines.append("    " + message)
            lines.append(f"        Note over {_ident(ROUTE53)},{_ident(STORE)}: "
                         f"VIOLATES {trace.property}")
            lines.append("    end")
        else:
            lines.append(message)
        if is_stale(s):
            lines.append(f"    Note over {_ident(ROUTE53)}: stale overwrite")
    return "\n".join(lines) + "\n"


def write(trace, model=None) -> str:
    c = trace.config
    title = (f"# Counterexample to {trace.property}: protocol {trace.protocol}, "
             f"{c['enactors']} enactors, {c['plans']} plans, {c['endpoints']} endpoints, "
             f"keep {c['keep']} ({trace.length} steps)")
    return (f"{title}\n\n```mermaid\n{diagram(trace)}```\n\n"
            f"**Violation** (after step {trace.length}): {_text(trace.explanation)}.\n")
