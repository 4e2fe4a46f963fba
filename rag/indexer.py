"""Files on disk -> Index: read, chunk, embed, build the lexical index, write the manifest."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from typing import Callable

from rag import __version__, store
from rag.chunking import chunk_document
from rag.config import DEFAULT_EMBEDDER, Settings
from rag.corpus import Skipped, load_corpus
from rag.embedders import load_embedder, resolve_embedder
from rag.lexical import LexicalIndex
from rag.text import detect_language, sentence_spans


ENCODE_BATCH = 2048  # texts per call: bounded memory whatever the corpus size


def encode_in_batches(embedder, texts, n: int, dtype, progress) -> np.ndarray:
    """Embed n texts into one preallocated array, a batch at a time."""
    out = None
    batch: list[str] = []
    row = 0
    for text in texts:
        batch.append(text)
        if len(batch) == ENCODE_BATCH:
            out, row = _put(embedder.encode(batch, progress=progress), out, row, n, dtype), row + len(batch)
            batch = []
    if batch or out is None:
        vecs = embedder.encode(batch, progress=progress) if batch else np.zeros((0, embedder.dim), np.float32)
        out = _put(vecs, out, row, n, dtype)
    return out


def _put(vecs: np.ndarray, out, row: int, n: int, dtype) -> np.ndarray:
    if out is None:
        out = np.zeros((n, vecs.shape[1]), dtype=dtype)
    out[row:row + len(vecs)] = vecs
    return out


@dataclass
class IndexReport:
    files: int
    chunks: int
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0


def build_index(paths: list[Path], settings: Settings,
                progress: Callable[[int, int], None] | None = None) -> IndexReport:
    """Index `paths` into settings.index_dir. progress(done, total) is called per batch."""
    t0 = time.perf_counter()
    docs, skipped = load_corpus(paths)
    spec = resolve_embedder(settings.embedder or DEFAULT_EMBEDDER)
    chunks, languages, files = [], [], {}
    for doc in docs:
        lang = detect_language(doc.text[:5000])
        doc_chunks = chunk_document(doc, settings.chunk_chars, settings.chunk_overlap)
        chunks.extend(doc_chunks)
        languages.extend([lang] * len(doc_chunks))
        files[doc.source] = {"sha256": doc.sha256, "chars": len(doc.text), "chunks": len(doc_chunks),
                             "language": lang}
    embedder = load_embedder(spec)
    unit_chunks, units = [], []
    for i, c in enumerate(chunks):
        for s, e in sentence_spans(c.text):
            unit_chunks.append(i)
            units.append((c.start + s, c.start + e))
    # Sentence vectors sharpen retrieval (README) but cost ~8 vectors per chunk: above this
    # size the index keeps their offsets only and embeds the retrieved chunks' sentences
    # when a question needs them.
    with_sentences = len(chunks) <= settings.sentence_vectors_up_to
    total = len(chunks) + (len(units) if with_sentences else 0)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    vectors = encode_in_batches(embedder, (c.text for c in chunks), len(chunks), np.float32, tick)
    unit_vectors = None
    if with_sentences:
        unit_texts = (chunks[i].text[s - chunks[i].start:e - chunks[i].start] for i, (s, e) in zip(unit_chunks, units))
        unit_vectors = encode_in_batches(embedder, unit_texts, len(units), np.float16, tick)
    vector_index = store.build_faiss(vectors, exact_up_to=settings.exact_search_up_to)
    manifest = {
        "format": store.FORMAT_VERSION,
        "rag_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "embedder": spec.to_json(),
        "embedder_dim": int(vectors.shape[1]),
        "chunking": {"max_chars": settings.chunk_chars, "overlap": settings.chunk_overlap,
                     "unit": "sentence"},
        "vector_index": store.describe_faiss(vector_index),
        "sentence_vectors": with_sentences,
        "chunks": len(chunks),
        "sentences": len(units),
        "files": files,
    }
    del vectors  # faiss holds its own copy
    index = store.Index(manifest, chunks, vector_index,
                        LexicalIndex.build([c.text for c in chunks], languages),
                        np.array(units, dtype=np.int32).reshape(-1, 2), np.array(unit_chunks, dtype=np.int32),
                        unit_vectors)
    store.save(settings.index_dir, index)
    return IndexReport(len(docs), len(chunks), skipped, time.perf_counter() - t0)
