"""Engines know nothing of DNS: the exploration and timing rooms import neither the model nor
the properties; and only one module talks to z3."""

import ast
import pathlib
import re

import pytest

import dnsrace.checker

ROOT = pathlib.Path(dnsrace.checker.__file__).parent
ENGINE_ROOMS = ["explore", "timing"]
ENGINE_MODULES = sorted(str(p.relative_to(ROOT)) for room in ENGINE_ROOMS
                        for p in (ROOT / room).glob("*.py"))
Z3_MODULES = {"timing/z3timing.py", "proof/solver.py"}


def test_rooms_are_found():
    assert "explore/bfs.py" in ENGINE_MODULES and "timing/zones.py" in ENGINE_MODULES


@pytest.mark.parametrize("name", ENGINE_MODULES)
def test_engines_do_not_import_the_dns_model(name):
    tree = ast.parse((ROOT / name).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            assert "model" not in mod and "invariants" not in mod, (name, mod)
            assert not (node.level >= 2 and mod.split(".")[0] in ("traces", "reports", "cli")), \
                (name, mod)
        if isinstance(node, ast.Import):
            assert not any("dnsrace" in a.name for a in node.names), name


def test_only_the_solver_modules_talk_to_z3():
    for path in ROOT.rglob("*.py"):
        if str(path.relative_to(ROOT)) not in Z3_MODULES:
            assert not re.search(r"^\s*(import z3\b|from z3\b)", path.read_text(), re.M), path
