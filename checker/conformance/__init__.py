"""Conformance: drive real enactor code through the model's schedules (``dnsrace drive``).

- ``services``: a Route 53 + S3 endpoint (moto's server on loopback, or the user's
  ``--endpoint-url``), the hosted zone and plan bucket a run uses, and reading them back.
- ``adapters``: the adapter API user code implements (how a plan is named in a record value
  and in the store, the default planner) and loading ``file.py:Class``.
- ``driver``: the schedules (a trace file, or seeded random runs of the model), one adapter call
  per model step, and the comparison of real and model state after each step.

This room imports the model, the properties and ``checker.traces``; boto3 and moto are imported
only when a run starts (they are the optional ``aws`` extra). Nothing here is imported by the
engines.
"""
