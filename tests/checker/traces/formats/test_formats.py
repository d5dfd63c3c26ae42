"""Each trace format: deterministic text, and a round trip through replay for json and itf."""

from __future__ import annotations

import json
import re
from fractions import Fraction

import pytest

from dnsrace.checker.traces.formats import (DEFAULT_FORMATS, FORMATS, TraceFormatError, file_name,
                                     parse_trace_text, resolve_formats)
from dnsrace.checker.traces.formats.dot import FULL_GRAPH_LIMIT
from dnsrace.checker.traces.replay_file import replay_trace_file
from dnsrace.checker.explore.result import Path
from dnsrace.checker.traces.trace import build_trace, time_from_text, time_to_text
from dnsrace.model import Config, DnsSystem

from ...traces_for_tests import small_traces


@pytest.fixture(scope="module")
def incident():
    model, traces = small_traces()
    return model, traces["no-dangling"]


@pytest.mark.parametrize("fmt", DEFAULT_FORMATS)
def test_every_format_is_deterministic_and_portable(incident, fmt):
    model, trace = incident
    first, second = FORMATS[fmt].write(trace, model), FORMATS[fmt].write(trace, model)
    assert first == second and first.endswith("\n")
    assert "/tmp" not in first and "/home" not in first and "/work" not in first
    assert not re.search(r"20\d\d-\d\d-\d\d", first)  # no dates or timestamps


def test_file_names_say_config_protocol_property(incident):
    _, trace = incident
    assert [file_name(trace, f) for f in DEFAULT_FORMATS] == [
        "n2-p3-e2-k1-original-no-dangling.json", "n2-p3-e2-k1-original-no-dangling.itf.json",
        "n2-p3-e2-k1-original-no-dangling.md", "n2-p3-e2-k1-original-no-dangling.html",
        "n2-p3-e2-k1-original-no-dangling.dot"]


def test_resolve_formats():
    assert resolve_formats(None) == ("json", "itf", "mermaid", "html", "dot")
    assert resolve_formats("itf, json,itf") == ("itf", "json")
    with pytest.raises(ValueError, match="unknown format 'svg'.*valid: json, itf"):
        resolve_formats("json,svg")


@pytest.mark.parametrize("fmt", ["json", "itf"])
def test_round_trip_through_replay(incident, fmt):
    model, trace = incident
    tf = parse_trace_text(FORMATS[fmt].write(trace, model))
    assert (tf.format, tf.protocol, tf.property, tf.config) == (
        fmt, "original", "no-dangling", model.config.as_dict())
    report = replay_trace_file(tf)
    assert report.valid and report.failed_step is None
    assert report.trace.as_dict() == trace.as_dict()
    assert [s.action for s in report.trace.steps] == [s.action for s in trace.steps]


def test_json_document_shape(incident):
    model, trace = incident
    doc = json.loads(FORMATS["json"].write(trace, model))
    assert doc["format"] == "dnsrace-trace/1"
    assert list(doc) == ["format", "config", "protocol", "property", "length", "steps",
                         "explanation"]
    assert doc["steps"][0] == {"index": 0, "actor": None, "action": None,
                               "description": "initial state",
                               "state": {"gen": 0, "store": [], "dns": [0, 0],
                                         "enactors": [{"pc": "idle", "held": 0}] * 2}}
    assert doc["steps"][7]["action"] == {"kind": "write", "enactor": 0, "endpoint": 0}
    assert all("time" not in s for s in doc["steps"])  # untimed: no time field at all


def test_itf_follows_adr_015(incident):
    model, trace = incident
    doc = json.loads(FORMATS["itf"].write(trace, model))
    meta = doc["#meta"]
    assert meta["format"] == "ITF" and meta["format-description"].endswith("015adr-trace.html")
    assert doc["vars"] == ["gen", "store", "dns", "enactors", "action"]
    assert [s["#meta"]["index"] for s in doc["states"]] == list(range(trace.length + 1))
    last = doc["states"][-1]
    assert last["gen"] == {"#bigint": "3"}
    assert last["store"] == {"#set": [{"#bigint": "2"}, {"#bigint": "3"}]}
    assert last["dns"] == {"#map": [[{"#bigint": "0"}, {"#bigint": "1"}],
                                    [{"#bigint": "1"}, {"#bigint": "3"}]]}
    assert last["action"] == {"tag": "Cleanup", "value": {"enactor": {"#bigint": "1"}}}
    assert doc["states"][0]["action"] == {"tag": "Init", "value": "U_OF_UNIT"}
    assert doc["states"][1]["action"] == {"tag": "Plan", "value": "U_OF_UNIT"}


def test_itf_without_actions_is_replayed_by_matching_states(incident):
    """A trace written by another tool may omit our ``action`` variable."""
    model, trace = incident
    doc = json.loads(FORMATS["itf"].write(trace, model))
    for s in doc["states"]:
        del s["action"]
    report = replay_trace_file(parse_trace_text(json.dumps(doc)))
    assert report.valid
    assert [s.action for s in report.trace.steps] == [s.action for s in trace.steps]


