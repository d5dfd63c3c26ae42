"""The variants under timing (model/timing.py's ``timing_rules`` hook): a lease of length L
expires exactly L after it was taken. The lease alone is safe exactly when L exceeds the
longest time its holder can spend writing (E x W_hi); fencing holds whatever L."""

from fractions import Fraction

import pytest

timed = pytest.importorskip("dnsrace.checker.timing.timed")

from dnsrace.invariants import resolve_properties  # noqa: E402
from dnsrace.model import Config, DnsSystem  # noqa: E402
from dnsrace.model.timing import Interval, TimedView, Timing  # noqa: E402

SAFETY = resolve_properties(["no-dangling", "monotonic"])


def verdict(protocol, config, write_hi, lease=None):
    extra = {} if lease is None else {"lease": Interval(lease, lease)}
    t = Timing(write=Interval(0, write_hi), extra=extra)
    r = timed.explore_timed(TimedView(DnsSystem(config, protocol), t), SAFETY,
                            timed.TimedOptions(), scale=t.scale())
    return {name: p.status for name, p in r.properties.items()}


@pytest.mark.parametrize("config, write_hi", [(Config(2, 3, 1), 3), (Config(2, 3, 2), 1)])
def test_the_lease_alone_is_safe_exactly_when_it_outlasts_the_writes(config, write_hi):
    longest = config.endpoints * Fraction(write_hi)  # E x W_hi
    assert verdict("lease", config, write_hi, longest)["no-dangling"] == "violated"
    assert verdict("lease", config, write_hi, longest + Fraction(1, 100)) == \
        {"no-dangling": "holds", "monotonic": "holds"}


def test_fencing_holds_even_with_a_lease_far_too_short():
    assert verdict("lease+fencing", Config(2, 3, 2), 1, Fraction(1, 10)) == \
        {"no-dangling": "holds", "monotonic": "holds"}


def test_the_other_variants_have_timed_steps():
    slow = Config(2, 3, 1)
    assert verdict("safe-delete", slow, 3) == {"no-dangling": "holds", "monotonic": "violated"}
    assert verdict("safe-delete-2step", slow, 3)["no-dangling"] == "violated"
    assert verdict("cas+guarded", slow, 3) == {"no-dangling": "holds", "monotonic": "holds"}


def test_a_user_phase_is_timed_by_its_phase_timing(tmp_path):
    import pathlib

    from dnsrace.model import load_protocol

    example = pathlib.Path(__file__).resolve().parents[2] / "examples" / "verify_then_cleanup.py"
    p = load_protocol(f"{example}:VerifyThenCleanup")
    assert verdict(p, Config(2, 3, 1), 3)["no-dangling"] == "violated"
    f = tmp_path / "untimed.py"
    f.write_text(example.read_text().replace('    phase_timing = {"verify": "check"}', ""))
    with pytest.raises(Exception, match=r"phase 'verify' with no timing: declare phase_timing"):
        verdict(load_protocol(f"{f}:VerifyThenCleanup"), Config(2, 3, 1), 3)


def test_the_shipped_four_keep_model_md_s_rules():
    from dnsrace.model import SHIPPED

    assert all(cls().timing_rules is None for cls in SHIPPED.values())
