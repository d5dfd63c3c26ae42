"""Counterexamples as plain data and as files: the ``Trace`` type (``trace``), one module per
file format (``formats/``), atomic exports (``export``), reading a file back and replaying it
through the model (``replay_file``), and the shipped gallery (``gallery``)."""
