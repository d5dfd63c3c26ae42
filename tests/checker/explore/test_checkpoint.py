"""Checkpoints of the vector engine: a search interrupted at any level and resumed from its
checkpoint gives exactly the uninterrupted result; the file is never torn; foreign, damaged
and hostile files are refused before anything is unpickled."""

import hashlib
import json
import os
import pickle
import signal
import struct

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dnsrace.checker.explore import checkpoint as ckpt
from dnsrace.checker.explore.checkpoint import Checkpointer, CheckpointError, read_header
from dnsrace.checker.explore.engines import EngineOptions, run
from dnsrace.checker.explore.result import Options
from dnsrace.invariants import StateInvariant, resolve_properties
from dnsrace.model import Config, DnsSystem, resolve_protocol
from dnsrace.model.derived import vector_model

IDENTITY = {"--plans": 3, "--protocol": "x"}


def _model(protocol, n, p, e, k):
    return DnsSystem(Config(n, p, e, k), resolve_protocol(protocol))


def _summary(result, info):
    """Everything a run reports except time."""
    stats = dict(vars(result.stats))
    stats.pop("seconds")
    props = {name: (pr.status, pr.explanation,
                    None if pr.trace is None else (pr.trace.states, pr.trace.actions))
             for name, pr in result.properties.items()}
    return result.verdict, props, stats, info.as_dict()


class _StopAt:
    """A reporter that raises KeyboardInterrupt (as Ctrl-C would) at its ``n``-th call."""

    def __init__(self, n):
        self.n, self.calls = n, 0

    def __call__(self, stats, frontier):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt


def _run(model, props, path, options=Options(), reporter=None, resume=None, **engine):
    cp = Checkpointer(path, IDENTITY, "test", every=0.0, resume=resume,
                      force=resume is None and os.path.exists(path))
    result, info = run(model, props, options, reporter, engine=EngineOptions(**engine),
                       vectorize=vector_model, checkpoint=cp)
    return result, info, cp


CASES = [("original", (2, 3, 2, 1)), ("cas", (3, 3, 2, 1)), ("recheck", (2, 3, 2, 0)),
         ("guarded", (2, 3, 2, 1)), ("examples/verify_then_cleanup.py:VerifyThenCleanup",
                                     (2, 3, 2, 1))]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=st.sampled_from(CASES), stop=st.integers(1, 25), por=st.sampled_from([None, False]),
       names=st.sampled_from([(), ("no-dangling",), ("monotonic", "recoverable")]))
def test_an_interrupted_search_resumes_to_the_uninterrupted_result(tmp_path_factory, case,
                                                                   stop, por, names):
    path = tmp_path_factory.mktemp("ck") / "run.ckpt"
    protocol, size = case
    model, props = _model(protocol, *size), resolve_properties(names)
    want = _summary(*run(model, props, engine=EngineOptions(por=por), vectorize=vector_model))
    stopper = _StopAt(stop)
    result, _info, cp = _run(model, props, path, reporter=stopper, por=por)
    if stopper.calls < stop:  # finished before the interruption: nothing to resume
        assert _summary(result, _info) == want
        return
    assert result.stats.stop_reason == "interrupted" and cp.resumable
    assert path.exists()
    again, info, _ = _run(model, props, path, resume=path, por=por)
    assert _summary(again, info) == want


@pytest.mark.parametrize("limit", ["max_states", "max_depth"])
def test_a_limit_stop_resumes_without_the_limit(tmp_path, limit):
    model, props = _model("original", 3, 3, 2, 1), resolve_properties(())
    want = _summary(*run(model, props, engine=EngineOptions(por=False), vectorize=vector_model))
    path = tmp_path / "c"
    options = Options(**{limit: 900 if limit == "max_states" else 6})
    first, _, cp = _run(model, props, path, options, por=False)
    assert not first.stats.exhausted and cp.resumable
    again, info, _ = _run(model, props, path, resume=path, por=False)
    assert _summary(again, info) == want


