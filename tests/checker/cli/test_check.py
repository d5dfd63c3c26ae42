"""`dnsrace check` end to end, in process: exit codes, output, bad input."""

import json
import os
import subprocess
import sys

import click
import pytest

from dnsrace.checker.cli import cli, main


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_default_check_finds_the_incident(capsys):
    code, out, err = run(capsys, "check", "--enactors", "3", "--plans", "4")
    assert code == 1
    assert "no-dangling  VIOLATED  (shortest counterexample: 10 steps)" in out
    assert (">>  10  enactor-2         1    3    3  {2, 3}      cleans up after plan 3: deletes "
            "plan 1\n" + " " * 51 + "(older than 2)\n") in out
    assert "writes plan 1 to endpoint regional,\n" + " " * 51 + \
        "replacing plan 3  << stale overwrite\n" in out
    assert max(len(line) for line in out.splitlines() if "{" in line) <= 100
    assert "Violation: endpoint regional serves plan 1, which cleanup deleted" in out
    assert "Statistics: 22,966 states (after symmetry reduction), 64,625 transitions" in out
    assert err == ""


def test_the_patch_holds(capsys):
    code, out, _ = run(capsys, "check", "--protocol", "cas")
    assert code == 0
    assert out.count("holds") == 3 and "Counterexample" not in out


def test_json_document(capsys):
    code, out, _ = run(capsys, "check", "--json", "--no-reduction", "--protocol", "original",
                       "--property", "no-dangling", "--property", "monotonic", "--continue")
    assert code == 1
    doc = json.loads(out)
    assert doc["format"] == "dnsrace-check/1"
    assert doc["config"] == {"enactors": 3, "plans": 4, "endpoints": 3, "keep": 1,
                             "protocol": "original"}
    assert doc["verdict"] == "violated"
    assert list(doc["properties"]) == ["no-dangling", "monotonic"]
    trace = doc["properties"]["no-dangling"]["trace"]
    assert trace["length"] == 10 and len(trace["steps"]) == 11
    assert trace["steps"][10]["action"] == {"kind": "cleanup", "enactor": 1}
    assert trace["steps"][10]["state"]["store"] == [2, 3]
    assert doc["stats"]["states"] == 118_763 and doc["stats"]["transitions"] == 336_785
    assert doc["stats"]["exhausted"] is True


def test_json_holds_has_null_traces(capsys):
    code, out, _ = run(capsys, "check", "--json", "--protocol", "cas", "--plans", "2")
    doc = json.loads(out)
    assert code == 0 and doc["verdict"] == "holds"
    assert all(p == {"kind": p["kind"], "status": "holds", "trace": None}
               for p in doc["properties"].values())


def test_quiet_prints_nothing(capsys):
    code, out, err = run(capsys, "check", "--quiet", "--plans", "2")
    assert code == 1 and out == "" and err == ""


def test_limit_gives_exit_3_and_partial_stats(capsys):
    code, out, _ = run(capsys, "check", "--protocol", "cas", "--max-states", "50")
    assert code == 3
    assert "incomplete" in out and "Stopped early: state limit 50 reached" in out


def test_output_is_byte_for_byte_deterministic(capsys):
    a = run(capsys, "check", "--plans", "3", "--json")[1]
    b = run(capsys, "check", "--plans", "3", "--json")[1]
    strip = lambda s: {k: v for k, v in json.loads(s).items() if k != "stats"}
    assert strip(a) == strip(b)


