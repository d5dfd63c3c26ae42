"""Rows 8, 22: nothing a user protocol does (sys.exit, its own KeyboardInterrupt, any
exception, a malformed result wherever it first appears) becomes a verdict or a traceback:
it is the protocol's one-line error, exit 2, naming the method and the state."""

import pytest

from .helpers import SMALL, no_verdict as _no_verdict, one_line_error, run

HEAD = "import sys\nfrom dnsrace.model import Original, Action\n"

STEP_BODIES = {
    "exit0": ("sys.exit(0)", "SystemExit"),
    "exit1": ("raise SystemExit(1)", "SystemExit"),
    "ctrlc": ("raise KeyboardInterrupt", "KeyboardInterrupt"),
    "three": ("return [(a, n, 1) for a, n in super().cleanup(c, s, i)]",
              "steps must return (action, next_state) pairs"),
    "nonepair": ("return [(None, s)]", "steps must return (action, next_state) pairs"),
    "unhashable": ("return [(a, n._replace(ext=[1])) for a, n in super().cleanup(c, s, i)]",
                   "hashable"),
    "generator_error": ("raise ValueError('bad plan')", "ValueError: bad plan"),
}


@pytest.mark.parametrize("case", sorted(STEP_BODIES))
def test_a_misbehaving_step_deep_in_the_run_is_the_protocols_error(capsys, tmp_path,
                                                                  monkeypatch, case):
    body, words = STEP_BODIES[case]
    src = HEAD + f"class Mine(Original):\n    def cleanup(self, c, s, i):\n        {body}\n"
    (tmp_path / "mine.py").write_text(src)
    monkeypatch.chdir(tmp_path)
    for extra in ([], ["--json"]):
        code, out, err = run(capsys, "check", *SMALL, "--protocol", "mine.py", *extra)
        assert code == 2 and _no_verdict(out), (case, err)
        assert one_line_error(err, "protocol 'Mine' (mine.py)", words, "cleanup", "state")


@pytest.mark.parametrize("source, words", [
    ("import sys\nsys.exit(0)\n", "SystemExit: 0"),
    ("raise KeyboardInterrupt\n", "KeyboardInterrupt"),
    (HEAD + "class Mine(Original):\n    def initial_ext(self, c):\n        return [0]\n",
     "hashable"),
    (HEAD + "class Mine(Original):\n    def __init__(self):\n        sys.exit(3)\n",
     "SystemExit: 3"),
])
def test_load_time_misbehaviour_is_a_load_error(capsys, tmp_path, monkeypatch, source, words):
    (tmp_path / "mine.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "check", *SMALL, "--protocol", "mine.py")
    assert code == 2 and _no_verdict(out) and one_line_error(err, "mine.py", words)


def test_an_action_whose_describe_raises_is_the_protocols_error(capsys, tmp_path, monkeypatch):
    src = HEAD + '''
from dataclasses import dataclass
from dnsrace.model import Cleanup

@dataclass(frozen=True)
class Sweep(Cleanup):
    def describe(self, model, before, after):
        raise RuntimeError("no words")

class Mine(Original):
    action_classes = Original.action_classes + (Sweep,)

    def cleanup(self, c, s, i):
        return [(Sweep(a.enactor), n) for a, n in super().cleanup(c, s, i)]
'''
    (tmp_path / "mine.py").write_text(src)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "check", *SMALL, "--protocol", "mine.py")
    assert code == 2 and one_line_error(err, "protocol 'Mine'", "RuntimeError: no words")
