"""`dnsrace check --engine/--workers/--no-por/--lossy`: same verdicts, engine in the output."""

import json
import pathlib

from dnsrace.checker.cli import main


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_default_engine_is_the_vector_engine_and_agrees_with_the_object_engine(capsys):
    docs = {}
    for engine in ("auto", "object", "vector"):
        code, out, _ = run(capsys, "check", "--json", "--engine", engine)
        assert code == 1
        docs[engine] = json.loads(out)
    assert docs["auto"]["engine"]["engine"] == "vector"
    assert docs["object"]["engine"]["engine"] == "object"
    for engine, doc in docs.items():
        assert doc.pop("dnsrace")["options"]["engine"] == engine  # provenance: the options
        doc.pop("engine")
        doc["stats"].pop("seconds")
        doc["stats"].pop("states_per_second")
    assert docs["auto"] == docs["object"] == docs["vector"]


def test_the_patch_holds_with_reduction_and_says_so(capsys):
    code, out, _ = run(capsys, "check", "--protocol", "cas")
    assert code == 0
    assert "Engine: vector" in out and "partial-order reduction on" in out


def test_no_reduction_reproduces_model_md_on_the_vector_engine(capsys):
    code, out, _ = run(capsys, "check", "--protocol", "cas", "--no-reduction",
                       "--property", "no-dangling", "--property", "monotonic", "--json")
    doc = json.loads(out)
    assert code == 0
    assert doc["engine"]["engine"] == "vector"
    assert not doc["engine"]["partial_order_reduction"]
    assert (doc["stats"]["states"], doc["stats"]["transitions"]) == (19_490, 61_294)


def test_workers_give_the_same_answer(capsys):
    code, out, _ = run(capsys, "check", "--protocol", "cas", "--workers", "2", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["engine"]["workers"] == 2
    assert doc["verdict"] == "holds"


def test_lossy_mode_prints_the_omission_probability(capsys):
    code, out, _ = run(capsys, "check", "--protocol", "cas", "--lossy", "hashcompact",
                       "--property", "no-dangling")
    assert code == 0
    assert "'holds' is probabilistic" in out and "never explored" in out


def test_bad_engine_combinations_are_usage_errors(capsys):
    code, _, err = run(capsys, "check", "--lossy", "bitstate")
    assert code == 2 and "recoverable" in err
    code, _, err = run(capsys, "check", "--engine", "object", "--workers", "2")
    assert code == 2 and "vector engine" in err
    code, _, err = run(capsys, "check", "--engine", "warp")
    assert code == 2


def test_state_limit_reports_the_depth_explored(capsys):
    code, out, _ = run(capsys, "check", "--protocol", "cas", "--max-states", "2000")
    assert code == 3
    assert "Every state up to depth" in out


def test_engine_options_do_not_apply_to_the_timed_check(capsys):
    code, _, err = run(capsys, "check", "--write-time", "0:1", "--workers", "2")
    assert code == 2 and "untimed" in err


def test_cluster_without_ray_is_one_line_naming_the_extra(capsys, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    code, out, err = run(capsys, "check", "--cluster", "ray")
    assert code == 2 and out == ""  # before the header: nothing else is printed
    assert err.count("\n") == 1 and "dnsrace[ray]" in err and "--cluster" in err


def test_cluster_spec_must_name_ray(capsys):
    code, _, err = run(capsys, "check", "--cluster", "spark")
    assert code == 2 and "--cluster 'spark'" in err and err.count("\n") == 1


def test_every_shipped_protocol_and_a_user_file_run_on_the_vector_engine(capsys):
    example = pathlib.Path(__file__).resolve().parents[3] / "examples" / "verify_then_cleanup.py"
    for protocol in ("lease+fencing", "safe-delete-2step", f"{example}:VerifyThenCleanup"):
        code, out, _ = run(capsys, "check", "-n", "2", "-p", "3", "--protocol", protocol)
        assert code in (0, 1)
        assert "Engine: vector" in out, protocol
        assert "Partial-order reduction is off: it is proven only for" in out
