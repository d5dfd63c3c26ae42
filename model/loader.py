"""Finding a protocol by name: shipped ones, and a user's own class in a file or module.

``load_protocol`` accepts

- a shipped name: ``original``, ``cas``, ``lease+fencing``, ... (``PROTOCOLS``);
- ``path/to/file.py:ClassName`` (``path/to/file.py`` alone when the file defines exactly one
  protocol class);
- ``package.module:ClassName`` (importable from ``sys.path``).

Every way a user's protocol can fail to load raises ``ProtocolLoadError`` with one line that
names the file (or module) and the problem. A protocol loaded from user code is wrapped so
that an exception inside one of its steps during exploration becomes ``ProtocolStepError``,
naming the protocol, the step and the line: the user's bug, not dnsrace's.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import os
import re
import signal
import sys
import traceback

from .actions import Action
from .config import Config, enactor_name
from .describe import phase_text
from .protocols import SHIPPED, Protocol, ProtocolDefinitionError
from .state import State, initial_state
from .variants import VARIANTS

__all__ = ["PROTOCOLS", "ProtocolLoadError", "ProtocolStepError", "load_protocol",
           "is_protocol_spec", "Interrupted", "check_protocol_name", "in_user_code",
           "running_user_code", "is_real_interrupt", "named_or_only",
           "load_user_file", "load_user_module", "user_failure"]

# Every protocol that ships, by name: MODEL.md's four, then the variants.
PROTOCOLS = {**SHIPPED, **VARIANTS}


class ProtocolLoadError(ValueError):
    """A protocol that cannot be loaded; the message is one line naming file and problem."""


class ProtocolStepError(RuntimeError):
    """A user protocol raised inside one of its steps; the message is one line."""


class Interrupted(KeyboardInterrupt):
    """A real interruption (Ctrl-C, SIGTERM, an expired time limit) raised by dnsrace's own
    signal handlers (checker/cli/signals.py). Only this, never a ``KeyboardInterrupt`` or
    ``SystemExit`` that user code raises itself, passes through a user protocol unchanged."""


def is_real_interrupt(exc: BaseException) -> bool:
    """True for an interruption from outside the user's code: dnsrace's own ``Interrupted``,
    or a plain KeyboardInterrupt while Python's default Ctrl-C handler is installed (library
    use, where nobody installed dnsrace's handlers)."""
    if isinstance(exc, Interrupted):
        return True
    return isinstance(exc, KeyboardInterrupt) and \
        signal.getsignal(signal.SIGINT) is signal.default_int_handler


# A protocol's name becomes part of trace file names: no folders, no "..", no hidden files.
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,79}")


def check_protocol_name(name) -> str:
    """``name`` when it is safe as part of a file name, else ProtocolLoadError."""
    if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name) or ".." in name:
        raise ProtocolLoadError(
            f"protocol name {name!r:.60} is not allowed: it becomes part of trace file names, so "
            "use 1-80 letters, digits and . _ + - (starting with a letter or digit, no '..')")
    return name


def is_protocol_spec(text: str) -> bool:
    """True when ``text`` names user code (``file.py[:Class]`` or ``module:Class``)."""
    return ":" in text or text.endswith(".py")


def load_protocol(spec: str) -> Protocol:
    """A protocol instance for ``spec`` (see the module docstring)."""
    cls = PROTOCOLS.get(spec)
    if cls is not None:
        return cls()
    if not is_protocol_spec(spec):
        raise ProtocolLoadError(
            f"unknown protocol {spec!r} (shipped: {', '.join(PROTOCOLS)}; or your own: "
            "path/to/file.py:ClassName or package.module:ClassName)")
    target, _, attr = spec.rpartition(":") if ":" in spec else (spec, "", "")
    is_file = target.endswith(".py") or os.sep in target or "/" in target
    if is_file:
        module, where = _load_file(target), f"protocol file {target}"
    else:
        module, where = _load_module(target), f"module {target}"
    return _instantiate(_pick_class(module, attr, where), where)


