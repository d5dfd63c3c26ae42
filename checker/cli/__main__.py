"""``python -m dnsrace.checker.cli``: the same as the ``dnsrace`` command."""

from . import run

run()
