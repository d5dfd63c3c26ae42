"""`dnsrace replay` and `dnsrace show`: exit 0 valid, 1 not a counterexample, 2 malformed."""

from __future__ import annotations

import json

import pytest

from dnsrace.checker.cli import main
from dnsrace.checker.traces.formats import FORMATS
from dnsrace.checker.reports.render import render_trace

from ..traces_for_tests import small_traces


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def incident():
    model, traces = small_traces()
    return model, traces["no-dangling"]


@pytest.fixture()
def files(tmp_path, incident):
    model, trace = incident
    out = {}
    for fmt in ("json", "itf"):
        path = tmp_path / f"trace{FORMATS[fmt].SUFFIX}"
        path.write_text(FORMATS[fmt].write(trace, model))
        out[fmt] = path
    return out


def edited(tmp_path, files, change, name="edited.json"):
    doc = json.loads(files["json"].read_text())
    change(doc)
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("fmt", ["json", "itf"])
def test_a_valid_counterexample_exits_0(capsys, files, fmt):
    code, out, err = run(capsys, "replay", files[fmt])
    assert code == 0, err
    assert f"({fmt}): protocol original, n2-p3-e2-k1, property no-dangling" in out
    assert "  step   7  write enactor-1 regional  enabled" in out
    assert out.count("enabled") == 9 and "NOT ENABLED" not in out
    assert "Valid counterexample to no-dangling (9 steps): endpoint regional serves plan 1" in out


def test_under_the_patch_the_incident_trace_stops_at_the_stale_write(capsys, files):
    code, out, _ = run(capsys, "replay", files["json"], "--protocol", "cas")
    assert code == 1
    assert "  step   7  write enactor-1 regional  NOT ENABLED" in out
    assert ("Not a counterexample to no-dangling: step 7 (write enactor-1 regional) is not "
            "enabled: enactor-1 is at apply(regional) holding plan 1; endpoint regional serves plan 3; "
            "enabled there: abort enactor-1 regional, write enactor-2 ipv6.") in out


def test_replay_json_output(capsys, files):
    code, out, _ = run(capsys, "replay", files["itf"], "--json")
    doc = json.loads(out)
    assert code == 0 and doc["valid"] and doc["trace_format"] == "itf"
    assert doc["failed_step"] is None and len(doc["steps"]) == 9


def test_steps_out_of_order_exit_1(capsys, tmp_path, files):
    def swap(doc):  # enactor-1 writes before enactor-2 does: a different run
        doc["steps"][6], doc["steps"][7] = doc["steps"][7], doc["steps"][6]
        doc["steps"][6]["index"], doc["steps"][7]["index"] = 6, 7
    code, out, _ = run(capsys, "replay", edited(tmp_path, files, swap))
    assert code == 1
    assert "Not a counterexample to no-dangling: step 6 (write enactor-1 regional) does not " \
           "lead to the recorded state" in out


def test_a_recorded_state_the_model_does_not_reach_exits_1(capsys, tmp_path, files):
    def lie(doc):
        doc["steps"][5]["state"]["store"] = [1, 3]
    code, out, _ = run(capsys, "replay", edited(tmp_path, files, lie))
    assert code == 1
    assert "step 5 (pick enactor-2) does not lead to the recorded state: store is [1, 2, 3] " \
           "in the model, [1, 3] in the file" in out


def test_a_run_that_violates_nothing_exits_1(capsys, tmp_path, files):
    def cut(doc):
        del doc["steps"][-1]
    code, out, _ = run(capsys, "replay", edited(tmp_path, files, cut))
    assert code == 1
    assert "Not a counterexample to no-dangling: every step replays, but the final state does " \
           "not violate no-dangling." in out


