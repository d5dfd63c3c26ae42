"""Successor generation across worker processes, behind the narrowest interface an engine
needs: ``map(chunks)`` yields, in order, ``expand_chunk(vm, chunk, symmetry, por, checks)`` for each
chunk of the frontier, and ``close()`` releases the workers. The workers also count and check
each chunk's transitions (``ChunkChecks``); deduplication across chunks, the visited set and
the state properties stay in the engine's process; a distributed backend would implement the
same two methods (ship chunks of packed keys out, receive packed successors back).

Workers are forked with the vector model; each chunk travels as one numpy array (8 bytes per
state) and its successors come back as arrays.
"""

from __future__ import annotations

import multiprocessing as mp
import signal

from .limits import Deferral
from .vector import ChunkChecks, expand_chunk

__all__ = ["ProcessExpander"]

_WORKER = {}


def _init(vm, symmetry, por, model, properties):
    # The parent handles Ctrl-C and SIGTERM (and ends the pool with SIGTERM): a worker must
    # neither raise on them (a traceback per worker) nor run the parent's time limit.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, 0)
    _WORKER["args"] = (vm, symmetry, por, ChunkChecks(vm, model, properties))


def _work(chunk):
    vm, symmetry, por, checks = _WORKER["args"]
    return expand_chunk(vm, chunk, symmetry, por, checks)


class ProcessExpander:
    """A pool of ``workers`` processes computing successors of frontier chunks."""

    def __init__(self, vm, workers: int, symmetry: bool, por: bool, model, properties):
        methods = mp.get_all_start_methods()
        ctx = mp.get_context("fork" if "fork" in methods else "spawn")
        self.workers = workers
        Deferral.active += 1  # no interrupt inside the pool's own locks (see map)
        try:
            self._pool = ctx.Pool(workers, initializer=_init,
                                  initargs=(vm, symmetry, por, model, properties))
        finally:
            Deferral.active -= 1
        Deferral.raise_pending()

    def map(self, chunks):
        """Successors of each chunk, in the order of ``chunks``. A Ctrl-C, SIGTERM or time
        limit that arrives while waiting for a worker is raised between waits
        (``Deferral``), never inside the pool's locks."""
        Deferral.active += 1
        try:
            results = self._pool.imap(_work, chunks)
        finally:
            Deferral.active -= 1
        Deferral.raise_pending()
        while True:
            Deferral.active += 1
            try:
                while True:
                    try:
                        item = results.next(timeout=0.05)
                        break
                    except mp.TimeoutError:
                        if Deferral.pending is not None:
                            break
            except StopIteration:
                return
            finally:
                Deferral.active -= 1
            Deferral.raise_pending()
            yield item

    def close(self) -> None:
        Deferral.active += 1  # the run is ending anyway: an interrupt here waits for the end
        try:
            self._pool.terminate()
            self._pool.join()
        finally:
            Deferral.active -= 1
        Deferral.raise_pending()
