"""Rows 25, 26: options that used to be accepted silently are clear errors, the same in
every command; protocols declare their own intervals and defaults (one rule)."""

import json

import pytest

from .helpers import SMALL, one_line_error, run


@pytest.mark.parametrize("command", ["check", "compare", "delays"])
def test_an_interval_no_protocol_declares_is_refused(capsys, command):
    args = ["--protocols", "original"] if command == "compare" else []
    code, out, err = run(capsys, command, *SMALL, *args, "--interval", "bogus=1:2")
    assert code == 2 and out == "" and one_line_error(err, "--interval bogus", "declare")


def test_lease_on_a_protocol_without_leases_is_refused(capsys):
    code, _, err = run(capsys, "check", *SMALL, "--interval", "lease=5:5")
    assert code == 2 and one_line_error(err, "protocol original declares no interval 'lease'")


def test_check_and_compare_use_the_same_declared_default(capsys):
    code, out, _ = run(capsys, "check", *SMALL, "--protocol", "lease", "--timing", "--json",
                       "--property", "no-dangling")
    assert code in (0, 1)
    check_timing = json.loads(out)["options"]["timing"]
    code, out, _ = run(capsys, "compare", *SMALL, "--protocols", "lease", "--timing", "--json",
                       "--property", "no-dangling")
    assert json.loads(out)["timing"]["lease"] == check_timing["lease"] == ["1", "1"]


@pytest.mark.parametrize("args, words", [
    (["check", "--max-seconds", "nan"], "--max-seconds"),
    (["check", "--max-seconds", "inf"], "--max-seconds"),
    (["compare", "--max-seconds", "nan"], "--max-seconds"),
    (["delays", "--max-seconds", "-1"], "--max-seconds"),
    (["check", "--lossy-bits", "20"], "--lossy-bits only applies with --lossy"),
    (["check", "--json", "-q"], "choose one of --json and --quiet"),
    (["delays", "--json", "-q"], "choose one of --json and --quiet"),
    (["replay", "--json", "-q", "traces/n3-p4-e3-k1-original-monotonic.json"],
     "choose one of --json and --quiet"),
    (["compare", "--timing", "--property", "recoverable"], "recoverable is not analysed"),
    (["check", "--timing", "--property", "recoverable"], "recoverable is not analysed"),
])
def test_silently_accepted_options_are_clear_errors(capsys, args, words):
    code, out, err = run(capsys, *args)
    assert code == 2 and out == "" and one_line_error(err, words)
