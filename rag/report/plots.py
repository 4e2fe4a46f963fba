"""The report's plots as static SVG, drawn with matplotlib (imported when a report is
made, never by `rag --help`). Text stays text (svg.fonttype "none"): the file is smaller
and the page's own font draws it. scripts/bench_report.py measured this against plotly and
pygal (README: Reports).
"""

from __future__ import annotations

import io
import re

from rag.report.data import Point, Rates

# one colour per meaning, the same in the plots and the page's CSS
RIGHT, WRONG, UNANSWERABLE = "#1a7f4b", "#c8372d", "#5b6bbf"
NOW, BEFORE = "#2f6fb0", "#a7a7a7"
INK, GRID = "#222222", "#dddddd"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display; must come before pyplot
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "svg.fonttype": "none",
            "svg.hashsalt": "rag-report",  # the same report gives the same file
            "font.family": "sans-serif",
            "font.size": 9,
            "axes.edgecolor": "#888888",
            "axes.labelcolor": INK,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.color": GRID,
            "grid.linewidth": 0.6,
            "xtick.color": INK,
            "ytick.color": INK,
            "legend.frameon": False,
            "figure.dpi": 96,
        }
    )
    return plt


def _svg(fig, title: str) -> str:
    """The figure as an inline <svg> with an accessible title; no XML prologue, no
    metadata (a date would change the file on every run)."""
    plt = _pyplot()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    # scale with the page: the viewBox stays, the fixed size goes
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 role="img" class="plot"', svg, count=1)
    return svg.replace(">", f"><title>{_escape(title)}</title>", 1)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def group_bars(now: dict[str, dict], before: dict[str, dict] | None = None) -> str:
    """Accuracy and short-answer F1 per group (lang=..., type=...), before beside now when
    comparing."""
    plt = _pyplot()
    names = sorted(set(now) | set(before or {}))
    metrics = (("accuracy", "accuracy"), ("short_f1", "short-answer F1"))
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 0.42 * len(names) + 1.1), sharey=True)
    for ax, (key, label) in zip(axes, metrics):
        ys = list(range(len(names)))
        runs = [("now", now, NOW)] if before is None else [("before", before, BEFORE), ("now", now, NOW)]
        height = 0.7 / len(runs)
        for i, (run, groups, colour) in enumerate(runs):
            vals = [(groups.get(n) or {}).get(key) for n in names]
            offs = [y - 0.35 + height * (i + 0.5) for y in ys]
            ax.barh(offs, [v or 0 for v in vals], height=height * 0.92, color=colour, label=run)
            for y, v, n in zip(offs, vals, names):
                n_q = (groups.get(n) or {}).get("answerable")
                text = "-" if v is None else f"{v:.2f}" + (f"  (n={n_q})" if n_q and run == "now" else "")
                ax.text((v or 0) + 0.01, y, text, va="center", fontsize=8, color=INK)
        ax.set_yticks(ys, names)
        ax.set_xlim(0, 1.22)
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.set_title(label, fontsize=10, loc="left")
        ax.grid(axis="y", visible=False)
    axes[0].invert_yaxis()  # the first group on top (the axes share y: once is enough)
    if before is not None:
        axes[1].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return _svg(fig, "Accuracy and short-answer F1 by question type and language")


def calibration(points: list[Point], threshold: float | None) -> str:
    """Each question's abstention score on one lane per outcome; filled dots were
    answered, hollow ones withheld; the threshold as a dashed line."""
    plt = _pyplot()
    lanes = (
        ("right", "answered right", RIGHT),
        ("wrong", "wrong or withheld", WRONG),
        ("unanswerable", "unanswerable", UNANSWERABLE),
    )
    fig, ax = plt.subplots(figsize=(8.4, 2.5))
    for lane, (group, label, colour) in enumerate(lanes):
        pts = [p for p in points if p.group == group]
        # a fixed spread per point (not random): the same report, the same picture
        ys = [lane + ((i * 0.618) % 1 - 0.5) * 0.5 for i in range(len(pts))]
        xs = [p.confidence for p in pts]
        face = [colour if not p.abstained else "white" for p in pts]
        ax.scatter(xs, ys, s=26, facecolors=face, edgecolors=colour, linewidths=1.2, zorder=3)
        ax.text(1.02, lane, f"{label} ({len(pts)})", va="center", fontsize=8, color=colour)
    if threshold is not None:
        ax.axvline(threshold, color=INK, linestyle="--", linewidth=1)
        ax.text(threshold, -0.75, f" threshold {threshold:.2f}", fontsize=8, color=INK, va="bottom")
    ax.set_xlim(-0.02, 1.0)
    ax.set_ylim(2.6, -0.8)
    ax.set_yticks([])
    ax.set_xlabel("abstention score (the reader's confidence that its answer is right)")
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return _svg(fig, "Abstention score by outcome, with the threshold")


def threshold_sweep(rates: list[Rates], threshold: float | None) -> str:
    """What each threshold would give: unanswerable questions withheld, answerable ones
    withheld, and answerable ones answered right (a lower bound below the run's threshold)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.4, 2.6))
    ts = [r.threshold for r in rates]
    series = (
        ("unanswerable_withheld", "unanswerable withheld (abstention recall)", UNANSWERABLE),
        ("answerable_withheld", "answerable withheld (false abstention)", WRONG),
        ("answerable_right", "answerable answered right", RIGHT),
    )
    for attr, label, colour in series:
        ys = [getattr(r, attr) for r in rates]
        if all(y is None for y in ys):  # e.g. no unanswerable question in the gold set
            continue
        if attr == "answerable_right":  # dashed where it is only a lower bound
            lo = [y if r.lower_bound else None for r, y in zip(rates, ys)]
            hi = [y if not r.lower_bound else None for r, y in zip(rates, ys)]
            ax.plot(ts, [float("nan") if y is None else y for y in lo], color=colour, linestyle=":", linewidth=1.6)
            ax.plot(ts, [float("nan") if y is None else y for y in hi], color=colour, label=label, linewidth=1.8)
        else:
            ax.plot(ts, [float("nan") if y is None else y for y in ys], color=colour, label=label, linewidth=1.8)
    if threshold is not None:
        ax.axvline(threshold, color=INK, linestyle="--", linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("threshold")
    ax.set_ylabel("share")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.tight_layout()
    return _svg(fig, "Rates at other abstention thresholds")


def latency(ms: list[float], p50: float | None, p95: float | None, before: list[float] | None = None) -> str:
    """Answer latency as a histogram (seconds), p50 and p95 marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.4, 2.4))
    secs = [m / 1000 for m in ms]
    top = max(secs + [b / 1000 for b in before or []] + [0.001])
    bins = [top * i / 30 for i in range(31)]
    if before:
        ax.hist([b / 1000 for b in before], bins=bins, color=BEFORE, alpha=0.6, label="before")
    ax.hist(secs, bins=bins, color=NOW, alpha=0.85, label="now" if before else None)
    for q, value, style in (("p50", p50, "-"), ("p95", p95, "--")):
        if value is not None:
            ax.axvline(value / 1000, color=INK, linestyle=style, linewidth=1)
            ax.text(value / 1000, ax.get_ylim()[1] * 0.92, f" {q} {value / 1000:.2f} s", fontsize=8, color=INK)
    ax.set_xlabel("seconds per question (retrieval, model, answer)")
    ax.set_ylabel("questions")
    if before:
        ax.legend(loc="center right", fontsize=8)
    fig.tight_layout()
    return _svg(fig, "Latency histogram with p50 and p95")
