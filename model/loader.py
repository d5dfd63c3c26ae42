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

import hashlib
import importlib
import importlib.util
import os
import sys
import traceback

from .actions import Action
from .config import Config, enactor_name
from .describe import phase_text
from .protocols import SHIPPED, Protocol, ProtocolDefinitionError
from .state import State, initial_state
from .variants import VARIANTS

__all__ = ["PROTOCOLS", "ProtocolLoadError", "ProtocolStepError", "load_protocol",
           "is_protocol_spec", "load_user_file", "load_user_module", "user_failure"]

# Every protocol that ships, by name: MODEL.md's four, then the variants.
PROTOCOLS = {**SHIPPED, **VARIANTS}


class ProtocolLoadError(ValueError):
    """A protocol that cannot be loaded; the message is one line naming file and problem."""


class ProtocolStepError(RuntimeError):
    """A user protocol raised inside one of its steps; the message is one line."""


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
    except Exception as exc:  # noqa: BLE001 - any failure of user code is a load error
        sys.modules.pop(name, None)
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
    except Exception as exc:  # noqa: BLE001
        raise ProtocolLoadError(f"module {dotted}: {_failure(exc, None)}") from None


def _defined_protocols(module) -> list[str]:
    return [n for n, v in vars(module).items()
            if isinstance(v, type) and issubclass(v, Protocol)
            and v.__module__ == module.__name__]


def _pick_class(module, attr: str, where: str):
    if not attr:
        found = _defined_protocols(module)
        if len(found) != 1:
            raise ProtocolLoadError(
                f"{where}: defines {len(found)} protocol classes "
                f"({', '.join(found) or 'none'}); name one, as in {where.split()[-1]}:ClassName")
        attr = found[0]
    if not hasattr(module, attr):
        found = _defined_protocols(module)
        raise ProtocolLoadError(
            f"{where}: defines no {attr!r} (protocol classes there: {', '.join(found) or 'none'})")
    value = getattr(module, attr)
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
    if isinstance(cls_or_obj, type):
        try:
            protocol = cls()
        except Exception as exc:  # noqa: BLE001
            raise ProtocolLoadError(f"{where}: {cls.__name__}() failed: {_failure(exc, None)}") \
                from None
    else:
        protocol = cls_or_obj
    if "name" not in vars(cls) and cls not in PROTOCOLS.values():
        protocol.name = cls.__name__  # do not pass off a user class as the one it extends
    protocol.origin = where.removeprefix("protocol file ")
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


def _guard(protocol: Protocol, where: str) -> None:
    """Wraps the entry points of a user protocol so that its exceptions name the protocol and
    the step that raised (ProtocolStepError) instead of looking like a dnsrace crash."""
    for method in _GUARDED:
        inner = getattr(protocol, method)

        def guarded(*args, _inner=inner, _method=method):
            try:
                return _inner(*args)
            except Exception as exc:  # noqa: BLE001
                raise ProtocolStepError(_step_failure(protocol, _method, args, exc)) from exc

        setattr(protocol, method, guarded)
    _smoke_test(protocol, where)


def _step_failure(protocol, method, args, exc) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    user = [f for f in frames if not os.path.abspath(f.filename).startswith(_HERE)]
    f = (user or frames)[-1] if frames else None
    where = f"{f.name}() at {os.path.basename(f.filename)} line {f.lineno}" if f else f"{method}()"
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
        raise ProtocolLoadError(str(exc)) from None
    for pair in out:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], Action)
                and isinstance(pair[1], State)):
            raise ProtocolLoadError(
                f"{where}: steps must return (action, next_state) pairs, got "
                f"{pair!r:.80}")
