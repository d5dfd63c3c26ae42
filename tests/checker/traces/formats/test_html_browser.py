"""The html trace in a real browser: Debian's chromium, headless, loads the file from disk
and the test reads the DOM it rendered (after the page's script ran)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile

import pytest

from dnsrace.checker.traces.formats import FORMATS

from ...traces_for_tests import small_traces

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (Debian: apt-get install chromium); .ci/run installs it")


def rendered_dom(path) -> str:
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--no-first-run",
             f"--user-data-dir={profile}", "--dump-dom", path.as_uri()],
            capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def dom(tmp_path_factory):
    model, traces = small_traces()
    path = tmp_path_factory.mktemp("html") / "trace.html"
    path.write_text(FORMATS["html"].write(traces["no-dangling"], model))
    return rendered_dom(path)


def test_the_script_ran_and_shows_the_violating_step(dom):
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert 'data-ready="true"' in body and 'data-current-step="9"' in body
    title = re.search(r'<div id="step-title">(.*?)</div>', dom).group(1)
    assert title == ("Step 9 – enactor-2 cleans up after plan 3: deletes plan 1 (older than 2)"
                     "  [violates no-dangling]")


def test_the_state_view_lists_records_store_and_enactors(dom):
    view = dom.split('id="state-view"')[1].split("</section>")[0]
    for heading in ("Route 53 records", "Plan store", "Enactors"):
        assert f"<h3>{heading}</h3>" in view
    assert '<td class="dangling">1 (deleted!)</td>' in view
    assert "<td>enactor-1</td><td>apply(1)</td><td>1</td>" in view


def test_the_violating_step_is_highlighted_everywhere(dom):
    assert re.search(r'<g class="row violating current" data-step="9">', dom)
    assert re.search(r'<li value="9" data-step="9" class="violating current">', dom)
    assert dom.count('<td data-step="9" class="dangling current">') == 1  # regional, step 9
    assert len(re.findall(r'class="[^"]*current[^"]*"', dom)) >= 5
