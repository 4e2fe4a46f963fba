#!/usr/bin/env python
"""Speed and memory of rag, each figure beside its baseline measured in the same run.

    python scripts/bench.py                 # everything, 100,000-chunk corpus included
    python scripts/bench.py --large 0       # skip the large corpus (a few minutes)
    python scripts/bench.py --json          # one JSON object instead of the table

Baselines: raw llama-cpp-python on the identical prompt (warm and cold), FAISS exact
search on the same vectors, the embedder's own encode throughput, the top-k-chunks prompt
of a plain RAG pipeline. The large synthetic corpus and its index are built once under
--work and reused (delete the folder to rebuild; the build figures are re-measured then).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_scale  # noqa: E402
from synthetic_corpus import synthesize  # noqa: E402

from rag.config import load_settings  # noqa: E402
from rag.index import vectors as dense  # noqa: E402

# Runs a Python command (-m module or -c code) in this fresh interpreter and reports its
# own peak RSS at exit. (ru_maxrss of a child would include the parent's peak: Linux keeps it
# across exec, and this benchmark's own process holds models.)
MEASURE = """
import atexit, runpy, sys
def peak_mb():
    try:
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024
    except OSError:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # macOS: bytes
atexit.register(lambda: print(f"@@peak {peak_mb()}", file=sys.stderr))
mode, target, *args = sys.argv[1:]
sys.argv = [target, *args]
if mode == "-m":
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    exec(compile(target, "<bench>", "exec"), {"__name__": "__main__"})
"""


def run_measured(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds and peak RSS (MB) of a fresh Python running cmd (["-m", "rag", ...] or
    ["-c", code, ...]); its output too."""
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t
    lines = proc.stderr.splitlines()
    peak = next((float(line.split()[1]) for line in reversed(lines) if line.startswith("@@peak ")), None)
    if proc.returncode != 0 or peak is None:
        raise SystemExit(f"{' '.join(cmd[:3])} failed:\n{proc.stderr[-3000:]}")
    return wall, peak, proc.stdout


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def load_questions(path: Path, n: int, answerable: bool = True) -> list[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows if not answerable or r.get("answers")][:n]


# --- warm path: our ask vs raw llama-cpp-python on the same prompts ---------------------


def record_calls(model) -> list:
    """Make the model note every call it is given, in order: completions, chats and scored
    texts, so raw llama.cpp can replay exactly the same work."""
    calls: list = []
    complete, chat, score = model.complete, model.chat, model.text_logprob

    def recorded_complete(prompt, max_tokens, stop, out):
        calls.append(("complete", prompt, max_tokens, stop))
        return complete(prompt, max_tokens, stop, out)

    def recorded_chat(messages, max_tokens, out):
        calls.append(("chat", messages, max_tokens, None))
        return chat(messages, max_tokens, out)

    def recorded_score(prefix, text):
        calls.append(("score", prefix + text, 1, None))
        return score(prefix, text)

    model.complete, model.chat, model.text_logprob = recorded_complete, recorded_chat, recorded_score
    return calls


def replay(llm, calls: list) -> None:
    """The same model work through plain llama-cpp-python calls (its own prefix caching)."""
    for kind, prompt, max_tokens, stop in calls:
        if kind == "chat":
            llm.create_chat_completion(prompt, max_tokens=max_tokens, temperature=0.0, top_k=1)
        else:  # a scored text costs one evaluation of it, like a one-token completion
            llm.create_completion(prompt, max_tokens=max_tokens, temperature=0.0, top_k=1, stop=stop)


def answer_call(calls: list):
    return next((c for c in reversed(calls) if c[0] in ("complete", "chat")), None)


