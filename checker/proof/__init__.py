"""Proofs for every size: inductive invariants checked with z3 (docs/PROVE.md).

- ``solver.py``: the only module here that imports z3; translates a protocol's symbolic form
  (``model/symbolic.py``) and checks initiation, preservation and implication;
- ``houdini.py``: the strongest inductive subset of candidate conjuncts (Houdini);
- ``prove.py``: the whole proof of a protocol's properties, as a plain result;
- ``cti.py``: a counterexample to induction as a two-step ``Trace``;
- ``binding.py``: z3's successors against the explicit model's, at finite sizes.

May import the model (its symbolic forms and states), the trace type and z3 (solver.py only);
never the engines' internals."""