def test_workers_and_lossy_runs_resume(tmp_path):
    model, props = _model("cas", 3, 3, 3, 1), resolve_properties(("no-dangling",))
    for engine in ({"workers": 2}, {"lossy": "hashcompact"}):
        want = _summary(*run(model, props, engine=EngineOptions(**engine),
                             vectorize=vector_model))
        path = tmp_path / f"c{len(engine)}{sorted(engine)[0]}"
        _run(model, props, path, reporter=_StopAt(6), **engine)
        again, info, _ = _run(model, props, path, resume=path, **engine)
        assert _summary(again, info) == want


class _Crash(BaseException):
    """Stands for the death of the process (nothing catches it)."""


def test_a_crash_between_write_and_rename_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model, props = _model("cas", 3, 3, 2, 1), resolve_properties(("no-dangling",))
    path = tmp_path / "c"
    real, calls = ckpt._replace, []

    def crash(tmp, dst):  # the first write links the file; later ones rename over it
        calls.append(tmp)
        if len(calls) == 3:
            raise _Crash  # the process dies between fsync and rename
        real(tmp, dst)
    monkeypatch.setattr(ckpt, "_replace", crash)
    with pytest.raises(_Crash):
        _run(model, props, path)
    header = read_header(path)  # the checkpoint before, whole
    assert header["search"]["depth"] == 2
    assert sorted(os.listdir(tmp_path)) == ["c"]  # no temporary file left behind
    monkeypatch.setattr(ckpt, "_replace", real)
    want = _summary(*run(model, props, vectorize=vector_model))
    again, info, _ = _run(model, props, path, resume=path)
    assert _summary(again, info) == want


def test_a_full_disk_is_one_line_and_the_previous_checkpoint_stays(tmp_path, monkeypatch):
    model, props = _model("cas", 3, 3, 2, 1), resolve_properties(("no-dangling",))
    path = tmp_path / "c"
    real, calls = ckpt._replace, []

    def full(tmp, dst):
        calls.append(tmp)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(tmp, dst)
    monkeypatch.setattr(ckpt, "_replace", full)
    with pytest.raises(CheckpointError, match="No space left.*previous checkpoint is intact"):
        _run(model, props, path)
    assert read_header(path)["search"]["depth"] == 1
    assert sorted(os.listdir(tmp_path)) == ["c"]


def _rewrite(path, header=None, payload=None):
    """A checkpoint with another header or payload, its digest recomputed (a forgery)."""
    data = path.read_bytes()
    first, rest = data.split(b"\n", 1)
    line, rest = rest.split(b"\n", 1)
    body = rest[:-ckpt._TRAILER.size]
    line = json.dumps(header).encode() if header is not None else line
    body = payload if payload is not None else body
    line += b"\n"
    digest = hashlib.sha256(line + body).digest()
    path.write_bytes(first + b"\n" + line + body + struct.pack(">Q32s", len(body), digest))


def _saved(tmp_path):
    model, props = _model("cas", 2, 2, 1, 1), resolve_properties(("no-dangling",))
    path = tmp_path / "c"
    _run(model, props, path, reporter=_StopAt(2))
    return path, model, props


