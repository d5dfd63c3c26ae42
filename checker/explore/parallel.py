"""Successor generation across worker processes, behind the expander interface of the vector
engine (``checker/explore/vector.py``, ``LocalExpander``): ``map(frontier, first_id, visited,
keep_edges)`` yields, in order, the ``ChunkRecord`` of each chunk of the frontier, and
``close()`` ends the workers.

Each level, the workers are forked afresh (``os.fork``), so that their copy of everything is
that of the level's start: the model (a derived model interns ids lazily in this process,
``vm.process_local``: ``vm.prepare`` first computes here everything the forked workers' chunks
need), the frontier and the visited set, which stays read-only until the level's last chunk is
in. Chunk ``j`` of the level goes to worker ``j mod W``, worker 0 being this process, which
computes its share while the ``W - 1`` forked workers compute theirs. Each chunk is expanded,
deduplicated and its distinct successors looked up in (the worker's copy of) the visited set
(``vector.chunk_record``, exactly as the in-process expander does), and a forked worker sends
back only the record: the fresh successors, their first discovery, the out-degrees, the checks
and (graph properties) the edge codes, each array as its raw bytes through its own pipe. A
level of fewer than ``SERIAL_BELOW`` states is computed here alone.

Nothing is shared between this process and a worker but that pipe: no lock, no queue, no
helper thread. Stopping (the level's end, Ctrl-C, SIGTERM, a time limit, an error) is
SIGKILL and ``waitpid`` of every worker still alive, which cannot wait on anything a worker
holds; a worker also dies with this process (``_die_with_parent``). A worker's exception
comes back pickled and is raised here; a worker that dies without a record is an error.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import select
import signal
import struct
import sys

import numpy as np

from .limits import Deferral
from .vector import CHUNK, ChunkChecks, ChunkRecord, chunk_record, chunks_of, expand_chunk

__all__ = ["ProcessExpander", "WorkerFailed"]

_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
# A level this small is expanded here: forking would cost more than it saves.
SERIAL_BELOW = 4096
_HEADER = struct.Struct("<Q")  # length of a frame's pickled head
_ARRAYS = ("fresh", "src", "aid", "degree", "codes")


class WorkerFailed(RuntimeError):
    """A worker process ended without sending its records (killed, out of memory)."""


def _die_with_parent() -> None:
    """On Linux, a worker gets SIGTERM when the parent dies (even by SIGKILL), so it never
    outlives the run holding the parent's stdout open; elsewhere, a no-op."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _write_all(fd: int, data) -> None:
    view = memoryview(data).cast("B")
    while len(view):
        view = view[os.write(fd, view):]


def _read_into(fd: int, buf) -> None:
    view = memoryview(buf).cast("B")
    while len(view):
        got = os.readv(fd, [view])
        if got == 0:
            raise EOFError
        view = view[got:]


def _send(fd: int, kind: str, payload, arrays=()) -> None:
    """One frame: the pickled ``(kind, payload, [(dtype, length) or None])``, then each array's
    raw bytes."""
    arrays = [None if a is None else np.ascontiguousarray(a) for a in arrays]
    head = pickle.dumps((kind, payload, [None if a is None else (a.dtype.str, len(a))
                                         for a in arrays]), protocol=pickle.HIGHEST_PROTOCOL)
    _write_all(fd, _HEADER.pack(len(head)) + head)
    for a in arrays:
        if a is not None and a.nbytes:
            _write_all(fd, a)


def _receive(fd: int):
    """The frame ``_send`` wrote: ``(kind, payload, arrays)``."""
    size = bytearray(_HEADER.size)
    _read_into(fd, size)
    head = bytearray(_HEADER.unpack(size)[0])
    _read_into(fd, head)
    kind, payload, shapes = pickle.loads(head)
    arrays = []
    for shape in shapes:
        if shape is None:
            arrays.append(None)
            continue
        a = np.empty(shape[1], dtype=np.dtype(shape[0]))
        if a.nbytes:
            _read_into(fd, a)
        arrays.append(a)
    return kind, payload, arrays


