"""User protocols: the README's walked-through example, both spellings, and every way a
protocol file can be wrong (one line naming the file and the problem, exit 2)."""

import pathlib
import textwrap

import pytest

from dnsrace.checker import Options, explore
from dnsrace.checker.cli import main
from dnsrace.invariants import resolve_properties
from dnsrace.model import (PROTOCOLS, Config, DnsSystem, ProtocolLoadError, ProtocolStepError,
                           load_protocol, resolve_protocol)

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "verify_then_cleanup.py"


def test_the_readme_example_is_20_to_40_lines_and_loads_by_path():
    assert 20 <= len(EXAMPLE.read_text().splitlines()) <= 40
    p = load_protocol(f"{EXAMPLE}:VerifyThenCleanup")
    assert p.name == "verify-then-cleanup"
    assert p.phase_name(p.pc(Config(), "verify"), Config()) == "verify"


def test_the_readme_example_fails_as_the_walkthrough_says():
    m = DnsSystem(Config(), resolve_protocol(f"{EXAMPLE}:VerifyThenCleanup"))
    r = explore(m, resolve_properties(["no-dangling"]), Options())
    trace = r.properties["no-dangling"].trace
    assert [a.kind for a in trace.actions] == [
        "plan", "pick", "plan", "plan", "pick", "write", "write", "write", "verify", "write",
        "cleanup"]
    # the verify passed, then the stale write slipped in before the cleanup
    assert trace.states[-2].dns == (1, 3, 3) and trace.states[-1].store == frozenset({2, 3})


def test_the_readme_example_on_the_command_line(capsys):
    code = main(["check", "-n", "2", "-p", "3", "--property", "no-dangling",
                 "--protocol", f"{EXAMPLE}:VerifyThenCleanup"])
    out = capsys.readouterr().out
    assert code == 1
    assert "protocol verify-then-cleanup" in out
    assert "re-reads every record: all still serve its plan" in out


def test_a_file_with_one_protocol_needs_no_class_name():
    assert load_protocol(str(EXAMPLE)).name == "verify-then-cleanup"


def test_package_module_spelling(tmp_path, monkeypatch):
    pkg = tmp_path / "myfixes"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "locks.py").write_text(textwrap.dedent("""
        from dnsrace.model import Cas

        class StrictCas(Cas):
            summary = "cas under another name"
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    p = load_protocol("myfixes.locks:StrictCas")
    assert p.name == "StrictCas"  # no own name: the class name, never the parent's "cas"
    r = explore(DnsSystem(Config(enactors=2, plans=3), p), resolve_properties(), Options())
    assert r.verdict == "holds"


def test_shipped_names_still_resolve_and_a_typo_lists_them():
    assert set(PROTOCOLS) >= {"original", "recheck", "cas", "guarded", "cas+guarded", "lease",
                              "lease+fencing", "safe-delete", "safe-delete-2step"}
    assert load_protocol("dnsrace.model.variants:Lease").name == "lease"


BAD = {
    "syntax.py": ("def broken(:\n", "X", "syntax.py: syntax error at line 1"),
    "imports.py": ("import no_such_module_anywhere\n", "X",
                   "ModuleNotFoundError: No module named 'no_such_module_anywhere' (imports.py line 1"),
    "raises.py": ("raise RuntimeError('half-written')\n", "X",
                  "RuntimeError: half-written (raises.py line 1"),
    "noattr.py": ("from dnsrace.model import Original\nclass Mine(Original):\n    pass\n",
                  "Yours", "defines no 'Yours' (protocol classes there: Mine)"),
    "notproto.py": ("def Mine():\n    pass\n", "Mine", "Mine is not a protocol but an object of type function"),
    "otherclass.py": ("class Mine:\n    pass\n", "Mine", "Mine is not a protocol but another class"),
    "init.py": ("from dnsrace.model import Original\nclass Mine(Original):\n"
                "    def __init__(self):\n        raise ValueError('no config')\n",
                "Mine", "Mine() failed: ValueError: no config (init.py line 4"),
    "phase.py": ("from dnsrace.model import Original\nclass Mine(Original):\n"
                 "    phases = ('verify',)\n",
                 "Mine", "declares phase 'verify' but has no method verify(self, c, s, i)"),
    "shape.py": ("from dnsrace.model import Original\nclass Mine(Original):\n"
                 "    def planner_steps(self, c, s):\n        return [s]\n",
                 "Mine", "steps must return (action, next_state) pairs"),
    "kinds.py": ("from dnsrace.model import Original\nclass Mine(Original):\n"
                 "    action_classes = ('write',)\n",
                 "Mine", "action_classes must list Action subclasses"),
}


@pytest.mark.parametrize("filename", sorted(BAD))
def test_bad_protocol_files_get_one_line_and_exit_2(tmp_path, monkeypatch, capsys, filename):
    source, attr, message = BAD[filename]
    (tmp_path / filename).write_text(source)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProtocolLoadError, match=None) as err:
        load_protocol(f"{filename}:{attr}")
    assert message in str(err.value)
    assert "\n" not in str(err.value) and str(err.value).startswith(f"protocol file {filename}: ")
    assert main(["check", "--protocol", f"{filename}:{attr}"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and filename in lines[0] and message in lines[0]


def test_missing_file_and_missing_module(capsys):
    assert main(["check", "--protocol", "no/such/file.py:Fix"]) == 2
    assert capsys.readouterr().err.strip() == \
        "dnsrace: error: protocol file no/such/file.py: no such file"
    assert main(["check", "--protocol", "no_such_pkg.fixes:Fix"]) == 2
    err = capsys.readouterr().err.strip()
    assert "module no_such_pkg.fixes: cannot import it" in err and "\n" not in err


def test_a_step_raising_during_exploration_is_the_users_bug_exit_2(tmp_path, capsys):
    f = tmp_path / "buggy.py"
    f.write_text("from dnsrace.model import Original\nclass Buggy(Original):\n"
                 "    def cleanup(self, c, s, i):\n        return 1 / 0\n")
    with pytest.raises(ProtocolStepError, match=r"raised ZeroDivisionError.*in cleanup\(\) at "
                                                r"buggy.py line 4, from state gen=1"):
        explore(DnsSystem(Config(2, 2, 1), load_protocol(f"{f}:Buggy")), resolve_properties(),
                Options())
    assert main(["check", "-n", "2", "-p", "2", "-e", "1", "--protocol", f"{f}:Buggy"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dnsrace: error: protocol 'Buggy'") and "\n" not in err
    assert "Traceback" not in err and "internal error" not in err


def test_the_readme_walkthrough_quotes_the_example_file():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("<!-- section: protocols -->")[1].split("<!-- /section: protocols -->")[0]
    code = section.split("```python")[1].split("```")[0]
    source = {line.split("#")[0].strip() for line in EXAMPLE.read_text().splitlines()}
    for line in code.splitlines():
        assert line.split("#")[0].strip() in source, line
