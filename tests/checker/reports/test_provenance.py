"""Every --json document and every trace file records the dnsrace version and the options."""

import json

import pytest

from dnsrace.checker.cli import main
from dnsrace.checker.reports.provenance import command_line, dnsrace_version, provenance

SMALL = ["-n", "2", "-p", "3", "-e", "2"]


def run_json(capsys, *args):
    main(list(args))
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("args, fmt", [
    (["check", *SMALL], "dnsrace-check/1"),
    (["check", *SMALL, "--timing"], "dnsrace-check/1"),
    (["compare", *SMALL, "--protocols", "cas"], "dnsrace-compare/1"),
    (["delays", *SMALL, "--property", "monotonic"], "dnsrace-delays/1"),
    (["simulate", *SMALL, "--runs", "5", "--seed", "0"], "dnsrace-simulate/1"),
])
def test_every_json_document_says_which_dnsrace_and_which_options(capsys, args, fmt):
    doc = run_json(capsys, *args, "--json")
    assert list(doc)[:2] == ["format", "dnsrace"] and doc["format"] == fmt
    prov = doc["dnsrace"]
    assert prov["version"] == dnsrace_version() and prov["command"] == args[0]
    assert prov["options"]["enactors"] == 2 and prov["options"]["as_json"] is True
    assert "enactors" in prov["given"] and "keep" not in prov["given"]


def test_replay_json_and_trace_files_too(capsys, tmp_path):
    assert main(["check", *SMALL, "--export", str(tmp_path), "-q"]) == 1
    for path in tmp_path.iterdir():
        text = path.read_text()
        assert f"dnsrace {dnsrace_version()}" in text or \
            f'"version": "{dnsrace_version()}"' in text, path.name
        assert str(tmp_path) not in text  # where the files went is not part of them
    trace = json.loads(next(tmp_path.glob("*-no-dangling.json")).read_text())
    assert trace["dnsrace"]["options"]["plans"] == 3 and "export_dir" not in \
        trace["dnsrace"]["options"]
    doc = run_json(capsys, "replay", str(next(tmp_path.glob("*-no-dangling.json"))), "--json")
    assert doc["format"] == "dnsrace-replay/1" and doc["dnsrace"]["command"] == "replay"


def test_command_line_lists_what_the_user_typed():
    prov = provenance("check", {"plans": 6, "property_names": ["a", "b"], "as_json": True,
                                "keep": 1}, given=["plans", "property_names", "as_json"])
    assert command_line(prov) == "dnsrace check --plans 6 --property a --property b --json"