def _send_record(fd: int, rec: ChunkRecord) -> None:
    _send(fd, "record", (rec.size, rec.transitions, rec.checked),
          [getattr(rec, name) for name in _ARRAYS])


def _record_of(payload, arrays) -> ChunkRecord:
    size, transitions, checked = payload
    fields = dict(zip(_ARRAYS, arrays))
    return ChunkRecord(size=size, transitions=transitions, checked=checked, **fields)


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - any exception a user's code made
        return RuntimeError(f"worker process: {type(exc).__name__}: {exc}")


class _Level:
    """The worker processes of one level, worker ``w`` owing ``owed[w]`` records: ``start``
    forks them, ``record(w)`` is worker ``w``'s next one, ``stop`` kills and reaps whoever
    is left."""

    def __init__(self, owed: list):
        self.workers = len(owed)
        self.pids: list = []   # None once reaped
        self.fds: list = []    # read ends, None once closed
        self._owed = list(owed)  # per worker, records still to come
        self._queues = [[] for _ in owed]  # per worker, records read, not yet taken

    def start(self, work) -> None:
        """Forks the workers; ``work(w, fd)`` runs in worker ``w`` and writes to ``fd``.
        Ctrl-C and SIGTERM wait (blocked, and deferred) until every worker forked is recorded
        here, so that ``stop`` finds them all."""
        parent = os.getpid()
        Deferral.active += 1
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            for w in range(self.workers):
                rfd, wfd = os.pipe()
                self.fds.append(rfd)  # closed by stop, whatever happens next
                try:
                    fcntl.fcntl(rfd, fcntl.F_SETPIPE_SZ, 1 << 20)  # fewer, larger writes
                except OSError:
                    pass
                try:
                    pid = os.fork()
                except BaseException:
                    os.close(wfd)
                    raise
                if pid == 0:  # the worker: never returns into the caller's stack
                    code = 1
                    try:
                        _become_worker(parent, wfd, [f for f in self.fds if f is not None])
                        work(w, wfd)
                        code = 0
                    except BaseException as exc:  # noqa: BLE001 - reported to the parent
                        try:
                            _send(wfd, "error", _picklable(exc))
                        except BaseException:  # noqa: BLE001 - the parent is gone
                            pass
                    finally:
                        os._exit(code)
                self.pids.append(pid)
                os.close(wfd)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
            Deferral.active -= 1
        Deferral.raise_pending()

    def record(self, w: int):
        """Worker ``w``'s next record (in the order it sent them)."""
        while not self._queues[w]:
            self._read(wait=True)
        return self._queues[w].pop(0)

    def drain(self) -> None:
        """Reads every record already (being) sent, so that no worker waits on a full pipe
        while this process computes."""
        self._read(wait=False)

    def _read(self, wait: bool) -> None:
        """Reads one frame from each worker that has one ready; with ``wait``, waits for one
        at least."""
        live = [fd for fd, n in zip(self.fds, self._owed) if n]
        if not live:
            return
        ready, _, _ = select.select(live, [], [], None if wait else 0)
        for fd in ready:
            w = self.fds.index(fd)
            try:
                kind, payload, arrays = _receive(fd)
            except EOFError:
                raise WorkerFailed(f"worker process {self.pids[w]} ended early "
                                   f"({self._reap(w)})") from None
            if kind == "error":
                raise payload
            self._queues[w].append(_record_of(payload, arrays))
            self._owed[w] -= 1

    def _reap(self, w: int) -> str:
        """Waits for worker ``w`` (whose pipe is at its end); how it ended."""
        pid, self.pids[w] = self.pids[w], None
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
        return f"exit status {os.WEXITSTATUS(status)}"

    def stop(self) -> None:
        """Kills and reaps every worker not yet reaped, closes the pipes. Signals wait until
        it is done; one that came meanwhile is raised then, unless an exception is already
        on its way."""
        Deferral.active += 1
        try:
            for w, pid in enumerate(self.pids):
                if pid is not None:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            for w, pid in enumerate(self.pids):
                if pid is not None:
                    self.pids[w] = None
                    try:
                        os.waitpid(pid, 0)
                    except ChildProcessError:
                        pass
            for w, fd in enumerate(self.fds):
                if fd is not None:
                    self.fds[w] = None
                    os.close(fd)
        finally:
            Deferral.active -= 1
        if sys.exc_info()[0] is None:
            Deferral.raise_pending()


