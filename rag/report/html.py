"""An eval report as one self-contained HTML file: headline figures and the run's config,
plots as inline SVG (plots.py), and a sortable, filterable table of every question whose
citations open their passage with the cited span highlighted (template.html holds the CSS
and JS). With an earlier report: what changed, side by side.

Nothing in the file refers outside it; a Content-Security-Policy forbids fetching anything,
so a passage that holds markup cannot make the browser load it either.
"""

from __future__ import annotations

import json
import os
import re
from html import escape
from importlib import resources

from rag.eval.run import FIGURES
from rag.report import data, plots

# (summary key, label, shown in seconds instead of ms)
HEADLINE = (
    ("accuracy", "answer accuracy"),
    ("short_f1", "short-answer F1"),
    ("short_em", "short-answer EM"),
    ("hit@1", "retrieval hit@1"),
    ("passage_hit@5", "passage hit@5"),
    ("citation_precision", "citation precision"),
    ("abstain_recall", "abstention recall"),
    ("false_abstain_rate", "false abstention"),
    ("latency_ms_p50", "latency p50"),
    ("latency_ms_p95", "latency p95"),
)
FORMATS = {key: fmt for key, _, fmt in FIGURES}


def value_text(key: str, value) -> str:
    if value is None:
        return "-"
    if key.startswith("latency_ms"):
        return f"{value / 1000:.2f} s"
    fmt = FORMATS.get(key, ".3f")
    return str(int(value)) if fmt == "d" else format(value, fmt)


def delta_text(d: data.Delta) -> str:
    change = d.change
    if change is None:
        return "-"
    if d.key.startswith("latency_ms"):
        return f"{change / 1000:+.2f} s"
    return format(change, "+.0f" if d.fmt == "d" else "+" + d.fmt)


def config_line(config: dict, label: str = "") -> str:
    model = config.get("model")
    commit = config.get("git_commit")
    parts = [
        ("model", os.path.basename(model) if model else "none (retrieval only)"),
        ("embedder", config.get("embedder")),
        ("k", config.get("k")),
        ("index", config.get("index")),
        ("retriever", config.get("retriever")),
        ("strategy", config.get("strategy")),
        ("threshold", None if config.get("abstain_threshold") is None else f"{config['abstain_threshold']:.3f}"),
        ("commit", commit[:10] if commit else None),
        ("rag", config.get("rag_version")),
        ("run", config.get("created")),
        ("gold", config.get("gold")),
    ]
    items = "".join(f"<span>{escape(k)} <b>{escape(str(v))}</b></span>" for k, v in parts if v is not None)
    head = f"<span><b>{escape(label)}</b></span>" if label else ""
    return f'<div class="config">{head}{items}</div>'


def cards(summary: dict, before: dict | None) -> str:
    out = []
    for key, label in HEADLINE:
        if key not in summary:
            continue
        delta = ""
        if before is not None:
            d = data.Delta(key, label, summary.get(key), before.get(key), FORMATS.get(key, ".3f"))
            delta = f'<div class="d {d.verdict}">{escape(delta_text(d))} vs before</div>'
        out.append(
            f'<div class="card" data-key="{escape(key)}"><div class="v">{escape(value_text(key, summary[key]))}</div>'
            f'<div class="k">{escape(label)}</div>{delta}</div>'
        )
    return f'<div class="cards">{"".join(out)}</div>'


