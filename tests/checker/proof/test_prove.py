"""``prove``: the shipped invariants are inductive and prove both properties for every size;
weakened invariants give counterexamples to induction that replay; the protocols that fail at
bounded sizes are not proved; Houdini returns the strongest inductive subset."""

import json
import pathlib
import re
import tempfile

import pytest

from dnsrace.checker.cli import main
from dnsrace.checker.proof.cti import build_cti
from dnsrace.checker.proof.houdini import check_fixed, houdini
from dnsrace.checker.proof.prove import NOT_PROVED, prove
from dnsrace.checker.proof.solver import FAILED, PROVED, Encoding
from dnsrace.model import PROTOCOLS
from dnsrace.model.symbolic import SYMBOLIC, Conjunct, F, forall, ENDPOINT

PROPS = ["no-dangling", "monotonic"]
SHIPPED_PROOFS = ["cas", "cas+guarded", "lease+fencing"]
NOT_PROVED_PROTOCOLS = ["original", "recheck", "guarded", "lease", "safe-delete-2step"]


def _by_name(form):
    return {c.name: c for c in form.candidates}


def _shipped(form):
    return [_by_name(form)[n] for n in form.invariant]


@pytest.mark.parametrize("name", SHIPPED_PROOFS)
def test_shipped_invariant_proves_both_properties(name):
    form = SYMBOLIC[name]
    proof = prove(form, _shipped(form), PROPS, infer=False)
    assert proof.inductive and not proof.inference.dropped
    assert {n: p.status for n, p in proof.properties.items()} == {n: PROVED for n in PROPS}
    assert proof.verdict == PROVED


def test_houdini_finds_the_cas_invariant_from_the_candidates():
    form = SYMBOLIC["cas"]
    inf = houdini(Encoding(form), form.candidates)
    assert [c.name for c in inf.kept] == list(form.invariant)
    assert {d.conjunct.name for d in inf.dropped} == {"records-not-ahead", "busy-hold-same"}


def test_houdini_keeps_the_strongest_inductive_subset_of_user_candidates():
    form = SYMBOLIC["cas"]
    mine = [Conjunct("records-nonnegative", "every record serves a plan >= 0",
                     forall(ENDPOINT, lambda e: F.dns[e] >= 0)),
            Conjunct("all-records-equal", "every record serves plan 1 (false)",
                     forall(ENDPOINT, lambda e: F.dns[e].eq(1)))]
    proof = prove(form, _shipped(form) + mine, PROPS, infer=True)
    kept = [c.name for c in proof.invariant]
    assert "records-nonnegative" in kept and "all-records-equal" not in kept
    assert set(form.invariant) <= set(kept)
    assert proof.verdict == PROVED


@pytest.mark.parametrize("weaken", ["deleted-held-is-stale", "written-stay-newer",
                                    "cleanup-sees-newer"])
def test_a_weakened_invariant_yields_a_cti_that_replays(weaken):
    form = SYMBOLIC["cas"]
    weak = [c for c in _shipped(form) if c.name != weaken]
    inf = check_fixed(Encoding(form), weak)
    assert inf.dropped, f"without {weaken} the rest should not be inductive"
    d = inf.dropped[0]
    assert d.check.status == FAILED and d.step is not None
    cti = build_cti(PROTOCOLS["cas"](), form, d.check.cti, d.conjunct.name, d.reason)
    assert cti.trace is not None and cti.trace.length == 1
    assert cti.replays, "the CTI's step must be a step of the explicit model"


@pytest.mark.parametrize("name", NOT_PROVED_PROTOCOLS)
def test_protocols_violated_at_bounded_sizes_are_not_proved(name):
    form = SYMBOLIC[name]
    typing = [c for c in form.candidates if c.name.endswith("-range") or
              c.name in ("store-generated", "valid-only-busy", "doomed-only-deleting")]
    proof = prove(form, typing, PROPS, infer=True)
    assert proof.verdict == NOT_PROVED
    for n in PROPS:
        pp = proof.properties[n]
        assert pp.status == NOT_PROVED, (n, pp)
        cti = build_cti(PROTOCOLS[name](), form, pp.check.cti, n, pp.reason)
        assert cti.replays


def test_safe_delete_proves_no_dangling_but_not_monotonic():
    form = SYMBOLIC["safe-delete"]
    typing = [c for c in form.candidates if c.name.endswith("-range")]
    proof = prove(form, typing, PROPS, infer=True)
    assert proof.properties["no-dangling"].status == PROVED
    assert proof.properties["monotonic"].status == NOT_PROVED


# -- the command --------------------------------------------------------------------------
EXAMPLE = pathlib.Path(__file__).resolve().parents[3] / "examples" / "verify_then_cleanup.py"


def test_cli_proves_cas(capsys):
    assert main(["prove", "--protocol", "cas"]) == 0
    out = capsys.readouterr().out
    assert "no-dangling  PROVED" in out and "monotonic    PROVED" in out
    assert "an enactor in cleanup holding h sees every record at h or newer" in out