def bench_warm(index: Path, questions: list[str], model_path: str | None) -> dict:
    from llama_cpp import Llama

    from rag import app

    # generate=always: the model writes every answer from the prompt, the path the
    # comparison with raw llama.cpp is about (by default the 270M model only scores)
    settings = load_settings(index=index, generate="always", model=model_path)
    answerer = app.open_answerer(settings)
    answerer.warm_up()
    model = answerer.model
    calls = record_calls(model)
    ours, work, answers, tokens = [], [], [], {"checked": [], "baseline": []}
    p_ours = dict.fromkeys(("p_ms", "p_n", "e_ms", "e_n"), 0)
    for q in questions:
        calls.clear()
        before = perf(model.llm)
        t = time.perf_counter()
        answerer.ask(q)
        ours.append(time.perf_counter() - t)
        p_ours = add(p_ours, perf_delta(before, perf(model.llm)))
        work.append(list(calls))
        last = answer_call(calls)
        if last:
            answers.append(last)
            tokens["checked"].append(model.count_tokens(_text(last[1])))
        calls.clear()
        answerer.ask(q, strategy="baseline")
        last = answer_call(calls)
        if last:
            tokens["baseline"].append(model.count_tokens(_text(last[1])))
    settings = load_settings(index=index, model=model_path)
    default = app.open_answerer(settings)
    default.use_model(settings, answerer.handle)  # the same loaded model, in the default (auto) mode
    default_s = []
    for q in questions:
        t = time.perf_counter()
        default.ask(q)
        default_s.append(time.perf_counter() - t)
    path = str(answerer.handle.path)
    del answerer, default, model

    llm = Llama(
        model_path=path,
        n_ctx=settings.n_ctx,
        n_batch=512,
        use_mmap=True,
        n_threads=settings.threads or os.cpu_count(),
        verbose=False,
        seed=0,
    )
    replay(llm, work[0][:1])  # warm, as ours was
    raw_all, raw_answer = [], []
    p_raw = dict.fromkeys(("p_ms", "p_n", "e_ms", "e_n"), 0)
    for calls_of_q in work:
        before = perf(llm)
        t = time.perf_counter()
        replay(llm, calls_of_q)
        raw_all.append(time.perf_counter() - t)
        p_raw = add(p_raw, perf_delta(before, perf(llm)))
    for call in answers:
        t = time.perf_counter()
        replay(llm, [call])
        raw_answer.append(time.perf_counter() - t)
    return {
        "questions": len(questions),
        "model": Path(path).name,
        "warm_ask_s": statistics.mean(ours),
        "raw_same_calls_s": statistics.mean(raw_all),
        "raw_answer_prompt_only_s": statistics.mean(raw_answer) if raw_answer else 0.0,
        "warm_ask_default_s": statistics.mean(default_s),
        "model_calls_per_question": statistics.mean(len(c) for c in work),
        "prefill_tok_s": rate(p_ours, "p"),
        "prefill_tok_s_raw": rate(p_raw, "p"),
        "decode_tok_s": rate(p_ours, "e"),
        "decode_tok_s_raw": rate(p_raw, "e"),
        "answer_prompt_tokens": statistics.mean(tokens["checked"]),
        "baseline_prompt_tokens": statistics.mean(tokens["baseline"]),
    }


def perf(llm) -> dict:
    """llama.cpp's own counters: prompt (prefill) and generated (decode) tokens and time."""
    import llama_cpp

    d = llama_cpp.llama_perf_context(llm.ctx)
    return {"p_ms": d.t_p_eval_ms, "p_n": d.n_p_eval, "e_ms": d.t_eval_ms, "e_n": d.n_eval}


def perf_delta(a: dict, b: dict) -> dict:
    return {k: b[k] - a[k] for k in a}


def rate(d: dict, kind: str) -> float:
    return d[f"{kind}_n"] / (d[f"{kind}_ms"] / 1000) if d[f"{kind}_ms"] else 0.0


def add(a: dict, b: dict) -> dict:
    return {k: a[k] + b[k] for k in a}


def _text(prompt) -> str:
    return prompt if isinstance(prompt, str) else "\n".join(m["content"] for m in prompt)


# --- cold path -----------------------------------------------------------------------------

COLD_SPLIT = """
import json, sys, time
t0 = time.perf_counter()
from rag import app
from rag.config import load_settings
t1 = time.perf_counter()
settings = load_settings(index=sys.argv[1])
answerer = app.open_answerer(settings)
t2 = time.perf_counter()
answer = answerer.ask(sys.argv[2])
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "open_index_embedder_s": t2 - t1, "ask_s": t3 - t2, **answer.timings}))
"""

RAW_COLD = """
import sys
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_ctx=2048, verbose=False, seed=0)
llm.create_completion(sys.argv[2], max_tokens=int(sys.argv[3]), temperature=0.0, top_k=1, stop=["\\n"])
"""


