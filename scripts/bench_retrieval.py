#!/usr/bin/env python
"""Retrieval benchmark: every retriever side by side on one corpus and gold set(s).

    python scripts/bench_retrieval.py --corpus ../shared/benchmarks/xquad-de-dev/corpus \
        --gold ../shared/benchmarks/xquad-de-dev/gold-de.jsonl --gold ../shared/benchmarks/xquad-de-dev/gold-en.jsonl

For each embedder it builds an index (timed), then scores lexical, dense and hybrid retrieval
with the same code `rag eval --retrieval-only` uses, so the figures agree with it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag import app  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.eval import run as evaluate  # noqa: E402

COLUMNS = [
    ("hit@1", "hit@1"),
    ("hit@5", "hit@5"),
    ("mrr@10", "MRR@10"),
    ("passage_hit@5", "psg@5"),
    ("build_s", "build s"),
    ("retrieve_ms_p50", "query ms p50"),
]


def bench(corpus: Path, golds: list[Path], embedders: list[str], chunk_chars: int | None, k: int) -> list[dict]:
    rows = []
    gold_sets = {g.name: evaluate.load_gold(g) for g in golds}
    with tempfile.TemporaryDirectory() as tmp:
        for n, emb in enumerate(embedders):
            settings = load_settings(index=Path(tmp) / emb.replace("/", "_"), embedder=emb, k=k)
            if chunk_chars:
                settings = replace(
                    settings, chunk_chars=chunk_chars, chunk_overlap=min(settings.chunk_overlap, chunk_chars // 4)
                )
            t0 = time.perf_counter()
            report = app.index([corpus], settings)
            build_s = time.perf_counter() - t0
            retriever = app.open_retriever(replace(settings, embedder=None))
            modes = ["lexical", "dense", "hybrid"] if n == 0 else ["dense", "hybrid"]
            for mode in modes:
                for name, gold in gold_sets.items():
                    _, summary = evaluate.run(gold, retriever, None, k, mode)
                    label = "lexical (BM25)" if mode == "lexical" else f"{mode} ({retriever.embedder.spec.name})"
                    rows.append(
                        {
                            "gold": name,
                            "retriever": label,
                            "chunks": report.chunks,
                            "build_s": build_s if mode != "lexical" else None,
                            **summary,
                        }
                    )
    return rows


def print_table(rows: list[dict]) -> None:
    for gold in dict.fromkeys(r["gold"] for r in rows):
        print(f"\n{gold}  ({rows[0]['chunks']} chunks)")
        print(f"{'retriever':<36}" + "".join(f"{label:>14}" for _, label in COLUMNS))
        for r in rows:
            if r["gold"] != gold:
                continue
            cells = []
            for key, _ in COLUMNS:
                v = r.get(key)
                cells.append(f"{'-' if v is None else format(v, '.1f' if key.endswith(('_s', '_p50')) else '.3f'):>14}")
            print(f"{r['retriever']:<36}" + "".join(cells))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--gold", type=Path, action="append", required=True, help="repeat for several gold files")
    ap.add_argument("--embedders", default="use,minilm", help="comma-separated: use, minilm, or model folders")
    ap.add_argument("--chunk-chars", type=int, help="override the chunk size")
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = ap.parse_args()
    rows = bench(args.corpus, args.gold, args.embedders.split(","), args.chunk_chars, args.k)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print_table(rows)


if __name__ == "__main__":
    main()
