"""`dnsrace simulate`: seeded random runs, any size, untimed and timed; the first violation
of each property as a replayable trace with the seed line that reproduces it."""

import json
import shlex

import pytest

from dnsrace.checker.cli import main
from dnsrace.checker.timing.simulate import walk
from dnsrace.invariants import resolve_properties
from dnsrace.model import Config, DnsSystem


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def doc_of(capsys, *args):
    code, out, _ = run(capsys, "simulate", "--json", *args)
    doc = json.loads(out)
    doc["stats"].pop("seconds")
    doc["stats"].pop("runs_per_second")
    return code, doc


def test_a_seed_gives_the_same_simulation(capsys):
    a = doc_of(capsys, "--seed", "7", "--runs", "300")
    b = doc_of(capsys, "--seed", "7", "--runs", "300")
    assert a == b
    code, doc = a
    assert code == 1 and doc["format"] == "dnsrace-simulate/1" and doc["verdict"] == "violated"
    assert doc["dnsrace"]["command"] == "simulate" and doc["dnsrace"]["options"]["seed"] == 7
    assert set(doc["stats"]["coverage"]) == {"plan", "pick", "write", "cleanup"}


def test_walk_is_deterministic_and_only_takes_enabled_steps():
    model = DnsSystem(Config(), "original")
    runs = [walk(model, 3, resolve_properties(["no-dangling"]), 60) for _ in range(2)]
    assert runs[0].actions == runs[1].actions
    state = model.init_states()[0]
    for action, nxt in zip(runs[0].actions, runs[0].states[1:]):
        assert model.next_state(state, action) == nxt
        state = nxt


def test_the_seed_line_reproduces_the_violation_and_the_trace_replays(capsys, tmp_path):
    code, out, _ = run(capsys, "simulate", "--seed", "1", "--runs", "500",
                       "--export", str(tmp_path), "--format", "json")
    assert code == 1
    lines = [l.strip() for l in out.splitlines() if l.strip().startswith("Reproduce: ")]
    assert len(lines) == 2  # one per violated property
    for line in lines:
        argv = shlex.split(line.removeprefix("Reproduce: "))[1:]
        name = argv[argv.index("--property") + 1]
        _, again = doc_of(capsys, *argv[1:])
        _, first = doc_of(capsys, "--seed", "1", "--runs", "500")
        assert again["properties"][name]["trace"]["steps"] == \
            first["properties"][name]["trace"]["steps"]
    for path in tmp_path.glob("*.json"):
        code, out, _ = run(capsys, "replay", str(path))
        assert code == 0 and "Valid counterexample" in out


def test_timed_simulation_respects_the_bounds(capsys, tmp_path):
    code, out, _ = run(capsys, "simulate", "--write-time", "0:0.5", "--seed", "5", "--runs",
                       "300", "--export", str(tmp_path), "--format", "json")
    assert code == 1 and "timed (plan-interval [1, 1], write-time [0, 1/2]" in out
    files = list(tmp_path.glob("*.json"))
    assert files
    for path in files:
        doc = json.loads(path.read_text())
        assert all("time" in s for s in doc["steps"]) and doc["timing"]["write-time"] == ["0", "1/2"]
        code, out, _ = run(capsys, "replay", str(path))  # timestamps checked against its bounds
        assert code == 0 and "every timestamp meets the bounds" in out


def test_any_size_runs_and_nothing_found_is_not_a_proof(capsys):
    code, out, _ = run(capsys, "simulate", "--protocol", "cas", "--enactors", "20", "--plans",
                       "40", "--endpoints", "15", "--runs", "3", "--depth", "200", "--seed", "0")
    assert code == 0
    assert "no violation found in 3 runs (not a proof" in out
    assert "Statistics: 3 of 3 runs, 600 steps" in out and "runs/s" in out


@pytest.mark.parametrize("args, words", [(["--property", "recoverable"], "graph property"),
                                         (["--runs", "0"], "--runs"),
                                         (["--enactors", "0"], "--enactors must be at least 1")])
def test_bad_input_is_one_line(capsys, args, words):
    code, out, err = run(capsys, "simulate", *args)
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1


def test_grammar_of_run_lengths():
    from dnsrace.checker.reports.render import run_text
    assert [run_text(n) for n in (7, 8, 11, 18, 80, 10, 110)] == [
        "a 7-step run", "an 8-step run", "an 11-step run", "an 18-step run", "an 80-step run",
        "a 10-step run", "a 110-step run"]