def test_damaged_truncated_and_foreign_files_are_refused(tmp_path):
    path, model, props = _saved(tmp_path)
    data = path.read_bytes()
    cases = {"truncated": data[:len(data) // 2], "empty": b"", "garbage": os.urandom(4000),
             "flipped": data[:-100] + bytes([data[-100] ^ 1]) + data[-99:],
             "json": b'{"format": "dnsrace-check/1"}\n',
             "header only": data.split(b"\n")[0] + b"\n"}
    for name, content in cases.items():
        bad = tmp_path / name
        bad.write_bytes(content)
        with pytest.raises(CheckpointError) as exc:
            read_header(bad)
        assert "\n" not in str(exc.value) and str(bad) in str(exc.value), name
    with pytest.raises(CheckpointError, match="not a regular file"):
        read_header(tmp_path)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(CheckpointError, match="not a regular file"):
        read_header(tmp_path / "fifo")


def test_another_run_version_or_build_is_refused_naming_the_difference(tmp_path):
    path, _model_, _props = _saved(tmp_path)
    with pytest.raises(CheckpointError, match=r"--plans is 3 there and 4 here"):
        Checkpointer(tmp_path / "new", {"--plans": 4, "--protocol": "x"}, "test", resume=path)
    with pytest.raises(CheckpointError, match="written by dnsrace test; this is dnsrace 9.9"):
        Checkpointer(tmp_path / "new", IDENTITY, "9.9", resume=path)
    header = read_header(path)
    header.pop("_payload_offset")
    header["build"] = "0" * 64
    _rewrite(path, header=header)
    with pytest.raises(CheckpointError, match="another build"):
        Checkpointer(tmp_path / "new", IDENTITY, "test", resume=path)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_forged_payload_is_not_unpickled_beyond_what_a_checkpoint_holds(tmp_path,
                                                                         monkeypatch):
    path, model, props = _saved(tmp_path)
    monkeypatch.chdir(tmp_path)
    _rewrite(path, payload=pickle.dumps({"vm": _Evil(), "search": {}}))
    cp = Checkpointer(tmp_path / "new", IDENTITY, "test", resume=path)
    with pytest.raises(CheckpointError, match="is not something a dnsrace checkpoint holds"):
        run(model, props, engine=EngineOptions(), vectorize=vector_model, checkpoint=cp)
    assert not (tmp_path / "pwned").exists()


def test_an_existing_file_is_not_overwritten_without_force(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("mine")
    with pytest.raises(CheckpointError, match="a file already exists.*--force"):
        Checkpointer(other, IDENTITY, "test")
    path, _m, _p = _saved(tmp_path)
    with pytest.raises(CheckpointError, match=r"a checkpoint \(depth \d+, [\d,]+ states\) "
                                              r"already exists; continue it with --resume"):
        Checkpointer(path, IDENTITY, "test")
    Checkpointer(other, IDENTITY, "test", force=True)  # allowed
    assert other.read_text() == "mine"  # nothing written before the first level


def test_a_checkpoint_file_that_appears_during_the_run_is_not_overwritten(tmp_path):
    model, props = _model("cas", 2, 2, 1, 1), resolve_properties(("no-dangling",))
    path = tmp_path / "c"
    cp = Checkpointer(path, IDENTITY, "test", every=0.0)
    path.write_text("someone else's")
    with pytest.raises(CheckpointError, match="by someone else during this run"):
        run(model, props, engine=EngineOptions(), vectorize=vector_model, checkpoint=cp)
    assert path.read_text() == "someone else's"


def test_the_object_engine_refuses_checkpoints(tmp_path):
    from dnsrace.checker.explore.engines import EngineError
    model, props = _model("cas", 2, 2, 1, 1), resolve_properties(())
    cp = Checkpointer(tmp_path / "c", IDENTITY, "test")
    with pytest.raises(EngineError, match="need the vector engine"):
        run(model, props, engine=EngineOptions("object"), vectorize=vector_model,
            checkpoint=cp)


class _SignalsAtGen2(StateInvariant):
    """Holds everywhere; sends this process SIGINT the first time it sees gen 2, which is
    while the engine commits a level (state invariants are checked there)."""

    name = "signals-at-gen-2"

    def __init__(self):
        self.sent = False

    def holds(self, model, state):
        if state.gen == 2 and not self.sent:
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)
        return True


def test_ctrl_c_while_a_level_is_committed_saves_the_next_boundary(tmp_path):
    from dnsrace.checker.cli.signals import handle_signals
    model = _model("cas", 2, 3, 2, 1)
    props = resolve_properties(("no-dangling",)) + [_SignalsAtGen2()]
    path = tmp_path / "c"
    cp = Checkpointer(path, IDENTITY, "test", every=3600.0)  # no save but the final one
    with handle_signals():
        result, _ = run(model, props, engine=EngineOptions(), vectorize=vector_model,
                        checkpoint=cp)
    assert props[1].sent and result.stats.stop_reason == "interrupted"
    assert cp.written is not None  # the interrupt waited for the boundary, which was saved
    assert cp.written["states"] == result.stats.explored_states
    props[1].sent = True  # the resumed run must not interrupt itself again
    want = _summary(*run(model, props, engine=EngineOptions(), vectorize=vector_model))
    again, info, _ = _run(model, props, path, resume=path)
    assert _summary(again, info) == want