def figures_table(summary: dict, before: dict | None) -> str:
    rows = []
    for d in data.deltas(summary, before or {}):
        cells = f"<td>{escape(d.label)}</td><td class=num>{escape(value_text(d.key, d.now))}</td>"
        if before is not None:
            cells += (
                f"<td class=num>{escape(value_text(d.key, d.before))}</td>"
                f'<td class="num {d.verdict}">{escape(delta_text(d))}</td>'
            )
        rows.append(f"<tr>{cells}</tr>")
    head = "<th></th><th class=num>now</th>" + ("<th class=num>before</th><th class=num>delta</th>" if before else "")
    return f'<table class="figures"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def rates_table(rates: list[data.Rates], run_threshold: float | None) -> str:
    def pct(v: float | None, bound: bool = False) -> str:
        return "-" if v is None else f"{'≥ ' if bound else ''}{v:.2f}"

    rows = []
    for r in rates:
        run = run_threshold is not None and abs(r.threshold - run_threshold) < 1e-9
        rows.append(
            f'<tr class="{"run" if run else ""}"><td class=num>{r.threshold:.2f}{" (this run)" if run else ""}</td>'
            f"<td class=num>{pct(r.unanswerable_withheld)}</td><td class=num>{pct(r.answerable_withheld)}</td>"
            f"<td class=num>{pct(r.answerable_right, r.lower_bound)}</td></tr>"
        )
    return (
        '<table class="rates"><thead><tr><th class=num>threshold</th><th class=num>unanswerable withheld</th>'
        "<th class=num>answerable withheld</th><th class=num>answerable answered right</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def changes_section(changes: list[data.Change], summary: dict, before: dict) -> str:
    fixed = [c for c in changes if c.kind == "fixed"]
    broken = [c for c in changes if c.kind == "broken"]

    def side(row: dict) -> str:
        return (
            f'<div><span class="badge {row["outcome"]}">{escape(row["outcome"])}</span> '
            f"{escape(row['answer'] or '-')}</div>"
        )

    def block(title: str, items: list[data.Change]) -> str:
        if not items:
            return f"<h3>{escape(title)}: none</h3>"
        inner = "".join(
            f'<div class="change" data-id="{escape(c.id)}"><div class="head">{escape(c.id)}: '
            f"{escape(c.now['question'])}</div>{side(c.before)}{side(c.now)}</div>"
            for c in items
        )
        return f"<h3>{escape(title)} ({len(items)}): before | now</h3>{inner}"

    return (
        "<h2>What changed</h2>"
        f'<p class="note">{len(fixed)} fixed (wrong before, right now), {len(broken)} broken (right before, '
        f"wrong now), {sum(c.kind == 'changed' for c in changes)} answered differently with the same verdict.</p>"
        f'<div class="changes" id="changes">{block("Fixed", fixed)}{block("Broken", broken)}</div>'
        f"<h3>Figures: now beside before</h3>{figures_table(summary, before)}"
    )


FILTERS = """
<div class="filters" role="search">
  <input type="search" id="f-text" placeholder="filter: question, answer, gold, id (press /)" aria-label="filter text">
  <select id="f-outcome" aria-label="verdict"><option value="">all verdicts</option><option value="right">right</option>
    <option value="wrong">not right</option><option value="withheld">withheld (answerable)</option>
    <option value="abstained">abstained (unanswerable)</option>
    <option value="answered">answered (unanswerable)</option></select>
  <select id="f-mode" aria-label="mode"><option value="">all modes</option></select>
  <select id="f-lang" aria-label="language"><option value="">all languages</option></select>
  <select id="f-type" aria-label="type"><option value="">all types</option></select>
  {change}
  <span class="count" id="count" aria-live="polite"></span>
</div>"""
CHANGE_FILTER = (
    '<select id="f-change" aria-label="change"><option value="">all, changed or not</option>'
    '<option value="fixed">fixed</option><option value="broken">broken</option>'
    '<option value="changed">answered differently</option></select>'
)


def render(report: dict, before: dict | None = None, title: str | None = None) -> str:
    """The whole HTML file for a report (and an earlier one to compare with)."""
    summary, config, items = report["summary"], report.get("config", {}), report.get("items", [])
    old_summary = before["summary"] if before else None
    threshold = config.get("abstain_threshold")
    title = title or f"rag eval report: {config.get('gold') or config.get('index') or ''}".strip()
    rows, passages = data.rows(items)
    body = [f"<h1>{escape(title)}</h1>", config_line(config, "now" if before else "")]
    if before:
        body.append(config_line(before.get("config", {}), "before"))
    body.append(cards(summary, old_summary))
    body.append(f"<details><summary>All figures</summary>{figures_table(summary, old_summary)}</details>")

    if summary.get("groups") or (old_summary or {}).get("groups"):
        body.append("<h2>By question type and language</h2>")
        body.append('<p class="note">Answerable questions only; n = questions in the group.</p>')
        body.append(plots.group_bars(summary.get("groups", {}), (old_summary or {}).get("groups") if before else None))

    points = data.calibration_points(items)
    if points:
        body.append("<h2>Abstention</h2>")
        body.append(
            '<p class="note">Each dot is a question at the reader\'s abstention score; filled: answered, hollow: '
            "withheld. Below the dashed threshold the answer is withheld. Another threshold would give the rates "
            "below (answered right is a lower bound under this run's threshold: answers it withheld were not made).</p>"
        )
        body.append(plots.calibration(points, threshold))
        body.append(plots.threshold_sweep(data.sweep(items, threshold), threshold))
        body.append(rates_table(data.rate_table(items, threshold), threshold))

    latencies = [it["timings"]["total_ms"] for it in items if "total_ms" in it.get("timings", {})]
    if latencies:
        body.append("<h2>Latency</h2>")
        loads = sum(1 for it in items if it.get("timings", {}).get("load_ms"))
        note = f" {loads} question(s) include loading the model." if loads else ""
        body.append(f'<p class="note">Time per question, from the question to the checked answer.{note}</p>')
        old_lat = [it["timings"]["total_ms"] for it in (before or {}).get("items", []) if "total_ms" in it["timings"]]
        body.append(
            plots.latency(latencies, summary.get("latency_ms_p50"), summary.get("latency_ms_p95"), old_lat or None)
        )

    if before:
        old_rows, _ = data.rows(before.get("items", []))
        changes = data.changes(rows, old_rows)
        kinds = {c.id: c.kind for c in changes}
        by_id = {r["id"]: r for r in old_rows}
        for r in rows:
            old = by_id.get(r["id"])
            r["change"] = kinds.get(r["id"])
            r["before"] = None if old is None else {"outcome": old["outcome"], "answer": old["answer"]}
        body.append(changes_section(changes, summary, old_summary or {}))

    body.append("<h2>Questions</h2>")
    body.append(
        '<p class="note">Click a column to sort, a citation to read its passage with the cited span highlighted. '
        "Gold rank: the rank of the first gold file among the retrieved ones.</p>"
    )
    body.append(FILTERS.format(change=CHANGE_FILTER if before else ""))
    body.append('<table id="questions"></table>')

    payload = json.dumps({"rows": rows, "passages": passages, "before": before is not None}, ensure_ascii=False)
    page = resources.files("rag.report").joinpath("template.html").read_text(encoding="utf-8")
    fill = {
        "{{TITLE}}": escape(title),
        "<!--BODY-->": "\n".join(body),
        # "<" escaped inside the JSON: a passage holding "</script>" cannot end the script
        "{{DATA}}": payload.replace("<", "\\u003c"),
    }
    # one pass: a question that happens to hold a placeholder is not filled in again
    return re.sub("|".join(map(re.escape, fill)), lambda m: fill[m.group()], page)
