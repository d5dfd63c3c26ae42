"""The checker, grouped by capability:

- ``explore/``: exploration engines (object BFS, vector, parallel), limits, results, paths;
- ``timing/``: zones, the timed engine, z3, synthesis, the simulator;
- ``traces/``: the trace type, file formats, export, replay, the gallery;
- ``reports/``: step tables, statistics, compare and sweep;
- ``cli/``: the ``dnsrace`` command line.

Engines (``explore/``, ``timing/``) know nothing of DNS; a test checks they never import the
model or the properties. The names below are the engine API for library users."""

from .explore.bfs import explore
from .explore.paths import concretize, replay
from .explore.result import (HOLDS, INCOMPLETE, VIOLATED, Options, Path, PropertyResult, Result,
                             Stats)

__all__ = ["HOLDS", "INCOMPLETE", "VIOLATED", "Options", "Path", "PropertyResult", "Result",
           "Stats", "concretize", "explore", "replay"]
