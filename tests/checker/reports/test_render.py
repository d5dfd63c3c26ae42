"""Step tables fit 100 columns, the stale-overwrite mark is the terminal's only, `--full` shows
every variable with changes marked, and human output numbers enactors and endpoints from 1."""

import json

from dnsrace.checker import Options, explore
from dnsrace.checker.cli import main
from dnsrace.checker.reports.render import (WIDTH, reductions_text, render_full_trace,
                                            render_trace)
from dnsrace.checker.traces.formats import FORMATS
from dnsrace.checker.traces.trace import build_trace
from dnsrace.invariants import resolve_properties
from dnsrace.model import Config, DnsSystem, endpoint_name, endpoint_ref


def trace_of(config, protocol, prop):
    model = DnsSystem(config, protocol)
    r = explore(model, resolve_properties([prop]), Options())
    pr = r.properties[prop]
    return model, build_trace(model, prop, pr.trace, pr.explanation)


def test_the_default_step_table_fits_100_columns_and_marks_the_stale_write():
    _, trace = trace_of(Config(), "original", "no-dangling")
    text = render_trace(trace)
    assert max(len(line) for line in text.splitlines()) <= WIDTH
    assert "  << stale overwrite" in text
    assert " " * 40 not in text.splitlines()[2]  # no padding of descriptions to one width
    assert text.splitlines()[1].split() == ["step", "actor", "regional", "ipv6", "fips", "plan",
                                            "store", "what", "happened"]


def test_the_mark_never_reaches_a_description_json_or_html():
    model, trace = trace_of(Config(), "original", "monotonic")
    assert not any("<<" in s.description for s in trace.steps)
    for name in ("json", "itf", "html", "mermaid"):
        assert "<< stale" not in FORMATS[name].write(trace, model), name
    assert "stale overwrite" in FORMATS["mermaid"].write(trace, model)  # its own note


def test_endpoints_past_the_third_are_numbered_from_one():
    assert [endpoint_name(e) for e in range(5)] == ["regional", "ipv6", "fips", "endpoint-4",
                                                     "endpoint-5"]
    assert endpoint_ref(0) == "endpoint regional" and endpoint_ref(3) == "endpoint-4"


def test_full_view_shows_every_variable_and_marks_changes():
    _, trace = trace_of(Config(3, 4, 4, 1), "original", "monotonic")
    text = render_full_trace(trace)
    assert "endpoint-4 -" in text and "endpoint endpoint" not in text
    step2 = text.split("step 2 ")[1].split("step 3 ")[0]
    assert "enactor-1 apply(regional), holding plan 1*" in step2  # it picked: changed
    assert "gen 1 " in step2 and "gen 1*" not in step2            # unchanged: no mark
    assert "apply(0)" not in text                                 # endpoints by name
    assert max(len(line) for line in text.splitlines()) <= WIDTH


def test_full_view_shows_local_and_ext_data_of_a_protocol():
    from dnsrace.checker.explore.result import Path
    from dnsrace.checker.timing.simulate import walk

    model = DnsSystem(Config(2, 2, 2, 1), "lease+fencing")
    run = walk(model, 1, (), 12)
    trace = build_trace(model, "monotonic", Path(tuple(run.states), tuple(run.actions)), "x")
    text = render_full_trace(trace)
    assert "ext [0, 0]" in text and "ext [1, 1]*" in text
    if any(s.enactors[i].local for s in run.states for i in range(2)):
        assert "local " in text


def test_check_and_show_full(capsys, tmp_path):
    assert main(["check", "--full", "--property", "monotonic", "--export", str(tmp_path),
                 "--format", "json"]) == 1
    out = capsys.readouterr().out
    assert "every variable after each step (* = changed by the step)" in out
    path = next(tmp_path.glob("*.json"))
    assert main(["show", "--full", str(path)]) == 0
    assert "enactor-2 apply(regional), holding plan 2*" in capsys.readouterr().out


def test_reductions_are_named():
    assert reductions_text(True, True) == "symmetry and partial-order reduction"
    assert reductions_text(True) == "symmetry reduction"
    assert reductions_text(False) == "no reduction"


def test_every_count_says_which_reductions_produced_it(capsys):
    main(["check", "--protocol", "cas"])
    out = capsys.readouterr().out
    assert "Statistics: 3,335 states (after symmetry and partial-order reduction)" in out
    main(["check", "--protocol", "cas", "--no-reduction", "--property", "no-dangling"])
    assert "Statistics: 19,490 states (no reduction)" in capsys.readouterr().out
    main(["compare", "--protocols", "cas", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["runs"][0]["states"] == 3927 and doc["options"]["reductions"] == ["symmetry"]
    main(["compare", "--protocols", "cas"])
    assert "states after symmetry reduction, no partial-order reduction" in \
        capsys.readouterr().out
