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

import numpy as np

from .vector import ChunkChecks, expand_chunk

__all__ = ["ProcessExpander"]

_WORKER = {}


def _init(vm, symmetry, por, model, properties):
    _WORKER["args"] = (vm, symmetry, por, ChunkChecks(vm, model, properties))


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
            self._pool = self._start()

    def _start(self):
        return self._ctx.Pool(self.workers, initializer=_init, initargs=self._args)

    def rebind(self, vm) -> None:
        """Use ``vm`` (a widened copy of the model) from now on."""
        self._args = (vm,) + self._args[1:]
        self._stop()
        if not getattr(vm, "process_local", False):
            self._pool = self._start()

    def map(self, chunks):
        """Successors of each chunk, in the order of ``chunks``."""
        vm, symmetry, por = self._args[:3]
        if getattr(vm, "process_local", False):
            if chunks:
                vm.prepare(np.concatenate(chunks), symmetry, por)
            self._stop()
            self._pool = self._start()
        return self._pool.imap(_work, chunks)

    def _stop(self):
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def close(self) -> None:
        self._stop()
