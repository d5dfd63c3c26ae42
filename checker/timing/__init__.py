"""Timed analysis: zone (DBM) exploration of the timed automata network (``zones``, ``timed``),
exact timestamps and UNSAT cores from z3 (``z3timing``, the only timing module that imports
z3), timing-bound synthesis (``synthesis``), an independent discrete-event simulator
(``simulate``), and the timeline lanes the HTML report draws (``timeline``). Like the engines,
these modules know nothing of DNS: they read timing rules the model supplies."""
