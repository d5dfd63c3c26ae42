"""The timed check and the delays command from the command line."""

import json

import pytest

from dnsrace.checker.cli import main

SMALL = ["-n", "2", "-p", "3", "-e", "2"]


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_timed_check_prints_timestamps(capsys):
    code, out, _ = run(capsys, "check", *SMALL, "--write-time", "0:0.5")
    assert code == 1
    assert "no-dangling  VIOLATED" in out and "Timed counterexample to no-dangling" in out
    assert "recoverable  not analysed under timing" in out


def test_timed_check_holds_names_the_ruling_assumptions(capsys):
    code, out, _ = run(capsys, "check", *SMALL, "--timing", "--property", "no-dangling")
    assert code == 0
    assert "holds under these timing bounds" in out
    assert "ruled out by: plan-interval lo = 1; write-time hi = 1/10" in out


def test_timed_json_keeps_times(capsys):
    code, out, _ = run(capsys, "check", *SMALL, "--write-time", "0:1/2", "--json",
                       "--property", "no-dangling")
    doc = json.loads(out)
    assert code == 1 and doc["options"]["timing"]["write-time"] == ["0", "1/2"]
    steps = doc["properties"]["no-dangling"]["trace"]["steps"]
    assert steps[0]["time"] == "0" and all("time" in s for s in steps)


def test_timed_export_then_replay(capsys, tmp_path):
    code, _out, _ = run(capsys, "check", *SMALL, "--write-time", "0:0.5", "--property",
                        "no-dangling", "--quiet", "--export", str(tmp_path))
    assert code == 1
    files = sorted(tmp_path.iterdir())
    assert files
    native = [f for f in files if f.name.endswith("no-dangling.json")][0]
    doc = json.loads(native.read_text())
    assert all("time" in s for s in doc["steps"])
    # replay checks the timestamps against the bounds it is given
    code, out, _ = run(capsys, "replay", str(native), "--write-time", "0:0.5")
    assert code == 0 and "every timestamp meets the bounds" in out
    code, out, _ = run(capsys, "replay", str(native), "--write-time", "0:0.25")
    assert code == 1 and "timestamps break the timing bounds" in out and "write" in out
    # the file records its bounds: replay checks them without being told
    assert doc["timing"]["write-time"] == ["0", "1/2"]
    code, out, _ = run(capsys, "replay", str(native))
    assert code == 0 and "every timestamp meets the bounds" in out
    doc["timing"]["write-time"] = ["0", "0.25"]
    native.write_text(json.dumps(doc))
    code, out, _ = run(capsys, "replay", str(native))
    assert code == 1 and "timestamps break the timing bounds" in out
    doc["timing"]["write-time"] = ["1", "0"]
    native.write_text(json.dumps(doc))
    code, _out, err = run(capsys, "replay", str(native))
    assert code == 2 and "timing" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args, words", [
    (["--write-time", "2:1"], "empty"),
    (["--write-time", "-1"], "negative"),
    (["--plan-interval", "soon"], "not a number"),
    (["--cleanup-time", "1:2:3"], "LO:HI"),
    (["--interval", "lease"], "NAME=LO:HI"),
])
def test_bad_timing_is_one_line_exit_2(capsys, args, words):
    code, out, err = run(capsys, "check", *SMALL, *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and words in err


def test_protocol_interval_must_be_given(capsys, monkeypatch):
    # an interval the protocol declares without a default (lease itself declares lease=1,
    # the rule check and compare share: tests/hostile/test_cli_inputs.py)
    from dnsrace.model.variants import Lease
    monkeypatch.setattr(Lease, "timing_intervals", {"lease": None})
    code, _out, err = run(capsys, "check", *SMALL, "--timing", "--protocol", "lease")
    assert code == 2 and "lease" in err and len(err.strip().splitlines()) == 1


def test_delays_threshold(capsys):
    code, out, _ = run(capsys, "delays", *SMALL, "--property", "no-dangling", "--no-witness")
    assert code == 1
    assert "can be violated exactly when write-time hi >= 1/2 (0.5)" in out
    assert "smallest write stall that makes it possible is 1/2" in out


def test_delays_cas_no_timing_breaks_it(capsys):
    code, out, _ = run(capsys, "delays", *SMALL, "--protocol", "cas")
    assert code == 0 and out.count("holds for every timing") == 2


def test_delays_json(capsys):
    code, out, _ = run(capsys, "delays", *SMALL, "--property", "no-dangling", "--unknown",
                       "plan-lo", "--json")
    doc = json.loads(out)
    u = doc["properties"]["no-dangling"]["unknowns"]["plan-interval-lo"]
    assert code == 1 and u["status"] == "threshold" and u["threshold"] == "1/5"
    assert u["checks"][-1]["verdict"] == "holds"


@pytest.mark.parametrize("args, words", [(["--unknown", "speed"], "unknown bound"),
                                         (["--write-time", "1:0"], "empty"),
                                         (["--property", "recoverable"], "not analysed")])
def test_delays_bad_input(capsys, args, words):
    code, _out, err = run(capsys, "delays", *SMALL, *args)
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1


def test_html_report_draws_a_timeline_for_timed_traces(capsys, tmp_path):
    from dnsrace.checker.cli.timing import run_timed_check
    from dnsrace.checker.traces.formats import html_page
    from dnsrace.checker.timing.timeline import timeline_lanes
    from dnsrace.invariants import resolve_properties
    from dnsrace.model import Config, DnsSystem
    from dnsrace.model.timing import Timing

    m = DnsSystem(Config(2, 3, 2, 1), "original")
    _r, traces, _ = run_timed_check(m, resolve_properties(["no-dangling"]), Timing(write="0:0.5"))
    trace = traces["no-dangling"]
    lanes = {lane["lane"]: lane["bars"] for lane in timeline_lanes(trace)}
    assert set(lanes) == {"planner", "enactor-1", "enactor-2"}
    longest = max(b["end"] - b["start"] for bars in lanes.values() for b in bars)
    assert longest == Timing(write="0:0.5").write.hi          # the stall, as long as allowed
    page = html_page.write(trace, m)
    assert '<section id="timeline">' in page and 'class="bar' in page
    untimed = run(capsys, "check", *SMALL, "--property", "no-dangling", "--quiet", "--export",
                  str(tmp_path))
    assert untimed[0] == 1
    html = [f for f in tmp_path.iterdir() if f.suffix == ".html"][0].read_text()
    assert 'id="timeline"' not in html


def test_a_cut_short_timed_run_is_incomplete_never_holds(capsys):
    code, out, _ = run(capsys, "check", "--timing", "--protocol", "cas", "--max-states", "50")
    assert code == 3 and "incomplete" in out and "holds under" not in out


def test_recoverable_alone_under_timing_is_refused(capsys):
    code, out, err = run(capsys, "check", *SMALL, "--timing", "--property", "recoverable")
    assert code == 2 and out == "" and "not analysed under timing" in err
