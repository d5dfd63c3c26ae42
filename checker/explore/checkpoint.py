"""Checkpoints of the vector engine's search: saved at a level boundary, resumed later with
exactly the result of an uninterrupted run (``check --checkpoint FILE``, ``--resume FILE``;
docs/RELIABILITY.md, "Checkpoints"). Nothing here knows about DNS.

A file is, in order: the line ``dnsrace-checkpoint 1``; one line of JSON, the *header* (which
dnsrace and which build wrote it, the run's identity: sizes, protocol, properties, reductions,
their source files' hashes; where the search stood); the *payload*, a pickle of the search
(visited set, per-level arrays, counts, coverage, violations found, frontier) and of the
vector model's intern tables (keys mean nothing without them); then 8 bytes of payload length
and the SHA-256 of header and payload. The header is checked before the payload is read, the
digest before it is unpickled, and the unpickler accepts only the classes a checkpoint holds
(dnsrace's model and engine types, numpy arrays, the user's own protocol and property
modules). A checkpoint is still trusted input, like a protocol file: the digest detects
truncation and corruption, not a forgery.

Writes go to a temporary file in the same folder, are synced, then renamed over the previous
checkpoint (never a torn file: a crash at any moment leaves the previous one usable). The
first write is exclusive: it refuses a name that appeared during the run.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import stat
import struct
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["CheckpointError", "Checkpointer", "read_header", "source_digest", "build_digest",
           "MAGIC", "FORMAT"]

MAGIC = b"dnsrace-checkpoint"
FORMAT = 1
_MAX_HEADER = 1 << 20
_TRAILER = struct.Struct(">Q32s")

# Module-level functions a pickle of numpy arrays and Python containers refers to; classes are
# accepted from dnsrace's model, engine and property rooms and from the user's own modules.
_SAFE_FUNCTIONS = {
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.numeric", "_frombuffer"),
    ("copyreg", "_reconstructor"), ("builtins", "getattr"),
}
_SAFE_CLASSES = {
    ("numpy", "dtype"), ("numpy", "ndarray"), ("builtins", "object"), ("builtins", "set"),
    ("builtins", "frozenset"), ("builtins", "slice"), ("builtins", "range"),
    ("builtins", "complex"), ("builtins", "bytearray"), ("collections", "OrderedDict"),
    ("collections", "defaultdict"), ("fractions", "Fraction"), ("decimal", "Decimal"),
}
_DNSRACE_ROOMS = ("dnsrace.model.", "dnsrace.checker.explore.", "dnsrace.invariants.")


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, used or written; the message is one line."""


def source_digest(obj) -> str | None:
    """SHA-256 of the source file defining ``type(obj)`` when that is user code (not part of
    dnsrace), else None (dnsrace's own code is covered by its build digest)."""
    module = sys.modules.get(type(obj).__module__)
    name = getattr(module, "__name__", "")
    path = getattr(module, "__file__", None)
    if name.startswith("dnsrace.") or not path:
        return None
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def build_digest() -> str:
    """SHA-256 over dnsrace's own Python sources: two builds with the same version number but
    different code (a development tree) do not share checkpoints."""
    root = Path(__file__).resolve().parents[2]  # the folder holding model/, checker/, ...
    h = hashlib.sha256()
    for room in ("model", "checker", "invariants"):
        for path in sorted((root / room).rglob("*.py")):
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _user_module(obj) -> str | None:
    name = type(obj).__module__
    return None if name.startswith("dnsrace.") or name == "builtins" else name


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, objects, modules):
        super().__init__(f)
        self._objects, self._modules = objects, modules

    def persistent_load(self, pid):
        try:
            return self._objects[pid]
        except (KeyError, TypeError):
            raise pickle.UnpicklingError(f"unknown object {pid!r}") from None

    def find_class(self, module, name):
        module = self._modules.get(module, module)
        if (module, name) in _SAFE_FUNCTIONS or (module, name) in _SAFE_CLASSES:
            return super().find_class(module, name)
        if module == "numpy":  # scalar types (numpy.int64, numpy.uint32, ...)
            obj = getattr(np, name, None)
            if isinstance(obj, type) and issubclass(obj, np.generic):
                return obj
        own = module.startswith(_DNSRACE_ROOMS) or module in self._modules.values()
        if own and "." not in name:
            obj = super().find_class(module, name)
            if isinstance(obj, type):
                return obj
        raise pickle.UnpicklingError(f"{module}.{name} is not something a dnsrace checkpoint "
                                     "holds")


class _Hashing(io.RawIOBase):
    """A write-only file that hashes and counts what passes through it."""

    def __init__(self, f, h):
        self.f, self.h, self.n = f, h, 0

    def writable(self):
        return True

    def write(self, b):
        view = memoryview(b)
        self.f.write(view)
        self.h.update(view)
        self.n += view.nbytes
        return view.nbytes


