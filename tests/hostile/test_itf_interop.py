"""Row 33: every ITF file dnsrace writes parses with itf-py (the Python ITF reader), and
dnsrace reads Quint's unit payload {"#tup": []} as well as Apalache's "U_OF_UNIT"."""

import json
import pathlib

import pytest

from dnsrace.checker.traces.formats import itf, parse_trace_text
from dnsrace.checker.traces.trace import build_trace
from dnsrace.checker.explore.bfs import explore
from dnsrace.checker.explore.result import VIOLATED, Options
from dnsrace.invariants import resolve_properties
from dnsrace.model import PROTOCOLS, Config, DnsSystem

itf_py = pytest.importorskip("itf_py")

GALLERY = pathlib.Path(__file__).resolve().parents[2] / "traces"


@pytest.mark.parametrize("path", sorted(GALLERY.glob("*.itf.json")), ids=lambda p: p.name)
def test_every_gallery_itf_file_parses_with_itf_py(path):
    doc = json.loads(path.read_text())
    trace = itf_py.trace_from_json(doc)
    assert len(trace.states) == len(doc["states"])
    assert type(trace.states[0].values["action"]).__name__ == "Init"


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_every_protocol_exports_itf_that_itf_py_reads(protocol):
    model = DnsSystem(Config(2, 3, 2, 1), protocol)
    result = explore(model, resolve_properties(["no-dangling", "monotonic"]), Options())
    for name, pr in result.properties.items():
        if pr.status != VIOLATED:
            continue
        text = itf.write(build_trace(model, name, pr.trace, pr.explanation), model)
        itf_py.trace_from_json(json.loads(text))
        assert parse_trace_text(text).steps[0].action is None


def test_quints_unit_payload_is_still_read():
    text = (GALLERY / "n3-p4-e3-k1-original-monotonic.itf.json").read_text()
    quint = text.replace('"U_OF_UNIT"', '{"#tup": []}')
    assert quint != text
    assert parse_trace_text(quint) == parse_trace_text(text)
