"""Row 1, 11, 21: timing bounds are exact rationals everywhere (zones and synthesis
included); text that would take unbounded time or memory is refused at parse time."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dnsrace.checker.timing import zones as Z
from dnsrace.model.timing import MAX_EXPONENT, TimingError, parse_bound, parse_rational

from .helpers import SMALL, one_line_error, run

JUST_BELOW_THIRD = "0.3333333333333333333"  # 19 digits: below 1/3 by 1/(3 * 10^19)


def test_a_bound_just_below_the_threshold_holds_in_compare(capsys):
    # the exact threshold for no-dangling is W_hi >= 1/3; zones used to overflow INF
    code, out, err = run(capsys, "compare", "--protocols", "original", "--property",
                         "no-dangling", "--write-time", f"0:{JUST_BELOW_THIRD}")
    assert code == 0 and err == ""
    row = [line for line in out.splitlines() if line.startswith("original")][0]
    assert row.split()[1:5] == ["VIOLATED", "(10)", "holds", "22,966"]


@pytest.mark.parametrize("bound, verdict", [(JUST_BELOW_THIRD, 0), ("1/3", 1),
                                            ("0.5000000000000000001", 1)])
def test_check_decides_long_decimals_exactly(capsys, bound, verdict):
    code, out, err = run(capsys, "check", "--timing", "--property", "no-dangling",
                         "--write-time", f"0:{bound}", "-q")
    assert code == verdict and err == ""


def test_delays_descends_with_many_digit_bounds(capsys):
    code, out, err = run(capsys, "delays", "--no-witness", "--write-time",
                         f"0:{JUST_BELOW_THIRD}", "--unknown", "plan-lo", "--enactors", "2",
                         "--plans", "3", "--property", "no-dangling")
    assert code == 1 and err == ""
    assert "lo <= 9999999999999999999/10000000000000000000" in out


def test_zone_infinity_is_above_every_scaled_bound():
    huge = Z.le(10 ** 60)
    assert huge < Z.INF and Z.bound_add(huge, huge) < Z.INF
    assert Z.bound_add(huge, Z.INF) == Z.INF


@pytest.mark.parametrize("text", ["1e1000000000", "1e100000", "1e-101", "2E+999",
                                  "1" * 300, "1/" + "7" * 250, "nan", "inf", "-inf", "0x10",
                                  "1_000", ""])
def test_hostile_number_text_is_refused_at_once(text):
    with pytest.raises(TimingError) as err:
        parse_rational(text, "--write-time")
    assert "\n" not in str(err.value) and str(err.value).startswith("--write-time")


@pytest.mark.parametrize("args", [["check", "--write-time", "0:1e1000000000"],
                                  ["check", "--write-time", "0:1e100000"],
                                  ["delays", "--plan-interval", "1e1000000000"],
                                  ["compare", "--write-time", "0:1e1000000000"]])
def test_huge_exponents_on_the_command_line_are_one_line_errors(capsys, args):
    code, out, err = run(capsys, *args, *SMALL)
    assert code == 2 and out == "" and one_line_error(err, "exponent")


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.fractions(min_value=0, max_denominator=10 ** 30).filter(lambda f: f.numerator < 10 ** 60))
def test_every_rational_survives_its_own_text(value):
    assert parse_bound(f"{value.numerator}/{value.denominator}") == value


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.integers(0, 10 ** 20), st.integers(-MAX_EXPONENT, MAX_EXPONENT))
def test_decimal_exponents_within_the_cap_are_exact(mantissa, exponent):
    assert parse_bound(f"{mantissa}e{exponent}") == Fraction(mantissa) * Fraction(10) ** exponent
