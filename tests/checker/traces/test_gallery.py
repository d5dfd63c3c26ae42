"""The traces/ gallery is exactly what `dnsrace gallery traces` writes, byte for byte."""

from __future__ import annotations

import pathlib

import pytest

from dnsrace.checker.traces.formats import FORMATS, parse_trace_text
from dnsrace.checker.traces.gallery import GALLERY_CONFIG, write_gallery
from dnsrace.checker.traces.replay_file import replay_trace_file
from dnsrace.invariants import PROPERTIES
from dnsrace.model import SHIPPED

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


@pytest.mark.parametrize("protocol", list(SHIPPED))
def test_regenerating_the_gallery_gives_the_same_bytes(tmp_path, protocol):
    written = write_gallery(tmp_path, [protocol])
    names = {p.name for p in written}
    assert names == gallery_files(protocol), "traces/ is stale: run `dnsrace gallery traces`"
    for name in sorted(names):
        assert (tmp_path / name).read_bytes() == (GALLERY / name).read_bytes(), (
            f"traces/{name} differs from a fresh run: regenerate with `dnsrace gallery traces`")
    for name in sorted(n for n in names if n.endswith(".json") and ".itf" not in n):
        report = replay_trace_file(parse_trace_text((GALLERY / name).read_text()))
        assert report.valid, (name, report.reason)
    if protocol == "cas":  # the patch: nothing to show
        assert names == set()


def test_the_gallery_holds_nothing_else():
    expected = set().union(*(gallery_files(p) for p in SHIPPED)) | {"README.md"}
    assert {p.name for p in GALLERY.iterdir()} == expected
    assert len(expected) == 1 + 3 * 3 * len(FORMATS)  # original, recheck, guarded x 3 each


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
