"""The vector form of ANY protocol, derived from its own step methods: no second copy of the
semantics. ``vector_model(model)`` gives the fast engines (``checker/explore/vector.py``,
``parallel.py``, the cluster engine) what they consume, for shipped and user protocols alike.

How it is derived (docs/PERFORMANCE.md, "The derived vector model"):

- **Interning.** Each distinct enactor record ``(pc, held, local)`` and each distinct shared
  part ``(gen, store, dns, ext)`` gets a small integer id the first time it is seen. A key packs
  ``shared id << N*W | record id of enactor j << j*W`` into 63 bits; ``W`` is chosen from an
  estimate and the model is rebuilt wider (``widened()``) when a table outgrows its field.
- **Memoised steps.** ``protocol.enactor_steps(c, s, i)`` is evaluated once per distinct
  ``(shared id, record id, i)`` on a state whose other enactors are *sentinels*: objects that
  refuse every use (attribute, comparison, hashing, iteration, truth value). If the step
  touches none, its result depends only on what it was given, and is stored as deltas
  ``(action id, new shared id, new record id)``; the sentinels in its next states must come back
  unchanged in their places. If it touches one, it is tried again with *local views* (the other
  enactors show only their ``local`` data) and memoised per every enactor's local data; if it
  needs more (another enactor's ``pc``), or raises, it is evaluated on each real state that needs
  it. The Planner's step is memoised the same way per shared id, ``normalize`` per (ext, every
  enactor's local data), and properties per shared id (per (shared, action, shared) for
  transition invariants), with the same fallback. With symmetry on, a symmetric protocol's step
  is memoised once for all positions (``i = N`` in the memo key; its action renamed with
  ``enactor=j``), as the symmetry reduction itself assumes.
  This is sound because steps are deterministic and side-effect free, as the protocol API
  requires (``check_determinism=True`` evaluates every memoised step twice and compares).
  A protocol that overrides ``steps`` itself cannot be split by enactor: each state's
  ``steps`` is evaluated whole (correct, at about the object engine's speed).
- **Vectorised application.** For a chunk of keys, each (key, enactor)'s memo entry is one
  gather from a dense table (a numpy hash index when the id space is large), missing ones are
  computed in Python, and successor keys are built by gathering the deltas and rewriting two
  fields of each key.
- **Symmetry.** When the protocol keeps ``Protocol.canonical`` (sort the enactors), keys are
  canonicalised by sorting the record fields by the *rank* of each record's value among all
  records seen: exactly ``Protocol.canonical``'s representative. A protocol overriding
  ``canonical`` gets its own method, on decoded states.
- **Partial-order reduction** only where it is proven (the four MODEL.md protocols and
  ``cas+guarded``, docs/PERFORMANCE.md); ``por_off_reason()`` says why it is off otherwise.

The interface an engine sees (all engines know nothing else):

- ``init_keys()``: the initial states (int64 array). Keys are ids, meaningful only with the
  model's tables (``decode``); an exception with ``widen = True`` from any method asks the engine
  to restart on ``widened()``, one with ``unsupported = True`` to fall back to the object engine.
- ``expand(keys, symmetry, por) -> (src, aids, nxt)``: every enabled transition of every state
  in ``keys``, grouped by source in order and, within a source, in the object model's action
  order (Planner first, then enactors by index). ``src`` indexes ``keys``, ``aids`` are small
  action ids (< 2**15; ``aid & 7`` is the kind's index while there are at most 8 kinds),
  ``nxt`` the next states (canonical when ``symmetry``). With ``por`` a
  state may expand only an ample subset.
- ``kind_of(aids)`` and ``kind_names``; ``coverage_kinds`` (the kinds the output lists).
- ``symmetric``; ``canonical(keys)``; ``encode(state)``/``decode(key)``;
  ``step(key, aid, symmetry)`` (replaying a stored path).
- ``state_check(prop, base_model=None)``, ``transition_check(prop, base_model=None)``,
  ``graph_check(prop, base_model)``: vectorised versions of a property, or None.
- ``por_sound_for(prop)``, ``por_off_reason()`` (None when the reduction is available).
- ``notes()``: one-line remarks on how this model was derived (slow paths taken), for output.
- **Processes.** Ids are interned lazily in the process that built the model
  (``process_local = True``): a copy in another process (forked or pickled) knows the ids
  interned before the copy and refuses to intern new ones (``ProcessLocalMiss``). An engine that
  expands elsewhere first calls ``prepare(keys, symmetry, por)`` in the owner, which computes
  everything ``expand(keys)`` needs, and then ships a fresh copy of the model (``parallel.py``
  re-forks its workers once per level).

The parts (one mixin each, put together in model.py): layout.py (key limits, errors),
interning.py, memo.py, local_data.py, normalize.py, successors.py, reductions.py,
predicates.py, copies.py; npmemo.py and sentinels.py are the numpy tables and stand-ins
they use.
"""

from .layout import KEY_BITS, KeyOverflow, NotPackable, ProcessLocalMiss, TooManyActions
from .model import DerivedModel, vector_model
from .reductions import POR_PROPERTIES

__all__ = ["DerivedModel", "vector_model", "NotPackable", "KeyOverflow", "ProcessLocalMiss",
           "TooManyActions", "POR_PROPERTIES", "KEY_BITS"]

# pickles (checkpoints, workers) name the class where users import it from
DerivedModel.__module__ = __name__
