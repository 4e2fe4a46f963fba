"""The large-corpus half of scripts/bench.py: an index of N synthetic chunks, built in a
child process (time, peak RSS, size on disk), questions against it (latency, passage hit
rate), FAISS alternatives on its vectors (recall of the exact top 10, latency, memory,
build time), the size where exact search stops paying, and `rag index --workers N`.

Vectors (reuse_vectors.py): up to 200,000 chunks every text's real vector, looked up by
content once embedded (`--seed-vectors INDEX` fills the cache from an index of the same
corpus); above that, each chunk's vector is the normalised sum of its sentences' real
vectors, which the synthetic corpus repeats, so a million chunks build in minutes.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

SCRIPTS = Path(__file__).resolve().parent
ROOT = SCRIPTS.parent
EXACT_REUSE_UP_TO = 200_000  # chunks; above it the benchmark composes chunk vectors

BUILD = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from reuse_vectors import ReusingEmbedder, VectorCache
from rag.config import load_settings
from rag.index.build import build_index
from rag.index.embedders import load_embedder, resolve_embedder
corpus, index, cache_dir, mode = sys.argv[2:6]
cache = VectorCache(Path(cache_dir))
embedder = ReusingEmbedder(load_embedder(resolve_embedder("use")), cache, mode)
t = time.perf_counter()
report = build_index([Path(corpus)], load_settings(index=Path(index)), full=True, embedder=embedder)
seconds = time.perf_counter() - t
print(json.dumps({"chunks": report.chunks, "embedded_texts": report.embedded, "build_s": seconds,
                  "model_embedded": embedder.embedded, "composed": embedder.composed}))
cache.save()
"""


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def seed_cache(cache_dir: Path, index: Path) -> int:
    """Fill the vector cache with the chunk (and sentence) vectors of an existing index of
    the same corpus, in this or the previous format: its texts need not be embedded again."""
    import faiss

    sys.path.insert(0, str(SCRIPTS))
    from reuse_vectors import VectorCache

    cache = VectorCache(cache_dir)
    texts = [json.loads(line)["text"] for line in open(index / "chunks.jsonl", encoding="utf-8") if line.strip()]
    if (index / "vectors.npy").exists():
        vecs = np.load(index / "vectors.npy", mmap_mode="r")
    else:
        vecs = faiss.read_index(str(index / "vectors.faiss")).reconstruct_n(0, len(texts))
    for start in range(0, len(texts), 10_000):
        cache.put(texts[start : start + 10_000], np.asarray(vecs[start : start + 10_000], dtype=np.float32))
    cache.save()
    return len(texts)


def build(corpus: Path, index: Path, work: Path, size: int, run_measured, compose: bool = False) -> dict:
    """Build (or reuse) the index of the synthetic corpus; time, peak RSS, size on disk."""
    record = work / f"build-{size}.json"
    if record.exists() and (index / "manifest.json").exists():
        return {**json.loads(record.read_text()), "reused": True}
    mode = "compose" if compose or size > EXACT_REUSE_UP_TO else "exact"
    wall, peak, out = run_measured(["-c", BUILD, str(SCRIPTS), str(corpus), str(index), str(work / "vectors"), mode])
    report = json.loads(out.strip().splitlines()[-1])
    manifest = json.loads((index / "manifest.json").read_text())
    result = {
        **report,
        "vectors": mode,
        "wall_s": wall,
        "chunks_per_s": report["chunks"] / report["build_s"],
        "build_peak_rss_mb": peak,
        "size_mb": dir_mb(index),
        "sentences": manifest["sentences"],
        "vector_index": manifest["vector_index"],
    }
    record.write_text(json.dumps(result))
    return {**result, "reused": False}


def passage_hit(chunks, answers: list[str]) -> bool:
    return any(a and a in c.text for c in chunks for a in answers)


