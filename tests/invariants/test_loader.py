"""--property file.py:Name: your own property, like the shipped ones, and its one-line errors."""

import json
import pathlib
import textwrap

import pytest

from dnsrace.checker import HOLDS, VIOLATED, Options, explore
from dnsrace.checker.cli import main
from dnsrace.invariants import (PROPERTIES, PropertyCodeError, PropertyLoadError, load_property,
                                resolve_properties)
from dnsrace.model import Config, DnsSystem

EXAMPLE = str(pathlib.Path(__file__).resolve().parents[2] / "examples" / "bounded_staleness.py")
SPEC = f"{EXAMPLE}:BoundedStaleness"


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path, text, name="prop.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_the_example_holds_at_four_plans_and_fails_at_six():
    prop = resolve_properties([SPEC])[0]
    assert prop.name == "bounded-staleness" and prop.kind == "state invariant"
    assert explore(DnsSystem(Config(), "original"), [prop], Options()).verdict == HOLDS
    r = explore(DnsSystem(Config(plans=6), "original"), [prop], Options())
    pr = r.properties["bounded-staleness"]
    assert pr.status == VIOLATED and len(pr.trace) == 7
    last = pr.trace.states[-1]
    assert any(p and p < last.gen - 3 for p in last.dns)  # the trace really breaks it
    assert "more than 3 generations behind" in pr.explanation


def test_check_exports_and_replay_trusts_the_property_only_on_the_command_line(capsys, tmp_path):
    code, out, _ = run(capsys, "check", "--plans", "6", "--property", SPEC, "--property",
                       "no-dangling", "--export", str(tmp_path), "--format", "json")
    assert code == 1 and "bounded-staleness  VIOLATED  (shortest counterexample: 7 steps)" in out
    trace = tmp_path / "n3-p6-e3-k1-original-bounded-staleness.json"
    doc = json.loads(trace.read_text())
    assert doc["property"] == "bounded-staleness" and doc["dnsrace"]["command"] == "check"
    code, _, err = run(capsys, "replay", str(trace))
    assert code == 2 and "--property file.py:Name" in err and len(err.splitlines()) == 1
    code, out, _ = run(capsys, "replay", str(trace), "--property", SPEC)
    assert code == 0 and "Valid counterexample to bounded-staleness (7 steps)" in out


def test_compare_simulate_and_the_timed_check_take_it_too(capsys):
    code, out, _ = run(capsys, "compare", "-n", "2", "-p", "6", "--protocols", "original,cas",
                       "--property", SPEC, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["properties"] == ["bounded-staleness"]
    assert doc["runs"][0]["properties"]["bounded-staleness"]["status"] == "violated"
    code, out, _ = run(capsys, "simulate", "-p", "8", "--property", SPEC, "--seed", "0",
                       "--runs", "50", "--json")
    assert code == 1 and json.loads(out)["properties"]["bounded-staleness"]["status"] == "violated"
    code, out, _ = run(capsys, "check", "-n", "2", "-p", "6", "--property", SPEC,
                       "--write-time", "0:0.5")
    assert code == 1 and "bounded-staleness  VIOLATED  (shortest timed counterexample" in out


@pytest.mark.parametrize("text, words", [
    ("x = (", "syntax error at line 1"),
    ("raise RuntimeError('boom')", "RuntimeError: boom"),
    ("class P: pass", "P is not a property but another class"),
    ("""
     from dnsrace.invariants import StateInvariant
     class P(StateInvariant):
         name = "no-dangling"
         def holds(self, model, state): return True
     """, "is a shipped property's"),
    ("""
     from dnsrace.invariants import StateInvariant
     class P(StateInvariant):
         name = "p"
     """, "does not define holds()"),
    ("""
     from dnsrace.invariants import GraphProperty
     class P(GraphProperty):
         name = "p"
         def is_goal(self, model, state): return True
     """, "is a graph property"),
])
def test_a_file_that_does_not_load_is_one_line_exit_2(capsys, tmp_path, text, words):
    path = write(tmp_path, text)
    code, out, err = run(capsys, "check", "-n", "2", "-p", "2", "--property", f"{path}:P")
    assert code == 2 and out == "" and words in err and len(err.strip().splitlines()) == 1
    assert err.startswith(f"dnsrace: error: property file {path}: ")


def test_missing_file_and_module(capsys):
    code, _, err = run(capsys, "check", "--property", "nowhere.py:P")
    assert code == 2 and "property file nowhere.py: no such file" in err
    code, _, err = run(capsys, "check", "--property", "no_such_pkg.mod:P")
    assert code == 2 and "module no_such_pkg.mod: cannot import it" in err


def test_an_exception_while_checking_is_the_users_bug_exit_2(capsys, tmp_path):
    path = write(tmp_path, """
        from dnsrace.invariants import TransitionInvariant
        class Boom(TransitionInvariant):
            name = "boom"
            def holds(self, model, state, action, nxt):
                return 1 / (nxt.gen - 2) is not None
        """)
    with pytest.raises(PropertyCodeError, match=r"property 'boom' .* raised ZeroDivisionError"):
        explore(DnsSystem(Config(), "original"), [load_property(f"{path}:Boom", PROPERTIES)],
                Options())
    code, out, err = run(capsys, "check", "--property", f"{path}:Boom")
    assert code == 2 and "ZeroDivisionError" in err and "holds() at prop.py line" in err
    assert "Traceback" not in err


def test_a_property_that_tells_enactors_apart_turns_symmetry_off(capsys, tmp_path):
    path = write(tmp_path, """
        from dnsrace.invariants import StateInvariant
        class FirstNeverPicks(StateInvariant):
            name = "first-never-picks"
            symmetric = False
            def holds(self, model, state):
                return state.enactors[0].held == 0
        """)
    code, out, _ = run(capsys, "check", "-n", "2", "-p", "2", "--property",
                       f"{path}:FirstNeverPicks")
    assert code == 1 and "(symmetry reduction off)" in out
    assert "enactor-1  " in out  # the counterexample moves enactor-1 itself


def test_loading_without_a_class_name_picks_the_only_property(tmp_path):
    with pytest.raises(PropertyLoadError, match="defines 0 property classes"):
        load_property(write(tmp_path, "x = 1"), PROPERTIES)
    assert load_property(EXAMPLE, PROPERTIES).name == "bounded-staleness"