def load_user_file(path: str, what: str = "protocol file"):
    """Imports the Python file at ``path`` as a fresh module; every failure is one
    ``ProtocolLoadError`` line starting with ``what`` and the path."""
    return _load_file(path, what)


def load_user_module(dotted: str):
    """Imports ``package.module``; every failure is one ``ProtocolLoadError`` line."""
    return _load_module(dotted)


def _load_file(path: str, what: str = "protocol file"):
    """Imports the Python file at ``path`` (``what`` names it in errors: ``adapter file``)."""
    if not os.path.isfile(path):
        raise ProtocolLoadError(f"{what} {path}: no such file")
    stem = os.path.splitext(os.path.basename(path))[0]
    tag = hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:8]  # a/fix.py != b/fix.py
    name = f"dnsrace_user_{what.split()[0]}_{stem if stem.isidentifier() else 'module'}_{tag}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ProtocolLoadError(f"{what} {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look a class's module up here
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise ProtocolLoadError(
            f"{what} {path}: syntax error at line {exc.lineno}: {exc.msg}") from None
    except BaseException as exc:  # noqa: BLE001 - any failure of user code is a load error
        sys.modules.pop(name, None)
        if is_real_interrupt(exc):
            raise
        raise ProtocolLoadError(f"{what} {path}: {_failure(exc, path)}") from None
    return module


def _load_module(dotted: str):
    try:
        return importlib.import_module(dotted)
    except ModuleNotFoundError as exc:
        if exc.name and dotted.startswith(exc.name):
            raise ProtocolLoadError(
                f"module {dotted}: cannot import it (no module named {exc.name!r} on the "
                "Python path)") from None
        raise ProtocolLoadError(f"module {dotted}: {_failure(exc, None)}") from None
    except SyntaxError as exc:
        raise ProtocolLoadError(
            f"module {dotted}: syntax error in {os.path.basename(exc.filename or '?')} at line "
            f"{exc.lineno}: {exc.msg}") from None
    except BaseException as exc:  # noqa: BLE001 - SystemExit too: never a verdict
        if is_real_interrupt(exc):
            raise
        raise ProtocolLoadError(f"module {dotted}: {_failure(exc, None)}") from None


def named_or_only(module, attr: str, where: str, bases, noun: str, error):
    """``(attr, value)`` of ``module``: the attribute ``attr``, or when ``attr`` is empty the
    one class of ``bases`` the module defines itself. ``error`` (one line, naming ``where``
    and the ``noun`` classes found) when there is none, several, or no such attribute."""
    def defined() -> list[str]:
        return [n for n, v in vars(module).items() if isinstance(v, type)
                and issubclass(v, bases) and v.__module__ == module.__name__]

    if not attr:
        found = defined()
        if len(found) != 1:
            raise error(f"{where}: defines {len(found)} {noun} classes "
                        f"({', '.join(found) or 'none'}); name one, as in "
                        f"{where.split()[-1]}:ClassName")
        attr = found[0]
    if not hasattr(module, attr):
        raise error(f"{where}: defines no {attr!r} ({noun} classes there: "
                    f"{', '.join(defined()) or 'none'})")
    return attr, getattr(module, attr)


def _pick_class(module, attr: str, where: str):
    attr, value = named_or_only(module, attr, where, Protocol, "protocol", ProtocolLoadError)
    if isinstance(value, Protocol):
        return value
    if not (isinstance(value, type) and issubclass(value, Protocol)):
        what = "another class" if isinstance(value, type) else f"an object of type {type(value).__name__}"
        raise ProtocolLoadError(
            f"{where}: {attr} is not a protocol but {what} (subclass "
            "dnsrace.model.Original and override the steps that differ)")
    return value


def _instantiate(cls_or_obj, where: str) -> Protocol:
    cls = cls_or_obj if isinstance(cls_or_obj, type) else type(cls_or_obj)
    try:
        cls.validate()
    except ProtocolDefinitionError as exc:
        raise ProtocolLoadError(f"{where}: {exc}") from None
    except BaseException as exc:  # noqa: BLE001
        if is_real_interrupt(exc):
            raise
        raise ProtocolLoadError(f"{where}: {_failure(exc, None)}") from None
    if isinstance(cls_or_obj, type):
        try:
            protocol = cls()
        except BaseException as exc:  # noqa: BLE001
            if is_real_interrupt(exc):
                raise
            raise ProtocolLoadError(f"{where}: {cls.__name__}() failed: {_failure(exc, None)}") \
                from None
    else:
        protocol = cls_or_obj
    if "name" not in vars(cls) and cls not in PROTOCOLS.values():
        protocol.name = cls.__name__  # do not pass off a user class as the one it extends
    protocol.origin = where.removeprefix("protocol file ")
    try:
        check_protocol_name(protocol.name)
    except ProtocolLoadError as exc:
        raise ProtocolLoadError(f"{where}: {exc}") from None
    _guard(protocol, where)
    return protocol


def user_failure(exc: BaseException, path=None) -> str:
    """``ExcType: message (file.py line N, in f)``, the line in the user's code when known."""
    return _failure(exc, path)


def _failure(exc: BaseException, path) -> str:
    """``ExcType: message (file.py line N)``, the line in the user's code when known."""
    text = f"{type(exc).__name__}: {exc}".rstrip(": ")
    frames = traceback.extract_tb(exc.__traceback__)
    if path is not None:
        mine = [f for f in frames if os.path.abspath(f.filename) == os.path.abspath(path)]
        frames = mine or frames
    if frames:
        f = frames[-1]
        text += f" ({os.path.basename(f.filename)} line {f.lineno}, in {f.name})"
    return text


_HERE = os.path.dirname(os.path.abspath(__file__)) + os.sep  # dnsrace's own model code

# The methods an engine or a renderer calls on a protocol.
_GUARDED = ("steps", "canonical", "initial_ext", "phase_name")


_USER_DEPTH = [0]  # how many guarded user-protocol calls are running (0: dnsrace's own code)


def in_user_code() -> bool:
    """True while a user protocol's method runs (a time limit may interrupt it there)."""
    return _USER_DEPTH[0] > 0


@contextlib.contextmanager
def running_user_code(protocol):
    """Marks the block as a user protocol's code when ``protocol`` was loaded from user code
    (for callers that reach its step methods past the guarded entry points, such as the
    derived vector model)."""
    if not getattr(protocol, "loaded_from_user_code", False):
        yield
        return
    _USER_DEPTH[0] += 1
    try:
        yield
    finally:
        _USER_DEPTH[0] -= 1


class _Malformed(Exception):
    """A user method returned something dnsrace cannot use."""


def _check_steps(out):
    """``steps`` must return an iterable of (Action, State) pairs with hashable states."""
    try:
        pairs = list(out)
    except TypeError:
        raise _Malformed(f"steps must return (action, next_state) pairs, got "
                         f"{type(out).__name__} {out!r:.60}") from None
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], Action)
                and isinstance(pair[1], State)):
            raise _Malformed(f"steps must return (action, next_state) pairs, got {pair!r:.80}")
        try:
            hash(pair)
        except TypeError as exc:
            raise _Malformed(f"steps must return hashable actions and states ({exc}), got "
                             f"{pair!r:.80}") from None
    return pairs


