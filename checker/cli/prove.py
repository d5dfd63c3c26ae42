"""``dnsrace prove``: no-dangling and monotonic for every N, P, E, K, by an inductive invariant
checked with z3 (docs/PROVE.md). When a property is not proved, the bounded check is run so
that "not proved" is never mistaken for "violated"."""

from __future__ import annotations

import importlib.util
import json
import os
import textwrap

import click

from dnsrace.model import Config, DnsSystem
from dnsrace.model.symbolic import (PROPERTY_KINDS, Conjunct, NoSymbolicForm, declares_form,
                                    symbolic_form)

from ..explore.engines import EngineOptions
from ..explore.result import Options
from ..proof.binding import compare_at
from ..proof.cti import build_cti
from ..proof.prove import NOT_PROVED, prove
from ..proof.solver import PROVED, UNKNOWN, z3_version
from ..reports.provenance import with_provenance
from ..reports.render import WIDTH, render_trace, render_verdicts
from .errors import EXIT_HOLDS, EXIT_INCOMPLETE, EXIT_VIOLATED, InputError
from .options import build_model, build_properties, output_options, size_options

__all__ = ["prove_command", "load_candidates"]

_STATUS = {PROVED: "PROVED", NOT_PROVED: "NOT PROVED", UNKNOWN: "UNKNOWN"}