def retrieval(index: Path, gold: list[dict]) -> dict:
    """Latency of retrieval as the answer stage calls it (question embedded, top 5, sentence
    scores), its split, and the share of questions whose answer is in one of the 5 chunks."""
    from rag import app
    from rag.config import load_settings

    t = time.perf_counter()
    retriever = app.open_retriever(load_settings(index=index))
    open_s = time.perf_counter() - t
    questions = [g["question"] for g in gold]
    retriever.search(questions[0], 5)
    # Two passes over the questions: the first reads the index pages it needs from disk (or
    # the page cache), as the first questions after opening do; the second finds them in memory.
    passes: list[dict] = []
    hits = 0
    for first in (True, False):
        wall, cpu = [], []
        for g in gold:
            t, c = time.perf_counter(), time.process_time()
            found = retriever.search(g["question"], 5)
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            if first:
                hits += passage_hit([h.chunk for h in found], g.get("answers") or [])
        passes.append({"wall": wall, "cpu": cpu})
    embed = []
    for g in gold:
        t = time.perf_counter()
        retriever.embedder.encode([g["question"]])
        embed.append(time.perf_counter() - t)
    qvecs = retriever.embedder.encode(questions).astype(np.float32)
    vector = []
    for v in qvecs:
        t = time.perf_counter()
        retriever.index.search(v, 200)
        vector.append(time.perf_counter() - t)
    from rag.index import store

    return {
        "chunks": retriever.index.manifest["chunks"],
        "vector_index": retriever.index.manifest.get("vector_index"),
        "p50_ms": pct(passes[1]["wall"], 0.5) * 1000,
        "p95_ms": pct(passes[1]["wall"], 0.95) * 1000,
        "first_pass_p50_ms": pct(passes[0]["wall"], 0.5) * 1000,
        "first_pass_p95_ms": pct(passes[0]["wall"], 0.95) * 1000,
        # CPU time of this process: the work, without the waits for a core that other
        # processes on the same cores add to the wall time
        "cpu_p50_ms": pct(passes[1]["cpu"], 0.5) * 1000,
        "cpu_p95_ms": pct(passes[1]["cpu"], 0.95) * 1000,
        "question_embedding_p50_ms": pct(embed, 0.5) * 1000,
        "vector_search_p50_ms": pct(vector, 0.5) * 1000,
        "passage_hit@5": hits / len(gold),
        "questions": len(gold),
        "query_rss_mb": _rss_mb(),
        "query_rss_anon_mb": _rss_mb("RssAnon"),
        "query_rss_file_mb": _rss_mb("RssFile"),
        "open_s": open_s,
        "kind": store.FORMAT_VERSION,
    }