def _become_worker(parent: int, keep_fd: int, close_fds) -> None:
    """A forked worker's setup: Ctrl-C is the parent's to handle (a worker ignores it, as it
    reaches the whole process group), SIGTERM ends it (its default), no time limit of the
    parent's, no pipe but its own, and it dies with the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    Deferral.active, Deferral.soft, Deferral.pending = 0, 0, None
    for fd in close_fds:
        if fd != keep_fd:
            os.close(fd)
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


class ProcessExpander:
    """``workers`` processes computing the records of frontier chunks, forked per level."""

    def __init__(self, vm, workers: int, symmetry: bool, por: bool, model, properties):
        self.workers = workers
        self.symmetry, self.por = symmetry, por
        self._model, self._properties = model, properties
        self._level = None
        self.rebind(vm)

    def rebind(self, vm) -> None:
        """Use ``vm`` (a widened copy of the model) from now on."""
        self.close()
        self.vm = vm
        self.checks = ChunkChecks(vm, self._model, self._properties)

    def map(self, frontier, first_id, visited, keep_edges):
        """The ``ChunkRecord`` of each chunk of ``frontier`` (whose first state has id
        ``first_id``), in order. ``visited`` must not change until the last one is in.
        Chunk ``j`` is computed by worker ``j mod W``; worker 0 is this process, which
        forks the others (``W - 1`` processes) and computes its own chunks meanwhile."""
        n, w_all = len(frontier), self.workers
        if n < SERIAL_BELOW or w_all == 1:
            for chunk in chunks_of(frontier, CHUNK):
                yield self._record(chunk, first_id, visited, keep_edges)
                first_id += len(chunk)
            return
        # as many chunks for each worker, and at least one, so that every worker is busy
        count = w_all * -(-n // (w_all * CHUNK))
        size = -(-n // count)
        chunks = chunks_of(frontier, size)
        firsts = [first_id + j * size for j in range(len(chunks))]
        theirs = [j for j in range(len(chunks)) if j % w_all]
        if getattr(self.vm, "process_local", False) and theirs:
            # what their copies need (this process interns as it goes)
            self.vm.prepare(np.concatenate([chunks[j] for j in theirs]), self.symmetry,
                            self.por)

        def work(w, fd):  # in forked worker w + 1
            for j in range(w + 1, len(chunks), w_all):
                _send_record(fd, self._record(chunks[j], firsts[j], visited, keep_edges))

        self._level = level = _Level([len(range(w, len(chunks), w_all))
                                      for w in range(1, w_all)])
        try:
            level.start(work)
            for j, chunk in enumerate(chunks):
                if j % w_all:
                    yield level.record(j % w_all - 1)
                else:
                    level.drain()
                    yield self._record(chunk, firsts[j], visited, keep_edges)
        finally:
            level.stop()
            self._level = None

    def _record(self, chunk, first_id, visited, keep_edges):
        return chunk_record(expand_chunk(self.vm, chunk, self.symmetry, self.por,
                                         self.checks, dedup=False),
                            len(chunk), first_id, visited, keep_edges)

    def close(self) -> None:
        """Ends the workers of a level cut short (a no-op between levels)."""
        if self._level is not None:
            level, self._level = self._level, None
            level.stop()
