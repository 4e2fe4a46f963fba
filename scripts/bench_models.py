#!/usr/bin/env python
"""Answer quality of any GGUF on the dev sets, beside the default model's, measured in the same run.

    python scripts/bench_models.py --model PATH                    # seeds + paraphrases (minutes)
    python scripts/bench_models.py --model A.gguf --model B.gguf   # several, each beside the default
    python scripts/bench_models.py --model PATH --sets xquad-de --limit 100
    python scripts/bench_models.py --model PATH --generate always  # the model writes every answer
    python scripts/bench_models.py --model PATH --json OUT         # every report's summary, as JSON

Sets: seeds and paraphrase (gold/ over seeds/), xquad-de and xquad-en (the XQuAD-de dev
questions in German and in English over its corpus in shared/, ~600 each: slow). --limit N
takes the first N questions of each set, --sample N spreads N over it (as `rag eval` does).
--model takes what `rag eval --model` takes. Each corpus is indexed once under --work and
reused (delete the folder to rebuild). Models are loaded one at a time, each freed before the
next is loaded. A ratio column compares times (x2.00: twice as slow), a delta the rest.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import app  # noqa: E402
from rag.config import Settings, load_settings  # noqa: E402
from rag.errors import RagError, UsageError  # noqa: E402
from rag.eval import run as ev  # noqa: E402

XQUAD = ROOT.parent / "shared" / "benchmarks" / "xquad-de-dev"
SETS = {  # name: (gold file, corpus)
    "seeds": (ROOT / "gold" / "seeds.jsonl", ROOT / "seeds"),
    "paraphrase": (ROOT / "gold" / "seeds_paraphrase.jsonl", ROOT / "seeds"),
    "xquad-de": (XQUAD / "gold-de.jsonl", XQUAD / "corpus"),
    "xquad-en": (XQUAD / "gold-en.jsonl", XQUAD / "corpus"),
}
# What the model changes; retrieval and token counts are left to `rag eval`.
SHOWN = {
    "accuracy",
    "short_given",
    "short_em",
    "short_f1",
    "consistency",
    "citation_precision",
    "citation_recall",
    "abstain_precision",
    "abstain_recall",
    "false_abstain_rate",
    "mode_generated",
    "latency_ms_p50",
}
GROUP_FIGURES = [("accuracy", "accuracy"), ("short_em", "short EM"), ("short_f1", "short F1")]  # as ev.table
RATIOS = {"latency_ms_p50"}  # twice as slow says more than +400 ms


# ---------------------------------------------------------------- the table (pure)


def versus(key: str, value, default, fmt: str) -> str:
    """A figure against the default's: a ratio for times, a signed difference for the rest."""
    if value is None or default is None:
        return "-"
    if key in RATIOS:
        return f"x{value / default:.2f}" if default else "-"
    return format(value - default, "+" + (fmt if fmt != "d" else ".0f"))


def rows(summaries: list[dict]) -> list[tuple[str, str, str, list]]:
    """(key, label, format, one value per summary) for each shown figure some summary has, in
    rag.eval.run.FIGURES order, then the answer figures per language or question type."""
    out = [
        (key, label, fmt, [s.get(key) for s in summaries])
        for key, label, fmt in ev.FIGURES
        if key in SHOWN and any(key in s for s in summaries)
    ]
    groups = sorted({g for s in summaries for g in s.get("groups", {})})
    values_of = Counter(g.split("=")[0] for g in groups)  # one type only: its rows would repeat the totals
    for group in (g for g in groups if values_of[g.split("=")[0]] > 1):
        for key, label in GROUP_FIGURES:
            values = [s.get("groups", {}).get(group, {}).get(key) for s in summaries]
            out.append((key, f"{label} [{group}]", ".3f", values))
    return out


def side_by_side(names: list[str], summaries: list[dict]) -> str:
    """One row per figure: the default's value (first column), then each other model's beside
    its change from the default."""
    heads = [names[0], *(h for name in names[1:] for h in (name, "vs default"))]
    widths = [max(10, len(h) + 2) for h in heads]
    table = rows(summaries)
    first = max([28, *(len(label) + 2 for _, label, _, _ in table)])
    lines = [" " * first + "".join(h.rjust(w) for h, w in zip(heads, widths))]
    for key, label, fmt, (default, *others) in table:
        cells = [ev._fmt(default, fmt)]
        for value in others:
            cells += [ev._fmt(value, fmt), versus(key, value, default, fmt)]
        lines.append(label.ljust(first) + "".join(c.rjust(w) for c, w in zip(cells, widths)))
    return "\n".join(lines)