def _rss_mb(kind: str = "VmRSS") -> float:
    """Resident memory: VmRSS all of it, RssAnon the process's own, RssFile the pages of
    mapped files (the kernel's page cache, shared and dropped under pressure)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(kind + ":")) / 1024
    except (OSError, StopIteration):
        return 0.0


def exact_top(vectors: np.ndarray, qvecs: np.ndarray, k: int = 10, block: int = 65_536) -> np.ndarray:
    """Exact top k by inner product over a float16 matrix (memory-mapped), in blocks: ids,
    and in .scores the k-th best score of each question (for ties, see recall)."""
    best_s = np.full((len(qvecs), k), -np.inf, np.float32)
    best_i = np.zeros((len(qvecs), k), np.int64)
    for start in range(0, len(vectors), block):
        s = qvecs @ np.asarray(vectors[start : start + block], dtype=np.float32).T
        i = np.arange(start, start + s.shape[1])
        allsc = np.concatenate([best_s, s], axis=1)
        alli = np.concatenate([best_i, np.broadcast_to(i, s.shape)], axis=1)
        top = np.argsort(-allsc, axis=1, kind="stable")[:, :k]
        best_s, best_i = np.take_along_axis(allsc, top, 1), np.take_along_axis(alli, top, 1)
    return Top(best_i, best_s[:, -1], vectors, qvecs)


class Top(np.ndarray):
    """Exact top-k ids with what recall needs to count ties."""

    def __new__(cls, ids, kth, vectors, qvecs):
        obj = np.asarray(ids).view(cls)
        obj.kth, obj.vectors, obj.qvecs = kth, vectors, qvecs
        return obj

    def __array_finalize__(self, obj):
        self.kth = getattr(obj, "kth", None)
        self.vectors = getattr(obj, "vectors", None)
        self.qvecs = getattr(obj, "qvecs", None)


TIE = 1e-4  # scores this close to the k-th best are ties (float16 vectors, near-duplicate chunks)


def recall(got: np.ndarray, want: np.ndarray) -> float:
    """Share of the exact top k found, a found chunk scoring as high as the k-th best (within
    TIE) counting as one of them: the synthetic corpus holds many chunks with the same
    vector, and which of those an index returns is arbitrary (ANN benchmarks count so too)."""
    if not isinstance(want, Top) or want.kth is None:
        return float(np.mean([len(set(g) & set(w)) / len(w) for g, w in zip(got, want)]))
    k = want.shape[1]
    found = []
    for g, kth, q in zip(got, want.kth, want.qvecs):
        g = np.asarray(g[:k], dtype=np.int64)
        g = g[g >= 0]
        scores = np.asarray(want.vectors[np.sort(g)], dtype=np.float32) @ q if len(g) else np.zeros(0)
        found.append(min(k, int((scores >= kth - TIE).sum())) / k)
    return float(np.mean(found))


def _timed_search(search, qvecs) -> tuple[np.ndarray, float]:
    ids, times = [], []
    search(qvecs[0])
    for v in qvecs:
        t = time.perf_counter()
        ids.append(search(v))
        times.append(time.perf_counter() - t)
    return np.array(ids), pct(times, 0.5) * 1000


def vector_alternatives(vectors: np.ndarray, qvecs: np.ndarray, work: Path) -> list[dict]:
    """FAISS indexes over the same vectors: build time, index bytes in memory (or mapped),
    search p50 and recall of the exact top 10. The exact search is the baseline."""
    import faiss

    from rag.index import vectors as dense

    n, d = vectors.shape
    want = exact_top(vectors, qvecs)
    rows = []
    x = None

    def as_f32():
        nonlocal x
        if x is None:
            x = np.asarray(vectors, dtype=np.float32)
        return x

    def add(name, make, search, mapped_mb=0.0, note=""):
        t = time.perf_counter()
        index = make()
        build_s = time.perf_counter() - t
        path = work / "alt.faiss"
        faiss.write_index(index, str(path))
        size = path.stat().st_size / 2**20
        got, p50 = _timed_search(lambda v: search(index, v), qvecs)
        rows.append(
            {
                "index": name,
                "build_s": build_s,
                "memory_mb": size + mapped_mb,
                "search_p50_ms": p50,
                "recall@10": recall(got, want),
                "note": note,
            }
        )
        path.unlink()

    def flat():
        index = faiss.IndexFlatIP(d)
        index.add(as_f32())
        return index

    def top10(index, v):
        return index.search(v[None], 10)[1][0]

    add("exact (flat, float32)", flat, top10)
    for name, factory in (("HNSW32, float32", "HNSW32,Flat"), ("HNSW32, 8-bit", "HNSW32,SQ8")):

        def hnsw(factory=factory):
            index = faiss.index_factory(d, factory, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
            if "SQ" in factory:
                index.train(as_f32()[:: max(1, n // 100_000)])
            index.add(as_f32())
            index.hnsw.efSearch = 256
            return index

        add(name, hnsw, top10, note="efConstruction 80, efSearch 256")
    nlist = dense.nlist_for(n)

    def ivf_sq8():
        index = faiss.index_factory(d, f"IVF{nlist},SQ8", faiss.METRIC_INNER_PRODUCT)
        index.train(as_f32()[np.random.default_rng(0).choice(n, min(n, nlist * 40), replace=False)])
        index.add(as_f32())
        index.nprobe = dense.NPROBE
        return index

    add(f"IVF{nlist}, 8-bit", ivf_sq8, top10, note=f"nprobe {dense.NPROBE}")
    for rerank in (0, dense.RERANK):

        def ivfpq():
            return dense.build(dense.kind_for(n, 0), as_f32(), n, d)

        def search(index, v, rerank=rerank):
            faiss.extract_index_ivf(index).nprobe = dense.NPROBE
            if not rerank:
                return index.search(v[None], 10)[1][0]
            return dense.search(index, vectors, v, 10, rerank)[0]

        label = f"IVF{nlist}, PQ{dense.PQ_BYTES}" + (f" + exact re-scoring of {rerank} (rag)" if rerank else "")
        add(label, ivfpq, search, mapped_mb=0.0, note=f"nprobe {dense.NPROBE}; vectors.npy mapped" if rerank else "")
    return rows


def crossover(vectors: np.ndarray, qvecs: np.ndarray, sizes: list[int]) -> list[dict]:
    """Exact search against rag's compressed index on the first n vectors, for each n:
    above the first size where exact search is the slower, compression pays."""
    import faiss

    from rag.index import vectors as dense

    rows = []
    for n in sizes:
        if n > len(vectors):
            break
        x = np.asarray(vectors[:n], dtype=np.float32)
        flat = faiss.IndexFlatIP(x.shape[1])
        flat.add(x)
        _, exact_ms = _timed_search(lambda v, flat=flat: flat.search(v[None], 200)[1][0], qvecs)
        want = exact_top(vectors[:n], qvecs)
        ivf = dense.build(dense.kind_for(n, 0), x, n, x.shape[1])
        faiss.extract_index_ivf(ivf).nprobe = dense.NPROBE
        part = vectors[:n]
        got, ours_ms = _timed_search(lambda v, ivf=ivf, part=part: dense.search(ivf, part, v, 200)[0], qvecs)
        rows.append(
            {
                "n": n,
                "exact_ms": exact_ms,
                "compressed_ms": ours_ms,
                "recall@10": recall(got[:, :10], want),
            }
        )
    return rows


def composed_closeness(index: Path, cache_dir: Path, sample: int = 300) -> float:
    """Mean cosine between the real vectors of a sample of the index's chunks (embedded
    here) and their sentences' composed vector: how far the benchmark's vectors are from
    what the embedder would give."""
    sys.path.insert(0, str(SCRIPTS))
    from reuse_vectors import ReusingEmbedder, VectorCache

    from rag.index import store
    from rag.index.embedders import load_embedder

    idx = store.load(index)
    rng = np.random.default_rng(0)
    pick = np.sort(rng.choice(len(idx.chunks), min(sample, len(idx.chunks)), replace=False))
    texts = [idx.chunks[int(i)].text for i in pick]
    model = load_embedder(idx.embedder)
    composed = ReusingEmbedder(model, VectorCache(cache_dir), "compose").encode(texts)
    return float(np.mean(np.sum(model.encode(texts) * composed, axis=1)))


def workers(corpus: Path, work: Path, sample_chunks: int, run_measured, counts=(1, 2)) -> dict:
    """`rag index --workers N` on the first files of the corpus (about sample_chunks chunks),
    beside the embedder's own encode of the same texts (chunks and sentences) in one process."""
    sub = work / f"workers-corpus-{sample_chunks}"
    if not sub.exists():
        sub.mkdir(parents=True)
        total = 0
        for f in sorted(corpus.glob("*.txt")):
            shutil.copy(f, sub / f.name)
            total += len(f.read_text(encoding="utf-8")) / (1200 * 0.72)
            if total >= sample_chunks:
                break
    out: dict = {"runs": {}}
    for n in counts:
        index = work / f"workers-index-{n}"
        shutil.rmtree(index, ignore_errors=True)
        wall, peak, stdout = run_measured(
            ["-m", "rag", "index", str(sub), "--index", str(index), "--workers", str(n), "--json"]
        )
        report = json.loads(stdout)
        out["runs"][n] = {
            "wall_s": wall,
            "build_s": report["seconds"],
            "chunks": report["chunks"],
            "texts": report["embedded"],
            "peak_rss_mb": peak,
            "chunks_per_s": report["chunks"] / report["seconds"],
        }
    wall, _, stdout = run_measured(["-c", RAW_ENCODE, str(work / f"workers-index-{counts[0]}")])
    raw = json.loads(stdout.strip().splitlines()[-1])
    out["raw"] = {**raw, "chunks_per_s": raw["chunks"] / raw["encode_s"]}
    same = _same_index(work / f"workers-index-{counts[0]}", work / f"workers-index-{counts[-1]}")
    out["same_index"] = same
    return out