@pytest.mark.parametrize("args, fragment", [
    (["--enactors", "0"], "--enactors must be at least 1"),
    (["--plans", "-3"], "--plans must be at least 1"),
    (["--endpoints", "0"], "--endpoints must be at least 1"),
    (["--keep", "-1"], "--keep must be a whole number >= 0"),
    (["--enactors", "abc"], "'abc' is not a valid integer"),
    (["--protocol", "fencing"], "unknown protocol 'fencing' (valid: original, recheck, cas"),
    (["--property", "liveness"], "unknown property 'liveness' (valid: no-dangling, monotonic"),
    (["--enactors", "9", "--plans", "20", "--endpoints", "8"], "too large to explore"),
    (["--max-states", "0"], "--max-states"),
    (["--bogus"], "No such option"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, args, fragment):
    code, out, err = run(capsys, "check", *args)
    assert code == 2
    assert out == ""
    assert fragment in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_too_large_suggests_max_states(capsys):
    _, _, err = run(capsys, "check", "--enactors", "12", "--plans", "30")
    assert "--max-states" in err


def test_an_internal_error_exits_4_with_a_traceback(capsys, monkeypatch):
    import importlib

    check_module = importlib.import_module("dnsrace.checker.cli.check")

    def boom(*a, **k):
        raise RuntimeError("engine bug")

    monkeypatch.setattr(check_module, "run_check", boom)
    code, out, err = run(capsys, "check")
    assert code == 4
    assert "Traceback" in err and "engine bug" in err and "internal error" in err


def test_interrupt_prints_partial_result_and_exits_3(capsys, monkeypatch):
    from dnsrace.model import system

    real = system.DnsSystem.successors
    calls = {"n": 0}

    def flaky(self, state):
        calls["n"] += 1
        if calls["n"] == 200:
            raise KeyboardInterrupt
        return real(self, state)

    monkeypatch.setattr(system.DnsSystem, "successors", flaky)
    code, out, _ = run(capsys, "check", "--protocol", "cas", "--engine", "object")
    assert code == 3
    assert "Stopped early: interrupted" in out


def test_every_command_has_help_text():
    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == ["check", "delays", "compare", "replay", "show", "gallery",
                                      "simulate", "drive", "prove"]
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command.help and command.help.strip(), name
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.name}"


def test_console_script_runs(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "dnsrace.checker.cli", "check", "--plans", "2",
                           "--quiet"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "dnsrace.checker.cli", "check", "--plans", "0"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith("dnsrace: error:")


def test_max_depth_bounds_the_search_and_says_so(capsys):
    code, out, _ = run(capsys, "check", "--max-depth", "8")
    assert code == 1  # monotonic is violated within 8 steps; that verdict is final
    assert "monotonic    VIOLATED" in out and "no-dangling  incomplete" in out
    assert "Stopped early: depth limit 8 reached" in out
    assert "Every state up to depth 8 was explored and checked" in out
    code, out, _ = run(capsys, "check", "--protocol", "cas", "--max-depth", "8", "--json")
    doc = json.loads(out)
    assert code == 3 and doc["verdict"] == "incomplete" and doc["stats"]["depth"] == 8
    assert doc["stats"]["stop_reason"] == "depth limit 8 reached"
    assert doc["stats"]["reductions"] == ["symmetry"]  # no partial-order reduction under it
    code, _, err = run(capsys, "check", "--max-depth", "8", "--timing")
    assert code == 2 and "--max-depth" in err


# -- --spill DIR and --memory SIZE (checker/explore/edges.py) ---------------------------------

def _doc(capsys, *args):
    code, out, err = run(capsys, "check", "-n", "3", "-p", "4", "--json", *args)
    doc = json.loads(out)
    return code, doc, err


@pytest.mark.parametrize("protocol", ["original", "cas", "examples/verify_then_cleanup.py:"
                                      "VerifyThenCleanup"])
def test_spill_and_memory_give_the_same_document(capsys, tmp_path, protocol):
    base = ("--protocol", protocol)
    code, plain, _ = _doc(capsys, *base)
    code_s, spilled, err = _doc(capsys, *base, "--spill", str(tmp_path))
    code_m, budget, _ = _doc(capsys, *base, "--memory", "200M", "--spill", str(tmp_path))
    assert code == code_s == code_m and err == ""
    for doc in (spilled, budget):
        assert doc["stats"] | {"seconds": 0, "states_per_second": 0} == \
            plain["stats"] | {"seconds": 0, "states_per_second": 0}
        assert doc["properties"] == plain["properties"]
    assert spilled["engine"]["spill"]["folder"] == str(tmp_path)
    assert budget["engine"]["spill"] is None and plain["engine"]["spill"] is None
    assert os.listdir(tmp_path) == []


def test_a_small_budget_stops_incomplete_naming_it(capsys, tmp_path):
    # (64K sufficed before the visited set could move to disk: it now completes, below)
    code, doc, _ = _doc(capsys, "--protocol", "cas", "--memory", "16K", "--spill", str(tmp_path))
    assert code == 3 and doc["verdict"] == "incomplete"
    assert doc["stats"]["stop_reason"].startswith("memory budget 16K reached")
    assert os.listdir(tmp_path) == []


def test_a_budget_the_visited_set_outgrows_still_completes(capsys, tmp_path):
    code, plain, _ = _doc(capsys, "--protocol", "cas")
    code_m, doc, _ = _doc(capsys, "--protocol", "cas", "--memory", "64K", "--spill",
                          str(tmp_path))
    assert code == code_m == 0 and doc["properties"] == plain["properties"]
    assert doc["stats"] | {"seconds": 0, "states_per_second": 0} == \
        plain["stats"] | {"seconds": 0, "states_per_second": 0}
    assert doc["engine"]["spill"]["visited_on_disk"] > 0
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("args, words", [
    (["--spill", "{tmp}/missing"], ["--spill", "no such folder"]),
    (["--spill", "{tmp}/file"], ["--spill", "not a folder"]),
    (["--spill", ""], ["--spill", "empty"]),
    (["--memory", "4"], ["--memory", "not a size"]),
    (["--memory", "-2G"], ["--memory", "not a size"]),
    (["--memory", "0M"], ["--memory", "positive"]),
    (["--memory", "lots"], ["--memory"]),
    (["--spill", "{tmp}", "--checkpoint", "{tmp}/c.ckpt"], ["--spill", "--checkpoint"]),
    (["--memory", "1G", "--resume", "{tmp}/c.ckpt"], ["--memory", "--resume"]),
    (["--spill", "{tmp}", "--engine", "object"], ["--spill", "vector engine"]),
    (["--memory", "1G", "--cluster", "ray"], ["--memory", "--cluster"]),
    (["--spill", "{tmp}", "--timing"], ["--spill", "--timing"]),
])
def test_bad_spill_and_memory_options_are_one_line(capsys, tmp_path, args, words):
    (tmp_path / "file").write_text("x")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, out, err = run(capsys, "check", "-n", "2", "-p", "2", *args)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and all(w in lines[0] for w in words), err
    assert sorted(os.listdir(tmp_path)) == ["file"]


def test_spill_without_a_graph_property_writes_nothing(capsys, tmp_path):
    code, out, err = run(capsys, "check", "-n", "3", "-p", "4", "--property", "no-dangling",
                         "--spill", str(tmp_path), "--json")
    assert code == 1 and json.loads(out)["engine"]["spill"] is None
    assert os.listdir(tmp_path) == []


def test_spill_with_workers(capsys, tmp_path):
    code, plain, _ = _doc(capsys, "--protocol", "cas", "--workers", "2")
    code_s, spilled, _ = _doc(capsys, "--protocol", "cas", "--workers", "2", "--spill",
                              str(tmp_path))
    assert code == code_s == 0 and spilled["properties"] == plain["properties"]
    assert spilled["stats"]["explored_states"] == plain["stats"]["explored_states"]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("protocol", ["original", "cas"])
def test_the_visited_set_on_disk_gives_the_same_document(capsys, tmp_path, monkeypatch,
                                                         protocol):
    """RAM generations of 64 states: the visited set spills and merges runs every level."""
    from dnsrace.checker.explore import diskvisited

    base = ("--protocol", protocol, "--no-reduction")
    code, plain, _ = _doc(capsys, *base)
    monkeypatch.setattr(diskvisited, "RAM_ENTRIES", 64)
    monkeypatch.setattr(diskvisited, "BLOCK", 8)
    code_s, spilled, err = _doc(capsys, *base, "--spill", str(tmp_path))
    code_m, budget, _ = _doc(capsys, *base, "--memory", "64K", "--spill", str(tmp_path))
    assert code == code_s and err == ""
    assert spilled["engine"]["spill"]["visited_on_disk"] > 0
    assert any("visited set" in n for n in spilled["engine"]["notes"])
    strip = lambda d: {k: v for k, v in d.items() if k not in ("engine", "dnsrace")} | {  # noqa: E731
        "stats": d["stats"] | {"seconds": 0, "states_per_second": 0}}
    assert strip(spilled) == strip(plain)
    # 64 KB: the stored search outgrows 40 KB, so the visited set goes to disk; still too big
    assert budget["engine"]["spill"]["visited_on_disk"] > 0
    assert budget["stats"]["stop_reason"].startswith("memory budget 64K reached")
    assert code_m == (1 if plain["verdict"] == "violated" and budget["verdict"] == "violated"
                      else 3)
    assert os.listdir(tmp_path) == []
