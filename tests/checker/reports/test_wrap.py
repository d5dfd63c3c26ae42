"""Long step descriptions wrap between clauses, never inside a word."""

from dnsrace.checker.reports.render import _wrap_clauses


def test_breaks_after_a_clause_or_before_a_parenthesis():
    text = "cleans up after plan 3: deletes plan 1 (older than 2)"
    assert _wrap_clauses(text, 60) == [text]
    assert _wrap_clauses(text, 40) == ["cleans up after plan 3: deletes plan 1", "(older than 2)"]
    assert _wrap_clauses(text, 25) == ["cleans up after plan 3:", "deletes plan 1", "(older than 2)"]


def test_the_mark_follows_the_text_or_takes_its_own_line():
    text = "writes plan 1 to endpoint regional, replacing plan 3"
    assert _wrap_clauses(text, 80, "<< stale overwrite") == [text + "  << stale overwrite"]
    assert _wrap_clauses(text, 49, "<< stale overwrite") == [
        "writes plan 1 to endpoint regional,", "replacing plan 3  << stale overwrite"]


def test_a_clause_longer_than_the_room_wraps_by_words():
    lines = _wrap_clauses("a " * 30 + "end", 20)
    assert all(len(line) <= 20 for line in lines) and " ".join(lines).split() == \
        ["a"] * 30 + ["end"]
