"""``dnsrace compare`` and ``--sweep``, in-process: table, JSON, Markdown, sweeps, bad input."""

import io
import json
import pathlib

import pytest

from dnsrace.checker.cli import main
from dnsrace.checker.reports.sweep import SweepError, grid, minimal_points, parse_sweep

ROOT = pathlib.Path(__file__).resolve().parents[3]
SMALL = ["-n", "2", "-p", "3", "-e", "2"]
NAMES = {"enactors": "enactors", "n": "enactors", "plans": "plans"}


def run(capsys, *argv):
    code = main(["compare", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_table_has_one_row_per_protocol_and_a_cell_per_property(capsys):
    code, out, err = run(capsys, "--protocols", "original,cas,safe-delete", *SMALL)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("dnsrace compare: 2 enactors, 3 plans, 2 endpoints, keep 1")
    assert lines[2].split()[:4] == ["protocol", "no-dangling", "monotonic", "recoverable"]
    rows = {line.split()[0]: line for line in lines[3:6]}
    assert rows["original"].split()[1:7] == ["VIOLATED", "(9)", "VIOLATED", "(6)", "VIOLATED",
                                             "(9)"]
    assert rows["cas"].split()[1:4] == ["holds", "holds", "holds"]
    assert rows["safe-delete"].split()[1:5] == ["holds", "VIOLATED", "(6)", "holds"]


def test_json_is_one_document_with_counts_and_shortest_lengths(capsys):
    code, out, _ = run(capsys, "--protocols", "original,lease+fencing", "--json", *SMALL)
    doc = json.loads(out)
    assert code == 0 and doc["format"] == "dnsrace-compare/1"
    assert doc["config"] == {"enactors": 2, "plans": 3, "endpoints": 2, "keep": 1}
    assert [r["protocol"] for r in doc["runs"]] == ["original", "lease+fencing"]
    orig, fenced = doc["runs"]
    assert orig["properties"]["no-dangling"] == {"status": "violated", "shortest": 9}
    assert fenced["verdict"] == "holds" and fenced["properties"]["monotonic"]["shortest"] is None
    assert orig["states"] > 0 and orig["exhausted"] is True


def test_markdown_is_a_pasteable_table(capsys):
    code, out, _ = run(capsys, "--protocols", "cas,guarded", "--markdown",
                       "--property", "no-dangling", *SMALL)
    lines = out.strip().splitlines()
    assert lines[2] == "| protocol | no-dangling | states | transitions |"
    assert lines[3] == "|---|---|---:|---:|"
    assert lines[4].startswith("| `cas` | holds |")
    assert lines[5].startswith("| `guarded` | **violated** (9 steps) |")


def test_a_user_protocol_takes_part(capsys):
    spec = f"{ROOT / 'examples' / 'verify_then_cleanup.py'}:VerifyThenCleanup"
    code, out, _ = run(capsys, "--protocols", f"cas,{spec}", "--json", *SMALL)
    names = [r["protocol"] for r in json.loads(out)["runs"]]
    assert code == 0 and names == ["cas", "verify-then-cleanup"]


def test_sweep_reports_the_smallest_failing_sizes(capsys):
    code, out, _ = run(capsys, "--protocols", "original,cas", "--sweep", "enactors=1..2,plans=2..3",
                       "-e", "2", "--json")
    doc = json.loads(out)
    assert code == 0 and len(doc["runs"]) == 8
    fails = doc["sweep"]["smallest_failures"]
    assert fails["original"]["no-dangling"]["violated_at"] == [{"enactors": 2, "plans": 3}]
    assert fails["original"]["monotonic"]["violated_at"] == [{"enactors": 2, "plans": 2}]
    assert fails["cas"]["no-dangling"] == {"violated_at": [], "held_at": 4, "incomplete_at": 0}
    code, out, _ = run(capsys, "--protocols", "original,cas", "--sweep", "n=1..2,p=2..3", "-e", "2")
    assert "fails from enactors=2 plans=3" in out and "holds at all 4" in out


@pytest.mark.parametrize("spec, message", [
    ("enactors=2..", "bad sweep item 'enactors=2..'"),
    ("enactors", "bad sweep item 'enactors'"),
    ("colour=1..2", "cannot sweep 'colour' (valid: enactors, endpoints, keep, plans)"),
    ("plans=4..2", "empty range 4..2 for plans"),
    ("plans=1..2,p=3", "plans is swept twice"),
    ("enactors=1..20,plans=1..30", "the sweep has 600 points"),
    ("enactors=0..2", "--enactors must be at least 1, got 0 at sweep point enactors=0"),
])
def test_bad_sweeps_exit_2_with_one_line(capsys, spec, message):
    code, out, err = run(capsys, "--protocols", "cas", "--sweep", spec)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err


@pytest.mark.parametrize("argv, message", [
    (["--protocols", "cas,fencing"], "unknown protocol 'fencing'"),
    (["--protocols", "nofile.py:X"], "protocol file nofile.py: no such file"),
    (["--protocols", ","], "--protocols names no protocol"),
    (["--json", "--markdown"], "choose one of --json and --markdown"),
    (["--property", "liveness"], "unknown property 'liveness'"),
])
def test_bad_input_exits_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_a_bounded_run_is_incomplete_exit_3(capsys):
    code, out, _ = run(capsys, "--protocols", "cas", "--max-states", "50", *SMALL)
    assert code == 3 and "incomplete" in out


def test_grid_order_and_minimal_points():
    axes = parse_sweep("enactors=1..2,plans=2..3", NAMES)
    assert axes == {"enactors": [1, 2], "plans": [2, 3]}
    assert grid(axes) == [{"enactors": 1, "plans": 2}, {"enactors": 1, "plans": 3},
                          {"enactors": 2, "plans": 2}, {"enactors": 2, "plans": 3}]
    pts = [{"enactors": 1, "plans": 3}, {"enactors": 2, "plans": 2}, {"enactors": 2, "plans": 3}]
    assert minimal_points(pts) == pts[:2]
    with pytest.raises(SweepError):
        parse_sweep("", NAMES)


def test_progress_bar_only_on_a_terminal(monkeypatch):
    from dnsrace.checker.cli.compare import _progress_bar

    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert _progress_bar(io.StringIO()) is None
    stream = Tty()
    bar = _progress_bar(stream)

    class R:
        label, point = "cas", {"enactors": 2}

    bar(1, 4, R())
    bar(4, 4, None)
    assert "[#######" in stream.getvalue() and "1/4  cas enactors=2" in stream.getvalue()


def test_timing_adds_a_timed_verdict_per_safety_property(capsys):
    pytest.importorskip("dnsrace.checker.timing.timed")
    code, out, _ = run(capsys, "--protocols", "original,lease,lease+fencing", "--json",
                       "--write-time", "0:1", "--interval", "lease=1", "-n", "2", "-p", "3", "-e", "2")
    doc = json.loads(out)
    assert code == 0 and doc["timing"]["lease"] == ["1", "1"]
    code, out, _ = run(capsys, "--protocols", "lease", "--json", "--timing", *SMALL)
    assert json.loads(out)["timing"]["lease"] == ["1", "1"]  # the default lease length
    timed = {r["protocol"]: r["timed"] for r in doc["runs"]}
    # a lease of 1 is shorter than 2 writes of up to 1 each: the race survives it
    assert timed["lease"]["no-dangling"]["status"] == "violated"
    assert timed["lease+fencing"]["no-dangling"] == {"status": "holds", "shortest": None}
    assert timed["original"]["recoverable"]["status"] == "not analysed"
    code, out, _ = run(capsys, "--protocols", "lease", "--interval", "lease=2.5", "-n", "2", "-p", "3",
                       "-e", "2", "--write-time", "0:1")
    header, row = out.splitlines()[2], out.splitlines()[3]
    assert "no-dangling (timed)" in header and row.split()[7:9] == ["holds", "holds"]


@pytest.mark.parametrize("argv, message", [
    (["--write-time", "2:1"], "--write-time: interval [2, 1] is empty"),
    (["--interval", "lease=soon"], "--interval lease: 'soon' is not a number"),
    (["--interval", "lease"], "--interval 'lease': write NAME=LO:HI"),
])
def test_bad_timing_exits_2(capsys, argv, message):
    code, out, err = run(capsys, "--protocols", "cas", *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_a_timed_sweep_finds_where_the_lease_stops_being_long_enough(capsys):
    pytest.importorskip("dnsrace.checker.timing.timed")
    # a lease of 2 outlasts one write of up to 1; with two, L = E x W_hi and the race is back
    code, out, _ = run(capsys, "--protocols", "lease", "--sweep", "endpoints=1..3", "-n", "2",
                       "-p", "3", "--write-time", "0:1", "--interval", "lease=2",
                       "--property", "no-dangling")
    assert code == 0
    header, row = out.splitlines()[2], out.splitlines()[3]
    assert header.split() == ["protocol", "no-dangling", "no-dangling", "(timed)"]
    assert "fails from endpoints=1" in row and row.endswith("fails from endpoints=2")
