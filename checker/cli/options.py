"""Option bundles shared by commands."""

from __future__ import annotations

import functools
import math

import click

from dnsrace.invariants import PropertyLoadError, UnknownProperty, resolve_properties
from dnsrace.model import (Config, ConfigError, DnsSystem, ProtocolLoadError, UnknownProtocol,
                           resolve_protocol)

from .errors import InputError

__all__ = ["SECONDS", "SIZE", "config_options", "size_options", "stack", "output_options", "build_model", "build_properties"]


class _Seconds(click.ParamType):
    """A positive, finite number of seconds (``nan`` and ``inf`` are refused: a limit that
    compares false with everything is no limit)."""

    name = "seconds"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            try:
                number = float(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a number of seconds (e.g. 30 or 0.5)", param, ctx)
        if not math.isfinite(number) or number <= 0:
            self.fail(f"{value!r} is not a positive, finite number of seconds (e.g. 30 or "
                      "0.5)", param, ctx)
        return number


SECONDS = _Seconds()


class _Size(click.ParamType):
    """A positive number of bytes with a unit: ``4G``, ``500M``, ``1.5G`` (powers of 1024),
    checked and kept as typed (``edges.parse_size`` gives the bytes)."""

    name = "size"

    def convert(self, value, param, ctx):
        from ..explore.edges import parse_size
        try:
            parse_size(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        return str(value).strip()


SIZE = _Size()


def stack(f, decorators):
    """Applies ``decorators`` to ``f`` so that options show in --help in list order."""
    return functools.reduce(lambda acc, d: d(acc), reversed(decorators), f)


def size_options(f):
    """--enactors --plans --endpoints --keep."""
    return stack(f, [
        click.option("--enactors", "-n", type=int, default=3, show_default=True,
                     help="Independent DNS Enactors (one per Availability Zone)."),
        click.option("--plans", "-p", type=int, default=4, show_default=True,
                     help="Plans the Planner generates, versions 1..P."),
        click.option("--endpoints", "-e", type=int, default=3, show_default=True,
                     help="Endpoints per plan, written in order (regional, ipv6, fips, ...)."),
        click.option("--keep", "-k", type=int, default=1, show_default=True,
                     help="Cleanup after plan p deletes stored plans below p - K."),
    ])


def config_options(f):
    """--enactors --plans --endpoints --keep --protocol."""
    f = click.option("--protocol", default="original", show_default=True, metavar="NAME",
                     help="original, recheck, cas, guarded, a variant (cas+guarded, lease, "
                          "lease+fencing, safe-delete, safe-delete-2step) or your own: "
                          "file.py:Class or package.module:Class.")(f)
    return size_options(f)


def output_options(f):
    """--json and --quiet: keep stdout clean for scripts (one or the other, not both)."""
    inner = f

    @functools.wraps(inner)
    def checked(*args, **kwargs):
        if kwargs.get("as_json") and kwargs.get("quiet"):
            raise InputError("choose one of --json and --quiet (--json prints one document; "
                             "--quiet prints nothing)")
        return inner(*args, **kwargs)

    f = checked
    f = click.option("--quiet", "-q", is_flag=True,
                     help="Print nothing; only the exit code speaks.")(f)
    f = click.option("--json", "as_json", is_flag=True,
                     help="Print one JSON document on stdout (schema in README).")(f)
    return f


def build_model(enactors, plans, endpoints, keep, protocol) -> DnsSystem:
    """The model for the options, or InputError with a one-line reason."""
    try:
        return DnsSystem(Config(enactors, plans, endpoints, keep), resolve_protocol(protocol))
    except (ConfigError, UnknownProtocol, ProtocolLoadError) as exc:
        raise InputError(str(exc)) from None


def build_properties(names, model=None):
    """The properties named (all by default). With ``model``, also checks that each graph
    property's own system (``recoverable``: one more plan) fits the size ceilings."""
    try:
        properties = resolve_properties(names)
    except (UnknownProperty, PropertyLoadError) as exc:
        raise InputError(str(exc)) from None
    if model is not None:
        check_graph_sizes(model, properties)
    return properties


def check_graph_sizes(model, properties) -> None:
    """InputError when a graph property's system is above a size ceiling."""
    for p in properties:
        if p.kind != "graph property":
            continue
        try:
            p.graph_model(model)
        except ConfigError as exc:
            raise InputError(
                f"{p.name} is decided in the system with one more plan, which is too large "
                f"here ({exc}); use --plans {model.config.plans - 1} or less, or choose "
                "other properties with --property") from None