def describe(name: str, config: dict, n_params: int | None) -> str:
    """Which model a column is, from its report's config."""
    size = f"{n_params / 1e6:.0f}M parameters" if n_params else "size unknown"
    role = "writes answers" if config.get("generates") else "answers from the evidence"
    return f"{name}: {config.get('model')} ({size}, {role})"


# ---------------------------------------------------------------- running


def model_paths(models: list[str], base: Settings) -> list[tuple[str | None, Path, int | None]]:
    """(model setting, file, parameters) of the default, then of each --model: resolved now, so
    that a wrong --model fails before any index is built or any model loaded."""
    from rag.llm.catalog import resolve_model
    from rag.llm.gguf import GGUFError, read_info

    def size(path: Path) -> int | None:
        try:
            return read_info(path).n_params or None
        except (GGUFError, OSError):
            return None  # the model may still load; its size is only for the legend

    # the default keeps model=None, so RAG_MODEL, rag.toml and models/ apply as in `rag eval` without --model
    chosen = [resolve_model(m, base.models_dir).path for m in models]
    default = resolve_model(base.model, base.models_dir).path
    return [(None, default, size(default)), *((str(p), p, size(p)) for p in chosen)]


def index_settings(corpus: Path, work: Path, **overrides) -> Settings:
    """Settings over the corpus's index under work, built the first time it is needed."""
    index = work / f"index-{corpus.name}"
    if not (index / "manifest.json").exists():
        print(f"indexing {corpus} into {index}", file=sys.stderr)
        app.index([corpus], load_settings(index=index))
    return load_settings(index=index, **overrides)


def progress(label: str):
    def show(done: int, total: int, accuracy: float | None) -> None:
        if done % 50 == 0 or done == total:
            acc = "" if accuracy is None else f", accuracy {accuracy:.3f}"
            print(f"  {label}: {done}/{total}{acc}", file=sys.stderr)

    return show


def bench(args: argparse.Namespace) -> dict:
    names = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in names if s not in SETS]
    if unknown or not names:
        raise UsageError(f"unknown set {', '.join(unknown) or '(none)'}; use some of {', '.join(SETS)}")
    models = model_paths(args.model, load_settings())
    golds = {name: ev.sample(ev.load_gold(SETS[name][0]), args.sample)[: args.limit] for name in names}
    results: dict = {}
    for name, gold in golds.items():
        reports = []
        for setting, path, n_params in models:
            settings = index_settings(SETS[name][1], args.work, model=setting, generate=args.generate)
            t0 = time.perf_counter()
            report = app.evaluate(gold, settings, progress=progress(f"{name} / {path.stem}"))
            print(f"  {name} / {path.stem}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            reports.append({"name": path.stem, "n_params": n_params, **{k: report[k] for k in ("config", "summary")}})
            del report  # the per-question items are not kept
            gc.collect()  # nothing refers to the answerer now: its model is freed before the next one loads
        print(f"\n== {name}: {len(gold)} questions ({SETS[name][0].name})")
        for r in reports:
            print("  " + describe(r["name"], r["config"], r["n_params"]))
        print(side_by_side([r["name"] for r in reports], [r["summary"] for r in reports]), flush=True)
        results[name] = reports
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True, help="a GGUF (repeat for several)")
    parser.add_argument("--sets", default="seeds,paraphrase", help=f"comma-separated, of: {', '.join(SETS)}")
    parser.add_argument("--limit", type=int, help="the first N questions of each set")
    parser.add_argument("--sample", type=int, help="N questions spread evenly over each set")
    parser.add_argument(
        "--generate",
        choices=["auto", "always", "never"],
        help="who writes answers, for every model (default: the setting, auto: models of 1B parameters and more)",
    )
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "rag-bench-models")
    parser.add_argument("--json", type=Path, help="write every report's summary and config here")
    args = parser.parse_args(argv)
    try:
        if (args.limit is not None and args.limit < 1) or (args.sample is not None and args.sample < 1):
            raise UsageError("--limit and --sample take a number of questions, at least 1")
        results = bench(args)
        if args.json:
            app.write_json(args.json, results)
            print(f"summaries written to {args.json}", file=sys.stderr)
    except RagError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
