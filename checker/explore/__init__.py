"""Exploration engines: breadth-first search over the model's states (``bfs``, the reference),
the vectorised engine over packed states (``vector``), worker processes (``parallel``), the
choice between them (``engines``), and what every engine shares: limits, results, shortest
paths and graph algorithms. Nothing here imports the DNS model or the properties; engines see a
system only through ``init_states``/``successors``/``representative`` (or its packed form)."""
