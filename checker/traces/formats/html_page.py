"""``html``: one self-contained page (inline CSS, JS and SVG; no network access).

It shows the sequence diagram as SVG, a step slider with the full state at the chosen step,
the endpoint records over time (a record serving a deleted plan is marked), and every step
in a list, the violating step highlighted throughout. Without JavaScript the diagram, the
records table and the step list still read; the script adds the slider and the state view.
"""

from __future__ import annotations

import json
from html import escape

from dnsrace.model import endpoint_name

from .common import counted, generator_line, sizes_text
from .lanes import is_stale, lifelines, short_label, target_of
from ...timing.timeline import timeline_section  # timed traces only (docs/TIMING.md)

__all__ = ["NAME", "SUFFIX", "write", "svg_diagram"]

NAME = "html"
SUFFIX = ".html"

LANE_W, TOP, ROW_H, LEFT = 180, 56, 34, 48

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;padding:1em 2em;
max-width:1200px;color:#1d2330;background:#fff}
h1{font-size:1.5em;margin:.3em 0}h2{font-size:1.15em;margin:1.4em 0 .5em;border-bottom:1px solid #dde}
.meta{color:#556}.violation{background:#ffe3e3;border-left:4px solid #c92a2a;padding:.5em .8em}
svg{max-width:100%;height:auto;border:1px solid #e3e6ee;background:#fbfcfe}
svg .lane{fill:#eef2ff;stroke:#4c5fd5}svg .lane-title{font-weight:600;font-size:12px}
svg .lifeline{stroke:#9aa3c7;stroke-dasharray:4 4}svg .msg{stroke:#333;stroke-width:1.4;fill:none}
svg .row text{font-size:11px}svg .num{fill:#778;font-size:11px}
svg .stale .msg{stroke:#e67700;stroke-width:2}svg .stale text{fill:#d9480f;font-weight:600}svg .violating .band{fill:#ffd6d6}
svg .band{fill:transparent}svg .current .band{fill:#dbe4ff}svg .violating.current .band{fill:#ffb8b8}
.controls{display:flex;gap:.6em;align-items:center;margin:.4em 0}
.controls input{flex:1}#step-title{font-weight:600;margin:.4em 0}
table{border-collapse:collapse;margin:.3em 0}td,th{border:1px solid #d5d9e4;padding:.15em .5em;text-align:center}
th{background:#f1f3f8}td.dangling{background:#ffc9c9;font-weight:700}td.changed{outline:2px solid #4c5fd5}
td.current,th.current{box-shadow:inset 0 0 0 2px #1c7ed6}
ol#step-list li{padding:.1em .3em;cursor:pointer}ol#step-list li.current{background:#dbe4ff}
ol#step-list li.violating{color:#c92a2a;font-weight:600}.state-grid{display:flex;gap:2em;flex-wrap:wrap}
"""

JS = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("trace-data").textContent);
  var steps = data.steps, last = steps.length - 1;
  var slider = document.getElementById("step");
  function plan(p) { return p === 0 ? "\u2013" : String(p); }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }
  function table(head, rows) {
    var t = el("table"), tr = el("tr");
    head.forEach(function (h) { tr.appendChild(el("th", h)); });
    t.appendChild(tr);
    rows.forEach(function (r) {
      var row = el("tr");
      r.forEach(function (c) {
        var td = el("td", c.text);
        if (c.cls) { td.className = c.cls; }
        row.appendChild(td);
      });
      t.appendChild(row);
    });
    return t;
  }
  function show(j) {
    j = Math.max(0, Math.min(last, j));
    var s = steps[j], st = s.state, view = document.getElementById("state-view");
    slider.value = String(j);
    document.getElementById("step-title").textContent =
      "Step " + j + (s.actor ? " \u2013 " + s.actor + " " : " \u2013 ") + s.description +
      (s.time !== undefined ? " (time " + s.time + ")" : "") +
      (j === last ? "  [violates " + data.property + "]" : "");
    view.textContent = "";
    var grid = el("div", undefined, "state-grid");
    var recs = st.dns.map(function (p, e) {
      var gone = p !== 0 && st.store.indexOf(p) < 0;
      return [{text: data.endpoints[e]}, {text: plan(p) + (gone ? " (deleted!)" : ""),
               cls: gone ? "dangling" : ""}];
    });
    var box = el("div"); box.appendChild(el("h3", "Route 53 records"));
    box.appendChild(table(["endpoint", "serves plan"], recs)); grid.appendChild(box);
    box = el("div"); box.appendChild(el("h3", "Plan store"));
    box.appendChild(table(["generated", "stored plans"],
      [[{text: String(st.gen)}, {text: st.store.length ? st.store.join(", ") : "none"}]]));
    grid.appendChild(box);
    box = el("div"); box.appendChild(el("h3", "Enactors"));
    box.appendChild(table(["enactor", "phase", "holds plan"], st.enactors.map(function (e, i) {
      return [{text: "enactor-" + (i + 1)}, {text: e.pc}, {text: plan(e.held)}];
    })));
    grid.appendChild(box);
    view.appendChild(grid);
    var marks = document.querySelectorAll("[data-step]");
    for (var k = 0; k < marks.length; k++) {
      var on = marks[k].getAttribute("data-step") === String(j);
      marks[k].classList.toggle("current", on);
    }
    document.body.setAttribute("data-current-step", String(j));
  }
  slider.addEventListener("input", function () { show(parseInt(slider.value, 10)); });
  document.getElementById("prev").addEventListener("click", function () {
    show(parseInt(slider.value, 10) - 1); });
  document.getElementById("next").addEventListener("click", function () {
    show(parseInt(slider.value, 10) + 1); });
  var items = document.querySelectorAll("#step-list li, svg .row");
  for (var k = 0; k < items.length; k++) {
    items[k].addEventListener("click", function () {
      show(parseInt(this.getAttribute("data-step"), 10)); });
  }
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "ArrowLeft") { show(parseInt(slider.value, 10) - 1); }
    if (ev.key === "ArrowRight") { show(parseInt(slider.value, 10) + 1); }
  });
  show(last);
  document.body.setAttribute("data-ready", "true");
}());
"""


def svg_diagram(trace) -> str:
    """The sequence diagram as an SVG element (deterministic text)."""
    lanes = lifelines(trace)
    x = {key: LEFT + LANE_W // 2 + i * LANE_W for i, (key, _) in enumerate(lanes)}
    width = LEFT + LANE_W * len(lanes) + 10
    height = TOP + ROW_H * (len(trace.steps) - 1) + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" id="sequence" viewBox="0 0 {width} '
           f'{height}" width="{width}" height="{height}" role="img" aria-label="Sequence '
           f'diagram of the counterexample">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
           'fill="#333"/></marker></defs>']
    for key, title in lanes:
        cx = x[key]
        out.append(f'<line class="lifeline" x1="{cx}" y1="34" x2="{cx}" y2="{height - 8}"/>')
        out.append(f'<rect class="lane" x="{cx - 70}" y="6" width="140" height="28" rx="5"/>')
        out.append(f'<text class="lane-title" x="{cx}" y="25" text-anchor="middle">'
                   f'{escape(title)}</text>')
    last = trace.steps[-1].index
    for s in trace.steps[1:]:
        y = TOP + ROW_H * (s.index - 1) + 20
        classes = ["row"] + (["stale"] if is_stale(trace, s) else []) + \
            (["violating"] if s.index == last else [])
        src, dst = x[s.actor or "planner"], x[target_of(s)]
        when = f"at {s.time}: " if s.time is not None else ""
        label = escape(when + short_label(s) + (" (stale overwrite)" if is_stale(trace, s) else ""))
        out.append(f'<g class="{" ".join(classes)}" data-step="{s.index}">'
                   f'<title>Step {s.index}: {escape(s.actor or "")} {label}</title>')
        out.append(f'<rect class="band" x="0" y="{y - 22}" width="{width}" height="{ROW_H}"/>')
        out.append(f'<text class="num" x="8" y="{y + 4}">{s.index}</text>')
        if src == dst:
            out.append(f'<path class="msg" d="M{src},{y - 6}h34v12h-34" '
                       'marker-end="url(#arrow)"/>')
            tx = src + 40
        else:
            out.append(f'<line class="msg" x1="{src}" y1="{y}" x2="{dst}" y2="{y}" '
                       'marker-end="url(#arrow)"/>')
            tx = min(src, dst) + 6
        out.append(f'<text x="{tx}" y="{y - 5}">{label}</text></g>')
    out.append("</svg>")
    return "\n".join(out)


def _records_table(trace) -> str:
    n_end = len(trace.steps[0].state_data["dns"])
    head = "".join(f'<th data-step="{s.index}">{s.index}</th>' for s in trace.steps)
    rows = []
    for e in range(n_end):
        cells = []
        prev = None
        for s in trace.steps:
            st = s.state_data
            p = st["dns"][e]
            cls = []
            if p != 0 and p not in st["store"]:
                cls.append("dangling")
            if prev is not None and p != prev:
                cls.append("changed")
            prev = p
            attr = f' class="{" ".join(cls)}"' if cls else ""
            cells.append(f'<td data-step="{s.index}"{attr}>{"–" if p == 0 else p}</td>')
        rows.append(f"<tr><th>{escape(endpoint_name(e))}</th>{''.join(cells)}</tr>")
    store = "".join(f'<td data-step="{s.index}">{",".join(map(str, s.state_data["store"])) or "–"}'
                    "</td>" for s in trace.steps)
    rows.append(f"<tr><th>plan store</th>{store}</tr>")
    return (f'<table id="records-table"><tr><th>step</th>{head}</tr>\n' + "\n".join(rows)
            + "</table>")


def _step_list(trace) -> str:
    last = trace.steps[-1].index
    items = []
    for s in trace.steps:
        cls = ' class="violating"' if s.index == last else ""
        who = escape(s.actor) + ": " if s.actor else ""
        when = f" (time {s.time})" if s.time is not None else ""
        items.append(f'<li value="{s.index}" data-step="{s.index}"{cls}>{who}'
                     f"{escape(s.description)}{when}</li>")
    return '<ol id="step-list" start="0">\n' + "\n".join(items) + "\n</ol>"


def _data(trace) -> str:
    n_end = len(trace.steps[0].state_data["dns"])
    doc = trace.as_dict()
    doc["endpoints"] = [endpoint_name(e) for e in range(n_end)]
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=True)
    return text.replace("</", "<\\/")


def _generator(trace) -> str:
    gen = generator_line(trace)
    return f'\n<meta name="generator" content="{escape(gen)}">' if gen else ""


def write(trace, model=None) -> str:
    c = trace.config
    title = f"Counterexample to {trace.property} ({trace.protocol})"
    meta = (f"protocol <b>{escape(trace.protocol)}</b>, {sizes_text(c)}: "
            f"{counted(trace.length, 'step')}")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">{_generator(trace)}
<title>{escape(title)}</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>{escape(title)}</h1>
<p class="meta">{meta}</p>
<p class="violation" id="violation"><b>Violation after step {trace.length}:</b> {escape(trace.explanation)}.</p>
</header>
<section id="diagram">
<h2>Sequence diagram</h2>
{svg_diagram(trace)}
</section>{timeline_section(trace)}
<section id="explorer">
<h2>State at each step</h2>
<div class="controls"><button id="prev" type="button">&#9664; previous</button>
<input type="range" id="step" min="0" max="{trace.length}" value="{trace.length}" aria-label="step">
<button id="next" type="button">next &#9654;</button></div>
<div id="step-title"></div>
<div id="state-view"><noscript>Enable JavaScript to browse the state at each step.</noscript></div>
</section>
<section id="records">
<h2>Endpoint records over time</h2>
<p class="meta">The plan each record serves after each step; red: the plan was deleted.</p>
{_records_table(trace)}
</section>
<section id="steps">
<h2>Steps</h2>
{_step_list(trace)}
</section>
<script type="application/json" id="trace-data">{_data(trace)}</script>
<script>{JS}</script>
</body>
</html>
"""
