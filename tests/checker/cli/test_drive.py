"""`dnsrace drive`: exit 0 conforms, 1 diverges, 2 bad input (one line naming the step or
option), 3 interrupted; the moto server it starts is stopped whatever ends the run."""

from __future__ import annotations

import json

import pytest

from dnsrace.checker.cli import main

from ..conformance.conftest import INCIDENT, ORIGINAL_TRACE, PATCHED, REPO, port_is_closed

pytest.importorskip("moto.server")

SMALL = ["-n", "2", "-p", "3", "-e", "2"]


from ..conformance.conftest import moto_url as url  # noqa: E402, F401 - this module's server


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("dnsrace: error: ") or ": error: " in lines[0]
    return lines[0]


def test_the_incident_enactor_reproduces_the_outage_in_real_calls(capsys):
    code, out, err = run(capsys, "drive", ORIGINAL_TRACE, "--adapter", INCIDENT)
    assert code == 0, err
    assert "services: moto server on 127.0.0.1:" in out
    head = next(line for line in out.splitlines() if "what happened" in line)
    assert "plan store  real " in head and head.rstrip().endswith("what happened")
    last = next(line for line in out.splitlines() if line.startswith(">>  10"))
    assert "  1    3    3  {2, 3}      1 3 3 {2, 3}     cleans up after plan 3" in last
    assert "Conforms: after every step the services held what the model says." in out
    assert ("The services end in the outage: record regional names plan 1, whose object is no "
            "longer in the plan store") in out


def test_the_patched_enactor_diverges_from_original_where_route53_rejects(capsys, url):
    code, out, _ = run(capsys, "drive", ORIGINAL_TRACE, "--adapter", PATCHED,
                       "--endpoint-url", url)
    assert code == 1
    assert "DIVERGES at step 7 (write enactor-1 regional):" in out
    assert "  record regional: the model expects plan 1; Route 53 holds \"plan-3\"" in out


@pytest.mark.parametrize("trace", [ORIGINAL_TRACE,
                                   REPO / "traces" / "n3-p4-e3-k1-original-no-dangling.itf.json"])
def test_the_patched_enactor_conforms_to_cas_on_the_incident_schedule(capsys, url, trace):
    code, out, err = run(capsys, "drive", trace, "--protocol", "cas", "--adapter", PATCHED,
                         "--endpoint-url", url)
    assert code == 0, err
    rows = out.splitlines()
    first = next(j for j, line in enumerate(rows) if line.lstrip().startswith("7  enactor-1"))
    after = next(j for j, line in enumerate(rows) if line.lstrip().startswith("8  enactor-2"))
    step7 = " ".join(" ".join(rows[first:after]).split())  # the row and its wrapped lines
    assert "3 - - {1, 2, 3} aborts plan 1:" in step7
    assert "Route 53 rejected DELETE plan-0 + CREATE plan-1" in step7
    assert "(schedule: the file's write enactor-1 regional; cas takes abort enactor-1 regional)" \
        in step7
    assert "Conforms" in out and "outage" not in out


