"""The traces/ gallery is exactly what `dnsrace gallery traces` writes, byte for byte (the
dnsrace version recorded in each file masked: a release alone does not churn the gallery)."""

from __future__ import annotations

import json
import pathlib

import pytest

from dnsrace.checker.traces.formats import FORMATS, parse_trace_text
from dnsrace.checker.traces.gallery import GALLERY_CONFIG, write_gallery
from dnsrace.checker.traces.replay_file import replay_trace_file
from dnsrace.invariants import PROPERTIES
from dnsrace.checker.reports import provenance as provenance_module
from dnsrace.model import PROTOCOLS

GALLERY = pathlib.Path(__file__).resolve().parents[3] / "traces"
SUFFIXES = tuple(m.SUFFIX for m in FORMATS.values())


def gallery_files(protocol: str) -> set:
    prefix = f"{GALLERY_CONFIG.slug()}-{protocol}-"
    names = set()
    for path in GALLERY.iterdir():
        rest = path.name[len(prefix):] if path.name.startswith(prefix) else ""
        if any(rest == p + s for p in PROPERTIES for s in SUFFIXES):
            names.add(path.name)
    return names


# What each shipped protocol violates at the defaults (docs/PROTOCOLS.md, README).
VIOLATES = {"original": 3, "recheck": 3, "cas": 0, "guarded": 3, "cas+guarded": 0,
            "lease": 3, "lease+fencing": 0, "safe-delete": 1, "safe-delete-2step": 3}


def recorded_version(protocol: str) -> str | None:
    """The dnsrace version the stored gallery files of ``protocol`` were written by."""
    for path in sorted(GALLERY.glob(f"{GALLERY_CONFIG.slug()}-{protocol}-*.json")):
        if not path.name.endswith(".itf.json"):
            return json.loads(path.read_text())["dnsrace"]["version"]
    return None


def masked(fresh: bytes, current: str, stored) -> bytes:
    """``fresh`` with the version that wrote it replaced by the one the gallery recorded:
    a release alone does not churn the gallery, any other change still shows."""
    if stored is None or stored == current:
        return fresh
    for mask in ('"version": "{}"', "dnsrace {}"):
        fresh = fresh.replace(mask.format(current).encode(), mask.format(stored).encode())
    return fresh


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_regenerating_the_gallery_gives_the_same_bytes(tmp_path, protocol):
    written = write_gallery(tmp_path, [protocol])
    names = {p.name for p in written}
    assert names == gallery_files(protocol), "traces/ is stale: run `dnsrace gallery traces`"
    assert len(names) == VIOLATES[protocol] * len(FORMATS)
    stored = recorded_version(protocol)
    for name in sorted(names):
        fresh, kept = (tmp_path / name).read_bytes(), (GALLERY / name).read_bytes()
        assert masked(fresh, provenance_module.dnsrace_version(), stored) == kept, (
            f"traces/{name} differs from a fresh run: regenerate with `dnsrace gallery traces`")
    for name in sorted(n for n in names if n.endswith(".json") and ".itf" not in n):
        report = replay_trace_file(parse_trace_text((GALLERY / name).read_text()))
        assert report.valid, (name, report.reason)
    if protocol == "cas":  # the patch: nothing to show
        assert names == set()


def test_a_new_version_alone_does_not_churn_the_gallery(tmp_path, monkeypatch):
    monkeypatch.setattr(provenance_module, "dnsrace_version", lambda: "99.0.0")
    stored = recorded_version("original")
    assert stored == provenance_module.metadata.version("dnsrace")
    for path in write_gallery(tmp_path, ["original"], formats=("json", "itf", "mermaid")):
        fresh, kept = path.read_bytes(), (GALLERY / path.name).read_bytes()
        assert b"99.0.0" in fresh and fresh != kept
        assert masked(fresh, "99.0.0", stored) == kept


def test_the_gallery_holds_nothing_else():
    expected = set().union(*(gallery_files(p) for p in PROTOCOLS)) | {"README.md"}
    assert {p.name for p in GALLERY.iterdir()} == expected
    assert len(expected) == 1 + sum(VIOLATES.values()) * len(FORMATS)


def test_the_walkthrough_quotes_the_incident_trace_verbatim():
    """traces/README.md embeds the incident's Mermaid diagram and step table: both must be
    exactly what the gallery files say."""
    readme = (GALLERY / "README.md").read_text()
    name = f"{GALLERY_CONFIG.slug()}-original-no-dangling"
    diagram = (GALLERY / f"{name}.md").read_text().split("```mermaid\n")[1].split("```")[0]
    assert f"```mermaid\n{diagram}```" in readme
    report = replay_trace_file(parse_trace_text((GALLERY / f"{name}.json").read_text()))
    from dnsrace.checker.reports.render import render_trace
    assert f"```\n{render_trace(report.trace)}\n```" in readme
    assert "dnsrace gallery traces" in readme