def _open_regular(path: Path):
    """``path`` opened for reading, refusing what is not a regular file (a FIFO, a device)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise CheckpointError(f"{path}: not a regular file (a dnsrace checkpoint is one)")
    try:
        return open(path, "rb"), st.st_size
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read it: {exc.strerror or exc}") from None


def read_header(path) -> dict:
    """The header of the checkpoint at ``path`` (its digest checked too), or CheckpointError
    saying in one line why the file is not a usable dnsrace checkpoint."""
    path = Path(path)
    f, size = _open_regular(path)
    with f:
        first = f.readline(64)
        if not first.startswith(MAGIC + b" "):
            raise CheckpointError(f"{path}: not a dnsrace checkpoint (it does not start with "
                                  f"{MAGIC.decode()!r})")
        try:
            fmt = int(first[len(MAGIC) + 1:].strip())
        except ValueError:
            raise CheckpointError(f"{path}: not a dnsrace checkpoint (bad first line)") from None
        if fmt != FORMAT:
            raise CheckpointError(f"{path}: checkpoint format {fmt}; this dnsrace reads format "
                                  f"{FORMAT} only")
        line = f.readline(_MAX_HEADER)
        if not line.endswith(b"\n"):
            raise CheckpointError(f"{path}: truncated or damaged checkpoint (no complete header)")
        try:
            header = json.loads(line)
        except ValueError:
            header = None
        if not isinstance(header, dict) or not isinstance(header.get("identity"), dict):
            raise CheckpointError(f"{path}: damaged checkpoint (unreadable header)")
        start = f.tell()
        if size < start + _TRAILER.size:
            raise CheckpointError(f"{path}: truncated checkpoint (the run writing it was cut "
                                  "short; an older checkpoint would have been kept)")
        f.seek(size - _TRAILER.size)
        length, digest = _TRAILER.unpack(f.read(_TRAILER.size))
        if start + length + _TRAILER.size != size:
            raise CheckpointError(f"{path}: truncated or damaged checkpoint (its length does "
                                  "not match)")
        h = hashlib.sha256(line)
        f.seek(start)
        left = length
        while left:
            block = f.read(min(left, 1 << 22))
            if not block:
                raise CheckpointError(f"{path}: truncated checkpoint")
            h.update(block)
            left -= len(block)
        if h.digest() != digest:
            raise CheckpointError(f"{path}: damaged checkpoint (its SHA-256 does not match)")
    header["_payload_offset"] = start
    return header


def _differences(saved, current, prefix=""):
    """Dotted paths where two identity dicts differ, with both values."""
    out = []
    for key in list(saved) + [k for k in current if k not in saved]:
        a, b = saved.get(key, "(absent)"), current.get(key, "(absent)")
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(_differences(a, b, f"{prefix}{key}."))
        elif a != b:
            out.append((f"{prefix}{key}", a, b))
    return out


def _describe(value) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value)) or "none"
    return json.dumps(value) if not isinstance(value, str) else value


class Checkpointer:
    """Saves a search at level boundaries (no more often than every ``every`` seconds, and
    once more where the run stops short), and hands a resumed one its saved state.

    ``identity`` is a JSON-able dict of everything that decides the result (sizes, protocol,
    properties, reductions, source hashes); ``version`` the dnsrace version; ``roles`` maps a
    role name (``protocol``, ``property:no-dangling``) to the object whose class is user code,
    so a user module loaded under another name (another path) still resolves. ``resume`` is a
    checkpoint file to continue from (its header is checked at once)."""

    def __init__(self, path, identity: dict, version: str, *, every: float = 0.0,
                 force: bool = False, resume=None, roles=None):
        self.path = Path(path)
        self.identity = identity
        self.version = version
        self.build = build_digest()
        self.every = every
        self.roles = {r: _user_module(o) for r, o in (roles or {}).items()}
        self.vm = None
        self.current = None       # (phase, por) of the explore call running now
        self.written = None       # header["search"] of the last checkpoint this run wrote
        self.resumable = False    # the run stopped short where a resume can continue
        self.on_resume = None     # called once the saved search is accepted and resumed
        self._last = time.monotonic()
        self._mine = set()        # (st_dev, st_ino) of every file this run wrote
        self._saved = None        # the header of the checkpoint resumed from
        self._payload = None      # its unpickled payload, once read
        self._model = None        # the run's model (its objects are not pickled)
        self._may_replace = force
        self.resume_path = None if resume is None else Path(resume)
        if resume is not None:
            self._saved = self._check(read_header(resume), Path(resume))
            if self.resume_path.resolve() == self.path.resolve():
                self._may_replace = True
        self._check_target(force)

    # -- checks before any work -----------------------------------------------------------
    def _check(self, header, path) -> dict:
        if header.get("dnsrace") != self.version:
            raise CheckpointError(f"{path} was written by dnsrace {header.get('dnsrace')}; this "
                                  f"is dnsrace {self.version} (resume with the same version)")
        if header.get("build") != self.build:
            raise CheckpointError(f"{path} was written by another build of dnsrace "
                                  f"{self.version} (its source files differ from this one's)")
        diff = _differences(header["identity"], self.identity)
        if diff:
            where, a, b = diff[0]
            more = f" (and {len(diff) - 1} more difference{'s' if len(diff) > 2 else ''})" \
                if len(diff) > 1 else ""
            raise CheckpointError(f"{path} is a checkpoint of another run: {where} is "
                                  f"{_describe(a)} there and {_describe(b)} here{more}")
        return header

    def _file_id(self):
        try:
            st = os.lstat(self.path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def _check_target(self, force: bool) -> None:
        path = self.path
        if not path.name:
            raise CheckpointError("--checkpoint: the file name is empty")
        folder = path.parent
        if not folder.is_dir():
            raise CheckpointError(f"--checkpoint {path}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise CheckpointError(f"--checkpoint {path}: cannot write to {folder}: permission "
                                  "denied")
        if os.path.lexists(path) and not self._may_replace:
            what = "a file"
            try:
                h = read_header(path)
                s = h.get("search", {})
                what = (f"a checkpoint (depth {s.get('depth')}, {s.get('states'):,} states)"
                        if isinstance(s.get("states"), int) else "a checkpoint")
            except CheckpointError:
                pass
            raise CheckpointError(f"--checkpoint {path}: {what} already exists; continue it "
                                  f"with --resume {path}, or use --force to overwrite it")
        if os.path.isdir(path):
            raise CheckpointError(f"--checkpoint {path}: is a folder")

    # -- what the engines call ------------------------------------------------------------
    def phase(self, name: str):
        """Marks which explore call of a run follows (``first``; ``rerun`` without the
        partial-order reduction after it found a violation). Returns self."""
        self.current = name
        return self

    @property
    def resumed(self) -> dict | None:
        """Where the checkpoint resumed from stood (``phase``, ``depth``, ``states``), or None."""
        return None if self._saved is None else dict(self._saved["search"])

    def resumes(self, name: str) -> bool:
        """True when the checkpoint resumed from was written in phase ``name``."""
        return self._saved is not None and self._saved["search"]["phase"] == name

    def vectorizer(self, vectorize, model):
        """``vectorize`` for a resumed run: the vector model restored from the checkpoint
        (its intern tables; the run's own model objects), for every call."""
        self._model = model
        if getattr(model, "protocol", None) is not None:
            self.roles.setdefault("protocol", _user_module(model.protocol))
        if self._saved is None:
            return vectorize

        def restored(target):
            if self.vm is None:
                self._load(target, model)
            return self.vm
        return restored

    def _objects(self, target, model) -> dict:
        objs = {}
        for tag, obj in (("target", target), ("target.protocol",
                                               getattr(target, "protocol", None)),
                         ("model", model), ("model.protocol", getattr(model, "protocol", None))):
            if obj is not None and all(o is not obj for o in objs.values()):
                objs[tag] = obj
        return objs

    def _load(self, target, model) -> None:
        saved_modules = self._saved.get("modules", {})
        remap = {saved_modules[r]: m for r, m in self.roles.items()
                 if m and saved_modules.get(r) and saved_modules[r] != m}
        for r, m in self.roles.items():
            if m:
                remap.setdefault(m, m)
        path = self.resume_path
        f, _size = _open_regular(path)
        with f:
            f.seek(self._saved["_payload_offset"])
            try:
                payload = _Unpickler(f, self._objects(target, model), remap).load()
            except Exception as exc:  # noqa: BLE001 - any failure is the file's, one line
                raise CheckpointError(f"{path}: cannot be restored by this installation "
                                      f"({type(exc).__name__}: {exc})") from None
        if not isinstance(payload, dict) or "search" not in payload or "vm" not in payload:
            raise CheckpointError(f"{path}: damaged checkpoint (unexpected content)")
        adopt = getattr(payload["vm"], "adopt", None)
        if adopt is not None:
            adopt()  # the restored copy is the only one: it may intern new values
        self.vm = payload["vm"]
        self._payload = payload

    def take(self, vm, por: bool, symmetry: bool):
        """The saved search for the explore call starting now (once), or None."""
        if self._payload is None or self._saved["search"]["phase"] != self.current:
            return None
        payload, self._payload = self._payload, None
        if vm is not payload["vm"]:
            return None  # a restart on a widened model: from the beginning
        for name, here, there in (("partial-order reduction", por, payload["por"]),
                                  ("symmetry reduction", symmetry, payload["symmetry"])):
            if here != there:
                raise CheckpointError(
                    f"{self.resume_path} was made with {name} {'on' if there else 'off'} and this "
                    f"run has it {'on' if here else 'off'} (--max-depth turns partial-order "
                    "reduction off; --no-por and --no-reduction choose it)")
        if self.on_resume is not None:
            self.on_resume()
        return payload["search"]

    def boundary(self, state, now: bool = False) -> None:
        """At a level boundary: saves ``state()`` if ``every`` seconds have passed since the
        last save, or ``now``; never twice at the same boundary."""
        if not now and time.monotonic() - self._last < self.every:
            return
        s = state()
        if self.written is None or self.written["phase"] != self.current or \
                self.written["depth"] != s["depth"]:
            self.save(s)

    def finish(self, state, stopped: bool) -> None:
        """Where the search ended: when it stopped short (``stopped``), saves ``state()`` if
        it is at a level boundary (``state`` not None); otherwise the last save stands."""
        if stopped:
            self.resumable = True
            if state is not None:
                self.boundary(state, now=True)

    def save(self, s: dict) -> None:
        """Writes the search ``s`` (a dict from the engine, with ``vm``, ``por``,
        ``symmetry``) atomically to the checkpoint file."""
        self.vm = s["vm"]
        search = {"phase": self.current, "depth": int(s["depth"]),
                  "states": int(s["n_states"]), "seconds": round(float(s["seconds"]), 3)}
        header = {"dnsrace": self.version, "build": self.build, "identity": self.identity,
                  "search": search, "modules": {r: m for r, m in self.roles.items() if m},
                  "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        payload = {"vm": s["vm"], "por": s["por"], "symmetry": s["symmetry"],
                   "search": {k: v for k, v in s.items()
                              if k not in ("vm", "por", "symmetry")}}
        self._write(header, payload, s["vm"])
        self.written = search
        self._last = time.monotonic()

    def _write(self, header, payload, vm) -> None:
        path = self.path
        line = json.dumps(header, sort_keys=True).encode() + b"\n"
        model = getattr(vm, "model", None)
        objs = self._objects(model, self._model) if model is not None else {}
        ids = {id(o): tag for tag, o in objs.items()}
        # named before it exists, so that an interrupt at any point can remove it
        tmp = str(path.parent / f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + b" %d\n" % FORMAT)
                f.write(line)
                h = hashlib.sha256(line)
                sink = _Hashing(f, h)
                pickler = pickle.Pickler(sink, protocol=pickle.HIGHEST_PROTOCOL)
                pickler.persistent_id = lambda obj: ids.get(id(obj))
                pickler.dump(payload)
                f.write(_TRAILER.pack(sink.n, h.digest()))
                f.flush()
                os.fsync(f.fileno())
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            self._place(tmp)
        except CheckpointError:
            _unlink(tmp)
            raise
        except OSError as exc:
            _unlink(tmp)
            raise CheckpointError(f"cannot write checkpoint {path}: {exc.strerror or exc}; the "
                                  "previous checkpoint is intact") from None
        except BaseException:
            _unlink(tmp)
            raise
        _sync_folder(path.parent)

    def _place(self, tmp: str) -> None:
        """Renames ``tmp`` over the checkpoint: over a file this run wrote (or, at first, the
        one it resumed from, or any with force), never over one that appeared meanwhile.
        Files are known by inode, recorded before each rename, so an interrupt between the
        rename and the bookkeeping cannot make this run's own file look foreign."""
        path = self.path
        st = os.stat(tmp)
        self._mine.add((st.st_dev, st.st_ino))
        current = self._file_id()
        if current is not None and current not in self._mine and not self._may_replace:
            raise CheckpointError(f"--checkpoint {path} was created or replaced by someone "
                                  "else during this run; not overwritten")
        if current is None:
            try:
                os.link(tmp, path, follow_symlinks=False)  # exclusive: fails if path exists
            except FileExistsError:
                raise CheckpointError(f"--checkpoint {path} was created by someone else during "
                                      "this run; not overwritten") from None
            except OSError:  # no hard links here: a plain rename
                _replace(tmp, path)
            else:
                _unlink(tmp)
        else:
            _replace(tmp, path)
        self._may_replace = False


def _replace(tmp: str, path: Path) -> None:
    os.replace(tmp, path)


def _unlink(path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _sync_folder(folder: Path) -> None:
    """Makes the rename durable (a power cut right after it keeps the new checkpoint)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
