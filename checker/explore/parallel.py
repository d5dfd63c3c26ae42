"""Successor generation across worker processes, behind the narrowest interface an engine
needs: ``map(chunks)`` yields, in order, ``expand_chunk(vm, chunk, symmetry, por, checks)`` for each
chunk of the frontier, and ``close()`` releases the workers. The workers also count and check
each chunk's transitions (``ChunkChecks``); deduplication across chunks, the visited set and
the state properties stay in the engine's process; a distributed backend would implement the
same two methods (ship chunks of packed keys out, receive packed successors back).

Workers are forked with the vector model; each chunk travels as one numpy array (8 bytes per
state) and its successors come back as arrays. A vector model whose ids are interned lazily in
this process (``vm.process_local``, the derived model of ``model/derived.py``) first computes,
here, everything the level needs (``vm.prepare``); the workers are then forked afresh for that
level, so that their copy of the model knows every id the level uses. ``rebind(vm)`` follows
the engine onto a widened model.
"""

from __future__ import annotations

import multiprocessing as mp
import signal

import numpy as np

from .limits import Deferral
from .vector import ChunkChecks, expand_chunk

__all__ = ["ProcessExpander"]

_WORKER = {}


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _init(vm, symmetry, por, model, properties):
    # The parent handles Ctrl-C and SIGTERM (and ends the pool): a worker must neither raise
    # on them (a traceback per worker) nor run the parent's time limit. It is forked with both
    # blocked (see _start), so one sent before this point waits for SIG_DFL instead of
    # meeting the parent's handler, which (with the parent's deferral state) could swallow it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, 0)
    Deferral.active, Deferral.soft, Deferral.pending = 0, 0, None
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    _die_with_parent()
    _WORKER["args"] = (vm, symmetry, por, ChunkChecks(vm, model, properties))


def _die_with_parent() -> None:
    """On Linux, a worker gets SIGTERM when the parent dies (even by SIGKILL), so it never
    outlives the run holding the parent's stdout open; elsewhere, a no-op."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _work(chunk):
    vm, symmetry, por, checks = _WORKER["args"]
    return expand_chunk(vm, chunk, symmetry, por, checks)


class ProcessExpander:
    """A pool of ``workers`` processes computing successors of frontier chunks."""

    def __init__(self, vm, workers: int, symmetry: bool, por: bool, model, properties):
        methods = mp.get_all_start_methods()
        self._ctx = mp.get_context("fork" if "fork" in methods else "spawn")
        self.workers = workers
        self._args = (vm, symmetry, por, model, properties)
        self._pool = None
        if not getattr(vm, "process_local", False):
            self._start()

    def _start(self) -> None:
        Deferral.active += 1  # no interrupt inside the pool's own locks (see map)
        try:
            # kept before a deferred interrupt is raised, so close() still ends its workers
            # (a pool lost here left orphaned workers holding the caller's stdout open)
            old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
            try:
                self._pool = self._ctx.Pool(self.workers, initializer=_init,
                                            initargs=self._args)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        finally:
            Deferral.active -= 1
        Deferral.raise_pending()

    def rebind(self, vm) -> None:
        """Use ``vm`` (a widened copy of the model) from now on."""
        self._args = (vm,) + self._args[1:]
        self._stop()
        if not getattr(vm, "process_local", False):
            self._start()

    def map(self, chunks):
        """Successors of each chunk, in the order of ``chunks``. A Ctrl-C, SIGTERM or time
        limit that arrives while waiting for a worker is raised between waits
        (``Deferral``), never inside the pool's locks."""
        vm, symmetry, por = self._args[:3]
        if getattr(vm, "process_local", False):
            if chunks:
                vm.prepare(np.concatenate(chunks), symmetry, por)
            self._stop()
            self._start()
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

    def _stop(self):
        if self._pool is None:
            return
        Deferral.active += 1  # stopping the pool: an interrupt here waits until it is done
        try:
            # workers hold nothing worth a clean exit, and SIGKILL cannot be caught or
            # deferred: terminate()'s SIGTERM alone could leave join() waiting forever
            for proc in getattr(self._pool, "_pool", ()):
                if proc.exitcode is None:
                    proc.kill()
            self._pool.terminate()
            self._pool.join()
        finally:
            Deferral.active -= 1
            self._pool = None
        Deferral.raise_pending()

    def close(self) -> None:
        self._stop()