def test_json_says_what_is_compared_and_what_the_services_held(capsys, url):
    code, out, _ = run(capsys, "drive", ORIGINAL_TRACE, "--protocol", "cas", "--adapter",
                       PATCHED, "--endpoint-url", url, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["format"] == "dnsrace-drive/1" and doc["verdict"] == "conforms"
    assert [c.split(":")[0] for c in doc["compared"]] == ["outcome", "records", "store"]
    step = doc["runs"][0]["steps"][7]
    assert step["action"] == {"kind": "abort", "enactor": 0, "endpoint": 0}
    assert step["real"]["outcome"] == "aborted" and step["real"]["dns"] == [3, 0, 0]
    assert step["model"] == {"dns": [3, 0, 0], "store": [1, 2, 3]} and step["conforms"]


def test_random_runs_of_the_patch_find_no_divergence_from_cas(capsys, url):
    args = ["drive", "--protocol", "cas", *SMALL, "--runs", "3", "--depth", "10", "--seed", "4",
            "--adapter", PATCHED, "--endpoint-url", url]
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert "random runs of the model, seed 4, depth 10: 3 of 3 driven" in out
    assert "Conforms" in out and err == ""  # no progress line: stderr is not a terminal


def test_a_random_divergence_is_saved_as_a_trace_that_drives_again(capsys, url, tmp_path):
    saved = tmp_path / "div.json"
    args = ["drive", "--protocol", "cas", *SMALL, "--runs", "30", "--seed", "10", "--adapter",
            INCIDENT, "--endpoint-url", url, "--save", saved, "--json"]
    code, out, _ = run(capsys, *args)
    first = json.loads(out)
    assert code == 1 and first["verdict"] == "diverges" and first["divergence_trace"] == str(saved)
    div = first["runs"][0]["divergence"]
    before = saved.read_bytes()
    code, out, err = run(capsys, *args)  # the file exists: refused before any run, untouched
    assert code == 2 and out == "" and "already exists" in one_line_error(err)
    assert saved.read_bytes() == before
    again = json.loads(run(capsys, *args, "--force")[1])
    assert again["runs"] == first["runs"]  # the same seed drives the same run
    code, out, _ = run(capsys, "drive", saved, "--adapter", INCIDENT, "--endpoint-url", url,
                       "--json")
    redriven = json.loads(out)
    assert code == 1 and redriven["runs"][0]["divergence"]["step"] == div["step"]
    assert run(capsys, "replay", saved)[0] in (0, 1)  # well-formed: every step replays


def adapter_file(tmp_path, body: str, name="mine.py"):
    path = tmp_path / name
    path.write_text(
        "from dnsrace.checker.conformance.adapters import load_adapter\n"
        f"Base = load_adapter({INCIDENT!r})\n"
        f"URL_FILE = {str(tmp_path / 'url')!r}\n\n"
        "class Mine(Base):\n"
        "    def __init__(self, route53, s3, i, target):\n"
        "        super().__init__(route53, s3, i, target)\n"
        "        open(URL_FILE, 'w').write(route53.meta.endpoint_url)\n" + body)
    return f"{path}:Mine"


def test_an_adapter_missing_a_method_is_one_line_naming_the_step(capsys, tmp_path, url):
    spec = adapter_file(tmp_path, "    cleanup = None\n")
    code, _, err = run(capsys, "drive", ORIGINAL_TRACE, "--adapter", spec, "--endpoint-url", url)
    assert code == 2
    assert one_line_error(err).endswith(
        f"step 10 (cleanup enactor-2): adapter {spec} has no method cleanup()")


def test_an_adapter_raising_is_one_line_and_the_server_stops(capsys, tmp_path):
    spec = adapter_file(tmp_path, "    def write(self, k):\n        raise ValueError('boom')\n")
    code, _, err = run(capsys, "drive", ORIGINAL_TRACE, "--adapter", spec)
    assert code == 2
    line = one_line_error(err)
    assert "step 6 (write enactor-2 regional): adapter" in line
    assert "raised ValueError: boom (mine.py line 10, in write) in write()" in line
    assert port_is_closed((tmp_path / "url").read_text())


@pytest.mark.parametrize("how", ["raise KeyboardInterrupt",
                                 "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"])
def test_ctrl_c_or_sigterm_exit_3_and_the_server_stops(capsys, tmp_path, how):
    spec = adapter_file(tmp_path, f"    def write(self, k):\n        {how}\n")
    code, _, err = run(capsys, "drive", ORIGINAL_TRACE, "--adapter", spec)
    assert code == 3 and err.strip() == "dnsrace: interrupted"
    assert port_is_closed((tmp_path / "url").read_text())


def test_an_unreachable_endpoint_is_one_line(capsys):
    from dnsrace.checker.conformance.services import moto_endpoint
    with moto_endpoint() as dead:
        pass
    code, _, err = run(capsys, "drive", ORIGINAL_TRACE, "--adapter", INCIDENT,
                       "--endpoint-url", dead)
    assert code == 2 and f"cannot reach the endpoint {dead}" in one_line_error(err)


@pytest.mark.parametrize("args, message", [
    ([ORIGINAL_TRACE, "--runs", "2"], "give a trace FILE or --runs M"),
    ([], "give a trace FILE or --runs M (random runs of the model), not neither"),
    ([ORIGINAL_TRACE, "--plans", "3"], "--plans: a trace FILE brings its own configuration"),
    ([ORIGINAL_TRACE, "--seed", "3"], "--seed applies only with --runs"),
    ([ORIGINAL_TRACE, "--endpoint-url", "ftp://x"], "--endpoint-url 'ftp://x': expected"),
    (["--runs", "1", "--protocol", "nope"], "unknown protocol 'nope'"),
    (["--runs", "1", "--plans", "0"], "--plans must be at least 1"),
    (["--runs", "1", "--save", "/no/such/dir/x.json"], "--save /no/such/dir/x.json: no such folder"),
    ([ORIGINAL_TRACE, "--planner", "nope.py:P"], "planner file nope.py: no such file"),
])
def test_bad_options_are_one_line(capsys, args, message):
    code, _, err = run(capsys, "drive", *args, "--adapter", INCIDENT)
    assert code == 2 and message in one_line_error(err)


def test_a_missing_adapter_file_and_a_malformed_trace_are_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "drive", ORIGINAL_TRACE, "--adapter", "nope.py:X")
    assert code == 2 and one_line_error(err).endswith("adapter file nope.py: no such file")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    code, _, err = run(capsys, "drive", bad, "--adapter", INCIDENT)
    assert code == 2 and "bad.json: not valid JSON" in one_line_error(err)


