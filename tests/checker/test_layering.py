"""Engines know nothing of DNS: they import neither the model nor the properties; and only
one module talks to z3."""

import ast
import pathlib
import re

import pytest

import dnsrace.checker

ROOT = pathlib.Path(dnsrace.checker.__file__).parent
ENGINE_MODULES = ["bfs.py", "graph.py", "paths.py", "result.py", "limits.py",  # object BFS
                  "vector.py", "engines.py", "parallel.py",  # packed / parallel engines
                  "zones.py", "timed.py", "z3timing.py", "synthesis.py"]  # timing


@pytest.mark.parametrize("name", ENGINE_MODULES)
def test_engines_do_not_import_the_dns_model(name):
    tree = ast.parse((ROOT / name).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            assert "model" not in mod and "invariants" not in mod, (name, mod)
        if isinstance(node, ast.Import):
            assert not any("dnsrace" in a.name for a in node.names), name


def test_only_z3timing_talks_to_z3():
    for path in ROOT.rglob("*.py"):
        if path.name != "z3timing.py":
            assert not re.search(r"^\s*(import z3\b|from z3\b)", path.read_text(), re.M), path
