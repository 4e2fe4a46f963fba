#!/usr/bin/env python
"""Retrieval of another rag (a previous release) beside this one, on the same vectors.

Whichever `rag` is first on sys.path is used, so put the other release's code first:

    git archive 2d5eec8 rag | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old python scripts/release_compare.py build CORPUS /tmp/old-index WORK/vectors
    PYTHONPATH=/tmp/old python scripts/release_compare.py ask /tmp/old-index GOLD
    python scripts/release_compare.py ask WORK/index-100000 GOLD

`build` indexes CORPUS with chunk vectors composed from the sentence-vector cache that
`scripts/bench.py --large N` left in WORK/vectors (reuse_vectors.py, "compose"), so both
indexes hold the same vectors. `ask` times search(question, 5) over 200 questions after one
warm-up pass (p50/p95 wall and CPU) and counts the questions whose answer is in the 5 chunks.
"""

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def build(corpus: str, index: str, cache: str) -> None:
    from reuse_vectors import ReusingEmbedder, VectorCache

    import rag
    import rag.index.build as b
    from rag.config import load_settings

    real_load = b.load_embedder  # the previous release loads its embedder here
    b.load_embedder = lambda spec, *a: ReusingEmbedder(real_load(spec), VectorCache(Path(cache)), "compose")
    t = time.perf_counter()
    report = b.build_index([Path(corpus)], load_settings(index=Path(index)), full=True)
    with open("/proc/self/status") as f:
        peak = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    seconds = time.perf_counter() - t
    print(json.dumps({"rag": rag.__file__, "chunks": report.chunks, "build_s": seconds, "peak_mb": peak}))


def ask(index: str, gold_path: str) -> None:
    import rag
    from rag import app
    from rag.config import load_settings

    gold = [json.loads(line) for line in open(gold_path, encoding="utf-8") if line.strip()]
    gold = gold[:: max(1, len(gold) // 200)][:200]
    r = app.open_retriever(load_settings(index=Path(index)))
    for g in gold:
        r.search(g["question"], 5)
    wall, cpu, hits = [], [], 0
    for g in gold:
        t, c = time.perf_counter(), time.process_time()
        found = r.search(g["question"], 5)
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        hits += any(a and a in h.chunk.text for h in found for a in g["answers"])
    wall.sort()
    cpu.sort()

    def at(v, q):
        return round(v[min(len(v) - 1, int(q * len(v)))] * 1000, 1)

    print(
        json.dumps(
            {
                "rag": rag.__file__,
                "p50_ms": at(wall, 0.5),
                "p95_ms": at(wall, 0.95),
                "cpu_p50_ms": at(cpu, 0.5),
                "cpu_p95_ms": at(cpu, 0.95),
                "passage_hit@5": hits / len(gold),
            }
        )
    )


if __name__ == "__main__":
    {"build": build, "ask": ask}[sys.argv[1]](*sys.argv[2:])
