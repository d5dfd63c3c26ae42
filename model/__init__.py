"""The DynamoDB DNS automation as a transition system (see MODEL.md)."""

from .actions import ACTION_KINDS, Abort, Action, Check, Cleanup, Pick, Plan, Write, action_from_dict
from .config import Config, ConfigError, enactor_name, endpoint_name, endpoint_ref
from .protocols import SHIPPED, Cas, Guarded, Original, Protocol, Recheck
from .describe import describe_step
from .serialize import state_to_dict
from .size import state_bound
from .state import APPLY0, CLEANUP, IDLE, Enactor, State, initial_state
from .system import DnsSystem, UnknownProtocol, resolve_protocol
from .loader import PROTOCOLS, ProtocolLoadError, ProtocolStepError, load_protocol

__all__ = [
    "ACTION_KINDS", "APPLY0", "Abort", "Action", "CLEANUP", "Cas", "Check", "Cleanup", "Config",
    "ConfigError", "DnsSystem", "describe_step", "state_bound", "state_to_dict", "Enactor", "Guarded", "IDLE", "Original", "Pick", "Plan",
    "Protocol", "Recheck", "SHIPPED", "State", "UnknownProtocol", "Write", "action_from_dict",
    "enactor_name", "endpoint_name", "endpoint_ref", "initial_state", "resolve_protocol",
    "PROTOCOLS", "ProtocolLoadError", "ProtocolStepError", "load_protocol",
]
