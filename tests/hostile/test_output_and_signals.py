"""Rows 2, 3, 15, 17, 18, 23: a closed pipe keeps the verdict's exit code, a full disk is one
line, and Ctrl-C, SIGTERM and --max-seconds (even inside a stuck user step) end the whole
command with what it has: exit 3 (or 1 when a real violation was already found)."""

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from dnsrace.checker.cli import main
from dnsrace.checker.traces import gallery as gallery_module

from .helpers import SMALL, one_line_error, run, spawn


class _Failing:
    """A stdout whose writes fail with ``errno``."""

    encoding, errors = "utf-8", "strict"

    def __init__(self, code):
        self.code = code

    def write(self, text):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe") if self.code == errno.EPIPE \
            else OSError(self.code, os.strerror(self.code))

    def flush(self):
        pass

    def isatty(self):
        return False


@pytest.mark.parametrize("args, verdict", [(["check", "--protocol", "cas"], 0),
                                           (["check"], 1),
                                           (["compare", "--protocols", "cas"], 0),
                                           (["replay", "traces/n3-p4-e3-k1-original-monotonic.json"], 0)])
def test_a_closed_pipe_keeps_the_verdict(monkeypatch, capsys, args, verdict):
    monkeypatch.chdir(os.path.dirname(__file__) + "/../..")
    monkeypatch.setattr(sys, "stdout", _Failing(errno.EPIPE))
    assert main([*args, *SMALL] if args[0] != "replay" else args) == verdict
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("args", [["check"], ["check", "--json"], ["compare"]])
def test_a_full_disk_on_stdout_is_one_line_exit_2(monkeypatch, capsys, args):
    monkeypatch.setattr(sys, "stdout", _Failing(errno.ENOSPC))
    assert main([*args, *SMALL]) == 2
    assert one_line_error(capsys.readouterr().err, "cannot write to standard output",
                          "No space left on device")


def test_head_closing_the_pipe_is_no_traceback_and_keeps_the_exit_code():
    child = spawn("check", "--protocol", "cas", *SMALL)
    child.stdout.close()  # the reader goes away before dnsrace prints
    assert child.wait(timeout=120) == 0
    assert child.stderr.read() == ""


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_dev_full_is_one_line_exit_2():
    with open("/dev/full", "w") as full:
        child = spawn("check", "--json", *SMALL, stdout=full)
        assert child.wait(timeout=120) == 2
    assert one_line_error(child.stderr.read(), "No space left on device")


SLOW = '''
import os, time
from dnsrace.model import Original

class Slow(Original):
    """Original, with a cleanup step that takes a while; the first one leaves a marker, so
    a test knows the run is exploring."""
    name = "slow"

    def cleanup(self, c, s, i):
        mark = os.environ["DNSRACE_TEST_MARK"]
        if not os.path.exists(mark):
            open(mark, "w").close()
        time.sleep(0.02)
        return super().cleanup(c, s, i)
'''


def _start_slow(tmp_path, *args):
    (tmp_path / "slow.py").write_text(SLOW)
    mark = tmp_path / "exploring"
    env = {**os.environ, "DNSRACE_TEST_MARK": str(mark), "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen([sys.executable, "-m", "dnsrace.checker.cli", *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=tmp_path, env=env)
    for _ in range(1200):
        if mark.exists() or child.poll() is not None:
            break
        time.sleep(0.05)
    assert mark.exists(), child.communicate()
    return child


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_gives_the_partial_json_and_exit_3(tmp_path, sig):
    child = _start_slow(tmp_path, "check", "--protocol", "slow.py", "--property",
                        "no-dangling", "--json", "-n", "3", "-p", "4", "-e", "3")
    child.send_signal(sig)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 3, err
    doc = json.loads(out)
    assert doc["verdict"] == "incomplete" and doc["stats"]["stop_reason"] == "interrupted"
    assert "Traceback" not in err


def test_one_ctrl_c_ends_the_whole_compare_with_the_partial_table(tmp_path):
    child = _start_slow(tmp_path, "compare", "--protocols", "slow.py,original,cas", "--json",
                        "--property", "no-dangling", "-n", "3", "-p", "4", "-e", "3")
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 3
    doc = json.loads(out)
    assert [r["protocol"] for r in doc["runs"]] == ["slow"]  # original and cas never started
    assert one_line_error(err, "interrupted after 1 of 3 runs")


def _has_workers(pid: int) -> bool:
    try:
        return any(open(f"/proc/{pid}/task/{t}/children", encoding="ascii").read().split()
                   for t in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return False


def test_sigterm_with_workers_gives_partial_results_without_tracebacks():
    child = spawn("check", "-n", "5", "-p", "8", "--workers", "2", "--json", "--continue",
                  "--property", "no-dangling")
    time.sleep(3)  # well inside a run of minutes
    if os.path.isdir("/proc/self/task"):  # and (on a loaded machine, later) once it has workers
        deadline = time.monotonic() + 60
        while not _has_workers(child.pid) and child.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _has_workers(child.pid), "no worker process was forked"
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    doc = json.loads(out)
    assert doc["stats"]["stop_reason"] == "interrupted" and child.returncode in (1, 3)


STUCK = '''
from dnsrace.model import Original

class Stuck(Original):
    name = "stuck"

    def cleanup(self, c, s, i):
        while True:
            pass
'''


def test_max_seconds_stops_a_user_step_stuck_in_a_loop(tmp_path):
    (tmp_path / "stuck.py").write_text(STUCK)
    # the default (derived vector) engine: the partial result, stopped by the time limit
    child = spawn("check", "--protocol", "stuck.py", "--max-seconds", "1", cwd=tmp_path)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 3 and err == ""
    assert "Stopped early: time limit 1 s reached; the counts are partial." in out
    assert "no-dangling  incomplete" in out
    # the object engine, stuck again while building its result: one line
    child = spawn("check", "--engine", "object", "--protocol", "stuck.py", "--max-seconds",
                  "1", cwd=tmp_path)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 3
    assert one_line_error(err, "time limit 1 s reached")


def test_an_interrupted_gallery_writes_nothing_and_exits_3(capsys, tmp_path, monkeypatch):
    calls = []
    real = gallery_module.run

    def interrupted_second(model, properties, options, **kw):
        calls.append(model.protocol.name)
        result, info = real(model, properties, options, **kw)
        if len(calls) == 2:  # what the engines return when Ctrl-C lands inside them
            result.stats.stop_reason = "interrupted"
        return result, info

    monkeypatch.setattr(gallery_module, "run", interrupted_second)
    code, out, err = run(capsys, "gallery", tmp_path / "g")
    assert code == 3 and out == ""
    assert one_line_error(err, "interrupted", "no file was written")
    assert not (tmp_path / "g").exists() or not list((tmp_path / "g").iterdir())