def test_itf_reads_small_plain_integers():
    """ADR-015 allows integers as plain JSON numbers; Quint writes #bigint. Both read."""
    from dnsrace.checker.traces.formats.itf import decode_value
    assert decode_value(3, "x") == 3
    assert decode_value({"#bigint": "-12"}, "x") == -12
    assert decode_value({"#set": [{"#bigint": "2"}, 1]}, "x") == [1, 2]
    with pytest.raises(TraceFormatError, match="bad #bigint"):
        decode_value({"#bigint": "1.5"}, "x")


def test_mermaid_has_one_message_per_step_and_boxes_the_violation(incident):
    model, trace = incident
    text = FORMATS["mermaid"].write(trace, model)
    body = text.split("```mermaid\n")[1].split("```")[0]
    assert body.startswith("sequenceDiagram\n    autonumber\n")
    for who in ("Planner", "enactor-1", "enactor-2", "Route 53", "Plan store"):
        assert f" as {who}\n" in body
    assert body.count("->>") == trace.length
    assert "enactor1->>route53: writes plan 1 to endpoint regional, replacing plan 3" in body
    assert "Note over route53: stale overwrite" in body
    assert body.count("rect rgb") == 1 and "VIOLATES no-dangling" in body
    assert "**Violation** (after step 9): endpoint regional serves plan 1" in text


def test_dot_draws_small_graphs_whole_with_the_path_highlighted(incident):
    model, trace = incident
    text = FORMATS["dot"].write(trace, model)
    assert text.startswith("digraph dnsrace {") and text.endswith("}\n")
    assert "the whole reachable graph; 289 states" in text
    assert len(re.findall(r"^  s\d+ \[label=", text, re.M)) == 289
    assert text.count('color="#c92a2a", penwidth=3, fontcolor=') == trace.length  # path edges
    assert text.count('fillcolor="#ffc9c9"') == 1  # the violating state


def test_dot_shows_the_neighbourhood_of_the_path_in_large_graphs():
    model, traces = small_traces("original", Config())
    text = FORMATS["dot"].write(traces["monotonic"], model)
    assert f"more than {FULL_GRAPH_LIMIT} states" in text
    assert text.count('penwidth=3, fontcolor=') == 6


def test_html_is_self_contained(incident):
    model, trace = incident
    text = FORMATS["html"].write(trace, model)
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)  # no network
    assert "<svg" in text and "<style>" in text and "<script>" in text
    assert 'id="trace-data"' in text and text.count('class="row violating"') == 1
    data = text.split('id="trace-data">')[1].split("</script>")[0]
    assert json.loads(data)["steps"][-1]["index"] == trace.length


def test_times_are_optional_exact_and_carried_through():
    model = DnsSystem(Config(1, 1, 1, 1), "original")
    s0 = model.init_states()[0]
    (a1, s1), = model.successors(s0)
    (a2, s2), = model.successors(s1)
    times = [0, Fraction(1, 2), Fraction(3, 2)]
    timing = {"planner": "1/2:1", "write": "0:1"}
    trace = build_trace(model, "no-dangling", Path((s0, s1, s2), (a1, a2)), "x", times,
                        timing)
    assert trace.timed
    doc = json.loads(FORMATS["json"].write(trace, model))
    assert [s["time"] for s in doc["steps"]] == ["0", "1/2", "3/2"]
    for fmt in ("json", "itf"):
        tf = parse_trace_text(FORMATS[fmt].write(trace, model))
        assert [s.time for s in tf.steps] == times
        report = replay_trace_file(tf)
        assert [s.time for s in report.trace.steps] == times
        assert tf.timing == timing and report.trace.timing == timing
        assert not report.valid  # nothing dangles in two steps
    assert "planner->>store: at 1/2: generates plan 1" in FORMATS["mermaid"].write(trace)
    assert ">at 3/2: picks plan 1" in FORMATS["html"].write(trace)
    assert time_to_text(Fraction(6, 4)) == "3/2" and time_from_text("1.5") == Fraction(3, 2)
    for bad in ("-1", "x", 1.5, True):
        with pytest.raises(ValueError):
            time_from_text(bad)


def test_protocols_with_extra_state_round_trip():
    """Variants keep per-enactor or global extra data; json and itf carry it."""
    model, traces = small_traces("lease")
    for trace in traces.values():
        for fmt in ("json", "itf"):
            report = replay_trace_file(parse_trace_text(FORMATS[fmt].write(trace, model)))
            assert report.valid, (fmt, trace.property, report.reason)
            assert report.trace.as_dict() == trace.as_dict()


@pytest.mark.skipif(__import__("shutil").which("dot") is None,
                    reason="Graphviz is not installed (optional: apt-get install graphviz)")
def test_graphviz_reads_the_dot_files(incident, tmp_path):
    import subprocess
    model, trace = incident
    path = tmp_path / "g.dot"
    path.write_text(FORMATS["dot"].write(trace, model))
    done = subprocess.run(["dot", "-Tsvg", str(path)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0 and "<svg" in done.stdout, done.stderr