def _check_hashable(what):
    def check(value):
        try:
            hash(value)
        except TypeError:
            raise _Malformed(f"must return a hashable value ({what}), got "
                             f"{type(value).__name__} {value!r:.60}") from None
        return value
    return check


def _check_state(value):
    if not isinstance(value, State):
        raise _Malformed(f"must return a State, got {value!r:.80}")
    return _check_hashable("states are stored in sets")(value)


def _check_str(value):
    if not isinstance(value, str):
        raise _Malformed(f"must return a string, got {value!r:.60}")
    return value


_RESULT_CHECKS = {"steps": _check_steps, "canonical": _check_state,
                  "initial_ext": _check_hashable("use a tuple, frozenset or dataclass(frozen=True)"),
                  "phase_name": _check_str, "describe": _check_str}


def _contained(protocol, method, inner):
    """``inner`` with every failure of user code, including SystemExit, a KeyboardInterrupt
    it raises itself and a malformed result, turned into one ProtocolStepError."""
    check = _RESULT_CHECKS.get(method)

    def guarded(*args):
        _USER_DEPTH[0] += 1
        try:
            out = inner(*args)
            return check(out) if check is not None else out
        except ProtocolStepError:
            raise
        except BaseException as exc:  # noqa: BLE001 - nothing user code does is a verdict
            if is_real_interrupt(exc):
                raise
            raise ProtocolStepError(_step_failure(protocol, method, args, exc)) from exc
        finally:
            _USER_DEPTH[0] -= 1
    return guarded


