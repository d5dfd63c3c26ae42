"""`dnsrace check --export DIR`: one file per violated property and format, written
atomically, never over an existing file without --force."""

from __future__ import annotations

import os

import pytest

from dnsrace.checker.traces import export as export_module
from dnsrace.checker.cli import main
from dnsrace.checker.traces.export import atomic_write
from dnsrace.checker.traces.formats import FORMATS

SMALL = ["check", "-n", "2", "-p", "3", "-e", "2"]


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_export_writes_every_format_of_every_counterexample(capsys, tmp_path):
    target = tmp_path / "out"
    code, _, err = run(capsys, *SMALL, "--export", target)
    assert code == 1
    assert err == f"Wrote 15 trace files to {target}\n"
    names = sorted(p.name for p in target.iterdir())
    assert len(names) == 15 and "n2-p3-e2-k1-original-monotonic.itf.json" in names
    assert not [n for n in names if n.startswith(".")]  # no temporary files left
    code, _, _ = run(capsys, "replay", target / "n2-p3-e2-k1-original-recoverable.itf.json")
    assert code == 0


def test_export_selected_formats_and_json_output_stays_clean(capsys, tmp_path):
    code, out, err = run(capsys, *SMALL, "--property", "monotonic", "--json",
                         "--export", tmp_path, "--format", "json,mermaid")
    assert code == 1 and out.startswith("{")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "n2-p3-e2-k1-original-monotonic.json", "n2-p3-e2-k1-original-monotonic.md"]


def test_existing_files_are_refused_before_exploring_unless_forced(capsys, tmp_path):
    run(capsys, *SMALL, "--property", "monotonic", "--export", tmp_path, "--format", "json")
    path = tmp_path / "n2-p3-e2-k1-original-monotonic.json"
    path.write_text("mine")
    code, out, err = run(capsys, *SMALL, "--property", "monotonic", "--export", tmp_path,
                         "--format", "json")
    assert code == 2 and out == ""
    assert err == (f"dnsrace: error: {path} already exists; use --force to overwrite\n")
    assert path.read_text() == "mine"
    code, _, _ = run(capsys, *SMALL, "--property", "monotonic", "--export", tmp_path,
                     "--format", "json", "--force")
    assert code == 1 and path.read_text().startswith('{\n  "format": "dnsrace-trace/1"')


def test_an_unknown_format_exits_2(capsys, tmp_path):
    code, _, err = run(capsys, *SMALL, "--export", tmp_path, "--format", "json,png")
    assert code == 2 and err.count("\n") == 1
    assert "--format: unknown format 'png' (valid: json, itf, mermaid, html, dot)" in err


def test_format_without_export_exits_2(capsys):
    code, _, err = run(capsys, *SMALL, "--format", "json")
    assert code == 2 and "--format and --force only apply with --export DIR" in err


def test_export_into_a_file_exits_2(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(capsys, *SMALL, "--export", blocker)
    assert code == 2 and err.count("\n") == 1


def test_a_failing_format_leaves_nothing_written(capsys, tmp_path, monkeypatch):
    def broken(trace, model=None):
        raise RuntimeError("boom")
    monkeypatch.setattr(FORMATS["dot"], "write", broken)
    code, _, err = run(capsys, *SMALL, "--export", tmp_path / "out")
    assert code == 4 and "boom" in err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_atomic_write_replaces_whole_files_and_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    atomic_write(path, "one\n")
    atomic_write(path, "two\n")
    assert path.read_text() == "two\n" and os.listdir(tmp_path) == ["a.txt"]
    assert oct(path.stat().st_mode & 0o777) != oct(0o600)  # not mkstemp's private mode

    def fail(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(export_module.os, "replace", fail)
    with pytest.raises(OSError):
        atomic_write(path, "three\n")
    assert path.read_text() == "two\n" and os.listdir(tmp_path) == ["a.txt"]
