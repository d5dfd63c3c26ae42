"""A real moto server on 127.0.0.1 (a free port), started once per test module and stopped in
a finalizer even when tests fail. Skipped only when moto is not installed (the `aws` extra)."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[3]
INCIDENT = f"{REPO / 'examples' / 'route53_enactor.py'}:IncidentEnactor"
PATCHED = f"{REPO / 'examples' / 'route53_enactor_patched.py'}:PatchedEnactor"
ORIGINAL_TRACE = REPO / "traces" / "n3-p4-e3-k1-original-no-dangling.json"


@pytest.fixture(scope="module")
def moto_url():
    pytest.importorskip("moto.server")
    pytest.importorskip("boto3")
    from dnsrace.checker.conformance.services import moto_endpoint

    cm = moto_endpoint()
    url = cm.__enter__()
    try:
        yield url
    finally:
        cm.__exit__(None, None, None)


def port_is_closed(url: str) -> bool:
    """Nothing listens at ``url`` any more (the server was stopped and its socket closed)."""
    parts = urlsplit(url)
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex((parts.hostname, parts.port)) != 0
