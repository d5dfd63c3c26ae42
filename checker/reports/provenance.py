"""Provenance: which dnsrace and which command options produced a document or trace file.

Every ``--json`` document carries ``"dnsrace": {"version", "command", "options"}`` right
after ``format``; trace files carry the same (docs/TRACES.md). ``options`` holds every
option's effective value, defaults included, under click's parameter names; ``given`` lists
the ones the user typed, in order, so ``command_line`` can print an equivalent command.
"""

from __future__ import annotations

from importlib import metadata

__all__ = ["dnsrace_version", "provenance", "current_provenance", "with_provenance",
           "command_line"]

# Options that only say where output goes: kept out of trace files, whose bytes must not
# depend on the folder they were written to.
PLACEMENT = ("export_dir", "export_formats", "force", "directory", "checkpoint_file",
             "checkpoint_every", "resume_file")


def dnsrace_version() -> str:
    try:
        return metadata.version("dnsrace")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def _plain(value):
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def provenance(command: str, options: dict | None = None, given=()) -> dict:
    return {"version": dnsrace_version(), "command": command,
            "options": {k: _plain(v) for k, v in (options or {}).items()},
            "given": list(given)}


def current_provenance(drop=()) -> dict | None:
    """The provenance of the running click command, or None outside one."""
    import click  # noqa: PLC0415 - the library works without a command line

    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return None
    options = {k: v for k, v in ctx.params.items() if k not in drop}
    given = []
    for name in options:
        source = ctx.get_parameter_source(name)
        if source is not None and source.name == "COMMANDLINE":
            given.append(name)
    return provenance(ctx.info_name or "dnsrace", options, given)


def with_provenance(doc: dict, prov: dict | None = None) -> dict:
    """``doc`` with ``"dnsrace"`` (the running command's provenance) right after
    ``format``."""
    prov = prov if prov is not None else current_provenance()
    if prov is None:
        return doc
    out = {k: v for k, v in doc.items() if k == "format"}
    out["dnsrace"] = prov
    out.update((k, v) for k, v in doc.items() if k not in ("format", "dnsrace"))
    return out


def _flag(name: str) -> str:
    special = {"as_json": "json", "property_names": "property", "keep_going": "continue",
               "timed": "timing", "extra_intervals": "interval", "unknown_names": "unknown",
               "sweep_spec": "sweep", "export_dir": "export", "export_formats": "format"}
    return "--" + special.get(name, name).replace("_", "-")


def command_line(prov: dict | None) -> str:
    """``dnsrace check --plans 6 --property x.py:P``: the options the user typed."""
    if not prov:
        return ""
    parts = ["dnsrace", prov.get("command", "")]
    opts = prov.get("options", {})
    for name in prov.get("given", []):
        value = opts.get(name)
        if value is True:
            parts.append(_flag(name))
        elif value is False or value is None:
            continue
        elif isinstance(value, list):
            parts += [f"{_flag(name)} {v}" for v in value]
        else:
            parts.append(f"{_flag(name)} {value}")
    return " ".join(p for p in parts if p)