def load_candidates(path: str) -> list:
    """Candidate conjuncts from a Python file defining ``CANDIDATES`` (a list of
    ``dnsrace.model.symbolic.Conjunct``) or a function ``candidates()`` returning one."""
    if not os.path.isfile(path):
        raise InputError(f"--invariant {path}: no such file")
    spec = importlib.util.spec_from_file_location("dnsrace_user_invariant", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        found = getattr(module, "CANDIDATES", None)
        if found is None and callable(getattr(module, "candidates", None)):
            found = module.candidates()
    except Exception as exc:  # noqa: BLE001 - any failure of user code is an input error
        raise InputError(f"--invariant {path}: {type(exc).__name__}: {exc}") from None
    if found is None:
        raise InputError(f"--invariant {path}: defines neither CANDIDATES nor candidates()")
    found = list(found)
    bad = [c for c in found if not isinstance(c, Conjunct) or c.transition]
    if bad or not found:
        raise InputError(f"--invariant {path}: CANDIDATES must be a non-empty list of state "
                         "conjuncts, Conjunct(name, text, term) (see docs/PROVE.md)")
    return found


def _candidates(form, protocol, files, only: bool, infer: bool) -> list:
    pool = [] if only else list(_shipped(form, infer))
    own = getattr(protocol, "invariant_candidates", None)
    if callable(own) and not only:
        pool += list(own())
    for path in files:
        pool += load_candidates(path)
    seen, out = set(), []
    for c in pool:
        if c.name in seen:
            raise InputError(f"candidate conjunct name {c.name!r} is used twice")
        seen.add(c.name)
        out.append(c)
    return out


def _shipped(form, infer: bool):
    if infer or not form.invariant:
        return form.candidates
    by_name = {c.name: c for c in form.candidates}
    return [by_name[n] for n in form.invariant]


@click.command("prove")
@click.option("--protocol", default="cas", show_default=True, metavar="NAME",
              help="A protocol with a symbolic form: every shipped one.")
@click.option("--property", "property_names", multiple=True, metavar="NAME",
              help="no-dangling or monotonic (repeatable; default both).")
@click.option("--invariant", "invariant_files", multiple=True, metavar="FILE",
              type=click.Path(dir_okay=False),
              help="A Python file of candidate conjuncts (CANDIDATES); implies --infer.")
@click.option("--only", is_flag=True,
              help="Use only the --invariant files' conjuncts, not the shipped ones.")
@click.option("--infer/--no-infer", default=None,
              help="Infer the invariant with Houdini from every candidate (default when the "
                   "protocol ships no invariant or --invariant is given), or check the "
                   "invariant as given.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=20.0, show_default=True,
              help="Seconds z3 may take for one check (then: unknown).")
@click.option("--no-bounded", is_flag=True,
              help="When not proved, do not run the bounded check.")
@size_options
@output_options
@click.pass_context
def prove_command(ctx, protocol, property_names, invariant_files, only, infer, timeout,
                  no_bounded, enactors, plans, endpoints, keep, as_json, quiet):
    """Prove no-dangling and monotonic for all N >= 1, P >= 1, E >= 1, K >= 0.

    z3 checks that an invariant holds initially, is preserved by every step of an arbitrary
    enactor at an arbitrary endpoint (sizes symbolic, nothing unrolled) and implies each
    property. --enactors/--plans/--endpoints/--keep size the bounded check run when a property
    is not proved.

    Exit 0: proved; 1: not proved (a counterexample to induction is printed); 2: bad input;
    3: z3 gave up (unknown).
    """
    model = build_model(enactors, plans, endpoints, keep, protocol)
    names = [p.name for p in build_properties(property_names or ("no-dangling", "monotonic"))]
    unsupported = [n for n in names if n not in PROPERTY_KINDS]
    if unsupported:
        raise InputError(f"--property {unsupported[0]}: prove decides "
                         f"{', '.join(PROPERTY_KINDS)} (use `dnsrace check` for the others)")
    try:
        form = symbolic_form(model.protocol)
    except NoSymbolicForm as exc:
        raise InputError(str(exc)) from None
    if declares_form(model.protocol):  # a form the protocol declares itself: bind it first
        _bind_or_refuse(form, model.protocol)
    if only and not invariant_files:
        raise InputError("--only needs at least one --invariant FILE")
    own = callable(getattr(model.protocol, "invariant_candidates", None))
    if infer is None:
        infer = bool(invariant_files) or own or not form.invariant
    candidates = _candidates(form, model.protocol, invariant_files, only, infer)
    proof = prove(form, candidates, names, infer, int(timeout * 1000))
    ctis = _ctis(model.protocol, form, proof)
    bounded = None
    if proof.verdict != PROVED and not no_bounded:
        bounded = _bounded(model, names)
    if as_json:
        click.echo(json.dumps(with_provenance(_document(model, protocol, proof, ctis, bounded)),
                              indent=2))
    elif not quiet:
        click.echo(_render(model, protocol, form, proof, ctis, bounded))
    code = {PROVED: EXIT_HOLDS, NOT_PROVED: EXIT_VIOLATED}.get(proof.verdict, EXIT_INCOMPLETE)
    ctx.exit(code)


BINDING_SIZES = ((1, 3, 2, 0), (2, 2, 2, 0), (2, 3, 1, 1))


def _bind_or_refuse(form, protocol) -> None:
    """A form a protocol declares itself is trusted only once z3's successors from it equal
    the protocol's own on every reachable state at small sizes (docs/PROVE.md)."""
    for size in BINDING_SIZES:
        model = DnsSystem(Config(*size), protocol)
        try:
            found = compare_at(form, model, limit=1)
        except RuntimeError as exc:
            raise InputError(f"protocol {protocol.name!r}: its symbolic form does not evaluate "
                             f"at {model.config.slug()}: {exc}") from None
        if found:
            m = found[0]
            diff = (f"only in the form: {m.only_z3[0][0]}" if m.only_z3 else
                    f"only in the protocol: {m.only_model[0][0]}" if m.only_model else
                    "a successor that is no state of the protocol")
            raise InputError(f"protocol {protocol.name!r}: its symbolic form differs from its "
                             f"steps at {model.config.slug()} ({diff}, from a reachable state), "
                             "so it cannot be used to prove it")


def _ctis(protocol, form, proof) -> dict:
    """CTIs by what they break: each property not proved, each dropped/broken conjunct."""
    out = {}
    for name, pp in proof.properties.items():
        if pp.status == NOT_PROVED and pp.check is not None and pp.check.cti is not None:
            out[name] = build_cti(protocol, form, pp.check.cti, name,
                                  f"the step breaks {name}: {pp.reason}")
    if proof.mode == "checked":
        for d in proof.inference.dropped:
            if d.check.cti is not None and d.conjunct.name not in out:
                out[d.conjunct.name] = build_cti(
                    protocol, form, d.check.cti, d.conjunct.name,
                    f"{d.reason}: conjunct {d.conjunct.name} ({d.conjunct.text}) fails after it")
    return out


def _bounded(model, names):
    """The bounded check of the same properties at the given sizes (docs/PROVE.md: "not
    proved" is not "violated")."""
    from .check import run_check  # noqa: PLC0415 - only when needed

    props = build_properties(names)
    result, traces = run_check(model, props, Options(symmetry=True), None,
                               EngineOptions("auto"))
    return result, traces


def _sizes_text(c) -> str:
    return f"N={c.enactors}, P={c.plans}, E={c.endpoints}, K={c.keep}"


def _render(model, spec, form, proof, ctis, bounded) -> str:
    head = (f"dnsrace prove: protocol {model.protocol.name}, for every N >= 1 enactors, P >= 1 plans, "
            f"E >= 1 endpoints, K >= 0")
    lines = [head, ""]
    how = ("inferred with Houdini from " + f"{len(proof.candidates)} candidates"
           if proof.mode == "inferred" else "shipped, checked as given" if form.invariant
           else "checked as given")
    lines.append(f"Invariant ({how}; {len(proof.invariant)} conjuncts):")
    width = max((len(c.name) for c in proof.candidates), default=0) + 2
    for c in proof.invariant:
        lines.append(f"  {'[' + c.name + ']':<{width}}  {c.text}")
    steps = ", ".join(st.kind for st in form.steps)
    if proof.mode == "inferred":
        for d in proof.inference.dropped:
            lines.append(f"  dropped {'[' + d.conjunct.name + ']':<{width}}  {d.reason}")
        lines.append(f"Inductive: holds initially and is preserved by every step ({steps}).")
    elif proof.inductive:
        lines.append(f"Inductive: holds initially and is preserved by every step ({steps}).")
    else:
        lines.append("NOT inductive:")
        for d in proof.inference.dropped:
            lines.append(f"  [{d.conjunct.name}] {d.reason}")
    lines.append("")
    width = max(len(n) for n in proof.properties)
    for name, pp in proof.properties.items():
        lines.append(f"  {name:<{width}}  {_STATUS[pp.status]}  ({pp.reason})")
    for name, cti in ctis.items():
        lines += ["", *_render_cti(cti)]
    if proof.never_enabled:
        lines += ["", "Warning: no state satisfying the invariant enables these steps, so the "
                  f"proof says nothing about them: {', '.join(proof.never_enabled)}"]
    lines += ["", f"Solver: z3 {z3_version()}, {proof.calls} checks, "
              f"{proof.seconds:.2f} s"]
    if bounded is not None:
        result, _ = bounded
        c = model.config
        violated = any(pr.status == "violated" for pr in result.properties.values())
        lines += ["", *textwrap.wrap("Not proved is not violated. The bounded check at "
                                     f"{_sizes_text(c)} (`{_check_command(spec, c)}`) says:",
                                     WIDTH), render_verdicts(result)]
        if violated:
            lines.append("  A real counterexample exists: run "
                         f"`{_check_command(spec, c)}` to see it step by step.")
        else:
            lines.append("  No counterexample at these sizes: the invariant may just be too weak "
                         "(add candidates with --invariant FILE), or try larger sizes.")
    return "\n".join(lines)


def _render_cti(cti) -> list:
    if cti.trace is None:
        return [f"Counterexample to induction of {cti.conjunct} (sizes {cti.values['sizes']}, "
                f"{cti.values['enactors']} enactors: too large to print as a table)"]
    table = render_trace(cti.trace).replace("Counterexample to induction of",
                                            "Counterexample to induction: breaks", 1)
    lines = [table, *cti.enactor_lines()]
    c = cti.model.config
    if not cti.well_formed:
        note = ("The state before is not a state of the model at these sizes (a phase or plan out "
                "of range): add conjuncts such as [pc-range] and [held-range] to exclude it.")
    elif cti.replays:
        note = ("The step replays on the explicit model: it is a real step, from a state that "
                "satisfies the invariant but need not be reachable.")
    else:
        note = "The step does not replay on the explicit model (a bug: please report it)."
    lines += textwrap.wrap(f"Sizes: {_sizes_text(c)}. {note}", WIDTH, initial_indent="  ",
                           subsequent_indent="  ")
    return lines


def _check_command(spec, c) -> str:
    sizes = "" if (c.enactors, c.plans, c.endpoints, c.keep) == (3, 4, 3, 1) else (
        f" --enactors {c.enactors} --plans {c.plans} --endpoints {c.endpoints} --keep {c.keep}")
    return f"dnsrace check --protocol {spec}{sizes}"


def _document(model, spec, proof, ctis, bounded) -> dict:
    def conj(c):
        return {"name": c.name, "text": c.text}

    doc = {
        "format": "dnsrace-prove/1",
        "protocol": model.protocol.name,
        "sizes": "all: N >= 1, P >= 1, E >= 1, K >= 0",
        "mode": proof.mode,
        "verdict": proof.verdict,
        "invariant": [conj(c) for c in proof.invariant],
        "inductive": proof.inductive,
        "dropped": [{**conj(d.conjunct), "step": d.step, "status": d.check.status,
                     "reason": d.reason} for d in proof.inference.dropped],
        "properties": {},
        "ctis": {name: {"trace": cti.trace.as_dict(cti.model) if cti.trace else None,
                        "replays": cti.replays, "well_formed": cti.well_formed,
                        "sizes": cti.values["sizes"],
                        "enactors": cti.values["enactors"]} for name, cti in ctis.items()},
        "never_enabled": proof.never_enabled,
        "solver": {"z3": z3_version(), "checks": proof.calls,
                   "seconds": round(proof.seconds, 3)},
        "bounded": None,
    }
    for name, pp in proof.properties.items():
        doc["properties"][name] = {"kind": pp.kind, "status": pp.status, "reason": pp.reason,
                                   "step": pp.step}
    if bounded is not None:
        result, traces = bounded
        doc["bounded"] = {"config": model.config.as_dict(), "command":
                          _check_command(spec, model.config),
                          "properties": {n: {"status": pr.status, "length": (
                              len(pr.trace) if pr.trace is not None else None)}
                              for n, pr in result.properties.items()}}
    return doc