RAW_ENCODE = """
import json, sys, time
from rag.index import store
from rag.index.embedders import load_embedder
idx = store.load(sys.argv[1])
chunks = list(idx.chunks)
texts = [c.text for c in chunks]
for c, (s, e) in zip(idx.unit_chunks, idx.units):
    ch = chunks[int(c)]
    texts.append(ch.text[s - ch.start : e - ch.start])
embedder = load_embedder(idx.embedder)
embedder.encode(texts[:64])
t = time.perf_counter()
for start in range(0, len(texts), 2048):
    embedder.encode(texts[start : start + 2048])
print(json.dumps({"chunks": len(chunks), "texts": len(texts), "encode_s": time.perf_counter() - t}))
"""


def _same_index(a: Path, b: Path) -> float:
    """Largest difference between the vectors of two indexes of the same files (0 when the
    worker processes embedded exactly what one process does); inf if the chunks differ."""
    from rag.index import store

    x, y = store.load(a), store.load(b)
    if list(x.chunks) != list(y.chunks):
        return float("inf")
    ids = np.arange(len(x.chunks))
    diff = float(np.abs(x.chunk_vectors(ids) - y.chunk_vectors(ids)).max())
    if x.unit_vectors is not None and y.unit_vectors is not None:
        diff = max(diff, float(np.abs(x.unit_matrix - y.unit_matrix).max()))
    return diff


def mean(values) -> float:
    return statistics.mean(values) if values else 0.0
