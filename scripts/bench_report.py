"""Which plotting library for the HTML eval report: file size, build time and load time in
headless Chromium, each beside matplotlib's SVG (what rag uses) measured in the same run.

The same two charts of a report (accuracy and short-answer F1 by group; the latency
histogram) are drawn by each library into a page of their own:
  matplotlib-svg   rag/report/plots.py: static SVG, text kept as text
  matplotlib-png   the same figures as PNG (base64, 96 dpi)
  plotly           interactive, plotly.js inlined (the page may not load it from a CDN)
  pygal            SVG, its tooltip script left out (pygal loads it from a CDN by default)
and the whole rag report (four plots and the table) is loaded too. Needs the [test] extras
and, for the alternatives, `pip install plotly pygal` (a library that is missing is skipped).

  python scripts/bench_report.py REPORT.json [--loads 5] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

PAGE = "<!DOCTYPE html><html><head><meta charset='utf-8'><title>{name}</title></head><body>{body}</body></html>"


def groups_and_latency(report: dict) -> tuple[dict, list[float]]:
    groups = report["summary"].get("groups", {})
    latency = [it["timings"]["total_ms"] for it in report["items"] if "total_ms" in it.get("timings", {})]
    return groups, latency


def matplotlib_svg(report: dict) -> str:
    from rag.report import plots

    groups, latency = groups_and_latency(report)
    s = report["summary"]
    return plots.group_bars(groups) + plots.latency(latency, s.get("latency_ms_p50"), s.get("latency_ms_p95"))


def matplotlib_png(report: dict) -> str:
    """The same figures, rendered to PNG instead of SVG."""
    from rag.report import plots

    real_svg = plots._svg
    pngs: list[str] = []

    def as_png(fig, title: str) -> str:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight", dpi=96)
        plots._pyplot().close(fig)
        pngs.append(f"<img alt='{title}' src='data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}'>")
        return pngs[-1]

    plots._svg = as_png  # type: ignore[assignment]
    try:
        return matplotlib_svg(report)
    finally:
        plots._svg = real_svg  # type: ignore[assignment]


def plotly_page(report: dict) -> str:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    groups, latency = groups_and_latency(report)
    names = sorted(groups)
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, subplot_titles=("accuracy", "short-answer F1"))
    for col, key in ((1, "accuracy"), (2, "short_f1")):
        fig.add_trace(go.Bar(y=names, x=[groups[n].get(key) or 0 for n in names], orientation="h"), row=1, col=col)
    hist = go.Figure(go.Histogram(x=[ms / 1000 for ms in latency], nbinsx=30))
    first = fig.to_html(full_html=False, include_plotlyjs=True)  # the library inlined once
    return first + hist.to_html(full_html=False, include_plotlyjs=False)


def pygal_page(report: dict) -> str:
    import pygal

    groups, latency = groups_and_latency(report)
    names = sorted(groups)
    bars = pygal.HorizontalBar(js=[], width=800, height=320)  # js=[]: no script from a CDN
    bars.x_labels = names
    bars.add("accuracy", [groups[n].get("accuracy") or 0 for n in names])
    bars.add("short-answer F1", [groups[n].get("short_f1") or 0 for n in names])
    top = max(latency) / 1000 if latency else 1
    counts = [0] * 30
    for ms in latency:
        counts[min(29, int(ms / 1000 / top * 30))] += 1
    hist = pygal.Histogram(js=[], width=800, height=260)
    hist.add("questions", [(c, top * i / 30, top * (i + 1) / 30) for i, c in enumerate(counts)])
    return bars.render(is_unicode=True) + hist.render(is_unicode=True)


BASE = "matplotlib SVG"
CANDIDATES = {
    BASE: matplotlib_svg,
    "matplotlib PNG": matplotlib_png,
    "plotly, plotly.js inlined": plotly_page,
    "pygal": pygal_page,
}


def load_ms(browser, path: Path, loads: int) -> tuple[float, int]:
    """Median time from navigation to the load event (charts drawn: every library here
    draws by then), over fresh pages; and the requests the page made."""
    times, requests = [], 0
    for _ in range(loads):
        context = browser.new_context(offline=True)
        seen: list[str] = []
        context.on("request", lambda r, seen=seen: seen.append(r.url))
        page = context.new_page()
        page.goto(path.as_uri(), wait_until="load")
        nav = page.evaluate("() => JSON.stringify(performance.getEntriesByType('navigation')[0])")
        times.append(json.loads(nav)["loadEventEnd"])
        requests = len(seen) - 1  # the page itself
        context.close()
    return statistics.median(times), requests


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("report", type=Path)
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from rag.report.html import render

    report = json.loads(args.report.read_text(encoding="utf-8"))
    out = Path(tempfile.mkdtemp(prefix="bench_report."))
    pages: dict[str, tuple[Path, float]] = {}
    for name, make in CANDIDATES.items():
        try:
            make(report)  # imports and first-use set-up are not what is compared
            t0 = time.perf_counter()
            body = make(report)
            built = time.perf_counter() - t0
        except ImportError as exc:
            print(f"skipped {name}: {exc} (pip install plotly pygal)", file=sys.stderr)
            continue
        path = out / f"{name.split(',')[0].replace(' ', '-')}.html"
        path.write_text(PAGE.format(name=name, body=body), encoding="utf-8")
        pages[name] = (path, built)
    t0 = time.perf_counter()
    whole = render(report)
    built = time.perf_counter() - t0
    (out / "rag-report.html").write_text(whole, encoding="utf-8")
    pages[f"the whole rag report (4 plots + table, {len(report['items'])} questions)"] = (
        out / "rag-report.html",
        built,
    )

    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--proxy-server=http://127.0.0.1:9"])
        load_ms(browser, pages[BASE][0], 1)  # warm the browser's caches of fonts and code
        for name, (path, built) in pages.items():
            ms, requests = load_ms(browser, path, args.loads)
            rows.append((name, path.stat().st_size, built, ms, requests))
        browser.close()
    base_size, base_ms = next((r[1], r[3]) for r in rows if r[0] == BASE)
    print(f"{len(report['items'])} questions; two charts per page unless said; load: median of {args.loads}\n")
    print("| page | KB | × svg | build s | load ms (median) | × svg | requests |")
    print("|---|---|---|---|---|---|---|")
    for name, size, built, ms, requests in rows:
        shown = f"**{name}**" if name == BASE else name
        print(
            f"| {shown} | {size / 1024:.1f} | {size / base_size:.2f} | {built:.2f} | {ms:.0f} | "
            f"{ms / base_ms:.2f} | {requests} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
