"""A self-contained HTML report for people: overview, charts, findings by control, waivers, frameworks.

One file, no external resource of any kind: the stylesheet and the script are inline and the
page carries a Content-Security-Policy (`default-src 'none'`) that allows exactly those two
blocks by their SHA-256 hashes, so it works offline and under a strict CSP, and a browser loads
nothing else. There are no inline event handlers and no `style` attributes (a hash-based CSP
forbids both); the script attaches its listeners itself.

Charts are inline SVG drawn here in Python: no charting library to vendor, audit and update,
no script needed to see them (they print, and they render with scripts off), and every value
in them is computed by the same code that computes the numbers in the tables.

Everything that came from a target (resource names, messages, observed values, reasons) is
escaped: server-rendered parts with `html.escape`, and the findings table — rendered in the
browser, 100 rows per page, so a 100,000-result scan stays usable — from a JSON data block in
which `<`, `>`, `&` and the JavaScript line separators are escaped, then written with
`textContent` only.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from scanner.frameworks import STATUS_ORDER, FrameworkResult, RequirementStatus
from scanner.interface import Reporter, ReportOptions
from scanner.model import Control, Finding, ScanResult, Severity, Status

PAGE_SIZE = 100
"""Findings rows per page in the browser."""

_STATUS_ORDER = (Status.FAIL, Status.ERROR, Status.WAIVED, Status.PASS, Status.NOT_APPLICABLE)
_SEVERITIES = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO)
_STATUS_CLASS = {
    Status.PASS: "pass",
    Status.FAIL: "fail",
    Status.ERROR: "error",
    Status.WAIVED: "waived",
    Status.NOT_APPLICABLE: "na",
}
_REQ_CLASS = {
    RequirementStatus.MET: "pass",
    RequirementStatus.VIOLATED: "fail",
    RequirementStatus.NOT_VERIFIED: "error",
    RequirementStatus.WAIVED: "waived",
    RequirementStatus.MANUAL: "manual",
    RequirementStatus.NOT_COVERED: "na",
}
_MAX_VALUE = 2000
"""Longest observed/expected rendering kept per finding (the JSON result has the full value)."""

CSS = """
:root{--pass:#2e7d32;--fail:#c62828;--error:#6a1b9a;--waived:#00838f;--na:#9e9e9e;--manual:#ef6c00;
--ink:#1d1d1f;--muted:#5f6368;--line:#dadce0;--bg:#fff;--soft:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg);margin:0}
header{padding:16px 24px;border-bottom:1px solid var(--line);background:var(--soft)}
header h1{margin:0 0 4px;font-size:20px}
nav{display:flex;gap:12px;flex-wrap:wrap;margin-top:8px}
nav a{color:#1a73e8;text-decoration:none}
main{padding:0 24px 40px;max-width:1400px}
section{margin-top:28px}
h2{font-size:17px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{border:1px solid var(--line);border-radius:6px;padding:10px 14px;min-width:140px}
.card b{display:block;font-size:22px}.card small{display:block;font-weight:400;font-size:12px;max-width:420px}
.verdict-fail{color:var(--fail)}.verdict-pass{color:var(--pass)}
.badge{display:inline-block;border-radius:3px;padding:0 6px;color:#fff;font-size:12px;white-space:nowrap}
.badge.pass{background:var(--pass)}.badge.fail{background:var(--fail)}.badge.error{background:var(--error)}
.badge.waived{background:var(--waived)}.badge.na{background:var(--na)}.badge.manual{background:var(--manual)}
.sev-critical{color:#b71c1c;font-weight:700}.sev-high{color:#d84315;font-weight:600}.sev-medium{color:#f9a825}
.muted{color:var(--muted)}
pre{white-space:pre-wrap;word-break:break-word;margin:0;font:12px/1.35 ui-monospace,Menlo,Consolas,monospace}
svg{max-width:100%;height:auto}
svg text{font:12px system-ui,sans-serif;fill:var(--ink)}
svg .pass{fill:var(--pass)}svg .fail{fill:var(--fail)}svg .error{fill:var(--error)}svg .waived{fill:var(--waived)}
svg .na{fill:var(--na)}svg .manual{fill:var(--manual)}svg .axis{stroke:var(--line)}
svg .line{fill:none;stroke:#1a73e8;stroke-width:2}svg .dot{fill:#1a73e8}
svg .new{fill:var(--fail)}svg .resolved{fill:var(--pass)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px}
.legend span{margin-right:12px;white-space:nowrap}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
.legend i.pass{background:var(--pass)}.legend i.fail{background:var(--fail)}.legend i.error{background:var(--error)}
.legend i.waived{background:var(--waived)}.legend i.na{background:var(--na)}.legend i.manual{background:var(--manual)}
.legend i.line{background:#1a73e8}.legend i.new{background:var(--fail)}.legend i.resolved{background:var(--pass)}
.filters{display:flex;gap:10px;flex-wrap:wrap;align-items:center;margin:8px 0;padding:8px;background:var(--soft);
border:1px solid var(--line);border-radius:6px}
.filters label{white-space:nowrap}
input[type=search]{min-width:260px;padding:3px 6px}
button{padding:2px 10px}
details{margin:4px 0}
summary{cursor:pointer}
.pager{display:flex;gap:10px;align-items:center;margin:6px 0}
[hidden]{display:none !important}
@media print{nav,.filters,.pager,noscript{display:none}details{display:block}
details>summary{list-style:none}section{break-inside:avoid-page}body{font-size:11px}}
"""

SCRIPT = r"""
(function(){
"use strict";
var data=JSON.parse(document.getElementById("sovscan-data").textContent);
var rows=data.findings, page=0, size=data.pageSize, shown=rows;
var q=function(id){return document.getElementById(id);};
var statusBoxes=Array.prototype.slice.call(document.querySelectorAll("input[data-status-filter]"));
function el(tag,cls,text){var e=document.createElement(tag);if(cls){e.className=cls;}
 if(text!==undefined&&text!==null){e.textContent=String(text);}return e;}
function apply(){
 var want={};statusBoxes.forEach(function(b){want[b.value]=b.checked;});
 var sev=q("f-severity").value, tgt=q("f-target").value, ctl=q("f-control").value;
 var text=q("f-search").value.toLowerCase();
 shown=rows.filter(function(r){
  if(!want[r.s]){return false;} if(sev&&r.v!==sev){return false;}
  if(tgt&&r.t!==tgt){return false;} if(ctl&&r.c!==ctl){return false;}
  if(text){var hay=(r.c+" "+r.n+" "+r.u+" "+r.m+" "+r.o+" "+r.e).toLowerCase();if(hay.indexOf(text)<0){return false;}}
  return true;});
 page=0;render();
}
function render(){
 var body=q("findings-body");while(body.firstChild){body.removeChild(body.firstChild);}
 var pages=Math.max(1,Math.ceil(shown.length/size));if(page>=pages){page=pages-1;}
 var start=page*size, end=Math.min(shown.length,start+size);
 for(var i=start;i<end;i++){var r=shown[i], tr=el("tr");tr.setAttribute("data-status",r.s);
  var st=el("td");st.appendChild(el("span","badge "+data.statusClass[r.s],r.s));tr.appendChild(st);
  tr.appendChild(el("td","sev-"+r.v,r.v));tr.appendChild(el("td",null,r.c));tr.appendChild(el("td",null,r.t));
  var res=el("td");res.appendChild(el("div",null,r.n));res.appendChild(el("div","muted",r.u));tr.appendChild(res);
  var msg=el("td");msg.appendChild(el("div",null,r.m));
  if(r.o||r.e){var d=el("details");d.appendChild(el("summary",null,"observed / expected"));
   d.appendChild(el("pre",null,"observed: "+r.o+"\nexpected: "+r.e));msg.appendChild(d);}
  if(r.w){msg.appendChild(el("div","muted","waived: "+r.w));}
  tr.appendChild(msg);body.appendChild(tr);}
 q("page-info").textContent=(shown.length?(start+1)+"\u2013"+end:"0")+" of "+shown.length+
  " shown ("+rows.length+" findings in the scan)";
 q("page-prev").disabled=page<=0;q("page-next").disabled=page>=pages-1;
}
statusBoxes.forEach(function(b){b.addEventListener("change",apply);});
["f-severity","f-target","f-control"].forEach(function(id){q(id).addEventListener("change",apply);});
q("f-search").addEventListener("input",apply);
q("page-prev").addEventListener("click",function(){if(page>0){page--;render();}});
q("page-next").addEventListener("click",function(){page++;render();});
Array.prototype.slice.call(document.querySelectorAll("select[data-req-filter]")).forEach(function(s){
 s.addEventListener("change",function(){var table=q(s.getAttribute("data-req-filter"));
  Array.prototype.slice.call(table.querySelectorAll("tbody tr")).forEach(function(tr){
   tr.hidden=!!s.value&&tr.getAttribute("data-status")!==s.value;});});});
q("control-search").addEventListener("input",function(){var t=this.value.toLowerCase();
 Array.prototype.slice.call(document.querySelectorAll("#controls details[data-control]")).forEach(function(d){
  d.hidden=!!t&&d.getAttribute("data-search").indexOf(t)<0;});});
apply();
document.documentElement.setAttribute("data-ready","1");
})();
"""


def _e(value: Any) -> str:
    """Escape for HTML text and attribute values (quotes included)."""
    return html.escape(str(value), quote=True)


def _csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _json_block(value: Any) -> str:
    """JSON that is safe inside a <script type="application/json"> element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _short(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return text if len(text) <= _MAX_VALUE else text[:_MAX_VALUE] + " …"


class HtmlReporter(Reporter):
    """One self-contained HTML file for people (security officers, auditors, operators)."""

    name = "html"
    description = "self-contained HTML report: overview, charts, findings, waivers, framework view"
    extension = ".html"

    def render(self, result: ScanResult, options: ReportOptions) -> str:
        """Render the whole page."""
        return render_page(result, history=getattr(options, "history", ()), verdict=getattr(options, "verdict", None))


def render_page(result: ScanResult, *, history: Sequence[Any] = (), verdict: str | None = None) -> str:
    """The HTML text for `result`; `history` is the store's series (scanner.store.history.Series)."""
    parts = [
        _overview(result, verdict),
        _charts(result, history),
        _frameworks_section(result.frameworks),
        _controls_section(result),
        _findings_section(result),
        _waivers_section(result),
        _unread_section(result),
    ]
    data = {
        "pageSize": PAGE_SIZE,
        "statusClass": {s.value: c for s, c in _STATUS_CLASS.items()},
        "findings": [_finding_row(f, result.controls.get(f.control_id)) for f in _ordered(result)],
    }
    csp = (
        "default-src 'none'; img-src data:; "
        f"style-src '{_csp_hash(CSS)}'; script-src '{_csp_hash(SCRIPT)}'; base-uri 'none'; form-action 'none'"
    )
    title = f"sovscan report — {result.environment} — {result.started_at}"
    nav = "".join(
        f'<a href="#{anchor}">{label}</a>'
        for anchor, label in (
            ("overview", "Overview"),
            ("charts", "Charts"),
            ("frameworks", "Frameworks"),
            ("controls", "Controls"),
            ("findings", "Findings"),
            ("waivers", "Waivers"),
            ("unread", "Not read"),
        )
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(csp)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
        f'<header><h1>sovscan compliance report</h1><div class="muted">environment <b>{_e(result.environment)}</b>'
        f" · scan {_e(result.started_at)} to {_e(result.finished_at)} · run {_e(result.run_id or 'n/a')}"
        f" · sovscan {_e(result.tool_version)}</div><nav>{nav}</nav></header><main>"
        "<noscript><p><b>Scripts are off:</b> the findings table and the filters need them; every other "
        "section, and the native JSON result, has the same information.</p></noscript>"
        + "".join(parts)
        + f'</main><script type="application/json" id="sovscan-data">{_json_block(data)}</script>'
        f"<script>{SCRIPT}</script></body></html>\n"
    )


def _ordered(result: ScanResult) -> list[Finding]:
    rank = {s: i for i, s in enumerate(_STATUS_ORDER)}
    sev = {s: i for i, s in enumerate(_SEVERITIES)}

    def key(f: Finding) -> tuple[int, int, str, str]:
        control = result.controls.get(f.control_id)
        return (rank[f.status], sev[control.severity] if control else 2, f.control_id, f.resource.uri)

    return sorted(result.findings, key=key)


def _finding_row(finding: Finding, control: Control | None) -> dict[str, str]:
    waiver = finding.waiver
    return {
        "s": finding.status.value,
        "v": control.severity.value if control else "medium",
        "c": finding.control_id,
        "t": finding.resource.target,
        "n": finding.resource.name,
        "u": finding.resource.uri,
        "m": finding.message,
        "o": _short(finding.observed),
        "e": _short(finding.expected),
        "w": f"{waiver.owner}, until {waiver.expires}: {waiver.justification}" if waiver else "",
    }


# --- overview ------------------------------------------------------------------------------------


def _overview(result: ScanResult, verdict: str | None) -> str:
    total = len(result.findings)
    fails = result.count(Status.FAIL)
    errors = result.count(Status.ERROR)
    applicable = total - result.count(Status.NOT_APPLICABLE)
    rate = f"{100 * result.count(Status.PASS) / applicable:.1f} %" if applicable else "n/a"
    unreachable = sum(1 for t in result.targets if t.error)
    evaluated_controls = {f.control_id for f in result.findings if f.status is not Status.ERROR}
    if verdict is None:
        verdict = "FAIL" if fails or errors else "PASS"
    verdict_class = "verdict-pass" if verdict.upper().startswith("PASS") else "verdict-fail"
    head, _, why = verdict.partition(": ")
    cards = [
        ("Gate verdict", f'<span class="{verdict_class}">{_e(head)}</span><small class=muted>{_e(why)}</small>'),
        ("Pass rate", _e(rate)),
        ("Findings", str(total)),
        ("Failures", str(fails)),
        ("Not verified (ERROR)", str(errors)),
        ("Targets", f"{len(result.targets)} ({unreachable} unreachable)"),
        ("Controls with evidence", f"{len(evaluated_controls)} of {len(result.controls)}"),
    ]
    cards.extend(
        (f"{fw.name} coverage", f"{fw.coverage:.0%} ({fw.count(RequirementStatus.VIOLATED)} violated)")
        for fw in result.frameworks
    )
    card_html = "".join(f'<div class="card"><span class="muted">{_e(k)}</span><b>{v}</b></div>' for k, v in cards)
    head = "".join(f"<th class=num>{_e(s.value)}</th>" for s in _STATUS_ORDER)
    sev_head = "".join(f"<th class=num>{_e(s.value)}</th>" for s in _SEVERITIES)
    rows = []
    for target in result.targets:
        counts = "".join(f"<td class=num>{result.count(s, target.id)}</td>" for s in _STATUS_ORDER)
        sev = Counter(
            result.controls[f.control_id].severity
            for f in result.findings
            if f.resource.target == target.id and f.status is Status.FAIL and f.control_id in result.controls
        )
        sev_cells = "".join(f"<td class=num>{sev.get(s, 0)}</td>" for s in _SEVERITIES)
        state = f'<span class="badge error">unreachable</span> {_e(target.error)}' if target.error else target.kind
        rows.append(
            f"<tr><td><b>{_e(target.id)}</b><div class=muted>{_e(target.uri)}</div></td><td>{state}</td>"
            f"{counts}{sev_cells}</tr>"
        )
    notes = "".join(f"<li>{_e(n)}</li>" for n in result.notes)
    compared = f"<p>Compared with: {_e(result.compared_with)}</p>" if result.compared_with else ""
    return (
        '<section id="overview"><h2>Overview</h2>'
        f'<div class="cards">{card_html}</div>{compared}'
        "<h3>Per target</h3><table><thead><tr><th>Target</th><th>Kind</th>"
        f"{head}{sev_head.replace('<th class=num>', '<th class=num>FAIL ')}</tr></thead><tbody>{''.join(rows)}"
        "</tbody></table>" + (f"<h3>Notes</h3><ul>{notes}</ul>" if notes else "") + "</section>"
    )


# --- charts (inline SVG) -------------------------------------------------------------------------


def _legend(items: Iterable[tuple[str, str]]) -> str:
    return '<div class="legend">' + "".join(f'<span><i class="{c}"></i>{_e(t)}</span>' for c, t in items) + "</div>"


def _stacked_bars(title: str, rows: Sequence[tuple[str, Sequence[tuple[str, int, str]]]], chart_id: str) -> str:
    """Horizontal 100 %-stacked bars: rows of (label, [(css class, count, segment label)])."""
    width, label_w, bar_h, gap = 640, 190, 18, 8
    height = max(1, len(rows)) * (bar_h + gap) + 10
    out = [
        f'<svg id="{chart_id}" class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{_e(title)}">'
    ]
    for index, (label, segments) in enumerate(rows):
        y = 5 + index * (bar_h + gap)
        total = sum(n for _, n, _ in segments)
        short = label if len(label) <= 28 else label[:27] + "…"
        out.append(f'<text x="0" y="{y + 13}">{_e(short)}<title>{_e(label)}</title></text>')
        x = float(label_w)
        span = width - label_w - 50
        for css, count, name in segments:
            if not count:
                continue
            w = span * count / total
            out.append(
                f'<rect class="{css}" x="{x:.1f}" y="{y}" width="{max(w, 0.5):.1f}" height="{bar_h}">'
                f"<title>{_e(label)}: {_e(name)} {count}</title></rect>"
            )
            x += w
        out.append(f'<text x="{width - 45}" y="{y + 13}">{total}</text>')
    out.append("</svg>")
    return "".join(out)


def _charts(result: ScanResult, history: Sequence[Any]) -> str:
    blocks: list[str] = []
    target_rows = [
        (t.id, [(_STATUS_CLASS[s], result.count(s, t.id), s.value) for s in _STATUS_ORDER]) for t in result.targets
    ]
    blocks.append(
        "<div><h3>Status per target</h3>"
        + _legend((_STATUS_CLASS[s], s.value) for s in _STATUS_ORDER)
        + _stacked_bars("Status per target", target_rows, "chart-targets")
        + "</div>"
    )
    by_sev = Counter(
        result.controls[f.control_id].severity
        for f in result.findings
        if f.status is Status.FAIL and f.control_id in result.controls
    )
    sev_rows = [(s.value, [("fail", by_sev.get(s, 0), "FAIL")]) for s in _SEVERITIES if by_sev.get(s, 0)]
    blocks.append(
        "<div><h3>Failures per severity</h3>"
        + (_bars("Failures per severity", sev_rows, "chart-severity") if sev_rows else "<p>No failures.</p>")
        + "</div>"
    )
    for fw in result.frameworks:
        rows = []
        for family in fw.families:
            members = [r for r in fw.requirements if r.family == family.id]
            if members:
                counts = Counter(r.status for r in members)
                rows.append(
                    (f"{family.id} {family.title}", [(_REQ_CLASS[s], counts.get(s, 0), s.value) for s in STATUS_ORDER])
                )
        blocks.append(
            f"<div><h3>{_e(fw.title)}: requirements per family</h3>"
            + _legend((_REQ_CLASS[s], s.value) for s in STATUS_ORDER)
            + _stacked_bars(f"{fw.name} requirements per family", rows, f"chart-fw-{_e(fw.name)}")
            + "</div>"
        )
    trend = _trend_points(result, history)
    if trend:
        blocks.append("<div><h3>Trend over recorded scans</h3>" + _trend_chart(trend) + "</div>")
    else:
        blocks.append(
            "<div><h3>Trend</h3><p class=muted>No history: give a history store (<code>--store</code>) to see the "
            "pass rate and new / resolved failures over recorded scans.</p></div>"
        )
    return '<section id="charts"><h2>Charts</h2><div class="charts">' + "".join(blocks) + "</div></section>"


def _bars(title: str, rows: Sequence[tuple[str, Sequence[tuple[str, int, str]]]], chart_id: str) -> str:
    """Horizontal bars scaled to the largest row (absolute counts)."""
    width, label_w, bar_h, gap = 640, 190, 18, 8
    height = len(rows) * (bar_h + gap) + 10
    top = max(sum(n for _, n, _ in segs) for _, segs in rows) or 1
    out = [
        f'<svg id="{chart_id}" class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{_e(title)}">'
    ]
    for index, (label, segments) in enumerate(rows):
        y = 5 + index * (bar_h + gap)
        out.append(f'<text x="0" y="{y + 13}">{_e(label)}</text>')
        x = float(label_w)
        for css, count, name in segments:
            w = (width - label_w - 60) * count / top
            out.append(
                f'<rect class="{css}" x="{x:.1f}" y="{y}" width="{max(w, 0.5):.1f}" height="{bar_h}">'
                f"<title>{_e(label)}: {_e(name)} {count}</title></rect>"
            )
            x += w
        out.append(f'<text x="{x + 6:.1f}" y="{y + 13}">{sum(n for _, n, _ in segments)}</text>')
    out.append("</svg>")
    return "".join(out)


def _trend_points(result: ScanResult, history: Sequence[Any]) -> list[tuple[str, float | None, int, int]]:
    """(scan start, pass rate, new, resolved) per recorded run over every series, plus this scan."""
    runs: dict[str, dict[str, Any]] = {}
    for series in history:
        for point in series.points:
            slot = runs.setdefault(point.run_id, {"at": point.started_at, "counts": Counter(), "new": 0, "res": 0})
            slot["counts"].update(point.counts)
            slot["new"] += point.new
            slot["res"] += point.resolved
    if not runs:
        return []
    out: list[tuple[str, float | None, int, int]] = []
    for slot in sorted(runs.values(), key=lambda s: s["at"]):
        counts = slot["counts"]
        applicable = sum(counts.values()) - counts.get(Status.NOT_APPLICABLE.value, 0)
        rate = 100.0 * counts.get(Status.PASS.value, 0) / applicable if applicable else None
        out.append((slot["at"], rate, slot["new"], slot["res"]))
    if result.run_id not in runs:
        applicable = len(result.findings) - result.count(Status.NOT_APPLICABLE)
        rate = 100.0 * result.count(Status.PASS) / applicable if applicable else None
        new = sum(1 for f in result.findings if f.status is Status.FAIL and f.previous_status is not Status.FAIL)
        resolved = sum(1 for f in result.findings if f.previous_status is Status.FAIL and f.status is Status.PASS)
        out.append((result.started_at, rate, new if result.compared_with else 0, resolved + len(result.absent)))
    return out[-60:]


def _trend_chart(points: Sequence[tuple[str, float | None, int, int]]) -> str:
    width, height, left, bottom, top = 640, 240, 40, 40, 10
    plot_w, plot_h = width - left - 10, height - top - bottom
    n = len(points)
    step = plot_w / max(n, 1)
    most = max([max(p[2], p[3]) for p in points] + [1])
    out = [
        f'<svg id="chart-trend" class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'role="img" aria-label="Pass rate and new / resolved failures per recorded scan">'
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}"></line>'
        f'<text x="0" y="{top + 10}">100%</text><text x="0" y="{top + plot_h}">0%</text>'
    ]
    coords = []
    for i, (at, rate, new, resolved) in enumerate(points):
        x = left + i * step + step / 2
        bar_w = max(step / 4, 1.5)
        for j, (value, css) in enumerate(((new, "new"), (resolved, "resolved"))):
            h = plot_h * 0.4 * value / most
            out.append(
                f'<rect class="{css}" x="{x - bar_w + j * bar_w:.1f}" y="{top + plot_h - h:.1f}" '
                f'width="{bar_w:.1f}" height="{max(h, 0):.1f}"><title>{_e(at)}: {value} {css}</title></rect>'
            )
        if rate is not None:
            y = top + plot_h * (1 - rate / 100)
            coords.append(f"{x:.1f},{y:.1f}")
            tip = f"{_e(at)}: {rate:.1f}% pass"
            out.append(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{tip}</title></circle>')
        if i in (0, n - 1):
            anchor = "start" if i == 0 else "end"
            out.append(f'<text x="{x:.1f}" y="{height - 12}" text-anchor="{anchor}">{_e(at[:10])}</text>')
    if len(coords) > 1:
        out.append(f'<polyline class="line" points="{" ".join(coords)}"></polyline>')
    out.append("</svg>")
    return _legend((("line", "pass rate (line)"), ("new", "new failures"), ("resolved", "resolved"))) + "".join(out)


# --- sections ------------------------------------------------------------------------------------


def _frameworks_section(results: Sequence[FrameworkResult]) -> str:
    if not results:
        return (
            '<section id="frameworks"><h2>Frameworks</h2><p class=muted>No framework view: add '
            "<code>--framework bsi-grundschutz</code> (or nis2, bsi-c5, iso27001) to see each requirement's status."
            "</p></section>"
        )
    blocks = []
    for fw in results:
        table_id = f"req-{_e(fw.name)}"
        counts = " · ".join(f"{fw.count(s)} {s.value}" for s in STATUS_ORDER)
        options = "".join(f'<option value="{_e(s.value)}">{_e(s.value)}</option>' for s in STATUS_ORDER)
        rows = []
        families = {f.id: f.title for f in fw.families}
        for r in fw.requirements:
            evidence = ", ".join(r.controls) or "—"
            extra = []
            if r.failed:
                extra.append(f"failed: {', '.join(r.failed)}")
            if r.errors:
                extra.append(f"not verified: {', '.join(r.errors)}")
            if r.not_evaluated:
                extra.append(f"not evaluated in this scan: {', '.join(r.not_evaluated)}")
            if r.manual:
                extra.append(f"to check by hand: {r.manual}")
            rows.append(
                f'<tr data-status="{_e(r.status.value)}"><td><b>{_e(r.id)}</b></td>'
                f"<td>{_e(r.title)}<div class=muted>{_e(r.family)} {_e(families.get(r.family, ''))}</div></td>"
                f'<td><span class="badge {_REQ_CLASS[r.status]}">{_e(r.status.value)}</span></td>'
                f"<td>{_e(evidence)}</td><td>{'<br>'.join(_e(x) for x in extra)}</td></tr>"
            )
        blocks.append(
            f"<h3>{_e(fw.title)} ({_e(fw.edition)})</h3>"
            f"<p>Coverage <b>{fw.coverage:.0%}</b> of {len(fw.requirements)} requirements have automated evidence "
            f"in this scan: {_e(counts)}.</p>"
            f'<div class="filters"><label>Show <select data-req-filter="{table_id}"><option value="">every status'
            f"</option>{options}</select></label></div>"
            f'<table id="{table_id}"><thead><tr><th>Requirement</th><th>Title</th><th>Status</th>'
            f"<th>Controls evaluated</th><th>Details</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    explain = (
        "<p class=muted><b>met</b>: every evaluated mapped control passed on every resource in scope · "
        "<b>violated</b>: a mapped control failed · <b>not verified</b>: a mapped control could not read its "
        "evidence (ERROR) · <b>waived</b>: failures covered by accepted waivers · <b>manual</b>: no automated "
        "control exists, a person must check it · <b>not covered</b>: controls exist but none ran in this scan "
        "(their system was not scanned, they were tailored out, or nothing was in scope). Coverage counts only "
        "requirements with automated evidence in this scan.</p>"
    )
    return '<section id="frameworks"><h2>Frameworks</h2>' + explain + "".join(blocks) + "</section>"


def _controls_section(result: ScanResult) -> str:
    by_control: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_control[finding.control_id].append(finding)
    sev = {s: i for i, s in enumerate(_SEVERITIES)}

    def key(cid: str) -> tuple[int, int, str]:
        counts = Counter(f.status for f in by_control[cid])
        control = result.controls.get(cid)
        return (
            0 if counts[Status.FAIL] else 1 if counts[Status.ERROR] else 2,
            sev[control.severity] if control else 2,
            cid,
        )

    blocks = []
    for cid in sorted(by_control, key=key):
        control = result.controls.get(cid)
        findings = by_control[cid]
        counts = Counter(f.status for f in findings)
        badges = " ".join(
            f'<span class="badge {_STATUS_CLASS[s]}">{_e(s.value)} {counts[s]}</span>'
            for s in _STATUS_ORDER
            if counts[s]
        )
        title = control.title if control else cid
        severity = control.severity.value if control else "medium"
        failing = [f for f in findings if f.status in (Status.FAIL, Status.ERROR, Status.WAIVED)][:20]
        items = "".join(
            f"<tr><td>{_e(f.status.value)}</td><td>{_e(f.resource.target)}: {_e(f.resource.name)}"
            f"<div class=muted>{_e(f.resource.uri)}</div></td><td>{_e(f.message)}</td>"
            f"<td><pre>{_e(_short(f.observed)[:300])}</pre></td><td><pre>{_e(_short(f.expected)[:300])}</pre></td></tr>"
            for f in failing
        )
        more = len([f for f in findings if f.status in (Status.FAIL, Status.ERROR, Status.WAIVED)]) - len(failing)
        refs = ""
        remediation = ""
        if control is not None:
            refs = "; ".join(f"{k}: {', '.join(v)}" for k, v in control.references.items())
            remediation = control.remediation
        detail = (
            (f"<p><b>Remediation:</b> {_e(remediation)}</p>" if remediation else "")
            + (f"<p class=muted><b>References:</b> {_e(refs)}</p>" if refs else "")
            + (
                "<table><thead><tr><th>Status</th><th>Resource</th><th>Message</th><th>Observed</th><th>Expected"
                f"</th></tr></thead><tbody>{items}</tbody></table>"
                if items
                else ""
            )
            + (f"<p class=muted>… and {more} more in the findings table.</p>" if more > 0 else "")
        )
        search = f"{cid} {title} {severity}".lower()
        blocks.append(
            f'<details data-control="{_e(cid)}" data-search="{_e(search)}"{" open" if counts[Status.FAIL] else ""}>'
            f'<summary><b>{_e(cid)}</b> <span class="sev-{_e(severity)}">{_e(severity)}</span> {_e(title)} {badges}'
            f"</summary>{detail}</details>"
        )
    return (
        '<section id="controls"><h2>Findings by control</h2><div class="filters"><label>Find a control '
        '<input type="search" id="control-search" placeholder="id, title or severity"></label></div>'
        + "".join(blocks)
        + "</section>"
    )


def _findings_section(result: ScanResult) -> str:
    boxes = "".join(
        f'<label><input type="checkbox" data-status-filter value="{_e(s.value)}"'
        f"{' checked' if s is not Status.NOT_APPLICABLE and s is not Status.PASS else ''}> {_e(s.value)} "
        f"({result.count(s)})</label>"
        for s in _STATUS_ORDER
    )
    sev = "".join(f'<option value="{_e(s.value)}">{_e(s.value)}</option>' for s in _SEVERITIES)
    targets = "".join(f'<option value="{_e(t.id)}">{_e(t.id)}</option>' for t in result.targets)
    controls = "".join(
        f'<option value="{_e(c)}">{_e(c)}</option>' for c in sorted({f.control_id for f in result.findings})
    )
    return (
        '<section id="findings"><h2>Every finding</h2>'
        f'<div class="filters">{boxes}<label>severity <select id="f-severity"><option value="">any</option>{sev}'
        f'</select></label><label>target <select id="f-target"><option value="">any</option>{targets}</select>'
        f'</label><label>control <select id="f-control"><option value="">any</option>{controls}</select></label>'
        '<label>search <input type="search" id="f-search" placeholder="resource, message, value"></label></div>'
        '<div class="pager"><button type="button" id="page-prev">previous</button><span id="page-info"></span>'
        '<button type="button" id="page-next">next</button></div>'
        '<table id="findings-table"><thead><tr><th>Status</th><th>Severity</th><th>Control</th><th>Target</th>'
        '<th>Resource</th><th>Message</th></tr></thead><tbody id="findings-body"></tbody></table></section>'
    )


def _waivers_section(result: ScanResult) -> str:
    waived: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    waivers = {}
    for finding in result.findings:
        if finding.waiver is not None:
            k = (finding.waiver.control_id, finding.waiver.resource)
            waived[k].append(finding)
            waivers[k] = finding.waiver
    if not waivers:
        return '<section id="waivers"><h2>Waivers</h2><p>No finding was waived in this scan.</p></section>'
    rows = "".join(
        f"<tr><td>{_e(w.control_id)}</td><td>{_e(w.resource)}</td><td>{_e(w.owner)}</td><td>{_e(w.expires)}</td>"
        f"<td>{_e(w.ticket or '')}</td><td>{_e(w.justification)}</td><td class=num>{len(waived[k])}</td></tr>"
        for k, w in sorted(waivers.items())
    )
    return (
        '<section id="waivers"><h2>Waivers</h2><table><thead><tr><th>Control</th><th>Resources</th><th>Owner</th>'
        "<th>Expires</th><th>Ticket</th><th>Justification</th><th class=num>Findings</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def _unread_section(result: ScanResult) -> str:
    rows = []
    for target in result.targets:
        if target.error:
            rows.append(f"<tr><td>{_e(target.id)}</td><td>(whole target)</td><td>{_e(target.error)}</td></tr>")
        for section, reason in sorted(target.section_errors.items()):
            rows.append(f"<tr><td>{_e(target.id)}</td><td>{_e(section)}</td><td>{_e(reason)}</td></tr>")
    errors_by_control = Counter(f.control_id for f in result.findings if f.status is Status.ERROR)
    controls = ", ".join(f"{c} ({n})" for c, n in sorted(errors_by_control.items()))
    body = (
        "<table><thead><tr><th>Target</th><th>Evidence section</th><th>Why it could not be read</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        if rows
        else "<p>Every evidence section of every target was read.</p>"
    )
    return (
        '<section id="unread"><h2>What could not be read</h2>'
        "<p class=muted>Controls that need what could not be read are ERROR (not verified), never PASS. "
        "<code>sovscan doctor</code> prints the grants that let sovscan read them.</p>"
        + body
        + (f"<p>Controls not verified (ERROR findings): {_e(controls)}</p>" if controls else "")
        + "</section>"
    )


def statistics(rendered: str) -> Mapping[str, int]:
    """Sizes of a rendered page (for bench/): total bytes and the embedded data block."""
    start = rendered.find('id="sovscan-data">')
    end = rendered.find("</script>", start)
    return {"bytes": len(rendered.encode("utf-8")), "data_bytes": len(rendered[start:end].encode("utf-8"))}
