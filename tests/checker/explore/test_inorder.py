"""Calls in a pool, a bounded number waiting, results in order (checker/explore/inorder.py)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from dnsrace.checker.explore.inorder import in_order


@pytest.mark.parametrize("depth", [1, 2, 5])
def test_results_come_in_order_with_at_most_depth_waiting(depth):
    lock, state = threading.Lock(), {"now": 0, "most": 0}

    def slow(i):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.002 * (7 - i % 7))  # later calls often finish first
        with lock:
            state["now"] -= 1
        return i

    submitted = []

    def calls():
        for i in range(30):
            submitted.append(i)
            yield slow, i

    with ThreadPoolExecutor(3) as pool:
        got = []
        for r in in_order(pool, depth, calls()):
            assert len(submitted) - len(got) <= depth  # never more than depth waiting
            got.append(r)
    assert got == list(range(30))
    assert state["most"] <= min(depth, 3)


def test_an_error_comes_out_in_its_place():
    def f(i):
        if i == 3:
            raise ValueError("three")
        return i

    with ThreadPoolExecutor(2) as pool:
        out = in_order(pool, 2, ((f, i) for i in range(6)))
        assert [next(out) for _ in range(3)] == [0, 1, 2]
        with pytest.raises(ValueError, match="three"):
            next(out)
