"""An index that stays fast and small at a million chunks: the fast top-n against a full
sort, the lexical fast path against the reference ranking, the compressed and memory-mapped
layout against the exact one (forced on seeds/ by a setting), and `--workers` against one
process. Real embedder for the end-to-end cases; no timings asserted."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SEEDS, ask_json

from rag import app
from rag.cli import main
from rag.config import load_settings
from rag.index import store
from rag.index import vectors as dense
from rag.index.lexical import LexicalIndex, top_n
from rag.lang.text import analyze

QUESTIONS = [
    "Wer wird Interims-CEO von Scale AI?",
    "Wo wurde Alexandr Wang geboren?",
    "Wie viel Geld investiert Meta in Scale AI?",
    "Who becomes interim CEO?",
    "Wie viele Mitarbeiter beschäftigt Scale AI?",
]


@pytest.mark.parametrize(
    "scores, n",
    [
        ([3.0, 1.0, 2.0], 2),
        ([1.0, 1.0, 1.0, 1.0], 2),  # all tied: the first ones, in order
        ([0.0, 0.0, 2.0, 0.0], 3),  # fewer positive than n: zeros follow in index order
        ([0.0, 0.0, 0.0], 2),
        ([5.0, 2.0, 2.0, 2.0, 1.0, 2.0], 3),  # a tie across the cut
        ([1.0, 2.0], 5),  # n beyond the length
        ([1.0], 0),
        ([], 3),
        ([-1.0, 0.5, -2.0, 0.0], 3),
    ],
)
def test_top_n_is_the_head_of_a_stable_descending_sort(scores, n):
    s = np.array(scores, dtype=np.float32)
    assert top_n(s, n).tolist() == np.argsort(-s, kind="stable")[:n].tolist()


def test_top_n_on_many_ties_and_zeros():
    rng = np.random.default_rng(1)
    for _ in range(50):
        s = rng.integers(0, 4, size=500).astype(np.float32)  # 0-3: many ties, a quarter zeros
        for n in (1, 10, 200, 499):
            assert top_n(s, n).tolist() == np.argsort(-s, kind="stable")[:n].tolist()


def seed_texts() -> list[str]:
    return [
        line for f in sorted(SEEDS.glob("*.txt")) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


@pytest.mark.parametrize(
    "query",
    [
        "Wo wurde Wang geboren?",
        "Umsatz von Scale AI",
        "Meta Meta investiert",
        "Atombombe Physiker",
        "Interims-CEO Droege",
        "the and of",  # nothing but stopwords
        "Quantenchromodynamik",  # a word the corpus lacks
    ],
)
def test_lexical_fast_path_ranks_like_the_reference(tmp_path, query):
    """Reference: bm25s scores of every chunk, ranked by a full stable sort. Fast path:
    the saved, memory-mapped index's postings of the query terms, top n by partition."""
    import bm25s

    texts = seed_texts()
    built = LexicalIndex.build(texts, ["de"] * len(texts))
    built.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path)
    assert isinstance(loaded.data, np.memmap) and isinstance(loaded.indices, np.memmap)
    words = {t for x in texts for t in analyze(x, "de")}
    ref = bm25s.BM25()
    ref.index([analyze(x, "de", known=words.__contains__) for x in texts], show_progress=False)
    terms = loaded.query_terms(query)
    reference = ref.get_scores(terms).astype(np.float32) if terms else np.zeros(len(texts), np.float32)
    ours = loaded.term_scores(terms)
    assert np.allclose(ours, reference, atol=1e-5)
    ranked = np.argsort(-ours, kind="stable")[:20].tolist()
    assert top_n(ours, 20).tolist() == ranked
    # and the scores ranked are the reference's best (bm25s rounds differently: ties may swap)
    assert np.allclose(ours[top_n(ours, 20)], np.sort(reference)[::-1][:20], atol=1e-5)


@pytest.mark.parametrize(
    "n, expected",
    [(0, 1), (28, 1), (1_000, 25), (100_000, 1024), (1_000_000, 4096)],
)
def test_inverted_lists_follow_the_size(n, expected):
    assert dense.nlist_for(n) == expected


def test_quantized_sentence_vectors_keep_cosines_within_1e_3():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 512)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q, scale = dense.quantize(x)
    assert q.dtype == np.int8
    back = q.astype(np.float32) * scale[:, None]
    assert np.abs(back @ x[0] - x @ x[0]).max() < 1e-3


def test_vector_file_round_trips_in_blocks(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1000, 16)).astype(np.float32)
    out = dense.VectorFile(tmp_path / "v.npy", 1000, 16)
    for start in range(0, 1000, 300):
        out.write(x[start : start + 300])
    out.close()
    assert np.allclose(np.load(tmp_path / "v.npy"), x.astype(np.float16))
    assert np.allclose(dense.read_rows(tmp_path / "v.npy", 250, 700), x[250:700].astype(np.float16))


# --- end to end, real embedder ------------------------------------------------------------------


@pytest.fixture(scope="module")
def exact_and_compressed(tmp_path_factory):
    """seeds/ indexed twice: exact (the default at this size) and compressed, forced by the
    setting exact_search_up_to (the one that chooses the layout by size)."""
    root = tmp_path_factory.mktemp("layouts")
    exact = load_settings(index=root / "exact")
    app.index([SEEDS], exact)
    compressed = replace(load_settings(index=root / "compressed"), exact_search_up_to=1)
    app.index([SEEDS], compressed)
    return exact, compressed