def bench_cold(index: Path, question: str, prompt: str, max_tokens: int, runs: int = 3) -> dict:
    from rag import app

    walls, rss = [], []
    for _ in range(runs):
        wall, peak, _ = run_measured(["-m", "rag", "ask", question, "--index", str(index), "--json"])
        walls.append(wall)
        rss.append(peak)
    split = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", COLD_SPLIT, str(index), question], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(runs)
    ]
    model_path = str(app.model_handle(load_settings()).path)
    raw = [run_measured(["-c", RAW_COLD, model_path, prompt, str(max_tokens)]) for _ in range(runs)]
    helps = [run_measured(["-m", "rag", "--help"])[0] for _ in range(runs)]
    bare = [run_measured(["-c", "pass"])[0] for _ in range(runs)]
    med = statistics.median
    return {
        "cold_ask_s": med(walls),
        "cold_raw_llama_s": med(w for w, _, _ in raw),
        "peak_rss_mb": max(rss),
        "peak_rss_raw_llama_mb": max(r for _, r, _ in raw),
        "help_s": med(helps),
        "python_startup_s": med(bare),
        "split": {
            key: med(s[key] for s in split)
            for key in ("import_s", "open_index_embedder_s", "ask_s", "retrieve_ms", "load_ms", "generate_ms")
        },
    }


# --- a busy laptop: the same questions alone and beside a neighbour process --------------------

WARM_LOOP = """
import json, sys, time
from rag import app
from rag.config import load_settings
index, questions = sys.argv[1], json.loads(sys.argv[2])
answerer = app.open_answerer(load_settings(index=index))
answerer.ask(questions[0])
t = time.perf_counter()
for q in questions:
    answerer.ask(q)
print(json.dumps({"s_per_question": (time.perf_counter() - t) / len(questions)}))
"""

NEIGHBOURS = {
    # one single-threaded process using a core to the full (a compile, a browser tab)
    "busy loop": [sys.executable, "-c", "while True: pass"],
    # a second rag process answering questions (a `rag eval` in another terminal)
    "rag eval": [
        sys.executable,
        "-c",
        "import subprocess, sys\nwhile True: subprocess.run([sys.executable, '-m', "
        "'rag', 'eval', sys.argv[1], '--index', sys.argv[2]], capture_output=True)",
    ],
}