def test_a_disabled_action_exits_1(capsys, tmp_path, files):
    def early_cleanup(doc):
        doc["steps"][3]["action"] = {"kind": "cleanup", "enactor": 0}
        del doc["steps"][3]["state"]
    code, out, _ = run(capsys, "replay", edited(tmp_path, files, early_cleanup))
    assert code == 1
    assert "step 3 (cleanup enactor-1) is not enabled: enactor-1 is at apply(regional) holding plan 1" \
        in out


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(format="dnsrace-trace/9"),
     "unsupported format 'dnsrace-trace/9' in field 'format'"),
    (lambda d: d.pop("protocol"), "missing field 'protocol'"),
    (lambda d: d.update(protocol="paxos"), "field 'protocol': unknown protocol 'paxos'"),
    (lambda d: d.update(property="liveness"), "field 'property': unknown property 'liveness'"),
    (lambda d: d["config"].update(enactors="3"), "field 'config.enactors' must be an integer"),
    (lambda d: d["config"].update(enactors=0), "field 'config': --enactors must be at least 1"),
    (lambda d: d["config"].update(enactors=3),
     "step 0: the state has 2 endpoints and 2 enactors, but the configuration n3-p3-e2-k1 has "
     "2 and 3: a trace for another configuration"),
    (lambda d: d["steps"][4].update(action={"kind": "teleport", "enactor": 0}),
     "step 4: unknown action kind 'teleport'"),
    (lambda d: d["steps"][4].update(action={"kind": "pick", "enactor": 5}),
     "step 4: action 'pick' names enactor index 5, but the configuration has enactors 0..1"),
    (lambda d: d["steps"][4].update(action={"kind": ["pick"]}),
     "step 4: the action needs a string 'kind'"),
    (lambda d: d["steps"][4]["state"].update(dns=["a", 0]),
     "step 4: the state needs an integer 'gen', lists of integers"),
    (lambda d: d["steps"][4].update(action={"kind": "pick"}),
     "step 4: action 'pick' needs an integer 'enactor'"),
    (lambda d: d["steps"][4].update(index=7), "step 4: field 'steps[4].index' is 7, expected 4"),
    (lambda d: d["steps"][4].update(time="soon"), "step 4: field 'steps[4].time'"),
    (lambda d: d.update(steps=[]), "field 'steps' is empty"),
    (lambda d: d.update(format="dnsrace-check/1"), "is a 'dnsrace check --json' report, not a trace"),
])
def test_malformed_files_exit_2_naming_field_or_step(capsys, tmp_path, files, change, message):
    code, out, err = run(capsys, "replay", edited(tmp_path, files, change))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("dnsrace: error: ")
    assert message in err


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"),
    ("not json at all", "not valid JSON (truncated?)"),
    ('[1, 2]', "expected a JSON object at the top level"),
    ('{"hello": 1}', "not a trace: no 'format' field"),
])
def test_non_traces_exit_2(capsys, tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    code, _, err = run(capsys, "replay", path)
    assert code == 2 and message in err and err.count("\n") == 1


def test_truncated_files_exit_2(capsys, tmp_path, files):
    for fmt, path in files.items():
        cut = tmp_path / f"cut-{fmt}.json"
        cut.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
        code, _, err = run(capsys, "replay", cut)
        assert code == 2 and "not valid JSON (truncated?)" in err


def test_missing_file_exits_2(capsys, tmp_path):
    code, _, err = run(capsys, "replay", tmp_path / "nope.json")
    assert code == 2 and "nope.json: cannot read: No such file or directory" in err


def test_replay_refuses_user_code_named_by_a_file(capsys, tmp_path, files):
    path = edited(tmp_path, files, lambda d: d.update(protocol="evil.py:Evil"))
    code, _, err = run(capsys, "replay", path)
    assert code == 2 and "replay never runs code a trace file names" in err


def test_itf_errors_name_the_state(capsys, tmp_path, files):
    doc = json.loads(files["itf"].read_text())
    doc["states"][3]["dns"] = {"#map": [[{"#bigint": "0"}, {"#bigint": "x"}]]}
    path = tmp_path / "bad.itf.json"
    path.write_text(json.dumps(doc))
    code, _, err = run(capsys, "replay", path)
    assert code == 2 and "states[3].dns: bad #bigint 'x'" in err


@pytest.mark.parametrize("fmt", ["json", "itf"])
def test_show_prints_the_table_check_prints(capsys, files, incident, fmt):
    _, trace = incident
    code, out, _ = run(capsys, "show", files[fmt])
    assert code == 0
    assert out == render_trace(trace) + "\n"
    code, check_out, _ = run(capsys, "check", "-n", "2", "-p", "3", "-e", "2",
                             "--property", "no-dangling")
    assert render_trace(trace) in check_out


def test_show_of_a_trace_that_does_not_replay_exits_1(capsys, files):
    code, out, err = run(capsys, "show", files["json"])
    assert code == 0
    doc = json.loads(files["json"].read_text())
    doc["steps"][7]["action"] = {"kind": "write", "enactor": 1, "endpoint": 1}
    files["json"].write_text(json.dumps(doc))
    code, out, err = run(capsys, "show", files["json"])
    assert code == 1 and out == "" and "does not replay: step 7 (write enactor-2 ipv6)" in err


def _deletions(doc, path=()):
    """Every way to delete one key or list item from a JSON document."""
    if isinstance(doc, dict):
        for k in doc:
            yield path + (k,)
            yield from _deletions(doc[k], path + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:3]):
            yield path + (i,)
            yield from _deletions(v, path + (i,))


@pytest.mark.parametrize("fmt", ["json", "itf"])
def test_no_single_deletion_crashes_replay(capsys, tmp_path, files, fmt):
    """Whatever one field or item is missing, replay answers 0, 1 or 2, never a crash."""
    original = json.loads(files[fmt].read_text())
    codes = set()
    for where in _deletions(original):
        doc = json.loads(json.dumps(original))
        parent = doc
        for k in where[:-1]:
            parent = parent[k]
        del parent[where[-1]]
        path = tmp_path / f"cut.{fmt}"
        path.write_text(json.dumps(doc))
        code, _, err = run(capsys, "replay", path)
        assert code in (0, 1, 2), (where, err)
        if code == 2:
            assert err.count("\n") == 1, (where, err)
        codes.add(code)
    assert codes == {0, 1, 2}


@pytest.mark.parametrize("fmt", ["json", "itf"])
def test_no_wrongly_typed_value_crashes_replay(capsys, tmp_path, files, fmt):
    """Any one value replaced by a value of another type: 0, 1 or 2 with one line, never 4."""
    original = json.loads(files[fmt].read_text())
    for where in _deletions(original):
        for value in ("x", None, [[1]], {"#map": 3}):
            doc = json.loads(json.dumps(original))
            parent = doc
            for k in where[:-1]:
                parent = parent[k]
            parent[where[-1]] = value
            path = tmp_path / f"bad.{fmt}"
            path.write_text(json.dumps(doc))
            code, _, err = run(capsys, "replay", "-q", path)
            assert code in (0, 1, 2) and (code != 2 or err.count("\n") == 1), (where, err)
