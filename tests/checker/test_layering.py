"""Engines know nothing of DNS: they import neither the model nor the properties."""

import ast
import pathlib

import dnsrace.checker

ENGINE_MODULES = ["bfs.py", "graph.py", "paths.py", "result.py"]


def test_engines_do_not_import_the_dns_model():
    root = pathlib.Path(dnsrace.checker.__file__).parent
    for name in ENGINE_MODULES:
        tree = ast.parse((root / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                mod = node.module or ""
                assert "model" not in mod and "invariants" not in mod, (name, mod)
            if isinstance(node, ast.Import):
                assert not any("dnsrace" in a.name for a in node.names), name