def bench_contended(index: Path, gold: Path, questions: list[str]) -> dict:
    """Warm answering time per question alone and beside each neighbour, with rag's thread
    settings and, as the baseline, with OpenMP's threads spinning while they wait
    (OMP_WAIT_POLICY=ACTIVE, how llama.cpp's OpenMP build behaves unless told otherwise)."""

    def warm(env: dict) -> float:
        proc = subprocess.run(
            [sys.executable, "-c", WARM_LOOP, str(index), json.dumps(questions)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        return json.loads(proc.stdout.strip().splitlines()[-1])["s_per_question"]

    out = {}
    for setup, extra in (("rag", {}), ("spinning", {"OMP_WAIT_POLICY": "ACTIVE"})):
        env = {**os.environ, **extra}
        row = {"alone_s": warm(env)}
        for name, cmd in NEIGHBOURS.items():
            args = [str(gold), str(index)] if name == "rag eval" else []
            neighbour = subprocess.Popen(
                [*cmd, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
            )
            try:
                time.sleep(5)  # the neighbour is at work (its models loaded) before we start
                row[name] = warm(env)
            finally:
                os.killpg(neighbour.pid, 9)
                neighbour.wait()
        out[setup] = row
    return out


# --- retrieval and index building -----------------------------------------------------------


def bench_retrieval(index: Path, gold: list[dict]) -> dict:
    """Retrieval latency and passage hit rate (bench_scale.retrieval), and the dense index
    against exact search over the same vectors (question vectors given)."""
    import faiss
    import numpy as np

    from rag.index import store

    out = bench_scale.retrieval(index, gold)
    idx = store.load(index)
    from rag.index.embedders import load_embedder

    qvecs = load_embedder(idx.embedder).encode([g["question"] for g in gold]).astype(np.float32)
    vectors = idx.full_vectors if idx.full_vectors is not None else idx.vectors.reconstruct_n(0, idx.vectors.ntotal)
    want = bench_scale.exact_top(vectors, qvecs)
    got, ours = bench_scale._timed_search(lambda v: idx.search(v, 10)[0], qvecs)
    exact = faiss.IndexFlatIP(qvecs.shape[1])
    exact.add(np.asarray(vectors, dtype=np.float32))
    _, exact_ms = bench_scale._timed_search(lambda v: exact.search(v[None], 10)[1][0], qvecs)
    out.update(
        {
            "vector_search_top10_p50_ms": ours,
            "exact_search_p50_ms": exact_ms,
            "recall_at_10_vs_exact": bench_scale.recall(got, want),
        }
    )
    if idx.full_vectors is not None:  # compressed: how many re-scored candidates recall needs
        out["rerank_sweep"] = []
        for n in (128, 256, 512, 1024):
            got, ms = bench_scale._timed_search(
                lambda v, n=n: dense.search(idx.vectors, idx.full_vectors, v, 10, n)[0], qvecs
            )
            out["rerank_sweep"].append({"rerank": n, "recall@10": bench_scale.recall(got, want), "p50_ms": ms})
    return out


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def bench_build(corpus: Path, index: Path, record: Path) -> dict:
    """Build (or reuse) an index of corpus; time, peak RSS and size on disk."""
    if record.exists() and (index / "manifest.json").exists():
        return {**json.loads(record.read_text()), "reused": True}
    wall, peak, out = run_measured(["-m", "rag", "index", str(corpus), "--index", str(index), "--json"])
    report = json.loads(out)
    result = {
        "chunks": report["chunks"],
        "embedded": report["embedded"],
        "build_s": wall,
        "chunks_per_s": report["chunks"] / wall,
        "build_peak_rss_mb": peak,
        "size_mb": dir_mb(index),
    }
    record.write_text(json.dumps(result))
    return {**result, "reused": False}


def raw_encode_seconds(index: Path, sample: int = 1000) -> float:
    """How long the embedder alone takes for the texts this index embeds (its chunks, and
    its sentences when it keeps their vectors), timed on a sample of each: the floor
    for building it."""
    import numpy as np

    from rag import app

    retriever = app.open_retriever(load_settings(index=index))
    idx = retriever.index
    chunks = [c.text for c in idx.chunks]
    kinds = [chunks]
    if idx.unit_vectors is not None:
        kinds.append(
            [
                idx.chunks[c].text[s - idx.chunks[c].start : e - idx.chunks[c].start]
                for c, (s, e) in zip(idx.unit_chunks, idx.units)
            ]
        )
    retriever.embedder.encode(chunks[:32])
    total = 0.0
    rng = np.random.default_rng(0)
    for texts in kinds:
        pick = [texts[i] for i in rng.choice(len(texts), min(sample, len(texts)), replace=False)]
        t = time.perf_counter()
        retriever.embedder.encode(pick)
        total += (time.perf_counter() - t) * len(texts) / len(pick)
    return total


# --- report ---------------------------------------------------------------------------------


def rows(r: dict) -> list[tuple[str, str, str, str]]:
    def ratio(a, b):
        return f"{a / b:.2f}" if b else "-"

    if "warm" not in r:
        return index_rows(r)
    w, c = r["warm"], r["cold"]
    out = [
        (
            f"warm ask, model writes (s) [{w['model']}]",
            f"{w['warm_ask_s']:.3f}",
            f"{w['raw_same_calls_s']:.3f} raw llama-cpp, same {w['model_calls_per_question']:.1f} calls",
            ratio(w["warm_ask_s"], w["raw_same_calls_s"]),
        ),
        ("  of which the answer prompt alone (s)", "", f"{w['raw_answer_prompt_only_s']:.3f} raw llama-cpp", ""),
        (
            "warm ask, default mode (s)",
            f"{w['warm_ask_default_s']:.3f}",
            f"{w['raw_answer_prompt_only_s']:.3f} raw, answer prompt",
            ratio(w["warm_ask_default_s"], w["raw_answer_prompt_only_s"]),
        ),
        (
            "prefill tokens/s",
            f"{w['prefill_tok_s']:.0f}",
            f"{w['prefill_tok_s_raw']:.0f} raw",
            ratio(w["prefill_tok_s"], w["prefill_tok_s_raw"]),
        ),
        (
            "decode tokens/s",
            f"{w['decode_tok_s']:.0f}",
            f"{w['decode_tok_s_raw']:.0f} raw",
            ratio(w["decode_tok_s"], w["decode_tok_s_raw"]),
        ),
        (
            "answer prompt tokens (mean)",
            f"{w['answer_prompt_tokens']:.0f}",
            f"{w['baseline_prompt_tokens']:.0f} top-5 chunks",
            ratio(w["answer_prompt_tokens"], w["baseline_prompt_tokens"]),
        ),
        (
            "cold rag ask (s)",
            f"{c['cold_ask_s']:.2f}",
            f"{c['cold_raw_llama_s']:.2f} raw llama-cpp load+answer",
            ratio(c["cold_ask_s"], c["cold_raw_llama_s"]),
        ),
    ]
    s = c["split"]
    out += [
        ("  imports (s)", f"{s['import_s']:.2f}", "", ""),
        ("  open index + embedder (s)", f"{s['open_index_embedder_s']:.2f}", "", ""),
        ("  model load (s)", f"{s['load_ms'] / 1000:.2f}", "", ""),
        ("  retrieval (s)", f"{s['retrieve_ms'] / 1000:.2f}", "", ""),
        ("  model compute (s)", f"{s['generate_ms'] / 1000:.2f}", "", ""),
        (
            "rag --help (s)",
            f"{c['help_s']:.2f}",
            f"{c['python_startup_s']:.2f} python -c pass",
            ratio(c["help_s"], c["python_startup_s"]),
        ),
        (
            "peak RSS rag ask (MB)",
            f"{c['peak_rss_mb']:.0f}",
            f"{c['peak_rss_raw_llama_mb']:.0f} raw llama-cpp",
            ratio(c["peak_rss_mb"], c["peak_rss_raw_llama_mb"]),
        ),
    ]
    if "contended" in r:
        for name in NEIGHBOURS:
            ours, spin = r["contended"]["rag"], r["contended"]["spinning"]
            out.append(
                (
                    f"warm ask beside a {name} / alone",
                    f"{ours[name]:.2f} / {ours['alone_s']:.2f} s",
                    f"{spin[name]:.2f} / {spin['alone_s']:.2f} s spinning OpenMP threads "
                    f"(ratio {spin[name] / spin['alone_s']:.2f})",
                    ratio(ours[name], ours["alone_s"]),
                )
            )
    return out + index_rows(r)


def index_rows(r: dict) -> list[tuple[str, str, str, str]]:
    out = []
    for name in ("small", "large"):
        if name in r:
            out += scale_rows(r[name])
    if "workers" in r:
        out += workers_rows(r["workers"])
    return out


def scale_rows(r: dict) -> list[tuple[str, str, str, str]]:
    ret, b = r["retrieval"], r["build"]
    tag = f"{ret['chunks']:,} chunks ({ret['vector_index']})"
    out = [
        (
            f"retrieval p50 / p95, {tag} (ms)",
            f"{ret['p50_ms']:.1f} / {ret['p95_ms']:.1f}",
            f"{ret['question_embedding_p50_ms']:.1f} embedding the question alone (p50)",
            f"{ret['p50_ms'] / ret['question_embedding_p50_ms']:.2f}",
        ),
        (
            "  vector search p50, top 10 (ms)",
            f"{ret['vector_search_top10_p50_ms']:.2f}",
            f"{ret['exact_search_p50_ms']:.2f} exact flat",
            f"{ret['vector_search_top10_p50_ms'] / ret['exact_search_p50_ms']:.2f}",
        ),
        ("  CPU time per question p50 / p95 (ms)", f"{ret['cpu_p50_ms']:.1f} / {ret['cpu_p95_ms']:.1f}", "", ""),
        (
            "  first pass after opening, p50 / p95 (ms)",
            f"{ret['first_pass_p50_ms']:.1f} / {ret['first_pass_p95_ms']:.1f}",
            "index pages read from disk or page cache as needed",
            "",
        ),
        ("  top-10 recall vs exact (ties counted)", f"{ret['recall_at_10_vs_exact']:.3f}", "1.000 exact", ""),
        *(
            (
                f"    re-scoring {row['rerank']} candidates" + (" (rag)" if row["rerank"] == dense.RERANK else ""),
                f"recall {row['recall@10']:.3f}, {row['p50_ms']:.2f} ms",
                "",
                "",
            )
            for row in ret.get("rerank_sweep", [])
        ),
        (f"  passage hit@5 ({ret['questions']} XQuAD questions)", f"{ret['passage_hit@5']:.3f}", "", ""),
        (
            "  querying process: resident MB, its own + mapped index pages",
            f"{ret['query_rss_anon_mb']:.0f} + {ret['query_rss_file_mb']:.0f}",
            f"index opened in {ret['open_s']:.1f} s (index and embedder)",
            "",
        ),
    ]
    if "raw_encode_s" in r:
        out.append(
            (
                f"  build (s), {b.get('embedded', b['chunks']):,} texts embedded",
                f"{b['build_s']:.0f}",
                f"{r['raw_encode_s']:.0f} raw encode of the same texts",
                f"{b['build_s'] / r['raw_encode_s']:.2f}",
            )
        )
    else:
        how = (
            "every chunk's real vector, reused by content"
            if b["vectors"] == "exact"
            else f"{b['composed']:,} chunk vectors composed of their sentences' real vectors "
            f"({b['model_embedded']:,} texts embedded); cosine to the real vector {r['composed_cosine']:.3f}"
            if "composed_cosine" in r
            else "chunk vectors composed of their sentences' real vectors"
        )
        label = f"  build (s), {b['chunks']:,} chunks, {b['sentences']:,} sentences"
        out.append((label, f"{b['build_s']:.0f}", how, ""))
    out += [
        (
            "  build chunks/s; peak RSS (MB)",
            f"{b['chunks_per_s']:.1f}; {b['build_peak_rss_mb']:.0f}",
            "build reused from an earlier run" if b.get("reused") else "",
            "",
        ),
        ("  index on disk (MB)", f"{b['size_mb']:.1f}", "", ""),
    ]
    for alt in r.get("alternatives", []):
        out.append(
            (
                f"  {alt['index']}, {r['alternatives_n']:,} vectors",
                f"recall {alt['recall@10']:.3f}, {alt['search_p50_ms']:.2f} ms",
                f"{alt['memory_mb']:.0f} MB, built in {alt['build_s']:.0f} s"
                + (f"; {alt['note']}" if alt["note"] else ""),
                "",
            )
        )
    for row in r.get("crossover", []):
        out.append(
            (
                f"  exact vs compressed search, top 200 of {row['n']:,}",
                f"{row['compressed_ms']:.2f} ms (recall {row['recall@10']:.3f})",
                f"{row['exact_ms']:.2f} ms exact",
                f"{row['compressed_ms'] / row['exact_ms']:.2f}",
            )
        )
    if r.get("crossover"):
        out.append(("  compression pays from (chunks)", f"{r['threshold']:,}" if r["threshold"] else "-", "", ""))
    return out


def workers_rows(w: dict) -> list[tuple[str, str, str, str]]:
    raw = w["raw"]
    out = []
    for n, run in sorted(w["runs"].items(), key=lambda kv: int(kv[0])):
        out.append(
            (
                f"rag index --workers {n}, {run['chunks']:,} chunks + {run['texts'] - run['chunks']:,} sentences",
                f"{run['chunks_per_s']:.1f} chunks/s ({run['build_s']:.0f} s, peak {run['peak_rss_mb']:.0f} MB)",
                f"{raw['chunks_per_s']:.1f} chunks/s raw encode, one process",
                f"{run['chunks_per_s'] / raw['chunks_per_s']:.2f}",
            )
        )
    out.append(("  largest vector difference, 1 vs 2 workers", f"{w['same_index']:.1e}", "", ""))
    return out


def print_table(r: dict) -> None:
    table = [("measure", "rag", "baseline (same run)", "ratio"), *rows(r)]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--index", type=Path, default=ROOT / "indexes" / "default", help="Index of seeds/ (built if missing)."
    )
    parser.add_argument("--gold", type=Path, default=ROOT / "gold" / "seeds.jsonl")
    parser.add_argument(
        "--retrieval-gold", type=Path, default=ROOT.parent / "shared" / "benchmarks" / "xquad-de-dev" / "gold-de.jsonl"
    )
    parser.add_argument("--model", help="GGUF for the warm path (default: rag's default model).")
    parser.add_argument("--questions", type=int, default=12, help="Questions for the warm path.")
    parser.add_argument("--small", type=int, default=1000, help="Chunks of the small synthetic corpus.")
    parser.add_argument("--large", type=int, default=100_000, help="Chunks of the large one (0: skip).")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "rag-bench")
    parser.add_argument("--contended", type=int, default=1, help="Time answering beside a busy neighbour (0: skip).")
    parser.add_argument("--answer", type=int, default=1, help="Time answering: warm, cold, busy (0: skip).")
    parser.add_argument(
        "--seed-vectors", type=Path, help="An index of the large corpus whose vectors the build may reuse."
    )
    parser.add_argument(
        "--compose",
        action="store_true",
        help="Compose every large-corpus chunk's vector from its sentences' (the default above 200,000 chunks).",
    )
    parser.add_argument(
        "--alternatives", type=int, default=100_000, help="Compare FAISS indexes on up to this many vectors (0: skip)."
    )
    parser.add_argument(
        "--workers-sample", type=int, default=2000, help="Chunks indexed with 1 and 2 workers (0: skip)."
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    log = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr, flush=True))
    report: dict = {}
    if args.answer:
        if not (args.index / "manifest.json").exists():
            subprocess.run(
                [str(Path(sys.executable).with_name("rag")), "index", str(ROOT / "seeds"), "--index", str(args.index)],
                check=True,
            )
        questions = load_questions(args.gold, args.questions)
        log("warm path ...")
        report["warm"] = bench_warm(args.index, questions, args.model)
        log("cold path ...")
        from rag import app

        answerer = app.open_answerer(load_settings(index=args.index, generate="always"))
        calls = record_calls(answerer.model)
        answerer.ask(questions[0])
        _, prompt, max_tokens, _ = answer_call(calls)
        del answerer
        report["cold"] = bench_cold(args.index, questions[0], prompt, max_tokens)
        if args.contended:
            log("beside a busy neighbour ...")
            report["contended"] = bench_contended(args.index, args.gold, questions)
    gold = [json.loads(line) for line in args.retrieval_gold.read_text(encoding="utf-8").splitlines() if line.strip()]
    gold = gold[:: max(1, len(gold) // 200)][:200]  # 200 questions spread over the articles
    args.work.mkdir(parents=True, exist_ok=True)
    if args.small:
        log(f"small corpus ({args.small:,} chunks) ...")
        corpus, index = args.work / f"corpus-{args.small}", args.work / f"index-{args.small}"
        synthesize(corpus, args.small)
        report["small"] = {
            "build": bench_build(corpus, index, args.work / f"build-{args.small}.json"),
            "retrieval": bench_retrieval(index, gold),
            "raw_encode_s": raw_encode_seconds(index),
        }
    if args.large:
        size = args.large
        corpus, index = args.work / f"corpus-{size}", args.work / f"index-{size}"
        log(f"large corpus ({size:,} chunks): writing ...")
        synthesize(corpus, size)
        if args.seed_vectors:
            log(f"  reusing the vectors of {args.seed_vectors} ...")
            bench_scale.seed_cache(args.work / "vectors", args.seed_vectors)
        log("  building ...")
        large: dict = {"build": bench_scale.build(corpus, index, args.work, size, run_measured, args.compose)}
        log("  questions ...")
        large["retrieval"] = bench_retrieval(index, gold)
        if large["build"]["vectors"] == "compose":
            log("  composed against real vectors ...")
            large["composed_cosine"] = bench_scale.composed_closeness(index, args.work / "vectors")
        if args.alternatives:
            import numpy as np

            from rag.index import store
            from rag.index.embedders import load_embedder

            idx = store.load(index)
            vectors = idx.full_vectors
            if vectors is None:  # an exact index holds its vectors itself
                vectors = idx.vectors.reconstruct_n(0, len(idx.chunks))
            qvecs = load_embedder(idx.embedder).encode([g["question"] for g in gold]).astype(np.float32)
            n = min(args.alternatives, len(vectors))
            log(f"  FAISS alternatives on {n:,} vectors ...")
            large["alternatives_n"] = n
            large["alternatives"] = bench_scale.vector_alternatives(vectors[:n], qvecs, args.work)
            sizes = [s for s in (2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000) if s <= len(vectors)]
            log("  exact against compressed by size ...")
            large["crossover"] = bench_scale.crossover(vectors, qvecs, sizes)
            slower = [row["n"] for row in large["crossover"] if row["exact_ms"] > row["compressed_ms"]]
            large["threshold"] = slower[0] if slower else None
        report["large"] = large
    if args.workers_sample:
        log(f"rag index --workers 1 and 2 on {args.workers_sample:,} chunks ...")
        corpus = args.work / f"corpus-{max(args.large, args.small)}"
        report["workers"] = bench_scale.workers(corpus, args.work, args.workers_sample, run_measured)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print_table(report)


if __name__ == "__main__":
    main()
