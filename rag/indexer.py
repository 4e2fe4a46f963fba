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
    done = 0
    unit_chunks, units, unit_texts = [], [], []
    for i, c in enumerate(chunks):
        for s, e in sentence_spans(c.text):
            unit_chunks.append(i)
            units.append((c.start + s, c.start + e))
            unit_texts.append(c.text[s:e])
    total = len(chunks) + len(unit_texts)

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    vectors = embedder.encode([c.text for c in chunks], progress=tick)
    unit_vectors = embedder.encode(unit_texts, progress=tick)
    manifest = {
        "format": store.FORMAT_VERSION,
        "rag_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "embedder": spec.to_json(),
        "embedder_dim": int(vectors.shape[1]),
        "chunking": {"max_chars": settings.chunk_chars, "overlap": settings.chunk_overlap,
                     "unit": "sentence"},
        "vector_index": "flat-ip",
        "chunks": len(chunks),
        "sentences": len(unit_texts),
        "files": files,
    }
    index = store.Index(manifest, chunks, store.build_faiss(vectors),
                        LexicalIndex.build([c.text for c in chunks], languages),
                        np.array(units, dtype=np.int32).reshape(-1, 2), np.array(unit_chunks, dtype=np.int32),
                        unit_vectors.astype(np.float16))
    store.save(settings.index_dir, index)
    return IndexReport(len(docs), len(chunks), skipped, time.perf_counter() - t0)