@pytest.mark.parametrize("body, message", [
    ("    def write(self, k):\n        return 5\n",
     "step 6 (write enactor-2 regional): the adapter's write() returned 5; it returns None"),
    ("    def pick(self):\n        return 'plan 1'\n",
     "step 2 (pick enactor-1): the adapter's pick() returned 'plan 1'; it returns the plan"),
])
def test_a_result_outside_the_api_is_bad_input_not_a_divergence(capsys, tmp_path, url, body,
                                                                message):
    spec = adapter_file(tmp_path, body)
    code, _, err = run(capsys, "drive", ORIGINAL_TRACE, "--adapter", spec, "--endpoint-url", url)
    assert code == 2 and message in one_line_error(err)


def test_a_protocol_step_the_adapter_lacks_is_named(capsys, url):
    code, _, err = run(capsys, "drive", "--protocol", "recheck", *SMALL, "--runs", "3",
                       "--seed", "1", "--adapter", INCIDENT, "--endpoint-url", url)
    assert code == 2 and "has no method check(k)" in one_line_error(err)
    assert one_line_error(err).startswith("dnsrace: error: step ")


def test_your_own_planner_is_compared_too(capsys, tmp_path, url):
    planner = tmp_path / "planner.py"
    planner.write_text(
        "class Elsewhere:\n"
        "    def __init__(self, route53, s3, target):\n"
        "        self.s3, self.bucket = s3, target.bucket\n"
        "    def publish(self, plan):\n"
        "        self.s3.put_object(Bucket=self.bucket, Key=f'other/{plan}', Body=b'')\n")
    code, out, _ = run(capsys, "drive", ORIGINAL_TRACE, "--adapter", INCIDENT, "--planner",
                       f"{planner}:Elsewhere", "--endpoint-url", url)
    assert code == 1 and "DIVERGES at step 1 (plan):" in out
    assert "  plan store: the model expects {1}; the bucket holds {}" in out


def test_a_schedule_the_protocol_cannot_follow_is_incomplete(capsys, url):
    code, out, _ = run(capsys, "drive", ORIGINAL_TRACE, "--protocol", "lease", "--adapter",
                       INCIDENT, "--endpoint-url", url)
    assert code == 3
    assert ("Incomplete: conforms over the steps driven, but step 5: the file's pick enactor-2 "
            "is not enabled under lease, and enactor-2 has no enabled steps there.") in out


def test_an_aws_error_inside_the_adapter_names_the_adapters_line(capsys, tmp_path, url):
    spec = adapter_file(tmp_path, "    def cleanup(self):\n"
                                  "        self.s3.delete_bucket(Bucket='no-such-bucket')\n")
    code, _, err = run(capsys, "drive", ORIGINAL_TRACE, "--adapter", spec, "--endpoint-url", url)
    line = one_line_error(err)
    assert code == 2 and line.startswith("dnsrace: error: step 10 (cleanup enactor-2): adapter")
    assert "raised NoSuchBucket: " in line and "(mine.py line 10, in cleanup) in cleanup()" in line


def test_quiet_prints_nothing_and_the_exit_code_speaks(capsys, url):
    code, out, err = run(capsys, "drive", ORIGINAL_TRACE, "--adapter", PATCHED, "--endpoint-url",
                         url, "--quiet")
    assert (code, out, err) == (1, "", "")
