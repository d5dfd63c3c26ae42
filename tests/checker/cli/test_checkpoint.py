"""`dnsrace check --checkpoint FILE` / `--resume FILE`: a run stopped by a limit, Ctrl-C,
SIGTERM or kill -9 and resumed prints exactly the JSON of an uninterrupted run (timing
aside); a checkpoint of another run, or a file that is not one, is one line, exit 2."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dnsrace.checker.cli import main
from dnsrace.checker.explore.checkpoint import CheckpointError, read_header

EXAMPLE = str(Path(__file__).resolve().parents[3] / "examples" / "verify_then_cleanup.py")


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def result_of(out):
    """A --json document without timing and without the command line that produced it."""
    doc = json.loads(out)
    doc.pop("dnsrace")
    for key in ("seconds", "states_per_second"):
        doc["stats"].pop(key)
    return doc


SMALL = {"original": ["--plans", "3"], "cas": [], "recheck": ["--plans", "3", "--endpoints", "2"],
         "user": ["--protocol", f"{EXAMPLE}:VerifyThenCleanup", "--plans", "3"]}


def _args(name):
    return ["--protocol", name] + SMALL[name] if name != "user" else SMALL[name]


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(SMALL)), limit=st.integers(1, 6000),
       extra=st.sampled_from([[], ["--no-por"], ["--no-reduction"]]))
def test_a_state_limit_stop_resumes_to_the_uninterrupted_json(capsys, tmp_path_factory, name,
                                                             limit, extra):
    path = tmp_path_factory.mktemp("ck") / "run.ckpt"
    args = ["check", "--json"] + _args(name) + extra
    code, out, _ = run(capsys, *args)
    want = (code, result_of(out))
    code, out, err = run(capsys, *args, "--max-states", limit, "--checkpoint", path,
                         "--checkpoint-every", "0")
    if json.loads(out)["stats"]["exhausted"]:
        return  # the limit was above the state count: nothing to resume
    assert "Resume: dnsrace check" in err and f"--resume {path}" in err
    assert "--max-states" not in err.splitlines()[-1]  # the limit that stopped it is dropped
    code, out, err = run(capsys, *args, "--resume", path)
    assert (code, result_of(out)) == want


def test_the_stderr_hint_is_a_command_that_resumes(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "check", "--protocol", "cas", "--max-states", "3000",
                         "--checkpoint", "cas.ckpt")
    assert code == 3
    hint = err.strip().splitlines()
    assert hint[-2].startswith("Checkpoint: cas.ckpt (depth ")
    assert hint[-1] == "Resume: dnsrace check --protocol cas --resume cas.ckpt"
    code, out, err = run(capsys, *hint[-1].split()[2:])
    assert code == 0, err
    assert err.startswith("Resuming cas.ckpt: depth ")
    assert "holds" in out and "Resume" not in err


def test_a_depth_limit_stop_resumes_and_the_reduction_must_match(capsys, tmp_path):
    path = tmp_path / "d.ckpt"
    base = ["check", "--json", "--protocol", "original", "--plans", "3"]
    code, out, _ = run(capsys, *base, "--max-depth", "5", "--checkpoint", path)
    assert code == 3
    code, _, err = run(capsys, *base, "--resume", path)  # --max-depth turned the POR off
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "partial-order reduction off and this run has it on" in err
    code, out, _ = run(capsys, *base, "--no-por", "--resume", path)
    assert code == 2  # --no-por is part of the run's identity: it was not given then
    path.unlink()
    run(capsys, *base, "--no-por", "--max-depth", "5", "--checkpoint", path)
    code, out, _ = run(capsys, *base, "--no-por", "--resume", path)
    want = run(capsys, *base, "--no-por")
    assert (code, result_of(out)) == (want[0], result_of(want[1]))


def _checkpoint(capsys, path, *args):
    run(capsys, "check", "--protocol", "cas", "--max-states", "2000", "--checkpoint", path,
        *args)
    assert path.exists()


@pytest.mark.parametrize("change, named", [
    (["--plans", "5"], "--plans is 4 there and 5 here"),
    (["--protocol", "original"], "--protocol is cas there and original here"),
    (["--property", "no-dangling"], "--property is no-dangling,monotonic,recoverable there "
                                    "and no-dangling here"),
    (["--no-reduction"], "--no-reduction is false there and true here"),
    (["--continue"], "--continue is false there and true here"),
])
def test_a_checkpoint_of_another_run_is_refused_naming_the_difference(capsys, tmp_path, change,
                                                                     named):
    path = tmp_path / "c.ckpt"
    _checkpoint(capsys, path)
    args = ["check", "--protocol", "cas", "--resume", path]
    code, out, err = run(capsys, *(args[:1] + change + args[1:] if "--protocol" not in change
                                   else ["check", "--resume", path] + change))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and named in err and str(path) in err


def test_a_changed_protocol_file_is_refused(capsys, tmp_path):
    mine = tmp_path / "fix.py"
    shutil.copy(EXAMPLE, mine)
    path = tmp_path / "c.ckpt"
    args = ["check", "--protocol", f"{mine}:VerifyThenCleanup", "--plans", "3"]
    run(capsys, *args, "--max-states", "500", "--checkpoint", path)
    mine.write_text(mine.read_text() + "\n# edited\n")
    code, _, err = run(capsys, *args, "--resume", path)
    assert code == 2 and err.count("\n") == 1 and "protocol source sha256 is" in err


def test_a_user_protocol_resumes_from_another_path(capsys, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    shutil.copy(EXAMPLE, first / "fix.py")
    shutil.copy(EXAMPLE, second / "fix.py")  # same content, another module name
    path = tmp_path / "c.ckpt"
    args = ["check", "--json", "--plans", "3", "--protocol"]
    code, out, _ = run(capsys, *args, f"{second}/fix.py:VerifyThenCleanup")
    want = (code, result_of(out))
    run(capsys, *args, f"{first}/fix.py:VerifyThenCleanup", "--max-states", "800",
        "--checkpoint", path)
    code, out, _ = run(capsys, *args, f"{second}/fix.py:VerifyThenCleanup", "--resume", path)
    assert (code, result_of(out)) == want


@pytest.mark.parametrize("content", [b"", b"garbage\n" * 10, b"dnsrace-checkpoint 1\n{}\n",
                                     b"dnsrace-checkpoint 7\n", "truncated"])
def test_files_that_are_not_checkpoints_are_one_line(capsys, tmp_path, content):
    path = tmp_path / "c.ckpt"
    if content == "truncated":
        _checkpoint(capsys, path)
        data = path.read_bytes()
        path.write_bytes(data[:len(data) - 1000])
    else:
        path.write_bytes(content)
    code, out, err = run(capsys, "check", "--protocol", "cas", "--resume", path)
    assert code == 2 and out == "" and err.count("\n") == 1 and str(path) in err


def test_an_existing_file_needs_force_and_a_folder_is_refused(capsys, tmp_path):
    mine = tmp_path / "notes.txt"
    mine.write_text("keep me")
    code, _, err = run(capsys, "check", "--protocol", "cas", "--checkpoint", mine)
    assert code == 2 and "already exists" in err and "--force" in err
    assert mine.read_text() == "keep me"
    code, _, err = run(capsys, "check", "--protocol", "cas", "--checkpoint", mine, "--force",
                       "--checkpoint-every", "0")
    assert code == 0 and read_header(mine)["identity"]["--protocol"] == "cas"
    code, _, err = run(capsys, "check", "--protocol", "cas", "--checkpoint", mine)
    assert code == 2 and "a checkpoint (depth" in err and f"--resume {mine}" in err
    code, _, err = run(capsys, "check", "--protocol", "cas", "--checkpoint", tmp_path / "no" / "c")
    assert code == 2 and "does not exist" in err


@pytest.mark.parametrize("args, named", [
    (["--engine", "object"], "need the vector engine"),
    (["--timing"], "not to --timing"),
    (["--cluster", "ray"], "--cluster cannot save its search"),
])
def test_engines_that_cannot_checkpoint_refuse_in_one_line(capsys, tmp_path, args, named):
    code, out, err = run(capsys, "check", "--protocol", "cas", "--checkpoint",
                         tmp_path / "c", *args)
    assert code == 2 and err.count("\n") == 1 and named in err
    assert not (tmp_path / "c").exists()


def test_option_mistakes_are_one_line(capsys, tmp_path):
    for args, named in ((["--checkpoint-every", "5"], "--checkpoint-every only applies"),
                        (["--checkpoint", tmp_path / "c", "--checkpoint-every", "nan"],
                         "not a finite number"),
                        (["--checkpoint", ""], "empty")):
        code, _, err = run(capsys, "check", "--protocol", "cas", *args)
        assert code == 2 and err.count("\n") == 1 and named in err, args


def test_another_dnsrace_version_is_refused(capsys, tmp_path, monkeypatch):
    path = tmp_path / "c.ckpt"
    _checkpoint(capsys, path)
    import dnsrace.checker.cli.checkpoint as cli_ckpt
    monkeypatch.setattr(cli_ckpt, "dnsrace_version", lambda: "99.0")
    code, _, err = run(capsys, "check", "--protocol", "cas", "--resume", path)
    assert code == 2 and "was written by dnsrace" in err and "this is dnsrace 99.0" in err


def test_trace_files_of_a_resumed_run_are_byte_identical(capsys, tmp_path):
    path = tmp_path / "c.ckpt"
    base = ["check", "--protocol", "original", "--plans", "3", "--format", "json,itf"]
    run(capsys, *base, "--export", tmp_path / "plain")
    run(capsys, *base, "--max-states", "700", "--checkpoint", path, "--export", tmp_path / "x")
    shutil.rmtree(tmp_path / "x", ignore_errors=True)
    run(capsys, *base, "--resume", path, "--export", tmp_path / "resumed")
    names = sorted(os.listdir(tmp_path / "plain"))
    assert names == sorted(os.listdir(tmp_path / "resumed")) and names
    for n in names:
        assert (tmp_path / "plain" / n).read_bytes() == (tmp_path / "resumed" / n).read_bytes()


# -- a real process, real signals ------------------------------------------------------------

SLOW = '''
import time
from dnsrace.model import Cas

class SlowCas(Cas):
    """cas, with each write taking 2 ms to compute: a run of a few seconds."""
    name = "slow-cas"

    def write(self, c, s, i, k):
        time.sleep(0.002)
        return super().write(c, s, i, k)
'''


def _start(tmp_path, *args):
    (tmp_path / "slow.py").write_text(SLOW)
    cmd = [sys.executable, "-m", "dnsrace.checker.cli", "check", "--json", "--protocol",
           "slow.py:SlowCas", *args]
    return subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _wait_for_checkpoint(proc, path, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            return read_header(path)
        except CheckpointError:
            if proc.poll() is not None:
                pytest.fail(f"the run ended before its first checkpoint: {proc.stderr.read()}")
            time.sleep(0.02)
    pytest.fail("no checkpoint appeared")


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_a_killed_or_interrupted_process_resumes_to_the_same_json(tmp_path, how):
    plain = _start(tmp_path)
    want_out, _ = plain.communicate(timeout=120)
    assert plain.returncode == 0
    path = tmp_path / "run.ckpt"
    proc = _start(tmp_path, "--checkpoint", "run.ckpt", "--checkpoint-every", "0")
    _wait_for_checkpoint(proc, path)
    proc.send_signal(how)
    out, err = proc.communicate(timeout=120)
    if how == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 3, err
        assert json.loads(out)["stats"]["stop_reason"] == "interrupted"
        assert ("Resume: dnsrace check --json --protocol slow.py:SlowCas --checkpoint-every 0 "
                "--resume run.ckpt") in err
        assert "Traceback" not in err
        assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    again = _start(tmp_path, "--resume", "run.ckpt")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert result_of(out) == result_of(want_out)
