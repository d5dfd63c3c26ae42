"""Rows 9, 10, 21, 28, 32: replay and show read only regular files, at most 16 MiB and
100,000 steps; hostile JSON (huge integers, deep nesting, NaN, huge exponents in times) is a
one-line error naming the file and the field; user-protocol traces are shown with --protocol."""

import json
import os
import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dnsrace.checker.traces.formats import TraceFormatError, parse_trace_text
from dnsrace.checker.traces.formats.common import MAX_TRACE_BYTES, MAX_TRACE_STEPS

from .helpers import SMALL, one_line_error, run

GALLERY = pathlib.Path(__file__).resolve().parents[2] / "traces"
INCIDENT = GALLERY / "n3-p4-e3-k1-original-no-dangling.json"


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/urandom", "/dev/null"])
@pytest.mark.parametrize("command", ["replay", "show"])
def test_devices_are_refused_without_reading(capsys, command, path):
    if not os.path.exists(path):
        pytest.skip(f"no {path}")
    code, out, err = run(capsys, command, path)
    assert code == 2 and out == "" and one_line_error(err, path, "not a regular file")


def test_a_fifo_is_refused_without_blocking(capsys, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, _, err = run(capsys, "replay", fifo)
    assert code == 2 and one_line_error(err, "not a regular file")


def test_a_file_over_the_cap_is_refused_from_its_size(capsys, tmp_path):
    big = tmp_path / "big.json"
    with open(big, "wb") as f:  # sparse: no disk used, no memory read
        f.truncate(MAX_TRACE_BYTES + 1)
    code, _, err = run(capsys, "replay", big)
    assert code == 2 and one_line_error(err, "bytes; at most")


def test_too_many_steps_are_refused_before_decoding():
    doc = {"format": "dnsrace-trace/1", "steps": [{}] * (MAX_TRACE_STEPS + 1)}
    with pytest.raises(TraceFormatError, match="steps; at most"):
        parse_trace_text(json.dumps(doc))


@pytest.mark.parametrize("text, words", [
    ('{"format": "dnsrace-trace/1", "x": ' + "9" * 5000 + "}", "digits"),
    ("[" * 100_000 + "]" * 100_000, "nested"),
    ('{"states": [' + '{"a": ' * 900 + "1" + "}" * 900 + "]}", "nested"),
    ('{"format": NaN}', "NaN"),
    ('{"#meta": {"config": {"enactors": 1, "plans": 1, "endpoints": 1, "keep": 1}, '
     '"protocol": "original", "property": "monotonic"}, "states": [{"gen": {"#bigint": "'
     + "9" * 4000 + '"}, "store": {"#set": []}, "dns": {"#map": []}, "enactors": {"#map": []}}]}',
     "#bigint of 4,000 digits"),
])
def test_hostile_json_is_a_format_error(text, words):
    with pytest.raises(TraceFormatError) as err:
        parse_trace_text(text)
    assert words in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("time", ["1e100000", "1e1000000000", "1" * 500])
def test_hostile_times_are_a_format_error_naming_the_step(capsys, tmp_path, time):
    doc = json.loads(INCIDENT.read_text())
    for s in doc["steps"]:
        s["time"] = "0"
    doc["steps"][3]["time"] = time
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc))
    code, _, err = run(capsys, "replay", path)
    assert code == 2 and one_line_error(err, str(path), "step 3", "time")


def test_a_bad_timing_field_names_the_file_and_field_not_an_option(capsys, tmp_path):
    doc = json.loads(INCIDENT.read_text())
    for j, s in enumerate(doc["steps"]):
        s["time"] = str(j)
    doc["timing"] = {"write": [None, "1"]}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc))
    code, _, err = run(capsys, "replay", path)
    assert code == 2 and one_line_error(err, str(path), "field 'timing'", "write lower bound")
    assert "--write-time" not in err


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda kids: st.lists(kids, max_size=4) |
                    st.dictionaries(st.text(max_size=5), kids, max_size=4), max_leaves=30))
def test_any_json_is_a_trace_or_a_format_error(value):
    for doc in (value, {"format": "dnsrace-trace/1", "steps": value},
                {"#meta": value, "states": value}):
        try:
            parse_trace_text(json.dumps(doc))
        except TraceFormatError as exc:
            assert "\n" not in str(exc)


USER = '''
from dnsrace.model import Guarded

class VerifyThenCleanup(Guarded):
    name = "verify-then-cleanup"
'''


def test_show_and_replay_take_a_user_protocol(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vtc.py").write_text(USER)
    code, _, _ = run(capsys, "check", *SMALL, "--protocol", "vtc.py", "--export", "out",
                     "--format", "json", "--property", "monotonic", "-q")
    assert code == 1
    trace = tmp_path / "out" / "n2-p3-e2-k1-verify-then-cleanup-monotonic.json"
    code, _, err = run(capsys, "show", trace)
    assert code == 2 and one_line_error(err, "unknown protocol 'verify-then-cleanup'",
                                        "--protocol path/to/file.py:ClassName")
    code, out, _ = run(capsys, "show", trace, "--protocol", "vtc.py")
    assert code == 0 and "stale overwrite" in out
    code, _, _ = run(capsys, "replay", trace, "--protocol", "vtc.py", "-q")
    assert code == 0