@pytest.mark.e2e
def test_the_compressed_layout_is_memory_mapped(exact_and_compressed):
    _, settings = exact_and_compressed
    manifest = json.loads((settings.index_dir / "manifest.json").read_text())
    assert dense.is_compressed(manifest["vector_index"]) and manifest["vector_index"].startswith("ivf")
    index = store.load(settings.index_dir)
    assert isinstance(index.full_vectors, np.memmap) and index.full_vectors.dtype == np.float16
    assert isinstance(index.unit_vectors, np.memmap) and index.unit_vectors.dtype == np.int8
    assert isinstance(index.lexical.data, np.memmap) and isinstance(index.units, np.ndarray)
    assert isinstance(index.chunks, store.ChunkTable)
    exact = store.load(load_settings(index=exact_and_compressed[0].index_dir).index_dir)
    assert list(index.chunks) == list(exact.chunks)
    ids = np.arange(len(exact.chunks))
    assert np.allclose(index.chunk_vectors(ids), exact.chunk_vectors(ids), atol=2e-3)  # float16 on disk
    assert np.allclose(index.unit_matrix, exact.unit_matrix, atol=1e-2)  # int8 on disk


@pytest.mark.e2e
@pytest.mark.parametrize("question", QUESTIONS)
def test_the_compressed_layout_retrieves_what_the_exact_one_does(exact_and_compressed, question):
    exact, compressed = (app.open_retriever(s) for s in exact_and_compressed)
    a, b = exact.search(question, 5), compressed.search(question, 5)
    assert [h.chunk for h in a[:3]] == [h.chunk for h in b[:3]]
    assert [h.score for h in b] == pytest.approx([h.score for h in a], abs=0.02)
    for ha, hb in zip(a, b):
        if ha.chunk == hb.chunk:
            assert [s[:2] for s in ha.sentences] == [s[:2] for s in hb.sentences]
            assert [s[2] for s in hb.sentences] == pytest.approx([s[2] for s in ha.sentences], abs=2e-3)


@pytest.mark.e2e
@pytest.mark.llm
def test_the_compressed_layout_answers_with_the_same_citation(exact_and_compressed):
    _, compressed = exact_and_compressed
    out = ask_json(compressed.index_dir, "Wer wird Interims-CEO von Scale AI?")
    assert "Jason Droege" in out["answer"]
    assert out["citations"][0]["source"].endswith("004_a2122adb65b12522.txt")


@pytest.mark.e2e
def test_an_update_of_a_compressed_index_equals_a_fresh_build(tmp_path):
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    settings = replace(load_settings(index=tmp_path / "idx"), exact_search_up_to=1)
    app.index([corpus], settings)
    (corpus / "neu.txt").write_text("Die Beispiel GmbH aus Kassel beschäftigt 42 Mitarbeiter.\n", encoding="utf-8")
    (corpus / "003_526cb9d5bd98f8b8.txt").unlink()
    report = app.index([corpus], settings)
    assert (report.added, report.removed, report.unchanged) == (1, 1, 4)
    fresh_settings = replace(settings, index=tmp_path / "fresh")
    app.index([corpus], fresh_settings, full=True)
    updated, fresh = store.load(settings.index_dir), store.load(fresh_settings.index_dir)
    assert list(updated.chunks) == list(fresh.chunks)
    ids = np.arange(len(fresh.chunks))
    assert np.allclose(updated.chunk_vectors(ids), fresh.chunk_vectors(ids), atol=2e-3)
    assert np.allclose(updated.unit_matrix, fresh.unit_matrix, atol=1e-2)
    assert list(updated.unit_offsets) == list(fresh.unit_offsets)


@pytest.mark.e2e
def test_workers_build_the_same_index_as_one_process(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    for path, workers in ((one, "1"), (two, "2")):
        result = CliRunner().invoke(main, ["index", str(SEEDS), "--index", str(path), "--workers", workers])
        assert result.exit_code == 0, result.output
    a, b = store.load(one), store.load(two)
    assert list(a.chunks) == list(b.chunks)
    ids = np.arange(len(a.chunks))
    # the same batches embedded; worker processes compute on fewer threads, which may round differently
    assert np.allclose(a.chunk_vectors(ids), b.chunk_vectors(ids), atol=1e-5)
    assert np.allclose(a.unit_matrix, b.unit_matrix, atol=1e-3)
    assert np.array_equal(a.lexical.data, b.lexical.data) and np.array_equal(a.lexical.terms, b.lexical.terms)
    for q in QUESTIONS:
        ra = app.open_retriever(load_settings(index=one)).search(q, 5)
        rb = app.open_retriever(load_settings(index=two)).search(q, 5)
        assert [h.chunk for h in ra] == [h.chunk for h in rb]


def test_workers_must_be_a_positive_number(tmp_path):
    result = CliRunner().invoke(main, ["index", str(SEEDS), "--index", str(tmp_path / "i"), "--workers", "0"])
    assert result.exit_code != 0 and "--workers" in result.output
    assert not (tmp_path / "i").exists()
