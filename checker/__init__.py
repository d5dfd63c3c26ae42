"""Exploration engines and their results. Nothing here knows about DNS."""

from .bfs import explore
from .paths import concretize, replay
from .result import HOLDS, INCOMPLETE, VIOLATED, Options, Path, PropertyResult, Result, Stats

__all__ = ["HOLDS", "INCOMPLETE", "VIOLATED", "Options", "Path", "PropertyResult", "Result",
           "Stats", "concretize", "explore", "replay"]