def _guard(protocol: Protocol, where: str) -> None:
    """Wraps the entry points of a user protocol so that its exceptions (and malformed
    results) name the protocol and the step that raised (ProtocolStepError) instead of
    looking like a dnsrace crash, or worse, a verdict."""
    protocol.loaded_from_user_code = True
    for method in _GUARDED:
        setattr(protocol, method, _contained(protocol, method, getattr(protocol, method)))
    for action_cls in getattr(protocol, "action_classes", ()):
        own = vars(action_cls).get("describe")
        if callable(own) and not getattr(own, "_dnsrace_guarded", False):
            def describe(self, *args, _own=own):
                return _contained(protocol, "describe", lambda *a: _own(self, *a))(*args)
            describe._dnsrace_guarded = True
            action_cls.describe = describe
    _smoke_test(protocol, where)


def _step_failure(protocol, method, args, exc) -> str:
    if isinstance(exc, _Malformed):
        text = f"protocol {protocol.name!r} ({protocol.origin}): {method}(): {exc}"
    else:
        frames = traceback.extract_tb(exc.__traceback__)
        user = [f for f in frames if not os.path.abspath(f.filename).startswith(_HERE)]
        f = (user or frames)[-1] if frames else None
        where = f"{f.name}() at {os.path.basename(f.filename)} line {f.lineno}" if f \
            else f"{method}()"
        text = (f"protocol {protocol.name!r} ({protocol.origin}) raised "
                f"{type(exc).__name__}: {exc}".rstrip(": ") + f" in {where}")
    state = next((a for a in args if isinstance(a, State)), None)
    config = next((a for a in args if isinstance(a, Config)), None)
    if state is not None:
        text += f", from state {_short(protocol, state, config)}"
    return text


def _short(protocol, s: State, config) -> str:
    def phase(pc):
        try:
            return phase_text(type(protocol).phase_name(protocol, pc, config)) if config \
                else str(pc)
        except Exception:  # noqa: BLE001 - the state is context; never hide the first error
            return str(pc)

    es = ", ".join(f"{enactor_name(i)} {phase(e.pc)}" + (f" holding {e.held}" if e.held else "")
                   + (f" {e.local!r}" if e.local else "") for i, e in enumerate(s.enactors))
    ext = f" ext={s.ext}" if s.ext else ""
    return f"gen={s.gen} store={sorted(s.store)} dns={list(s.dns)} enactors=[{es}]{ext}"


def _smoke_test(protocol: Protocol, where: str) -> None:
    """Before any exploration: the initial state's steps must be (Action, State) pairs."""
    c = Config()
    try:
        s0 = initial_state(c.enactors, c.endpoints, protocol.initial_ext(c))
        out = protocol.steps(c, s0)
    except ProtocolStepError as exc:
        if isinstance(exc.__cause__, _Malformed):
            raise ProtocolLoadError(f"{where}: {exc.__cause__}") from None
        raise ProtocolLoadError(str(exc)) from None
    for pair in out:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], Action)
                and isinstance(pair[1], State)):  # already refused by _check_steps
            raise ProtocolLoadError(
                f"{where}: steps must return (action, next_state) pairs, got "
                f"{pair!r:.80}")
