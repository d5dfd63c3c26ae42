import io

from dnsrace.checker import Options, explore
from dnsrace.checker.cli.progress import progress_reporter
from dnsrace.invariants import resolve_properties
from dnsrace.model import Config, DnsSystem


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_no_progress_when_stderr_is_not_a_terminal():
    assert progress_reporter(io.StringIO()) is None


def test_progress_shows_states_frontier_and_rate_on_a_terminal():
    out = Terminal()
    report = progress_reporter(out, after_seconds=0)
    explore(DnsSystem(Config(), "cas"), resolve_properties(["no-dangling"]),
            Options(progress_every=500), report)
    report.done()
    text = out.getvalue()
    assert "states  frontier" in text and "states/s" in text
    assert text.endswith("\r")


def test_the_line_reporter_writes_only_to_a_terminal():
    import io

    from dnsrace.checker.cli.progress import line_reporter

    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert line_reporter(io.StringIO()) is None
    tty = Tty()
    report = line_reporter(tty, after_seconds=0)
    report("run 3/10  40 steps driven")
    report.done()
    assert "\r  run 3/10  40 steps driven" in tty.getvalue()
