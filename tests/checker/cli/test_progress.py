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
    assert "states  frontier" in text and "explored/s" in text
    assert text.endswith("\r")


def test_task_progress_shows_done_total_elapsed_and_eta():
    from dnsrace.checker.cli.progress import duration_text, task_progress

    assert task_progress(10, "runs", io.StringIO()) is None
    out = Terminal()
    bar = task_progress(10, "runs", out, after_seconds=0)
    bar.update(4, "cas")
    bar.done()
    text = out.getvalue()
    assert "runs [############" in text and "4/10  cas  0 s, ETA 0 s" in text
    assert text.endswith("\r")
    assert duration_text(125) == "2 min 05 s" and duration_text(3720) == "1 h 02 min"


def test_the_counter_shows_the_checked_states_and_the_explored_ones_apart():
    """With recoverable the engine explores the system with one more plan: the progress line
    shows the same two counts as the final statistics, never one under the other's name."""
    out = Terminal()
    report = progress_reporter(out, after_seconds=0)
    explore(DnsSystem(Config(), "cas"), resolve_properties(), Options(progress_every=2000),
            report)
    report.done()
    assert "with one more plan)" in out.getvalue()


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