def test_cli_json(capsys):
    assert main(["prove", "--protocol", "lease+fencing", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["format"] == "dnsrace-prove/1" and doc["verdict"] == "proved"
    assert list(doc)[:2] == ["format", "dnsrace"] and doc["dnsrace"]["command"] == "prove"
    assert doc["properties"]["monotonic"]["status"] == "proved"
    assert doc["bounded"] is None


def test_cli_original_is_not_proved_and_runs_the_bounded_check(capsys):
    assert main(["prove", "--protocol", "original", "--only", "--invariant",
                 str(_typing_file())]) == 1
    out = capsys.readouterr().out
    assert "no-dangling  NOT PROVED" in out
    assert "Counterexample to induction: breaks no-dangling" in out
    assert re.search(r"^>>\s+1\s+enactor-", out, re.M)  # two-state table, the step marked
    assert "Not proved is not violated" in out and "VIOLATED" in out


def _typing_file():
    path = pathlib.Path(tempfile.mkdtemp()) / "typing.py"
    path.write_text(
        "from dnsrace.model.symbolic import SYMBOLIC\n"
        "CANDIDATES = [c for c in SYMBOLIC['original'].candidates if c.name.endswith('-range')]\n")
    return path


def test_cli_weak_invariant_file_gives_a_cti(tmp_path, capsys):
    f = tmp_path / "weak.py"
    f.write_text(
        "from dnsrace.model.symbolic import SYMBOLIC\n"
        "drop = {'deleted-held-is-stale'}\n"
        "CANDIDATES = [c for c in SYMBOLIC['cas'].candidates\n"
        "              if c.name in SYMBOLIC['cas'].invariant and c.name not in drop]\n")
    code = main(["prove", "--protocol", "cas", "--only", "--invariant", str(f), "--no-infer",
                 "--no-bounded"])
    out = capsys.readouterr().out
    assert code == 1
    assert "NOT inductive" in out and "Counterexample to induction: breaks" in out


@pytest.mark.parametrize("args, message", [
    (["prove", "--protocol", f"{EXAMPLE}:VerifyThenCleanup"],
     "has no symbolic form"),
    (["prove", "--property", "recoverable"], "prove decides"),
    (["prove", "--invariant", "no/such/file.py"], "no such file"),
    (["prove", "--only"], "--only needs"),
])
def test_cli_bad_input_is_one_line_exit_2(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_invariant_file_that_raises_is_exit_2(tmp_path, capsys):
    f = tmp_path / "bad.py"
    f.write_text("raise RuntimeError('boom')\n")
    assert main(["prove", "--invariant", str(f)]) == 2
    assert "boom" in capsys.readouterr().err


USER_PROTOCOLS = '''
from dnsrace.model import Cas, Original
from dnsrace.model.symbolic import SYMBOLIC, Conjunct, F, forall, ENDPOINT

class AuditedCas(Cas):
    name = "audited-cas"
    def symbolic_form(self):
        return SYMBOLIC["cas"]
    def invariant_candidates(self):
        return [Conjunct("records-nonnegative", "every record serves a plan >= 0",
                         forall(ENDPOINT, lambda e: F.dns[e] >= 0))]

class Pretender(Original):
    name = "pretender"
    def symbolic_form(self):
        return SYMBOLIC["cas"]
'''


def test_a_user_protocol_declaring_a_form_and_candidates_is_proved(tmp_path, capsys):
    f = tmp_path / "mine.py"
    f.write_text(USER_PROTOCOLS)
    assert main(["prove", "--protocol", f"{f}:AuditedCas"]) == 0
    out = capsys.readouterr().out
    assert "protocol audited-cas" in out and "[records-nonnegative]" in out
    assert "inferred with Houdini" in out


def test_a_user_form_that_differs_from_its_steps_is_refused(tmp_path, capsys):
    f = tmp_path / "mine.py"
    f.write_text(USER_PROTOCOLS)
    assert main(["prove", "--protocol", f"{f}:Pretender"]) == 2
    err = capsys.readouterr().err
    assert "symbolic form differs from its steps" in err and len(err.strip().splitlines()) == 1


def test_unknown_is_its_own_verdict_never_proved(monkeypatch, capsys):
    from dnsrace.checker.proof import solver

    def give_up(enc, q, timeout_ms, minimise=True):
        return solver.Check(solver.UNKNOWN, 0.0, reason="timeout")

    monkeypatch.setattr(solver, "_decide", give_up)
    assert main(["prove", "--protocol", "cas", "--no-bounded"]) == 3
    out = capsys.readouterr().out
    assert "PROVED" not in out and "UNKNOWN" in out


def test_cli_json_not_proved_carries_the_cti_and_the_bounded_verdicts(capsys):
    assert main(["prove", "--protocol", "original", "--only", "--invariant",
                 str(_typing_file()), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["verdict"] == "not proved"
    cti = doc["ctis"]["no-dangling"]
    assert cti["replays"] is True and len(cti["trace"]["steps"]) == 2
    assert doc["bounded"]["properties"]["no-dangling"] == {"status": "violated", "length": 10}


def test_a_step_no_invariant_state_enables_is_reported():
    import dataclasses

    from dnsrace.model.symbolic import FALSE

    form = SYMBOLIC["cas"]
    dead = dataclasses.replace(form, steps=tuple(
        dataclasses.replace(s, guard=FALSE) if s.kind == "cleanup" else s for s in form.steps))
    proof = prove(dead, _shipped(form), PROPS, infer=False)
    assert proof.never_enabled == ["cleanup"]
    assert prove(form, _shipped(form), PROPS, infer=False).never_enabled == []
